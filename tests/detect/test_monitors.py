"""Per-key monitors on synthetic minute counts: persistence, minimum volume, surges, resolve."""

from __future__ import annotations

import random

import pytest

from flows.detect.config import DetectConfig
from flows.detect.monitors import (
    FIRE,
    RESOLVE,
    NegativeMonitor,
    Traffic,
    Trigger,
    VolumeMonitor,
)
from tests.detect.support import poisson

CONFIG = DetectConfig()
THRESHOLDS = {w: CONFIG.scale_threshold(w, 600) for w in CONFIG.scales}


def run(
    counts: list[tuple[int, int]], config: DetectConfig = CONFIG, *, every_minute: bool = True
) -> tuple[VolumeMonitor, list[tuple[int, str]]]:
    """Feed (key count, total) per minute; return the monitor and its (minute, event)s.

    As the detector does, the monitor is stepped in the minutes its key has messages (and
    while hot); with ``every_minute`` it is stepped in every minute.
    """
    traffic = Traffic(config.longest_scale + config.persist_n + 1, config.share_half_life)
    traffic.advance(0, counts[0][1], config.scales)
    monitor = VolumeMonitor.new(0, traffic)
    events = []
    for minute, (x, total) in enumerate(counts):
        if minute:
            traffic.advance(minute, total, config.scales)
        if not (x or every_minute or monitor.trigger.hot):
            continue
        event = monitor.step(minute, x, traffic, config, THRESHOLDS)
        if event:
            events.append((minute, event))
    return monitor, events


def traffic(
    rng: random.Random,
    minutes: int,
    key_rate: float,
    rest_rate: float,
    key_x: float = 1.0,
    all_x: float = 1.0,
) -> list[tuple[int, int]]:
    out = []
    for _ in range(minutes):
        x = poisson(rng, key_rate * key_x * all_x)
        out.append((x, x + poisson(rng, rest_rate * all_x)))
    return out


def test_a_key_without_history_does_not_alert_on_its_first_busy_minutes() -> None:
    _, events = run([(40, 200)] * 30)
    assert events == []


def test_steady_traffic_does_not_fire() -> None:
    rng = random.Random(1)
    _, events = run(traffic(rng, 600, key_rate=8, rest_rate=190))
    assert events == []


def test_a_4x_spike_fires_once_within_two_minutes_then_resolves() -> None:
    rng = random.Random(2)
    counts = (
        traffic(rng, 120, 8, 190) + traffic(rng, 12, 8, 190, key_x=4) + traffic(rng, 30, 8, 190)
    )
    _, events = run(counts)
    assert [e for _, e in events] == [FIRE, RESOLVE]
    fired, resolved = events[0][0], events[1][0]
    assert 120 <= fired <= 121
    assert 132 + CONFIG.resolve_after - 1 <= resolved <= 132 + CONFIG.resolve_after + 2


def test_one_elevated_minute_waits_for_a_second_one_k_of_n() -> None:
    rng = random.Random(3)
    base = traffic(rng, 120, 8, 190)
    blip = [(21, 211)]  # elevated (about 2.6x), not strong enough to fire alone
    _, events = run(base + blip + traffic(rng, 20, 8, 190))
    assert events == []
    _, events = run(base + blip + [(26, 216)] + traffic(rng, 20, 8, 190))
    assert [e for _, e in events][:1] == [FIRE]
    assert events[0][0] == 121


def test_one_busy_minute_of_a_small_key_does_not_fire() -> None:
    rng = random.Random(4)
    counts = [*traffic(rng, 200, 0.3, 200), (6, 206), *traffic(rng, 30, 0.3, 200)]
    assert max(x for x, _ in counts[200:]) < CONFIG.min_volume
    _, events = run(counts, every_minute=False)
    assert events == []


def test_a_site_wide_surge_raises_counts_but_not_shares_and_does_not_fire() -> None:
    rng = random.Random(5)
    counts = (
        traffic(rng, 180, 8, 190) + traffic(rng, 60, 8, 190, all_x=3) + traffic(rng, 30, 8, 190)
    )
    monitor, events = run(counts)
    assert events == []
    assert monitor.count.mean < 15  # the surge was seen, just not as a share rise


def test_a_drop_of_other_traffic_raises_the_share_but_not_the_count_and_does_not_fire() -> None:
    rng = random.Random(6)
    counts = traffic(rng, 180, 8, 190) + traffic(rng, 30, 8, 40)
    _, events = run(counts)
    assert events == []


def test_trigger_counts_k_of_n_and_resolves_after_quiet_minutes() -> None:
    trigger = Trigger()
    config = DetectConfig(persist_k=2, persist_n=3, resolve_after=3)
    assert trigger.step(0, True, False, False, config) is None
    assert trigger.step(1, False, True, False, config) == FIRE
    assert trigger.hot
    assert [trigger.step(m, False, False, True, config) for m in (2, 3)] == [None, None]
    assert trigger.step(4, True, True, False, config) is None  # not quiet: the run restarts
    assert [trigger.step(m, False, False, True, config) for m in (5, 6, 7)] == [None, None, RESOLVE]
    assert not trigger.hot


def test_negative_share_rising_at_constant_volume_fires() -> None:
    rng = random.Random(7)
    monitor = NegativeMonitor()
    events = []
    for minute in range(240):
        x = poisson(rng, 20)
        share = 0.2 if minute < 200 else 0.75
        y = sum(rng.random() < share for _ in range(x))
        event = monitor.step(minute, y, x, minute >= 60, CONFIG)
        if event:
            events.append((minute, event))
    assert events and events[0][1] == FIRE
    assert 200 <= events[0][0] <= 202
    assert [e for _, e in events].count(FIRE) == 1


def test_a_small_key_rising_to_two_a_minute_fires_on_a_longer_scale_within_minutes() -> None:
    rng = random.Random(8)
    quiet = traffic(rng, 300, 0.2, 150)
    incident = [(x + poisson(rng, 2.0), total) for x, total in traffic(rng, 20, 0.2, 150)]
    monitor, events = run(quiet + incident + traffic(rng, 40, 0.2, 150), every_minute=False)
    assert [e for _, e in events][:1] == [FIRE]
    fired = events[0][0]
    assert 300 <= fired <= 310  # 11 messages where 1.3 are expected (this draw is slow)
    assert monitor.trigger.scale in CONFIG.scales  # no single minute was enough


def test_a_small_steady_key_never_fires_on_any_scale() -> None:
    rng = random.Random(9)
    for key_rate in (0.05, 0.3, 1.0):
        _, events = run(traffic(rng, 1500, key_rate, 150), every_minute=False)
        assert events == [], key_rate


def test_quiet_minutes_applied_lazily_give_the_same_baseline_as_stepping_each_minute() -> None:
    rng = random.Random(10)
    counts = traffic(rng, 400, 0.4, 150)
    eager, _ = run(counts, every_minute=True)
    lazy, _ = run(counts, every_minute=False)
    assert lazy.updated < eager.updated or counts[-1][0]
    config = CONFIG
    final = Traffic(config.longest_scale + config.persist_n + 1, config.share_half_life)
    for minute, (_x, total) in enumerate(counts):
        final.advance(minute, total, config.scales)
    for monitor in (eager, lazy):
        monitor.catch_up(len(counts) - 1, final, config)
    assert lazy.share_x == pytest.approx(eager.share_x, rel=1e-9)
    assert lazy.rate(final, config) == pytest.approx(eager.rate(final, config), rel=1e-9)
    assert lazy.count.mean == pytest.approx(eager.count.mean, rel=1e-6, abs=1e-9)
    assert lazy.count.var == pytest.approx(eager.count.var, rel=1e-6, abs=1e-9)


def test_a_resolved_incident_does_not_fire_again_from_a_longer_window() -> None:
    rng = random.Random(11)
    quiet = traffic(rng, 300, 0.3, 150)
    incident = [(x + poisson(rng, 3.0), total) for x, total in traffic(rng, 15, 0.3, 150)]
    _, events = run(quiet + incident + traffic(rng, 120, 0.3, 150), every_minute=False)
    assert [e for _, e in events] == [FIRE, RESOLVE]


def test_share_score_is_poisson_for_a_small_key_and_binomial_for_a_large_one() -> None:
    from flows.detect.monitors import share_score
    from flows.detect.stats import binomial_score, poisson_score

    # a key of 1% of traffic: the Poisson tail around its expectation
    assert share_score(12, 3.0, 300, 0.01, 1.0, 0.3) == poisson_score(12, 3.0)
    # a topic of 75% of messages (rate 3 per unit of the rest): 106 of 130 is 82%, a
    # share well within chance, though the rest-based expectation (3 x 24 = 72) says
    # otherwise
    assert share_score(106, 72.0, 130, 3.0, 1.0, 0.3) == binomial_score(106, 130, 0.75)
    assert share_score(106, 72.0, 130, 3.0, 1.0, 0.3) < 2.0 < poisson_score(106, 72.0)


def test_a_key_holding_most_of_traffic_does_not_fire_on_chance_but_fires_when_it_doubles() -> None:
    config = DetectConfig()
    rng = random.Random(11)
    quiet = traffic(rng, 900, 90.0, 30.0)
    _monitor, events = run(quiet, config)
    assert not [e for e in events if e[1] == FIRE]
    rng = random.Random(12)
    counts = traffic(rng, 300, 90.0, 30.0) + traffic(rng, 10, 90.0, 30.0, key_x=2.0)
    _monitor, events = run(counts, config)
    assert [m for m, e in events if e == FIRE and m >= 300]


def test_the_one_minute_scale_has_its_share_of_the_budget() -> None:
    config = DetectConfig()
    at_600 = config.one_minute_threshold(600)
    assert at_600 == max(config.fire_score, config.scale_threshold(config.persist_n, 600))
    assert config.one_minute_threshold(6000) == pytest.approx(at_600 + 1.0)
    assert DetectConfig(fire_score=9.0).one_minute_threshold(600) == 9.0
