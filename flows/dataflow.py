r"""The voc-stream dataflow: messages in; enriched rows, alerts and dead letters out.

    read (micro-batches) -> parse -> prepare -> enrich -> write-messages
                                                   \\--> write-dead-letters (+ publish-dead-letters)
                                                   \\--> detect -> write-alerts
                                                               \\-> write-late-items
                                                               \\-> write-dead-letters

The source is wrapped in a :class:`~flows.batching.BatchingSource`: each partition's
payloads are grouped into micro-batches (``batch_size`` payloads, ``batch_max_bytes``, or
``batch_timeout_s`` after the first) on the worker that reads the partition, and parse,
prepare and enrich run there on whole batches. Nothing crosses to another worker before the
sinks (and the detector, which runs on one worker).

No step raises on one message: whatever fails on it (parse, prepare, enrich, the storable
check, the insert, detection) becomes a dead letter naming the step, and the rest of its
batch goes on.

``build_flow(settings)`` wires the configured source and the ClickHouse sinks; tests pass
their own source and sinks through ``FlowIO`` (without ``alerts`` and ``late_items`` sinks
the detection steps are left out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.inputs import FixedPartitionedSource, Source
from bytewax.outputs import Sink

from flows.batching import BatchingSource
from flows.detect.config import DetectConfig
from flows.detect.flow import DetectProbe, detect, detector_key
from flows.records import Parsed, Prepared, Record
from flows.settings import Settings
from flows.sinks.clickhouse import RowSink, WriteObserver, clickhouse_sink, output
from flows.sources import DeclaresOrigins
from flows.steps import (
    Enrich,
    EnricherFactory,
    ParseLimits,
    Preparer,
    parse_batch,
    refused_row_letter,
    utc_now,
)
from flows.timing import StageTimer, timed
from nlp.categories import load_category_map
from nlp.types import Enricher
from schemas.rows import AlertRow, DeadLetter, LateItem, StoredMessage


@dataclass(frozen=True)
class FlowIO:
    """Where the flow reads from and writes to."""

    source: Source[Record]
    """A partitioned source (see :mod:`flows.sources`)."""
    messages: RowSink[StoredMessage]
    dead_letters: RowSink[DeadLetter]
    alerts: RowSink[AlertRow] | None = None
    late_items: RowSink[LateItem] | None = None
    dead_letter_topic: Sink[Sequence[DeadLetter]] | None = None
    """Where dead letters are also published (a Kafka topic), if anywhere."""


def source_for(settings: Settings) -> Source[Record]:
    """Build the source the settings name."""
    from schemas.errors import ConfigError

    if settings.source == "file":
        from flows.sources.files import JsonlFileSource

        if not settings.input_path:
            msg = "source 'file' needs an input path (--input or VOC_INPUT_PATH)"
            raise ConfigError(msg)
        return JsonlFileSource(settings.input_path, settings.max_payload_bytes)
    if settings.source == "kafka":
        from flows.kafka.source import KafkaSource

        return KafkaSource.from_settings(settings)
    if settings.source == "stdin":
        from flows.sources.stdin import StdinSource

        return StdinSource(max_line_bytes=settings.max_payload_bytes)
    from flows.sources.simulator import SimulatorSource

    return SimulatorSource.from_settings(settings)


def default_io(settings: Settings, observer: WriteObserver | None = None) -> FlowIO:
    """The configured source and the ClickHouse sinks (and the dead-letter topic for Kafka)."""
    topic = None
    if settings.source == "kafka" and settings.kafka_topic_dead_letters:
        from flows.kafka.sink import KafkaDeadLetterSink

        topic = KafkaDeadLetterSink(settings)
    return FlowIO(
        source=source_for(settings),
        messages=clickhouse_sink(
            settings, "messages", StoredMessage.COLUMNS, observer, dead_letter_of=refused_row_letter
        ),
        dead_letters=clickhouse_sink(settings, "dead_letters", DeadLetter.COLUMNS, observer),
        dead_letter_topic=topic,
        alerts=clickhouse_sink(settings, "alerts", AlertRow.COLUMNS, observer),
        late_items=clickhouse_sink(settings, "late_items", LateItem.COLUMNS, observer),
    )


def default_enricher(settings: Settings) -> EnricherFactory:
    """A factory loading the configured enricher when a worker sees its first batch."""

    def load() -> Enricher:
        from nlp.enrichers import load_enricher

        return load_enricher(
            settings.enricher, model_path=settings.model_path, taxonomy_path=settings.taxonomy_path
        )

    return load


def topic_labels(settings: Settings) -> Callable[[], dict[str, str]]:
    """The taxonomy's Vietnamese topic labels (for alert summaries), read when called."""

    def load() -> dict[str, str]:
        from nlp.taxonomy import load_taxonomy

        return {topic.id: topic.label_vi for topic in load_taxonomy(settings.taxonomy_path).topics}

    return load


def build_flow(
    settings: Settings,
    io: FlowIO | None = None,
    *,
    enricher: EnricherFactory | None = None,
    clock: Callable[[], datetime] = utc_now,
    detect_config: DetectConfig | None = None,
    detect_probe: DetectProbe | None = None,
    timer: StageTimer | None = None,
    workers: int = 1,
) -> Dataflow:
    """Build the dataflow for these settings (nothing is read or loaded until it runs).

    ``detect_config`` tunes the emerging-issue detectors; ``detect_probe`` is called with
    the detector when the input ends (benchmarks read its counters). ``timer`` (benchmarks
    only; off by default) accumulates the wall time of the parse, prepare, enrich and detect
    steps' functions. ``workers`` (worker threads per process) places the detector in a
    cluster; any value gives the same results.
    """
    io = io or default_io(settings)
    if (io.alerts is None) != (io.late_items is None):
        from schemas.errors import ConfigError

        msg = "FlowIO needs both an alerts and a late_items sink, or neither (no detection)"
        raise ConfigError(msg)
    if not isinstance(io.source, FixedPartitionedSource):
        from schemas.errors import ConfigError

        msg = f"the flow reads partitioned sources, got {type(io.source).__name__}"
        raise ConfigError(msg)
    preparer = Preparer(settings.author_salt.get_secret_value(), now=clock)
    limits = ParseLimits.from_settings(settings)
    parse = partial(parse_batch, now=clock, limits=limits, privacy=preparer.privacy)
    enrich = Enrich(
        enricher or default_enricher(settings),
        now=clock,
        privacy=preparer.privacy,
        categories=load_category_map(settings.product_categories),
    )
    source = BatchingSource(
        io.source,
        settings.batch_size,
        timedelta(seconds=settings.batch_timeout_s),
        settings.batch_max_bytes,
    )

    flow = Dataflow("voc")
    raw = op.input("read", flow, source)
    # MicroBatch(origin, [RawRecord(origin, position, payload) | SourceError, ...]):
    # batch_size payloads (or batch_max_bytes), or batch_timeout_s after the first, per
    # source partition
    parsed = op.map("parse", raw, timed(timer, "parse", parse))
    # ParsedBatch(origin, items=[Parsed(message, origin, position), ...], dead=[DeadLetter])
    prepared = op.map("prepare", parsed, timed(timer, "prepare", preparer.prepare_batch))
    # PreparedBatch(origin, items=[Prepared(message, text, text_normalized, ...)], dead)
    enriched = op.map("enrich", prepared, timed(timer, "enrich", enrich))
    # EnrichedBatch(rows=[StoredMessage, ...], dead=[DeadLetter, ...], origin)
    rows = op.filter_map("rows", enriched, lambda b: b.rows or None)
    output("write-messages", rows, io.messages)
    # one insert per batch into messages (the rollup views follow)
    dead = op.filter_map("dead-letters", enriched, lambda b: b.dead or None)
    # [DeadLetter, ...] of every step, per micro-batch
    if io.alerts is not None and io.late_items is not None:
        # the origins the source's records carry, one per partition: a source whose
        # partition names differ from them (Kafka) says so with an ``origins`` method
        parts = (
            io.source.origins if isinstance(io.source, DeclaresOrigins) else io.source.list_parts
        )
        config = detect_config or settings.detect
        key = detector_key(len(settings.cluster_addresses or [""]), workers)
        found = detect(
            "detect",
            enriched,
            config,
            clock,
            detect_probe,
            parts,
            timer,
            key,
            labels=topic_labels(settings),
        )
        # alerts: [AlertRow, ...] revisions per closed minute; late_items: [LateItem, ...]
        output("write-alerts", found.alerts, io.alerts)
        output("write-late-items", found.late_items, io.late_items)
        dead = op.merge("all-dead-letters", dead, found.dead_letters)
        # [DeadLetter, ...] of the messages detection failed on (stored, not counted)
    output("write-dead-letters", dead, io.dead_letters)
    if io.dead_letter_topic is not None:
        op.output("publish-dead-letters", dead, io.dead_letter_topic)
    return flow


__all__ = ["FlowIO", "Parsed", "Prepared", "build_flow", "default_io", "source_for"]
