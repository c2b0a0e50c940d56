"""``python -m flows`` runs the ``voc`` command line."""

from flows.cli import main

main()
