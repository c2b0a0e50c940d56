"""Closing global minutes from per-partition minute windows: :class:`MinuteMerger`.

Each input partition (an *origin*: a file, a simulator partition, a Kafka partition) has its
own event-time window clock, so a partition that runs ahead in a fast replay never makes
another partition's messages late. The detector, though, needs the whole minute: all
partitions' messages of minute ``m``. The merger holds each partition's closed minutes and
hands minute ``m`` over when every partition is known to be past it:

- a partition is past ``m`` when it has closed a window of minute ``m`` or later (its
  windows close in order), or when it has been silent (no message, see ``heard``) for
  longer than ``idle_grace_s`` of wall-clock time, in which case its progress is
  extrapolated with the wall clock from its last closed window (a quiet partition in live
  traffic does not hold every minute back; a finished file does not hold a replay back
  forever; a busy partition whose event time moves slowly is waited for);
- the partitions the source declares (``declare``) are waited for from the start, up to
  ``idle_grace_s`` each; when the source declares none, nothing is handed over during the
  first ``startup_grace_s`` wall-clock seconds instead, so a partition that starts a
  little later than the others is known before minutes close.

Messages of a minute that was already handed over are *late at merge*: returned to the
caller (they become ``late_items`` rows), not counted. In a replay where every partition
is active, hand-over depends on the data only, so 1 or 2 workers give the same minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flows.detect.signals import Signal


@dataclass(slots=True)
class OriginProgress:
    """The last minute a partition closed (None: not yet), and when it was last heard from.

    ``seen`` is wall-clock seconds: its last message or closed window.
    """

    closed_through: int | None
    seen: float


@dataclass(frozen=True, slots=True)
class LateSignal:
    """A message that reached the merger after its minute was handed over."""

    signal: Signal
    watermark: datetime


@dataclass
class MinuteMerger:
    """Per-partition closed minutes in, global closed minutes out (module docstring)."""

    startup_grace_s: float
    idle_grace_s: float
    origins: dict[str, OriginProgress] = field(default_factory=dict)
    pending: dict[int, list[Signal]] = field(default_factory=dict)
    closed_through: int | None = None
    started: float | None = None
    declared: bool = False

    def declare(self, origins: list[str], now: float) -> None:
        """Wait for these partitions (the source's own list) before closing minutes."""
        for origin in origins:
            self.origins.setdefault(origin, OriginProgress(None, now))
        self.declared = bool(origins)
        if self.started is None:
            self.started = now

    def heard(self, origin: str, now: float) -> None:
        """A partition sent messages: it is not silent, whatever its windows."""
        if self.started is None:
            self.started = now
        progress = self.origins.get(origin)
        if progress is None:
            self.origins[origin] = OriginProgress(None, now)
        else:
            progress.seen = now

    def add(self, origin: str, minute: int, signals: list[Signal], now: float) -> list[LateSignal]:
        """Take a closed minute window of one partition; return its messages if too late."""
        self.heard(origin, now)
        progress = self.origins[origin]
        last = progress.closed_through
        progress.closed_through = minute if last is None else max(last, minute)
        if self.closed_through is not None and minute <= self.closed_through:
            watermark = datetime.fromtimestamp((self.closed_through + 1) * 60, UTC)
            return [LateSignal(s, watermark) for s in signals]
        self.pending.setdefault(minute, []).extend(signals)
        return []

    def frontier(self, now: float) -> int | None:
        """The last minute every partition is past, or None while starting up."""
        if self.started is None:
            return None
        if not self.declared and now < self.started + self.startup_grace_s:
            return None
        bound = math.inf
        for progress in self.origins.values():
            silent = now - progress.seen - self.idle_grace_s
            if progress.closed_through is None:
                if silent < 0:
                    return None  # a declared partition that has not reported yet
                continue
            bound = min(bound, (progress.closed_through + 1) * 60 + max(0.0, silent))
        if math.isinf(bound):
            return None
        return int(bound // 60) - 1

    def ready(self, now: float) -> list[tuple[int, list[Signal]]]:
        """The minutes that can be handed over now, in order."""
        frontier = self.frontier(now)
        if frontier is None:
            return []
        out = [(m, self.pending.pop(m)) for m in sorted(self.pending) if m <= frontier]
        if self.closed_through is None or frontier > self.closed_through:
            self.closed_through = frontier
        return out

    def flush(self) -> list[tuple[int, list[Signal]]]:
        """Every pending minute, in order (the input has ended)."""
        out = [(m, self.pending.pop(m)) for m in sorted(self.pending)]
        if out:
            self.closed_through = max(self.closed_through or out[-1][0], out[-1][0])
        return out

    def wake_at(self, now: float) -> float | None:
        """Wall-clock time at which the oldest pending minute can be handed over."""
        if not self.pending or self.started is None:
            return None
        need = (min(self.pending) + 1) * 60
        due = self.started if self.declared else self.started + self.startup_grace_s
        for progress in self.origins.values():
            if progress.closed_through is None:
                due = max(due, progress.seen + self.idle_grace_s)
                continue
            behind = need - (progress.closed_through + 1) * 60
            if behind > 0:
                due = max(due, progress.seen + self.idle_grace_s + behind)
        return max(due, now)
