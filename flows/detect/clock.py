"""The event-time clock of one input partition's minute windows: :class:`PartitionClock`.

Like Bytewax's ``EventClock``, the watermark is the newest event time seen minus ``wait``,
so messages up to ``wait`` out of order inside a partition still count, and older ones are
late (they become ``late_items`` rows; this clock writes the watermark onto the message so
the row can show it). Two differences:

- The watermark follows the wall clock only after the partition has been silent for
  ``idle_grace``. While messages flow it depends on event times alone, so a replay of
  hours of event time in seconds gives the same windows whatever the machine's speed or a
  worker's pause; a quiet live partition still closes its windows ``wait + idle_grace``
  after their end.
- ``to_system_utc`` maps an event time to the wall-clock moment the watermark will reach
  it, so the detector step asks Bytewax to wake it exactly then (not at once, over and
  over, for a window whose end is in the wall-clock past: that would spin a core during
  replays of old data).

Trade-off: a larger ``wait`` tolerates more disorder inside a partition but delays every
minute by as much in live traffic; ``idle_grace`` delays only the minutes of quiet
partitions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flows.detect.signals import Signal

UTC_MIN = datetime.min.replace(tzinfo=UTC)
UTC_MAX = datetime.max.replace(tzinfo=UTC)


@dataclass
class PartitionClockState:
    """Snapshot of a partition clock: watermark base and when it last moved (wall clock)."""

    base: datetime = UTC_MIN
    moved_at: datetime | None = None


class PartitionClock:
    """The watermark of one partition (module docstring); it updates ``state`` in place."""

    def __init__(
        self,
        wait: timedelta,
        idle_grace: timedelta,
        now: Callable[[], datetime],
        state: PartitionClockState | None = None,
    ) -> None:
        self.wait, self.idle_grace = wait, idle_grace
        self._now_getter = now
        self._now = now()
        self.state = state if state is not None else PartitionClockState()
        if self.state.moved_at is None:
            self.state.moved_at = self._now

    def watermark(self) -> datetime:
        """The watermark now (reads the wall clock; never moves back)."""
        now = self._now_getter()
        if now > self._now:
            self._now = now
        moved_at = self.state.moved_at or self._now
        idle = self._now - moved_at - self.idle_grace
        if idle <= timedelta(0) or self.state.base == UTC_MIN:
            return self.state.base
        return self.state.base + idle

    def on_item(self, value: Signal, watermark: datetime) -> datetime:
        """Take a signal given the watermark before it; the watermark after it.

        A signal behind ``watermark`` is late: its ``watermark`` field is set.
        """
        candidate = value.created_at - self.wait
        if candidate > watermark:
            self.state.base = candidate
            self.state.moved_at = self._now
            return candidate
        if value.created_at < watermark:
            value.watermark = watermark
        return watermark

    def to_system_utc(self, timestamp: datetime) -> datetime | None:
        """The wall-clock moment the watermark reaches ``timestamp`` if nothing else comes."""
        if self.state.base == UTC_MIN:
            return None
        moved_at = self.state.moved_at or self._now
        return moved_at + self.idle_grace + max(timestamp - self.state.base, timedelta(0))
