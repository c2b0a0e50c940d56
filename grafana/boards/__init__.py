"""The boards: each module's ``build()`` returns a :class:`~grafana.boards.common.Board`.

=================  ==================================================================
``overview``       CX live overview: volume, sentiment, channels, brands, topics, messages
``topics``         topic trends and aspect sentiment, per source, channel, brand, product
``emerging``       emerging issues for on-call: open alerts, samples, phrases, history
``pipeline``       pipeline health: ingest rate, event-time lag, dead letters, late items
=================  ==================================================================

:mod:`grafana.build` lists them with their output files.
"""
