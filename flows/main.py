"""Entry point for Bytewax's own runner.

    python -m bytewax.run "flows.main:get_flow()" -w 2
    python -m bytewax.run "flows.main:get_flow()" -i 0 -a "host0:2101;host1:2101"

Settings come from ``VOC_*`` environment variables. ``voc run`` does the same with options
(and is the simpler way to run a cluster: ``voc run -i 0 -a "host0:2101;host1:2101" -r DIR``).
With Bytewax's runner, give each process ``VOC_PROCESS_ID`` equal to its ``-i``: on embedded
storage only process 0 opens the database.
"""

from __future__ import annotations

from bytewax.dataflow import Dataflow

from flows.dataflow import build_flow
from flows.settings import load_settings


def get_flow() -> Dataflow:
    """Build the dataflow from the environment's settings."""
    return build_flow(load_settings())
