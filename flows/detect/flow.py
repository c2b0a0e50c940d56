r"""The detection steps of the dataflow: the ``detect`` operator.

::

    enriched batches
      -> signals            a micro-batch's customer voice, candidate phrases extracted
      -> to-detector        (origin, [Signal, ...]) under one key, one item per micro-batch
      -> detect             one stateful step:
                              PartitionWindows per origin   1-minute event-time windows
                                \-- behind the partition's watermark ------> late_items
                                                                  (stage detect-window)
                              MinuteMerger                  every partition past a minute
                                \-- a minute already closed ---------------> late_items
                                                                  (stage detect-merge)
                              Detector                      alert revisions
      -> alerts

The Bytewax steps only route data; the windows, the merging and the detection are the pure
classes of :mod:`flows.detect.windows`, :mod:`flows.detect.merge` and
:mod:`flows.detect.detector`. The detector runs under one key (one worker): it needs every
key's count and the total of each minute, and it is cheap next to enrichment; extracting
phrases, the costliest part per message, runs on every worker, and each micro-batch's
signals cross to the detector's worker as one item (in a cluster, one pickle per batch
rather than one per message, and no hop to a per-partition window step first). In a
cluster the detector's key places it on the last process (:func:`detector_key`), away from
process 0, the embedded storage's writer.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import bytewax.operators as op
from bytewax.dataflow import Stream, operator
from bytewax.operators import StatefulBatchLogic

from flows.detect.config import DetectConfig
from flows.detect.detector import Detector
from flows.detect.merge import LateSignal, MinuteMerger
from flows.detect.signals import Signal, signals_of
from flows.detect.windows import Minute, PartitionWindows, WindowState
from flows.placement import key_for_process
from flows.records import EnrichedBatch
from flows.steps import dead_letter
from flows.stopping import stop_requested
from flows.timing import StageTimer, timed
from schemas.rows import AlertRow, DeadLetter, LateItem

log = logging.getLogger(__name__)

WINDOW_STAGE = "detect-window"
MERGE_STAGE = "detect-merge"
DETECTOR_KEY = "detector"

#: Called with the detector when the input ends (benchmarks read its keys and counters).
DetectProbe = Callable[[Detector], None]


@dataclass(frozen=True)
class DetectOut:
    """The streams the ``detect`` operator produces: batches of rows for three sinks."""

    alerts: Stream[list[AlertRow]]
    late_items: Stream[list[LateItem]]
    dead_letters: Stream[list[DeadLetter]]
    """Messages (stored already) that detection failed on: it went on without them."""


@dataclass(frozen=True, slots=True)
class SignalBatch:
    """The signals of one micro-batch of one partition, in arrival order."""

    origin: str
    signals: list[Signal]


@dataclass(slots=True)
class _Found:
    """What one activation of the detector step produced."""

    alerts: list[AlertRow] = field(default_factory=list)
    late: list[LateItem] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


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
    windows: dict[str, WindowState] = field(default_factory=dict)
    key: str = DETECTOR_KEY
    """The key the detector ran under (it depends on the cluster's shape)."""


class _Retired(StatefulBatchLogic[SignalBatch, _Found, _DetectState]):
    """A detector state snapshotted under another key: dropped at the first wake-up.

    The detector's key follows the cluster's shape (:func:`detector_key`); after a restart
    with another number of processes, the old key's state would otherwise come back as a
    second, idle detector.
    """

    def __init__(self, state: _DetectState, clock: Callable[[], datetime]) -> None:
        self._state = state
        self._clock = clock

    def on_batch(self, values: list[SignalBatch]) -> tuple[Iterable[_Found], bool]:
        """Not expected (nothing is routed to a retired key); dropped with the state."""
        return [], StatefulBatchLogic.DISCARD

    def on_notify(self) -> tuple[Iterable[_Found], bool]:
        """Drop the state."""
        return [], StatefulBatchLogic.DISCARD

    def on_eof(self) -> tuple[Iterable[_Found], bool]:
        """Drop the state."""
        return [], StatefulBatchLogic.DISCARD

    def notify_at(self) -> datetime | None:
        """At once."""
        return self._clock()

    def snapshot(self) -> _DetectState:
        """The state as it was restored."""
        return self._state


class DetectLogic(StatefulBatchLogic[SignalBatch, _Found, _DetectState]):
    """The detector step: window each partition, merge partitions' minutes, detect."""

    def __init__(
        self,
        config: DetectConfig,
        clock: Callable[[], datetime],
        probe: DetectProbe | None,
        origins: Callable[[], list[str]] | None,
        resume: _DetectState | None,
        key: str = DETECTOR_KEY,
        labels: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._probe = probe
        if resume is None:
            merger = MinuteMerger(config.startup_grace_s, config.idle_grace_s)
            if origins is not None:
                merger.declare(origins(), clock().timestamp())
            detector = Detector(config, labels() if labels is not None else None)
            resume = _DetectState(merger, detector, key=key)
        self._state = resume
        self._windows = {origin: self._open(st) for origin, st in resume.windows.items()}

    def _open(self, state: WindowState) -> PartitionWindows:
        wait = timedelta(seconds=self._config.wait_s)
        idle = timedelta(seconds=self._config.idle_grace_s)
        return PartitionWindows(state, wait, idle, self._clock)

    def _windows_of(self, origin: str) -> PartitionWindows:
        windows = self._windows.get(origin)
        if windows is None:
            state = self._state.windows[origin] = WindowState()
            windows = self._windows[origin] = self._open(state)
        return windows

    def _merge(self, closed: list[tuple[str, Minute]], found: _Found, now: datetime) -> None:
        """Hand closed partition minutes to the merger, then complete minutes to the detector."""
        merger = self._state.merger
        late: list[LateSignal] = []
        for origin, (minute, signals) in sorted(closed, key=lambda c: (c[1][0], c[0])):
            late += merger.add(origin, minute, signals, now.timestamp())
        found.late += [late_item(x.signal, MERGE_STAGE, x.watermark, now) for x in late]
        self._run(merger.ready(now.timestamp()), found)

    def _run(self, minutes: Iterable[tuple[int, list[Signal]]], found: _Found) -> None:
        for minute, signals in minutes:
            try:
                found.alerts += self._state.detector.process(minute, signals)
            except Exception as exc:  # a minute the detector fails on must not stop the flow
                log.exception(
                    "the detector failed on minute %d; its messages are dead letters", minute
                )
                found.dead += [_detect_letter(s.id, s.origin, s.created_at, exc) for s in signals]

    def _advance(self) -> list[tuple[str, Minute]]:
        """The minutes of every partition that close now without new signals."""
        return [(o, m) for o, w in self._windows.items() for m in w.advance()]

    def _out(self, found: _Found) -> tuple[list[_Found], bool]:
        emitted = [found] if found.alerts or found.late or found.dead else []
        return emitted, StatefulBatchLogic.RETAIN

    def on_batch(self, values: list[SignalBatch]) -> tuple[Iterable[_Found], bool]:
        """Window the partitions' new signals; hand over the global minutes now complete."""
        now = self._clock()
        found = _Found()
        closed: list[tuple[str, Minute]] = []
        for batch in values:
            self._state.merger.heard(batch.origin, now.timestamp())
            minutes, late = self._windows_of(batch.origin).add(batch.signals)
            closed += [(batch.origin, m) for m in minutes]
            found.late += [_window_late(s, now) for s in late]
        self._merge(closed + self._advance(), found, now)
        return self._out(found)

    def on_notify(self) -> tuple[Iterable[_Found], bool]:
        """A minute's end or a quiet partition's grace has passed: hand over what is complete."""
        found = _Found()
        self._merge(self._advance(), found, self._clock())
        return self._out(found)

    def on_eof(self) -> tuple[Iterable[_Found], bool]:
        """The input ended: close every window and hand over every pending minute.

        When a signal stopped the run (:mod:`flows.stopping`) the input did not end: the
        windows stay open in the state, for the next run to continue after recovery.
        """
        if stop_requested():
            return [], StatefulBatchLogic.RETAIN
        found = _Found()
        now = self._clock()
        closed = [(o, m) for o, w in self._windows.items() for m in w.close_all()]
        self._merge(closed, found, now)
        self._run(self._state.merger.flush(), found)
        if self._probe is not None:
            self._probe(self._state.detector)
        return self._out(found)

    def notify_at(self) -> datetime | None:
        """When a minute can close or the oldest pending minute be handed over, unprompted."""
        now = self._clock().timestamp()
        due = self._state.merger.wake_at(now)
        times = [datetime.fromtimestamp(due, UTC)] if due is not None else []
        times += [t for w in self._windows.values() if (t := w.wake_at()) is not None]
        return min(times, default=None)

    def snapshot(self) -> _DetectState:
        """A deep copy of the windows, the merger and the detector for recovery."""
        return copy.deepcopy(self._state)


def _build_logic(
    config: DetectConfig,
    clock: Callable[[], datetime],
    probe: DetectProbe | None,
    origins: Callable[[], list[str]] | None,
    timer: StageTimer | None,
    key: str,
    resume: _DetectState | None,
    labels: Callable[[], Mapping[str, str]] | None = None,
) -> StatefulBatchLogic[SignalBatch, _Found, _DetectState]:
    if resume is not None and getattr(resume, "key", DETECTOR_KEY) != key:
        log.warning(
            "dropping the detector state snapshotted under key %r (a cluster of another "
            "shape); the detector now runs under %r and learns its baselines again",
            getattr(resume, "key", DETECTOR_KEY),
            key,
        )
        return _Retired(resume, clock)
    return _timed_logic(DetectLogic(config, clock, probe, origins, resume, key, labels), timer)


def _timed_logic(logic: DetectLogic, timer: StageTimer | None) -> DetectLogic:
    """The detector logic with its batch and notify calls timed into ``detect``."""
    if timer is not None:
        logic.on_batch = timed(timer, "detect", logic.on_batch)  # type: ignore[method-assign]
        logic.on_notify = timed(timer, "detect", logic.on_notify)  # type: ignore[method-assign]
    return logic


def detector_key(processes: int, workers_per_process: int) -> str:
    """The detector's key: in a cluster, one that runs it on the last process.

    Process 0 is the embedded storage's writer (it inserts every process's rows): with the
    detector elsewhere, the two single-worker jobs do not queue behind each other
    (:mod:`flows.placement`).
    """
    if processes < 2:
        return DETECTOR_KEY
    return key_for_process(DETECTOR_KEY, processes - 1, processes, workers_per_process)


def _window_late(signal: Signal, now: datetime) -> LateItem:
    """The ``late_items`` row of a message behind its partition's watermark."""
    assert signal.watermark is not None  # the partition clock stamps the late
    return late_item(signal, WINDOW_STAGE, signal.watermark, now)


@operator
def detect(
    step_id: str,
    up: Stream[EnrichedBatch],
    config: DetectConfig,
    clock: Callable[[], datetime],
    probe: DetectProbe | None = None,
    origins: Callable[[], list[str]] | None = None,
    timer: StageTimer | None = None,
    key: str = DETECTOR_KEY,
    labels: Callable[[], Mapping[str, str]] | None = None,
) -> DetectOut:
    """Emerging-issue detection on enriched batches (module docstring).

    ``origins`` lists the origins of the source's partitions (called when the step starts):
    minutes then close as soon as every one of them is past them (see
    :mod:`flows.detect.merge`). ``key`` is the detector's key, which decides the worker it
    runs on (:func:`detector_key`). ``labels`` gives the topics' Vietnamese labels for the
    alerts' summaries (called when the step starts).
    """
    extracted = op.map("signals", up, _signals)
    # (SignalBatch(origin, [Signal(id, unit, channel, topics, grams, ...), ...]) | None,
    #  [DeadLetter, ...] of the rows whose signal failed); no agent turns
    signals = op.filter_map("signal-batches", extracted, lambda pair: pair[0])
    keyed = op.key_on("to-detector", signals, lambda _: key)
    # ("detector", SignalBatch)
    found = op.stateful_batch(
        "detect",
        keyed,
        lambda resume: _build_logic(config, clock, probe, origins, timer, key, resume, labels),
    )
    # ("detector", _Found(alerts=[AlertRow, ...], late=[LateItem, ...] of both stages))
    alerts = op.filter_map("alerts", found, lambda kv: kv[1].alerts or None)
    late_items = op.filter_map("late-items", found, lambda kv: kv[1].late or None)
    dead = op.merge(
        "dead-letters",
        op.filter_map("signal-dead-letters", extracted, lambda pair: pair[1] or None),
        op.filter_map("detect-dead-letters", found, lambda kv: kv[1].dead or None),
    )
    return DetectOut(alerts, late_items, dead)


def _signals(batch: EnrichedBatch) -> tuple[SignalBatch | None, list[DeadLetter]]:
    """A batch's signals, and a dead letter for each row whose signal cannot be made."""
    try:
        signals = signals_of(batch.rows, batch.origin)
        dead: list[DeadLetter] = []
    except Exception:  # one row must not stop the flow: find it
        signals, dead = [], []
        for row in batch.rows:
            try:
                signals += signals_of([row], batch.origin)
            except Exception as exc:
                log.warning("no signal for message %s: %s", row.id, type(exc).__name__)
                dead.append(_detect_letter(row.id, batch.origin, row.created_at, exc))
    return (SignalBatch(batch.origin, signals) if signals else None), dead


def _detect_letter(id: str, origin: str, created_at: datetime, exc: Exception) -> DeadLetter:
    """The dead letter of a (stored) message detection failed on."""
    payload = {"id": id, "created_at": created_at.isoformat()}
    reason = f"detection failed, the message is stored but not counted: {exc}"
    return dead_letter("detect", type(exc).__name__, reason, origin, 0, payload, datetime.now(UTC))
