"""Per-key detectors on minute counts: baselines, scores on several time scales, fire/resolve.

Pure classes, independent of Bytewax, fed one minute at a time:

- :class:`Traffic`: what every key's baseline is measured against: the number of customer
  units of each recent minute and their exponentially decayed sum.
- :class:`Trigger`: persistence (``k`` elevated minutes out of the last ``n``, or one
  strong minute) before firing, then hysteresis: it resolves after ``resolve_after``
  quiet minutes in a row.
- :class:`VolumeMonitor`: the count of a key against two baselines. Its *share* baseline is
  the ratio of the key's messages to the rest of traffic (exponentially weighted sums), so
  the expected count follows the diurnal curve and a site-wide surge (everything x3)
  raises the expectation as much as the count. Its *count* baseline is the exponentially
  weighted mean and variance of the raw count. The key is scored on its last minute
  (elevated when the count is improbable under the share baseline, a Poisson tail scaled
  by the key's measured dispersion, at least ``min_ratio`` times the expectation and above
  the count baseline by ``count_z`` standard deviations; it fires on ``persist_k`` elevated
  minutes of ``persist_n``) and on sliding windows of the last ``scales`` minutes (5, 10,
  15, 60 by default), where a key of 0.2 messages a minute that suddenly gets 2 a minute is
  obvious while no single minute is. A key holding a large share of traffic (5% or
  more: a catch-all topic can hold 80% of messages) is scored as a binomial share of the
  minute's or window's units instead (:func:`share_score`): expected from the small rest
  of traffic, its expectation would swing with every minute's mix.
- :class:`NegativeMonitor`: the number of negative messages of a key among its messages,
  against the key's baseline negative share (a binomial tail).

Cost does not grow with the number of keys: a monitor is only *stepped* in a minute where
its key has messages (or it is hot); the minutes in between are applied lazily, in closed
form, the next time it is read (:meth:`VolumeMonitor.catch_up`). A minute without messages
can never make a key fire (its windows' counts do not grow while their expectations do),
so nothing is lost.

Elevated minutes feed the baselines clipped to the expectation, so an incident does not
teach the baseline that it is normal; a key hot for longer than ``adapt_after`` minutes
learns the new level. All state is plain numbers and short lists (snapshot-able).
"""

from __future__ import annotations

import copy
import math
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from flows.detect.config import DetectConfig
from flows.detect.stats import (
    EwMeanVar,
    MinuteCounts,
    binomial_score,
    decay,
    half_life_factor,
    poisson_score,
)

FIRE = "fire"
RESOLVE = "resolve"

#: The scale of the one-minute path (k-of-n elevated minutes), as alerts name it.
ONE_MINUTE = 1


@dataclass(slots=True)
class Traffic:
    """Customer units per minute, shared by every key's baseline.

    ``totals`` holds the last ``span`` minutes (minute -> units); ``before`` is the decayed
    sum of all minutes before the current one (half-life ``half_life``), which a key's
    baseline subtracts its own part from; ``windows`` the units of the last ``w`` minutes
    for every scale ``w``, computed once per minute.
    """

    span: int
    half_life: float
    minute: int | None = None
    current: int = 0
    before: float = 0.0
    totals: dict[int, int] = field(default_factory=dict)
    windows: dict[int, int] = field(default_factory=dict)

    def advance(self, minute: int, total: int, scales: tuple[int, ...]) -> None:
        """Make ``minute`` (with ``total`` units) the current minute."""
        if self.minute is not None:
            gap = minute - self.minute
            factor = half_life_factor(self.half_life)
            self.before = (self.before * factor + self.current) * decay(self.half_life, gap - 1)
        self.minute, self.current = minute, total
        self.totals[minute] = total
        oldest = minute - self.span
        if len(self.totals) > self.span:
            for old in [m for m in self.totals if m <= oldest]:
                del self.totals[old]
        self.windows = {w: self.units(minute - w + 1, minute) for w in scales}

    def through(self, minute: int) -> tuple[float, int]:
        """The decayed units of every minute up to ``minute`` (as of it), and ``minute``.

        ``minute`` is the current minute or the one before it (the state a key's baseline is
        compared at); anything older is taken as the one before the current minute.
        """
        assert self.minute is not None
        if minute >= self.minute:
            return self.before * half_life_factor(self.half_life) + self.current, self.minute
        return self.before, self.minute - 1

    def units(self, first: int, last: int) -> int:
        """Units from minute ``first`` to ``last`` (both included; older ones count 0)."""
        if last - first + 1 >= len(self.totals):
            return sum(t for m, t in self.totals.items() if first <= m <= last)
        return sum(self.totals.get(m, 0) for m in range(first, last + 1))

    def total(self, minute: int) -> int:
        """Units of one recent minute (0 when unknown)."""
        return self.totals.get(minute, 0)

    def skip(self) -> None:
        """A long gap without any message: forget the recent minutes (decay follows)."""
        self.totals.clear()

    def __deepcopy__(self, memo: dict[int, object]) -> Traffic:
        return Traffic(
            self.span,
            self.half_life,
            self.minute,
            self.current,
            self.before,
            dict(self.totals),
            dict(self.windows),
        )


@dataclass(slots=True)
class Trigger:
    """k-of-n persistence with a fast path for strong evidence, then resolve on quiet.

    ``step`` returns ``"fire"`` when the key turns hot, ``"resolve"`` when a hot key has
    been quiet for ``resolve_after`` minutes in a row, else ``None``. Elevated minutes are
    kept by number, so a key may skip quiet minutes while it is not hot. ``scale`` is the
    window (minutes) whose evidence made it fire.
    """

    elevated: list[int] = field(default_factory=list)
    hot: bool = False
    hot_since: int = -1
    quiet_run: int = 0
    scale: int = ONE_MINUTE

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

    def force_hot(self, minute: int, scale: int = ONE_MINUTE) -> None:
        """Make the key hot (it fired, or an alert was opened on it by drill-down)."""
        self.hot = True
        self.hot_since = minute
        self.quiet_run = 0
        self.scale = scale

    def elevated_count(self, minute: int, config: DetectConfig) -> int:
        """Elevated minutes among the ``persist_n - 1`` before ``minute``."""
        return sum(1 for m in self.elevated if minute - config.persist_n < m < minute)

    def __deepcopy__(self, memo: dict[int, object]) -> Trigger:
        return Trigger(list(self.elevated), self.hot, self.hot_since, self.quiet_run, self.scale)


class Minute(NamedTuple):
    """One minute of one key as a monitor scored it (a value: snapshots share it).

    ``total``: the units of all traffic that minute (the key's included).
    """

    minute: int
    observed: float
    expected: float
    score: float
    elevated: bool
    total: float = 0.0


#: Below this share of all traffic a key's count is scored as a Poisson count against its
#: expectation; from it on, as a binomial share of the minute's traffic (below).
BINOMIAL_SHARE = 0.05


def share_score(
    observed: float, expected: float, total: float, rate: float, phi: float, floor: float
) -> float:
    """``-log10 p`` of a key's count against its share of traffic, dispersion ``phi``.

    The expectation is the key's rate (units per unit of the rest of traffic) times the
    rest of traffic, itself a random count: for a small key the difference is negligible
    and the count is Poisson around ``max(expected, floor)``; for a key holding a large
    share ``p = rate / (1 + rate)`` of all traffic (a catch-all topic of 80% of messages is
    expected from the other 20%), the count is tested as what it is, given the units of
    the minute or window: binomial of ``total`` at ``p`` (the exact conditional test of
    two Poisson counts).
    """
    share = rate / (1.0 + rate)
    if share < BINOMIAL_SHARE:
        return poisson_score(observed / phi, max(expected, floor) / phi)
    return binomial_score(observed / phi, total / phi, share)


class WindowScore(NamedTuple):
    """A sliding window of ``scale`` minutes ending at ``minute``: counts and score.

    ``onset`` is where the rise began inside the window: the minute after the lowest point
    of the running excess (observed minus expected, minute by minute).
    """

    scale: int
    minute: int
    observed: float
    expected: float
    score: float
    onset: int

    @property
    def first(self) -> int:
        """The window's first minute."""
        return self.minute - self.scale + 1


@dataclass(slots=True)
class VolumeMonitor:
    """Volume of one key: share and count baselines, dispersion, trigger (module docstring).

    ``updated`` is the last minute applied to the state; ``before`` is the decayed traffic
    total before the key's first minute (its baseline counts traffic from then on).
    ``counts`` holds the units of the minutes with messages within the longest scale;
    ``recent`` the last ``persist_n`` minutes as scored (quiet minutes filled in when the
    key is next read); ``windows`` the latest window scores, one per scale (those passing
    the cheap gates). A window never reaches back to ``settled``, the minute the key's last
    alert resolved: its messages were that incident's.
    """

    first_minute: int
    last_seen: int
    updated: int
    before: float
    share_x: float = 0.0
    count: EwMeanVar = field(default_factory=EwMeanVar)
    dispersion: EwMeanVar = field(default_factory=EwMeanVar)
    recent: list[Minute] = field(default_factory=list)
    counts: MinuteCounts = field(default_factory=MinuteCounts)
    windows: tuple[WindowScore, ...] = ()
    watched: bool = False
    short: bool = False
    settled: int = -1
    trigger: Trigger = field(default_factory=Trigger)
    rate_seen: float = 0.0

    @classmethod
    def new(cls, minute: int, traffic: Traffic, share_x: float = 0.0) -> VolumeMonitor:
        """A monitor for a key first seen in ``minute`` (``share_x``: messages seen before)."""
        return cls(minute, minute, minute - 1, traffic.before, share_x)

    # -- baselines -----------------------------------------------------------------------

    def phi(self) -> float:
        """Dispersion (variance / mean of counts around the expectation), in [1, 4]."""
        if self.dispersion.weight < 30.0:
            return 1.2
        return min(max(self.dispersion.mean, 1.0), 4.0)

    def baseline(self, traffic: Traffic, config: DetectConfig) -> tuple[float, float]:
        """The key's decayed units and the rest of traffic's since its first minute.

        Both as of the latest minute the traffic knows (the current one once the key has
        been stepped in it, else the one before): the key's own count decays lazily.
        """
        hl = config.share_half_life
        now = self.updated if traffic.minute is None else traffic.minute
        if self.updated >= now:  # stepped this minute: as of it
            at = self.updated
            everything = traffic.before * half_life_factor(hl) + traffic.current
            own = self.share_x
        else:
            at = now - 1
            everything = traffic.before
            gap = at - self.updated
            own = self.share_x * (half_life_factor(hl) ** gap if gap < 1000 else decay(hl, gap))
        lived = at - self.first_minute + 1
        if lived <= 0:
            return own, 0.0
        rest = everything - self.before * decay(hl, lived) - own
        return own, max(rest, 0.0)

    def rate(self, traffic: Traffic, config: DetectConfig) -> float:
        """Expected units of the key per unit of the rest of traffic, with a small margin.

        The margin (one standard error of the baseline sum) keeps a young or small key
        whose baseline is still uncertain from alerting on noise.
        """
        own, rest = self.baseline(traffic, config)
        if rest <= 0.0:
            return 0.0
        prior = own + 1.0
        return (prior + math.sqrt(prior)) / rest

    def warm(self, minute: int, config: DetectConfig) -> bool:
        """Old enough and with enough baseline messages to alert."""
        return minute - self.first_minute >= config.warmup and self.share_x >= config.min_baseline

    def catch_up(self, minute: int, traffic: Traffic, config: DetectConfig) -> None:
        """Apply the quiet minutes after ``updated`` up to ``minute`` (no messages in them)."""
        gap = minute - self.updated
        if gap <= 0:
            return
        rate = self.rate(traffic, config)
        first = max(self.updated + 1, minute - config.persist_n + 1)
        for quiet in range(first, minute + 1):
            total = traffic.total(quiet)
            self.recent.append(Minute(quiet, 0, rate * total, 0.0, False, total))
        if len(self.recent) > config.persist_n:
            del self.recent[: len(self.recent) - config.persist_n]
        self.share_x *= decay(config.share_half_life, gap)
        _add_zeros(self.count, half_life_factor(config.count_half_life), gap)
        self.updated = minute
        self._trim(minute, config)

    def _trim(self, minute: int, config: DetectConfig) -> None:
        longest = config.longest_scale
        self.counts.trim(minute - longest + 1, longest)

    # -- windows -------------------------------------------------------------------------

    def observed(self, first: int, last: int) -> int:
        """Units of the key from minute ``first`` to ``last`` (within the longest scale)."""
        return self.counts.total(first, last)

    def window(
        self, first: int, last: int, traffic: Traffic, config: DetectConfig
    ) -> tuple[float, float]:
        """Observed and expected units of the key from minute ``first`` to ``last``."""
        observed = self.observed(first, last)
        rest = traffic.units(first, last) - observed
        return float(observed), self.rate(traffic, config) * max(rest, 0)

    def excess(self, first: int, last: int, traffic: Traffic, config: DetectConfig) -> float:
        """Units above expectation from minute ``first`` to ``last``."""
        observed, expected = self.window(first, last, traffic, config)
        return observed - expected

    # -- scoring -------------------------------------------------------------------------

    def score_window(self, config: DetectConfig) -> tuple[float, float, float]:
        """Observed, expected and score of the elevated minutes among the last ``n``."""
        observed = sum(m.observed for m in self.recent if m.elevated)
        expected = sum(m.expected for m in self.recent if m.elevated)
        total = sum(m.total for m in self.recent if m.elevated)
        floor = config.expected_floor * sum(1 for m in self.recent if m.elevated)
        score = share_score(observed, expected, total, self.rate_seen, self.phi(), floor)
        return observed, expected, score

    def evidence(self, config: DetectConfig) -> tuple[float, float, float, int]:
        """Observed, expected, score and first minute of what makes this key fire.

        A key that fired on a longer scale: that window. Otherwise the elevated minutes
        among the last ``persist_n``, or all of them when none is elevated (a key an alert
        was drilled down to).
        """
        scale = self.trigger.scale
        if scale != ONE_MINUTE:
            found = next((w for w in self.windows if w.scale == scale), None)
            if found is not None:
                return found.observed, found.expected, found.score, found.onset
        if any(m.elevated for m in self.recent):
            observed, expected, score = self.score_window(config)
            first = next(m.minute for m in self.recent if m.elevated)
            return observed, expected, score, first
        observed = sum(m.observed for m in self.recent)
        expected = sum(m.expected for m in self.recent)
        phi = self.phi()
        floor = config.expected_floor * len(self.recent)
        score = poisson_score(observed / phi, max(expected, floor) / phi)
        return observed, expected, score, self.recent[0].minute if self.recent else 0

    def first_active(self, window: WindowScore) -> int:
        """The first minute of ``window`` in which the key had messages."""
        found = self.counts.first_from(window.first)
        return window.minute if found is None else found

    def best_window(self) -> WindowScore | None:
        """The latest window score of the firing scale, or the strongest one."""
        if not self.windows:
            return None
        return max(self.windows, key=lambda w: (w.scale == self.trigger.scale, w.score))

    def step(
        self,
        minute: int,
        x: int,
        traffic: Traffic,
        config: DetectConfig,
        thresholds: Mapping[int, float],
    ) -> str | None:
        """Score one minute (``x`` units of this key), update, maybe fire.

        ``thresholds`` is the score the elevated minutes (``ONE_MINUTE``) and a window of
        each longer scale must reach to fire (their share of the false-alarm budget,
        :meth:`DetectConfig.one_minute_threshold`, :meth:`DetectConfig.scale_threshold`).
        """
        if self.updated < minute - 1:
            self.catch_up(minute - 1, traffic, config)
        rate = self.rate_seen = self.rate(traffic, config)
        total = traffic.total(minute)
        e = rate * max(total - x, 0)
        counts, trigger, recent = self.counts, self.trigger, self.recent
        if x:
            counts.add(minute, x)
            self.last_seen = minute
        warm = minute - self.first_minute >= config.warmup and self.share_x >= config.min_baseline
        score = 0.0
        elevated = False
        phi = self.phi()
        if x >= config.min_minute_volume and x >= config.min_ratio * e and warm:
            mean = self.count.mean
            if x >= mean + config.count_z * math.sqrt(max(mean, 1.0) * phi):
                score = share_score(x, e, total, rate, phi, config.expected_floor)
                elevated = score >= config.elevated_score
        recent.append(Minute(minute, x, e, score, elevated, total))
        if len(recent) > config.persist_n:
            del recent[0]
        fire = False
        scale = ONE_MINUTE
        if elevated:
            observed, _expected, window = self.score_window(config)
            persistent = trigger.elevated_count(minute, config) + 1 >= config.persist_k
            fire = observed >= config.min_volume and (
                (persistent and window >= thresholds.get(ONE_MINUTE, config.fire_score))
                or (score >= config.strong_score and x >= config.min_volume)
            )
        longest = config.longest_scale
        if warm and counts.total(minute - longest + 1, minute) >= config.scale_watch_volume:
            self.windows, self.watched, self.short = self._windows(minute, rate, traffic, config)
        elif self.windows or self.watched:
            self.windows, self.watched, self.short = (), False, False
        if not fire and not trigger.hot:
            for found in self.windows:
                if found.score >= thresholds.get(found.scale, math.inf):
                    fire, scale = True, found.scale
                    break
        quiet = x < 2 or x < max(config.min_ratio * e, e + 2.0 * math.sqrt(e * phi))
        if quiet and trigger.hot and trigger.scale != ONE_MINUTE and self.short:
            quiet = False
        event = trigger.step(minute, elevated, fire, quiet, config)
        if event == FIRE:
            trigger.scale = scale
        elif event == RESOLVE:
            self.settled = minute  # longer windows start after what was alerted on
        self._learn(minute, x, e, total, elevated, config)
        self.updated = minute
        counts.trim(minute - longest + 1, longest)
        return event

    def _windows(
        self, minute: int, rate: float, traffic: Traffic, config: DetectConfig
    ) -> tuple[tuple[WindowScore, ...], bool, bool]:
        """The sliding windows ending at ``minute`` that may fire, and two flags.

        ``watched``: some window is well above expectation (the baseline then learns
        clipped); ``short``: the shortest scale's window is (the incident goes on).
        """
        out = []
        watched = short = False
        floor = config.scale_expected_floor
        phi = self.phi() if self.dispersion.weight >= 30.0 else 1.0
        mean = self.count.mean
        minutes, totals = self.counts.minutes, self.counts.totals
        end = totals[-1] if totals else 0
        windows = traffic.windows
        watch = config.scale_watch_volume
        for scale in config.scales:
            first = minute - scale + 1
            if first <= self.settled:
                continue  # the window still holds an incident that was alerted on
            i = bisect_left(minutes, first)
            observed = end - (totals[i - 1] if i else 0)
            if observed < watch:
                continue
            expected = rate * max(windows.get(scale, 0) - observed, 0)
            base = max(expected, floor * scale)
            if observed <= base + 2.0 * math.sqrt(base * phi) + 1.0:
                continue  # cheap: the score would be low
            rise = config.scale_count_z * math.sqrt(max(mean * scale, 1.0) * phi)
            if observed < mean * scale + rise:
                continue  # the count itself did not rise (other traffic fell): not a rise
            score = share_score(observed, expected, windows.get(scale, 0), rate, phi, floor * scale)
            if score < config.scale_watch_score:
                continue
            watched = True
            short = short or scale == config.scales[0]
            if (
                observed < config.scale_min_volume
                or observed < config.scale_min_ratio * expected
                or observed - expected < config.scale_min_excess
            ):
                continue
            busiest = max(x for _m, x in self.counts.items(first))
            if busiest > config.scale_max_minute_share * observed:
                continue  # one minute's burst: the one-minute path judges it
            tail = tail_of(scale)
            recent = self.observed(minute - tail + 1, minute)
            recent_expected = rate * max(traffic.units(minute - tail + 1, minute) - recent, 0)
            if recent < 3 or recent < config.scale_min_ratio * recent_expected:
                continue  # the rise is over: what is left is its past
            onset = self._onset(first, minute, rate, traffic)
            out.append(WindowScore(scale, minute, observed, expected, score, onset))
        return tuple(out), watched, short

    def _onset(self, first: int, last: int, rate: float, traffic: Traffic) -> int:
        """The minute after the lowest point of the running excess from ``first`` to ``last``."""
        counts = dict(self.counts.items(first))
        running = lowest = 0.0
        onset = first
        for minute in range(first, last + 1):
            x = counts.get(minute, 0)
            running += x - rate * max(traffic.total(minute) - x, 0)
            if running < lowest:
                lowest, onset = running, minute + 1
        return min(onset, last)

    def active(self, config: DetectConfig) -> bool:
        """Whether the shortest longer scale's window is still well above expectation."""
        return self.short

    def idle(self, minute: int, traffic: Traffic, config: DetectConfig) -> None:
        """A hot key without messages this minute: scored as a minute of zero."""
        self.step(minute, 0, traffic, config, {})

    def __deepcopy__(self, memo: dict[int, object]) -> VolumeMonitor:
        return VolumeMonitor(
            self.first_minute,
            self.last_seen,
            self.updated,
            self.before,
            self.share_x,
            replace(self.count),
            replace(self.dispersion),
            list(self.recent),
            copy.deepcopy(self.counts),
            self.windows,
            self.watched,
            self.short,
            self.settled,
            copy.deepcopy(self.trigger),
            self.rate_seen,
        )

    def _learn(
        self, minute: int, x: int, e: float, total: float, elevated: bool, config: DetectConfig
    ) -> None:
        """Add the minute to the baselines, clipped while the key looks like an incident.

        An elevated minute, or any minute of a hot key, counts at most ``e + 2 sqrt(e) + 1``;
        a minute while a longer window is well above expectation (``watched``), or of a key
        hot on a longer scale, at most ``e + sqrt(e)``: a small key's incident of 2 messages a
        minute would otherwise be learned whole.
        """
        adapting = self.trigger.hot and minute - self.trigger.hot_since >= config.adapt_after
        learned = float(x)
        share = self.rate_seen / (1.0 + self.rate_seen)
        if share >= BINOMIAL_SHARE:  # a large key: its expectation from the rest is too noisy
            e = share * total
        if not adapting:
            if self.watched or (self.trigger.hot and self.trigger.scale != ONE_MINUTE):
                learned = min(learned, e + math.sqrt(e))
            elif elevated or self.trigger.hot:
                learned = min(learned, e + 2.0 * math.sqrt(e) + 1.0)
        decay_1 = half_life_factor(config.share_half_life)
        if e >= 1.0 and not elevated and not self.trigger.hot and not self.watched:
            if share >= BINOMIAL_SHARE:  # around the binomial mean and variance (share_score)
                spread = (x - e) ** 2 / max(e * (1.0 - share), 1e-9)
            else:
                spread = (x - e) ** 2 / e
            self.dispersion.update(min(spread, 16.0), half_life_factor(config.dispersion_half_life))
        self.share_x = self.share_x * decay_1 + learned
        self.count.update(learned, half_life_factor(config.count_half_life))


def tail_of(scale: int) -> int:
    """The last minutes of a window that must still be above expectation for it to fire.

    A long window keeps an incident's messages long after it ended; its tail (a sixth of
    it, 5 minutes at least) shows whether the rise is still going on.
    """
    return min(scale, max(5, scale // 6))


def _add_zeros(stats: EwMeanVar, factor: float, count: int) -> None:
    """Apply ``count`` observations of 0 to exponentially weighted stats, in closed form."""
    if count <= 0:
        return
    kept = factor**count if count < 100_000 else 0.0
    old = stats.weight * kept
    new = (1.0 - kept) / (1.0 - factor) if factor < 1.0 else float(count)
    weight = old + new
    if weight <= 0.0:
        return
    second = (stats.var + stats.mean * stats.mean) * old / weight
    stats.mean = stats.mean * old / weight
    stats.var = max(second - stats.mean * stats.mean, 0.0)
    stats.weight = weight


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
            factor = half_life_factor(config.negative_half_life)
            self.negatives = self.negatives * factor + y
            self.messages = self.messages * factor + x
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
