"""The ``voc`` command line: a thin click layer over the library, one module per group.

    app       the ``voc`` group, ``main`` and the error style (exit 1 user error, 2 usage)
    common    consoles, settings for a command, ``--dsn``/``--database``, times and durations
    render    rich renderings of reports, alerts and dead letters
    admin     migrate, schema, config
    stream    run, demo
    read      query, alerts, dead-letters
    drill     messages, conversation (the messages behind a number, a chat thread)
    sql       sql (the prompt, -e and -f)
    filters   filter values compared without case, unknown values listed
    serve     serve (reads of an idle embedded store; run and demo serve while they stream)
    models    train, eval
    produce   produce (Kafka)

``voc simulate`` lives with the simulator (:mod:`simulator.cli`).
"""

from flows.cli.app import cli, main, voc_cause

__all__ = ["cli", "main", "voc_cause"]
