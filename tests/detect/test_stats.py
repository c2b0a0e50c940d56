"""Tail probabilities and decayed estimators of flows.detect.stats."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.detect.stats import (
    EwMeanVar,
    MinuteCounts,
    binomial_score,
    decay,
    half_life_factor,
    poisson_score,
    poisson_sf_log10,
)


def exact_poisson_sf(k: int, mean: float) -> float:
    return 1.0 - sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k))


def exact_binomial_sf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@pytest.mark.parametrize(
    ("count", "mean"), [(5, 0.5), (10, 1.0), (3, 2.5), (30, 12.0), (1, 0.001), (60, 40.0)]
)
def test_poisson_tail_matches_the_exact_sum(count: int, mean: float) -> None:
    assert poisson_sf_log10(count, mean) == pytest.approx(
        math.log10(exact_poisson_sf(count, mean)), rel=1e-9
    )


def test_poisson_score_is_zero_at_or_below_the_mean_and_grows_with_the_count() -> None:
    assert poisson_score(3, 3.0) == 0.0
    assert poisson_score(2, 5.0) == 0.0
    scores = [poisson_score(k, 4.0) for k in range(5, 30, 5)]
    assert scores == sorted(scores) and scores[-1] > 8


def test_poisson_tail_is_continuous_between_integer_counts() -> None:
    low, mid, high = (poisson_sf_log10(c, 3.0) for c in (7.0, 7.5, 8.0))
    assert low > mid > high


@pytest.mark.parametrize(
    ("k", "n", "p"), [(8, 10, 0.4), (30, 40, 0.45), (3, 3, 0.2), (50, 200, 0.2)]
)
def test_binomial_score_matches_the_exact_sum(k: int, n: int, p: float) -> None:
    assert binomial_score(k, n, p) == pytest.approx(
        -math.log10(exact_binomial_sf(k, n, p)), rel=1e-9
    )


def test_binomial_score_is_zero_at_the_mean() -> None:
    assert binomial_score(2, 10, 0.3) == 0.0


def test_half_life_factor_halves_after_its_half_life() -> None:
    assert half_life_factor(60.0) ** 60 == pytest.approx(0.5)


def test_ew_mean_var_tracks_a_level_and_its_spread() -> None:
    stat = EwMeanVar()
    for n in range(400):
        stat.update(10.0 + (2.0 if n % 2 else -2.0), half_life_factor(30.0))
    assert stat.mean == pytest.approx(10.0, abs=0.2)
    assert stat.var == pytest.approx(4.0, rel=0.1)
    assert stat.z(16.0) == pytest.approx(6.0 / math.sqrt(max(stat.var, stat.mean)), rel=0.05)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 5), st.integers(1, 9)), min_size=1, max_size=80),
    st.integers(0, 400),
    st.integers(0, 60),
)
def test_minute_counts_sum_any_window_as_a_plain_sum_would_even_after_trimming(
    steps: list[tuple[int, int]], first: int, span: int
) -> None:
    counts = MinuteCounts()
    kept: list[tuple[int, int]] = []
    minute = 0
    for gap, count in steps:
        minute += gap
        counts.add(minute, count)
        kept.append((minute, count))
        counts.trim(minute - 30, 10)  # drops old minutes in blocks
    last = first + span
    if first >= minute - 30:  # windows the trimming promised to keep
        assert counts.total(first, last) == sum(c for m, c in kept if first <= m <= last)
        assert counts.items(first) == [(m, c) for m, c in kept if m >= first]
    assert counts.last == minute


@pytest.mark.parametrize("minutes", [0, 1, 7, 10**6, 10**12])
def test_decay_is_safe_for_any_gap(minutes: float) -> None:
    factor = decay(180.0, minutes)
    assert 0.0 <= factor <= 1.0
    assert factor == (
        0.5 ** (minutes / 180.0) if minutes < 1000 else pytest.approx(0.0, abs=1e-300)
    )
