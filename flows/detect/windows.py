"""One input partition's 1-minute event-time windows: :class:`PartitionWindows`.

The detector step receives each micro-batch's signals as one item (a list crosses between
workers or processes as one pickle, not one per message) and cuts them into minutes here,
with the semantics of Bytewax's ``collect_window`` over a ``TumblingWindower`` of one
minute aligned to the epoch, in ordered mode, on a :class:`~flows.detect.clock.PartitionClock`:

- a signal whose event time is behind the partition's watermark is *late* (the clock
  stamps the watermark on it);
- the others wait until the watermark reaches them and then join their minute in event
  time order (equal times keep their arrival order);
- a minute closes when the watermark reaches its end; its signals go to the merger.

The windows' state (:class:`WindowState`) is plain data, so the detector step's snapshot
pickles; the clock logic that reads the wall clock is rebuilt around it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flows.detect.clock import UTC_MAX, PartitionClock, PartitionClockState
from flows.detect.signals import Signal

#: A closed minute: (minutes since the epoch, its signals in event-time order).
Minute = tuple[int, list[Signal]]


@dataclass
class WindowState:
    """What a partition's windows remember: clock, signals waiting, open minutes."""

    clock: PartitionClockState = field(default_factory=PartitionClockState)
    queue: list[tuple[float, int, Signal]] = field(default_factory=list)
    """A heap of (event time, arrival number, signal) not yet reached by the watermark."""
    open: dict[int, list[Signal]] = field(default_factory=dict)
    arrivals: int = 0


class PartitionWindows:
    """The minute windows of one partition (module docstring); ``state`` is the snapshot."""

    def __init__(
        self,
        state: WindowState,
        wait: timedelta,
        idle_grace: timedelta,
        now: Callable[[], datetime],
    ) -> None:
        self.state = state
        self._clock = PartitionClock(wait, idle_grace, now, state.clock)

    def add(self, signals: list[Signal]) -> tuple[list[Minute], list[Signal]]:
        """Take a partition's signals in arrival order: the minutes they close, and the late."""
        clock, state = self._clock, self.state
        late: list[Signal] = []
        watermark = clock.watermark()  # reads the wall clock once for the batch
        for signal in signals:
            watermark = clock.on_item(signal, watermark)
            if signal.created_at < watermark:
                late.append(signal)
            else:
                at = signal.created_at.timestamp()
                heapq.heappush(state.queue, (at, state.arrivals, signal))
                state.arrivals += 1
        return self._flush(watermark), late

    def advance(self) -> list[Minute]:
        """The minutes that close now without new signals (a quiet partition's idle grace)."""
        return self._flush(self._clock.watermark())

    def close_all(self) -> list[Minute]:
        """Every minute still open (the input has ended)."""
        return self._flush(UTC_MAX)

    def wake_at(self) -> datetime | None:
        """The wall-clock moment the next minute can close if no new signal comes."""
        state = self.state
        minutes = list(state.open)
        if state.queue:  # the earliest waiting signal joins the earliest of their minutes
            minutes.append(int(state.queue[0][0] // 60))
        if not minutes:
            return None
        return self._clock.to_system_utc(_at((min(minutes) + 1) * 60))

    def _flush(self, watermark: datetime) -> list[Minute]:
        state = self.state
        reached = float("inf") if watermark == UTC_MAX else watermark.timestamp()
        queue, open_ = state.queue, state.open
        while queue and queue[0][0] <= reached:
            at, _, signal = heapq.heappop(queue)
            open_.setdefault(int(at // 60), []).append(signal)
        closed = sorted(m for m in open_ if (m + 1) * 60 <= reached)
        return [(m, open_.pop(m)) for m in closed]


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
