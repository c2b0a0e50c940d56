r"""The detection steps of the dataflow: the ``detect`` operator.

::

    enriched batches
      -> signals                    customer voice only, candidate phrases extracted
      -> key by partition           each input partition has its own event-time clock
      -> minutes                    1-minute tumbling windows (collect_window)
           \-- late ------------------------------------------> late_items (stage detect-window)
      -> to-detector                (partition, minute, messages) under one key
      -> detect                     MinuteMerger + Detector (one stateful step)
           \-- messages of a minute already closed -----------> late_items (stage detect-merge)
      -> alerts                     revisions of alert rows

The Bytewax steps only route data; the merging and the detection are the pure classes of
:mod:`flows.detect.merge` and :mod:`flows.detect.detector`. The detector runs under one
key (one worker): it needs every key's count and the total of each minute, and it is cheap
next to enrichment; extracting phrases, the costliest part per message, runs on every
worker before the windows.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import bytewax.operators as op
from bytewax.dataflow import Stream, operator
from bytewax.operators import StatefulBatchLogic
from bytewax.operators.windowing import TumblingWindower, collect_window

from flows.batching import batch
from flows.detect.clock import PartitionClock
from flows.detect.config import DetectConfig
from flows.detect.detector import Detector
from flows.detect.merge import LateSignal, MinuteMerger
from flows.detect.signals import Signal, signals_of
from flows.records import EnrichedBatch
from flows.timing import StageTimer, timed
from schemas.rows import AlertRow, LateItem

#: Window ids are minutes since the Unix epoch.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WINDOW_STAGE = "detect-window"
MERGE_STAGE = "detect-merge"
_DETECTOR_KEY = "detector"

#: Called with the detector when the input ends (benchmarks read its keys and counters).
DetectProbe = Callable[[Detector], None]


@dataclass(frozen=True)
class DetectOut:
    """The streams the ``detect`` operator produces: batches of rows for two sinks."""

    alerts: Stream[list[AlertRow]]
    late_items: Stream[list[LateItem]]


@dataclass(frozen=True, slots=True)
class _Digest:
    """One partition's closed minute window."""

    origin: str
    minute: int
    signals: list[Signal]


@dataclass(slots=True)
class _Found:
    """What one activation of the detector step produced."""

    alerts: list[AlertRow] = field(default_factory=list)
    late: list[LateItem] = field(default_factory=list)


def late_item(signal: Signal, stage: str, watermark: datetime, seen_at: datetime) -> LateItem:
    """The ``late_items`` row of a message that missed its minute."""
    return LateItem(
        id=signal.id,
        stage=stage,
        source=signal.source,
        channel=signal.channel,
        created_at=signal.created_at,
        watermark=watermark,
        seen_at=seen_at,
    )


@dataclass
class _DetectState:
    merger: MinuteMerger
    detector: Detector


class DetectLogic(StatefulBatchLogic[_Digest, _Found, _DetectState]):
    """The detector step: merge partitions' minutes, detect, emit alert revisions."""

    def __init__(
        self,
        config: DetectConfig,
        clock: Callable[[], datetime],
        probe: DetectProbe | None,
        origins: Callable[[], list[str]] | None,
        resume: _DetectState | None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._probe = probe
        if resume is None:
            merger = MinuteMerger(config.startup_grace_s, config.idle_grace_s)
            if origins is not None:
                merger.declare(origins(), clock().timestamp())
            resume = _DetectState(merger, Detector(config))
        self._state = resume

    def _run(self, minutes: Iterable[tuple[int, list[Signal]]], found: _Found) -> None:
        for minute, signals in minutes:
            found.alerts += self._state.detector.process(minute, signals)

    def _out(self, found: _Found) -> tuple[list[_Found], bool]:
        emitted = [found] if found.alerts or found.late else []
        return emitted, StatefulBatchLogic.RETAIN

    def on_batch(self, values: list[_Digest]) -> tuple[Iterable[_Found], bool]:
        """Take closed partition minutes; hand over the global minutes that are complete."""
        now = self._clock()
        found = _Found()
        merger = self._state.merger
        late: list[LateSignal] = []
        for digest in sorted(values, key=lambda d: (d.minute, d.origin)):
            late += merger.add(digest.origin, digest.minute, digest.signals, now.timestamp())
        found.late = [late_item(x.signal, MERGE_STAGE, x.watermark, now) for x in late]
        self._run(merger.ready(now.timestamp()), found)
        return self._out(found)

    def on_notify(self) -> tuple[Iterable[_Found], bool]:
        """A quiet partition's grace has passed: hand over what is complete now."""
        found = _Found()
        self._run(self._state.merger.ready(self._clock().timestamp()), found)
        return self._out(found)

    def on_eof(self) -> tuple[Iterable[_Found], bool]:
        """The input ended: hand over every pending minute."""
        found = _Found()
        self._run(self._state.merger.flush(), found)
        if self._probe is not None:
            self._probe(self._state.detector)
        return self._out(found)

    def notify_at(self) -> datetime | None:
        """When the oldest pending minute can be handed over without new input."""
        now = self._clock().timestamp()
        due = self._state.merger.wake_at(now)
        return datetime.fromtimestamp(due, UTC) if due is not None else None

    def snapshot(self) -> _DetectState:
        """A deep copy of the merger and the detector for recovery."""
        return copy.deepcopy(self._state)


def _timed_logic(logic: DetectLogic, timer: StageTimer | None) -> DetectLogic:
    """The detector logic with its batch and notify calls timed into ``detect``."""
    if timer is not None:
        logic.on_batch = timed(timer, "detect", logic.on_batch)  # type: ignore[method-assign]
        logic.on_notify = timed(timer, "detect", logic.on_notify)  # type: ignore[method-assign]
    return logic


def _window_late(item: tuple[str, tuple[int, Signal]], now: datetime) -> LateItem:
    signal = item[1][1]
    watermark = signal.watermark or datetime.fromtimestamp((item[1][0] + 1) * 60, UTC)
    return late_item(signal, WINDOW_STAGE, watermark, now)


@operator
def detect(
    step_id: str,
    up: Stream[EnrichedBatch],
    config: DetectConfig,
    clock: Callable[[], datetime],
    probe: DetectProbe | None = None,
    origins: Callable[[], list[str]] | None = None,
    timer: StageTimer | None = None,
) -> DetectOut:
    """Emerging-issue detection on enriched batches (module docstring).

    ``origins`` lists the source's partitions (its ``list_parts``, called when the step
    starts): minutes then close as soon as every one of them is past them (see
    :mod:`flows.detect.merge`).
    """
    signals = op.flat_map("signals", up, lambda b: signals_of(b.rows, b.origin))
    # Signal(id, unit, origin, channel, topics, negative_topics, grams, ...), no agent turns
    by_origin = op.key_on("key-by-origin", signals, lambda s: s.origin)
    # (origin, Signal)
    windows = collect_window(
        "minutes",
        by_origin,
        PartitionClock(
            timedelta(seconds=config.wait_s), timedelta(seconds=config.idle_grace_s), clock
        ),
        TumblingWindower(length=timedelta(minutes=1), align_to=EPOCH),
    )
    # down: (origin, (minute, [Signal, ...])); late: (origin, (minute, Signal))
    digests = op.map(
        "to-detector",
        windows.down,
        lambda item: (_DETECTOR_KEY, _Digest(item[0], item[1][0], item[1][1])),
    )
    # ("detector", _Digest(origin, minute, signals))
    found = op.stateful_batch(
        "detect",
        digests,
        lambda resume: _timed_logic(DetectLogic(config, clock, probe, origins, resume), timer),
    )
    # ("detector", _Found(alerts=[AlertRow, ...], late=[LateItem, ...]))
    alerts = op.filter_map("alerts", found, lambda kv: kv[1].alerts or None)
    merge_late = op.filter_map("merge-late", found, lambda kv: kv[1].late or None)
    late_rows = op.map("late-rows", windows.late, lambda item: _window_late(item, clock()))
    # LateItem(id, stage="detect-window", created_at, watermark, ...)
    late_batches = batch(
        "late-batch",
        op.key_on("key-late", late_rows, lambda row: row.stage),
        500,
        timedelta(seconds=1),
        clock,
    )
    late_items = op.merge("late-items", merge_late, op.map("late-list", late_batches, _values))
    # [LateItem, ...] from both stages, at most 500 rows or 1 s apart
    return DetectOut(alerts, late_items)


def _values(item: tuple[str, Sequence[LateItem]]) -> list[LateItem]:
    return list(item[1])
