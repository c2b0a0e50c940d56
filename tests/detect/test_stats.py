"""Tail probabilities and decayed estimators of flows.detect.stats."""

from __future__ import annotations

import math

import pytest

from flows.detect.stats import (
    EwMeanVar,
    binomial_score,
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
