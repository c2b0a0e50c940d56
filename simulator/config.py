"""What a simulation is asked to produce: :class:`SimulationConfig`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas.errors import ConfigError
from simulator.incidents import Incident, Surge


def default_start(hours: float, now: datetime | None = None) -> datetime:
    """``now`` minus the span, floored to the minute: the default start, so data is recent."""
    moment = (now or datetime.now(UTC)) - timedelta(hours=hours)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that determines a simulated stream; equal configs give identical output.

    - ``seed``: the stream is a pure function of the config; change the seed for another.
    - ``start`` (aware; None means :func:`default_start` at the moment the simulator is
      built, so set it for reproducible runs) and ``hours``: the event-time span.
    - ``messages``: the number of baseline messages over the span, spread along the diurnal
      curve (exact: a chat conversation counts all its turns). Surges and incidents add
      their extra messages on top. Or ``rate_per_minute``: the mean baseline rate, with
      Poisson counts per minute; exactly one of the two is set.
    - ``incidents``, ``surges``, ``random_incidents``: ground truth to inject.
    - ``source_mix`` (review/chat/social -> weight) and ``channel_mix`` (channel -> weight
      inside its source; 0 removes a channel) override ``resources/mix.yaml``.
    - ``diurnal``: follow the daily traffic curve (False: flat traffic).
    - ``rate``: pace emission to this many messages per second of wall-clock time (split
      evenly over partitions); ``realtime``: emit each message when the wall clock reaches
      its event time. Neither changes the content of the stream.
    """

    seed: int = 7
    start: datetime | None = None
    hours: float = 6.0
    messages: int | None = 24_000
    rate_per_minute: float | None = None
    incidents: tuple[Incident, ...] = ()
    surges: tuple[Surge, ...] = ()
    random_incidents: int = 0
    source_mix: Mapping[str, float] | None = field(default=None, hash=False)
    channel_mix: Mapping[str, float] | None = field(default=None, hash=False)
    diurnal: bool = True
    rate: float | None = None
    realtime: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            msg = f"seed must be an integer, got {self.seed!r}"
            raise ConfigError(msg)
        if self.start is not None and (self.start.tzinfo is None or self.start.utcoffset() is None):
            msg = (
                f"start must be timezone-aware (e.g. 2026-11-20T00:00:00+07:00), "
                f"got naive {self.start.isoformat()}"
            )
            raise ConfigError(msg)
        if not (
            isinstance(self.hours, int | float) and math.isfinite(self.hours) and self.hours > 0
        ):
            msg = f"hours must be a positive number, got {self.hours!r}"
            raise ConfigError(msg)
        if (self.messages is None) == (self.rate_per_minute is None):
            msg = (
                "give exactly one of messages (a total) and rate_per_minute (a mean rate), got "
                f"messages={self.messages!r}, rate_per_minute={self.rate_per_minute!r}"
            )
            raise ConfigError(msg)
        if self.messages is not None and self.messages < 0:
            msg = f"messages must be 0 or more, got {self.messages}"
            raise ConfigError(msg)
        if self.rate_per_minute is not None and not self.rate_per_minute > 0:
            msg = f"rate_per_minute must be positive, got {self.rate_per_minute}"
            raise ConfigError(msg)
        if self.random_incidents < 0:
            msg = f"random_incidents must be 0 or more, got {self.random_incidents}"
            raise ConfigError(msg)
        if self.rate is not None and not self.rate > 0:
            msg = f"rate must be a positive number of messages per second, got {self.rate}"
            raise ConfigError(msg)
        object.__setattr__(self, "incidents", tuple(self.incidents))
        object.__setattr__(self, "surges", tuple(self.surges))
        ids = [i.id for i in self.incidents] + [s.id for s in self.surges]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            msg = f"incident and surge ids must be unique, got {', '.join(duplicates)} twice"
            raise ConfigError(msg)

    @property
    def span(self) -> timedelta:
        """Length of the simulated event-time window."""
        return timedelta(hours=self.hours)
