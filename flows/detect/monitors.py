"""Per-key detectors on minute counts: baselines, scores and the fire/resolve state machine.

Pure classes, independent of Bytewax, fed one minute at a time:

- :class:`Trigger`: persistence (``k`` elevated minutes out of the last ``n``, or one
  strong minute) before firing, then hysteresis: it resolves after ``resolve_after``
  quiet minutes in a row.
- :class:`VolumeMonitor`: the count of a key against two baselines. Its *share* baseline is
  the ratio of the key's messages to the rest of traffic (exponentially weighted sums), so
  the expected count follows the diurnal curve and a site-wide surge (everything x3)
  raises the expectation as much as the count. Its *count* baseline is the exponentially
  weighted mean and variance of the raw count. A minute is elevated when the count is
  improbable under the share baseline (a Poisson tail scaled by the key's measured
  dispersion, with a noise floor), at least ``min_ratio`` times the expectation, and above
  the count baseline by ``count_z`` standard deviations.
- :class:`NegativeMonitor`: the number of negative messages of a key among its messages,
  against the key's baseline negative share (a binomial tail).

Elevated minutes feed the baselines clipped to the expectation, so an incident does not
teach the baseline that it is normal; a key hot for longer than ``adapt_after`` minutes
learns the new level. All state is plain numbers and short lists (snapshot-able).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace

from flows.detect.config import DetectConfig
from flows.detect.stats import EwMeanVar, binomial_score, half_life_factor, poisson_score

FIRE = "fire"
RESOLVE = "resolve"


@dataclass(slots=True)
class Trigger:
    """k-of-n persistence with a fast path for strong evidence, then resolve on quiet.

    ``step`` returns ``"fire"`` when the key turns hot, ``"resolve"`` when a hot key has
    been quiet for ``resolve_after`` minutes in a row, else ``None``. Elevated minutes are
    kept by number, so a key may skip quiet minutes while it is not hot.
    """

    elevated: list[int] = field(default_factory=list)
    hot: bool = False
    hot_since: int = -1
    quiet_run: int = 0

    def step(
        self,
        minute: int,
        elevated: bool,
        fire: bool,
        quiet: bool,
        config: DetectConfig,
    ) -> str | None:
        """Record one minute; ``fire`` says the evidence of the window is enough."""
        if elevated:
            self.elevated.append(minute)
            if len(self.elevated) > config.persist_n:
                del self.elevated[0]
        if not self.hot:
            if fire:
                self.force_hot(minute)
                return FIRE
            return None
        self.quiet_run = self.quiet_run + 1 if quiet else 0
        if self.quiet_run >= config.resolve_after:
            self.hot = False
            self.quiet_run = 0
            self.elevated.clear()
            return RESOLVE
        return None

    def force_hot(self, minute: int) -> None:
        """Make the key hot (it fired, or an alert was opened on it by drill-down)."""
        self.hot = True
        self.hot_since = minute
        self.quiet_run = 0

    def elevated_count(self, minute: int, config: DetectConfig) -> int:
        """Elevated minutes among the ``persist_n - 1`` before ``minute``."""
        return sum(1 for m in self.elevated if minute - config.persist_n < m < minute)

    def __deepcopy__(self, memo: dict[int, object]) -> Trigger:
        return Trigger(list(self.elevated), self.hot, self.hot_since, self.quiet_run)


@dataclass(frozen=True, slots=True)
class Minute:
    """One minute of one key as a monitor scored it (a value: snapshots share it)."""

    minute: int
    observed: float
    expected: float
    score: float
    elevated: bool

    def __deepcopy__(self, memo: dict[int, object]) -> Minute:
        return self


@dataclass(slots=True)
class VolumeMonitor:
    """Volume of one key: share and count baselines, dispersion, trigger (module docstring)."""

    first_minute: int
    last_seen: int
    share_x: float = 0.0
    share_rest: float = 0.0
    count: EwMeanVar = field(default_factory=EwMeanVar)
    dispersion: EwMeanVar = field(default_factory=EwMeanVar)
    recent: list[Minute] = field(default_factory=list)
    trigger: Trigger = field(default_factory=Trigger)

    def phi(self) -> float:
        """Dispersion (variance / mean of counts around the expectation), in [1, 4]."""
        if self.dispersion.weight < 30.0:
            return 1.2
        return min(max(self.dispersion.mean, 1.0), 4.0)

    def expected(self, rest: float) -> float:
        """Expected count this minute given the rest of traffic, with a small upper margin.

        The margin (one standard error of the baseline sum) keeps a young or small key
        whose baseline is still uncertain from alerting on noise.
        """
        if self.share_rest <= 0.0:
            return 0.0
        prior = self.share_x + 1.0
        return rest * (prior + math.sqrt(prior)) / self.share_rest

    def warm(self, minute: int, config: DetectConfig) -> bool:
        """Old enough and with enough baseline messages to alert."""
        return minute - self.first_minute >= config.warmup and self.share_x >= config.min_baseline

    def score_window(self, config: DetectConfig) -> tuple[float, float, float]:
        """Observed, expected and score of the elevated minutes among the last ``n``."""
        observed = sum(m.observed for m in self.recent if m.elevated)
        expected = sum(m.expected for m in self.recent if m.elevated)
        phi = self.phi()
        floor = config.expected_floor * sum(1 for m in self.recent if m.elevated)
        return observed, expected, poisson_score(observed / phi, max(expected, floor) / phi)

    def evidence(self, config: DetectConfig) -> tuple[float, float, float, int]:
        """Observed, expected, score and first minute of what makes this key fire.

        The elevated minutes among the last ``persist_n``, or all of them when none is
        elevated (a key an alert was drilled down to).
        """
        if any(m.elevated for m in self.recent):
            observed, expected, score = self.score_window(config)
            first = next(m.minute for m in self.recent if m.elevated)
            return observed, expected, score, first
        observed = sum(m.observed for m in self.recent)
        expected = sum(m.expected for m in self.recent)
        phi = self.phi()
        floor = config.expected_floor * len(self.recent)
        score = poisson_score(observed / phi, max(expected, floor) / phi)
        return observed, expected, score, self.recent[0].minute

    def step(self, minute: int, x: int, total: int, config: DetectConfig) -> str | None:
        """Score one minute (``x`` units of this key among ``total``), update, maybe fire."""
        rest = max(total - x, 0)
        e = self.expected(rest)
        phi = self.phi()
        score = 0.0
        elevated = False
        if (
            x >= config.min_minute_volume
            and x >= config.min_ratio * e
            and self.warm(minute, config)
            and x >= self.count.mean + config.count_z * math.sqrt(max(self.count.mean, 1.0) * phi)
        ):
            score = poisson_score(x / phi, max(e, config.expected_floor) / phi)
            elevated = score >= config.elevated_score
        self.recent.append(Minute(minute, x, e, score, elevated))
        if len(self.recent) > config.persist_n:
            del self.recent[0]
        fire = False
        if elevated:
            observed, _expected, window = self.score_window(config)
            persistent = self.trigger.elevated_count(minute, config) + 1 >= config.persist_k
            fire = observed >= config.min_volume and (
                (persistent and window >= config.fire_score)
                or (score >= config.strong_score and x >= config.min_volume)
            )
        quiet = x < max(config.min_ratio * e, e + 2.0 * math.sqrt(e * phi)) or x < 2
        event = self.trigger.step(minute, elevated, fire, quiet, config)
        self._learn(minute, x, rest, e, elevated, config)
        if x:
            self.last_seen = minute
        return event

    def idle(self, minute: int, total: int, config: DetectConfig) -> None:
        """A minute without messages of this key while it is not hot: only learn."""
        e = self.expected(total)
        self.recent.append(Minute(minute, 0, e, 0.0, False))
        if len(self.recent) > config.persist_n:
            del self.recent[0]
        decay = half_life_factor(config.share_half_life)
        self.share_x *= decay
        self.share_rest = self.share_rest * decay + total
        self.count.update(0.0, half_life_factor(config.count_half_life))

    def __deepcopy__(self, memo: dict[int, object]) -> VolumeMonitor:
        return VolumeMonitor(
            self.first_minute,
            self.last_seen,
            self.share_x,
            self.share_rest,
            replace(self.count),
            replace(self.dispersion),
            list(self.recent),
            copy.deepcopy(self.trigger),
        )

    def _learn(
        self, minute: int, x: int, rest: int, e: float, elevated: bool, config: DetectConfig
    ) -> None:
        adapting = self.trigger.hot and minute - self.trigger.hot_since >= config.adapt_after
        learned = float(x)
        if (elevated or self.trigger.hot) and not adapting:
            learned = min(learned, e + 2.0 * math.sqrt(e) + 1.0)
        decay = half_life_factor(config.share_half_life)
        if e >= 1.0 and not elevated and not self.trigger.hot:
            self.dispersion.update(
                min((x - e) ** 2 / e, 16.0), half_life_factor(config.dispersion_half_life)
            )
        self.share_x = self.share_x * decay + learned
        self.share_rest = self.share_rest * decay + rest
        self.count.update(learned, half_life_factor(config.count_half_life))

    def skip(self, minutes: int, config: DetectConfig) -> None:
        """Decay the baselines over a gap of ``minutes`` without messages at all."""
        decay = half_life_factor(config.share_half_life) ** minutes
        self.share_x *= decay
        self.share_rest *= decay
        self.recent.clear()


@dataclass(slots=True)
class NegativeMonitor:
    """Negative share of one key: baseline share, binomial score, trigger."""

    negatives: float = 0.0
    messages: float = 0.0
    recent: list[Minute] = field(default_factory=list)
    counts: list[tuple[int, int]] = field(default_factory=list)
    trigger: Trigger = field(default_factory=Trigger)

    def share(self) -> float:
        """Baseline negative share with a margin of one standard error (Beta(1, 1) prior)."""
        q = (self.negatives + 1.0) / (self.messages + 2.0)
        return min(q + math.sqrt(q * (1.0 - q) / (self.messages + 2.0)), 0.999)

    def step(self, minute: int, y: int, x: int, warm: bool, config: DetectConfig) -> str | None:
        """Score ``y`` negatives among ``x`` messages of the key this minute."""
        q = self.share()
        score = 0.0
        elevated = False
        if warm and x >= config.negative_min_minute and y / x >= q + config.negative_min_lift:
            score = binomial_score(y, x, q)
            elevated = score >= config.elevated_score
        self.recent.append(Minute(minute, y / x if x else 0.0, q, score, elevated))
        self.counts.append((y, x))
        if len(self.recent) > config.persist_n:
            del self.recent[0]
            del self.counts[0]
        fire = False
        if elevated:
            ys, xs, _q = self.window(minute, config)
            persistent = self.trigger.elevated_count(minute, config) + 1 >= config.persist_k
            fire = ys >= config.negative_min_total and (
                (persistent and binomial_score(ys, xs, q) >= config.fire_score)
                or (score >= config.strong_score)
            )
        quiet = x == 0 or y / x < q + config.negative_min_lift / 2
        event = self.trigger.step(minute, elevated, fire, quiet, config)
        if not elevated and not self.trigger.hot:
            decay = half_life_factor(config.negative_half_life)
            self.negatives = self.negatives * decay + y
            self.messages = self.messages * decay + x
        return event

    def window(self, minute: int, config: DetectConfig) -> tuple[int, int, float]:
        """Negatives, messages and the baseline share over the elevated recent minutes.

        A key is not stepped in minutes without messages unless hot, so older entries than
        the last ``persist_n`` minutes are left out by their minute.
        """
        first = minute - config.persist_n
        kept = [
            (c, m)
            for c, m in zip(self.counts, self.recent, strict=True)
            if m.elevated and m.minute > first
        ]
        ys = sum(c[0] for c, _m in kept)
        xs = sum(c[1] for c, _m in kept)
        q = self.recent[-1].expected if self.recent else self.share()
        return ys, xs, q

    def __deepcopy__(self, memo: dict[int, object]) -> NegativeMonitor:
        return NegativeMonitor(
            self.negatives,
            self.messages,
            list(self.recent),
            list(self.counts),
            copy.deepcopy(self.trigger),
        )
