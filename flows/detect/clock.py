"""The event-time clock of one input partition's minute windows: :class:`PartitionClock`.

Like Bytewax's ``EventClock``, the watermark is the newest event time seen minus ``wait``,
so messages up to ``wait`` out of order inside a partition still count, and older ones are
late (they go to the window's ``late`` stream; this clock writes the watermark onto the
message so the ``late_items`` row can show it). Two differences:

- The watermark follows the wall clock only after the partition has been silent for
  ``idle_grace``. While messages flow it depends on event times alone, so a replay of
  hours of event time in seconds gives the same windows whatever the machine's speed or a
  worker's pause; a quiet live partition still closes its windows ``wait + idle_grace``
  after their end.
- ``to_system_utc`` maps an event time to the wall-clock moment the watermark will reach
  it, so Bytewax wakes the window exactly then. (The default identity mapping makes
  Bytewax wake at once for a window whose end is in the wall-clock past, over and over:
  with a wait it spins a core during replays of old data.)

Trade-off: a larger ``wait`` tolerates more disorder inside a partition but delays every
minute by as much in live traffic; ``idle_grace`` delays only the minutes of quiet
partitions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bytewax.operators.windowing import Clock, ClockLogic

from flows.detect.signals import Signal

UTC_MIN = datetime.min.replace(tzinfo=UTC)
UTC_MAX = datetime.max.replace(tzinfo=UTC)


@dataclass
class PartitionClockState:
    """Snapshot of a partition clock: watermark base and when it last moved (wall clock)."""

    base: datetime = UTC_MIN
    moved_at: datetime | None = None


@dataclass
class _PartitionClockLogic(ClockLogic[Signal, PartitionClockState]):
    wait: timedelta
    idle_grace: timedelta
    now_getter: Callable[[], datetime]
    state: PartitionClockState = field(default_factory=PartitionClockState)
    _now: datetime = field(init=False)

    def __post_init__(self) -> None:
        self._now = self.now_getter()
        if self.state.moved_at is None:
            self.state.moved_at = self._now

    def _watermark(self) -> datetime:
        moved_at = self.state.moved_at or self._now
        idle = self._now - moved_at - self.idle_grace
        if idle <= timedelta(0) or self.state.base == UTC_MIN:
            return self.state.base
        return self.state.base + idle

    def before_batch(self) -> None:
        now = self.now_getter()
        if now > self._now:
            self._now = now

    def on_item(self, value: Signal) -> tuple[datetime, datetime]:
        timestamp = value.created_at
        watermark = self._watermark()
        candidate = timestamp - self.wait
        if candidate > watermark:
            self.state.base = candidate
            self.state.moved_at = self._now
            watermark = candidate
        elif timestamp < watermark:
            value.watermark = watermark
        return timestamp, watermark

    def on_notify(self) -> datetime:
        self.before_batch()
        return self._watermark()

    def on_eof(self) -> datetime:
        return UTC_MAX

    def to_system_utc(self, timestamp: datetime) -> datetime | None:
        if self.state.base == UTC_MIN:
            return None
        moved_at = self.state.moved_at or self._now
        return moved_at + self.idle_grace + max(timestamp - self.state.base, timedelta(0))

    def snapshot(self) -> PartitionClockState:
        return PartitionClockState(self.state.base, self.state.moved_at)


@dataclass
class PartitionClock(Clock[Signal, PartitionClockState]):
    """Event-time clock for the minute windows of one partition (module docstring)."""

    wait: timedelta
    idle_grace: timedelta
    now_getter: Callable[[], datetime]

    def build(self, resume_state: PartitionClockState | None) -> _PartitionClockLogic:
        """A clock logic, resumed from a snapshot when there is one."""
        if resume_state is None:
            return _PartitionClockLogic(self.wait, self.idle_grace, self.now_getter)
        return _PartitionClockLogic(
            self.wait,
            self.idle_grace,
            self.now_getter,
            PartitionClockState(resume_state.base, resume_state.moved_at),
        )
