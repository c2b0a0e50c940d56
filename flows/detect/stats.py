"""Small, exact statistics for the detectors: tail probabilities and decayed estimators.

Scores are ``-log10`` of an upper-tail probability, so 6.0 means "one in a million under the
baseline". The tails are computed in log space from the regularized incomplete gamma and
beta functions (series and continued fractions), which also accept non-integer counts: the
detectors scale counts by a dispersion factor (quasi-Poisson) before testing them.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache

_LN10 = math.log(10.0)
_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 500


def _log_gamma_series(a: float, x: float) -> float:
    """``log P(a, x)`` (regularized lower incomplete gamma) by its series, for ``x < a + 1``."""
    term = 1.0 / a
    total = term
    n = a
    for _ in range(_MAX_ITER):
        n += 1.0
        term *= x / n
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return math.log(total) - x + a * math.log(x) - math.lgamma(a)


def _log_gamma_cf(a: float, x: float) -> float:
    """``log Q(a, x)`` (regularized upper incomplete gamma) by Lentz's continued fraction."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.log(h) - x + a * math.log(x) - math.lgamma(a)


def poisson_sf_log10(count: float, mean: float) -> float:
    """``log10 P(X >= count)`` for ``X ~ Poisson(mean)``; ``count`` may be non-integer.

    For non-integer ``count`` this is the continuous extension ``P(count, mean)`` (the
    regularized lower incomplete gamma function), which equals the tail at integers.
    """
    if count <= 0.0:
        return 0.0
    if mean <= 0.0:
        return -math.inf
    if mean < count + 1.0:
        return _log_gamma_series(count, mean) / _LN10
    q = math.exp(_log_gamma_cf(count, mean))  # upper part is large here: subtract safely
    return math.log10(max(1.0 - q, _TINY)) if q < 1.0 else math.log10(_TINY)


def poisson_score(count: float, mean: float) -> float:
    """``-log10 P(X >= count)`` for ``X ~ Poisson(mean)``: 0 when ``count <= mean``."""
    if count <= mean:
        return 0.0
    return -poisson_sf_log10(count, mean)


def _log_beta_cf(a: float, b: float, x: float) -> float:
    """``log`` of the continued fraction of the incomplete beta function (Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.log(h)


def _log_betainc(a: float, b: float, x: float) -> float:
    """``log I_x(a, b)``, the regularized incomplete beta function."""
    if x <= 0.0:
        return -math.inf
    if x >= 1.0:
        return 0.0
    front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front + _log_beta_cf(a, b, x) - math.log(a)
    other = math.exp(front + _log_beta_cf(b, a, 1.0 - x) - math.log(b))
    return math.log(max(1.0 - other, _TINY))


def binomial_score(successes: float, trials: float, p: float) -> float:
    """``-log10 P(Y >= successes)`` for ``Y ~ Binomial(trials, p)``: 0 at or below the mean.

    Uses ``P(Y >= k) = I_p(k, n - k + 1)``, valid for non-integer arguments too.
    """
    if successes <= trials * p or successes <= 0.0:
        return 0.0
    if p <= 0.0:
        return math.inf
    if p >= 1.0:
        return 0.0
    if successes > trials:
        return math.inf
    return -_log_betainc(successes, trials - successes + 1.0, p) / _LN10


@lru_cache(maxsize=64)
def half_life_factor(minutes: float) -> float:
    """The per-minute decay factor of a half-life given in minutes (cached)."""
    return float(0.5 ** (1.0 / minutes))


#: Beyond this many half-lives a decayed value is 0 (and no power overflows or underflows).
_MAX_HALF_LIVES = 1000.0


def decay(half_life: float, minutes: float) -> float:
    """The factor a value decays by over ``minutes`` (0 after very long gaps, 1 for none).

    Safe for any gap, however long (an event-time jump of centuries gives 0, not an
    ``OverflowError``).
    """
    if minutes <= 0:
        return 1.0
    halves = minutes / half_life
    if halves >= _MAX_HALF_LIVES:
        return 0.0
    return float(0.5**halves)


@dataclass(slots=True)
class EwMeanVar:
    """Exponentially weighted mean and variance of a per-minute series (West's update).

    ``weight`` is the total decayed weight seen so far: a series is trusted once it is large
    enough (the warm-up). Snapshot-able: plain floats.
    """

    mean: float = 0.0
    var: float = 0.0
    weight: float = 0.0

    def update(self, value: float, decay: float) -> None:
        """Add one observation; older ones count ``decay`` times less per step."""
        self.weight = self.weight * decay + 1.0
        alpha = 1.0 / self.weight
        delta = value - self.mean
        self.mean += alpha * delta
        self.var = (1.0 - alpha) * (self.var + alpha * delta * delta)

    def z(self, value: float, floor: float = 1.0) -> float:
        """How many standard deviations ``value`` is above the mean.

        The variance has a noise floor: at least the mean itself (Poisson) and ``floor``,
        so a quiet, flat series does not turn one extra message into a large z.
        """
        spread = math.sqrt(max(self.var, self.mean, floor))
        return (value - self.mean) / spread


class MinuteCounts:
    """Counts of the minutes that had any, with running totals: window sums in O(log n).

    ``minutes`` are increasing; ``totals[i]`` is the sum of the counts up to and including
    ``minutes[i]``. Old minutes are dropped in blocks (:meth:`trim`), so adding is O(1)
    amortized whatever the window.
    """

    __slots__ = ("minutes", "totals")

    def __init__(self, minutes: list[int] | None = None, totals: list[int] | None = None) -> None:
        self.minutes: list[int] = minutes if minutes is not None else []
        self.totals: list[int] = totals if totals is not None else []

    def add(self, minute: int, count: int) -> None:
        """Add the count of a minute after every minute already added."""
        self.totals.append((self.totals[-1] if self.totals else 0) + count)
        self.minutes.append(minute)

    def total(self, first: int, last: int) -> int:
        """The sum of the counts from minute ``first`` to ``last`` (both included)."""
        minutes, totals = self.minutes, self.totals
        if not minutes or minutes[-1] < first:
            return 0
        j = bisect_right(minutes, last) if last < minutes[-1] else len(minutes)
        i = bisect_left(minutes, first, 0, j)
        if j <= i:
            return 0
        return totals[j - 1] - (totals[i - 1] if i else 0)

    def items(self, first: int) -> list[tuple[int, int]]:
        """``(minute, count)`` of the minutes from ``first`` on."""
        minutes, totals = self.minutes, self.totals
        i = bisect_left(minutes, first)
        return [
            (minutes[k], totals[k] - (totals[k - 1] if k else 0)) for k in range(i, len(minutes))
        ]

    def first_from(self, first: int) -> int | None:
        """The first minute with a count from ``first`` on, if any."""
        i = bisect_left(self.minutes, first)
        return self.minutes[i] if i < len(self.minutes) else None

    @property
    def last(self) -> int | None:
        """The latest minute with a count."""
        return self.minutes[-1] if self.minutes else None

    def trim(self, oldest: int, slack: int) -> None:
        """Drop the minutes before ``oldest`` once ``slack`` minutes of them have piled up."""
        minutes = self.minutes
        if minutes and minutes[0] < oldest - slack:
            i = bisect_left(minutes, oldest)
            if i:
                dropped = self.totals[i - 1]
                del minutes[:i]
                self.totals = [t - dropped for t in self.totals[i:]]

    def __bool__(self) -> bool:
        return bool(self.minutes)

    def __deepcopy__(self, memo: dict[int, object]) -> MinuteCounts:
        return MinuteCounts(list(self.minutes), list(self.totals))

    def __getstate__(self) -> tuple[list[int], list[int]]:
        return self.minutes, self.totals

    def __setstate__(self, state: tuple[list[int], list[int]]) -> None:
        self.minutes, self.totals = state
