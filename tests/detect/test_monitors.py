"""Per-key monitors on synthetic minute counts: persistence, minimum volume, surges, resolve."""

from __future__ import annotations

import random

from flows.detect.config import DetectConfig
from flows.detect.monitors import FIRE, RESOLVE, NegativeMonitor, Trigger, VolumeMonitor
from tests.detect.support import poisson

CONFIG = DetectConfig()


def run(
    counts: list[tuple[int, int]], config: DetectConfig = CONFIG
) -> tuple[VolumeMonitor, list[tuple[int, str]]]:
    """Feed (key count, total) per minute; return the monitor and its (minute, event)s."""
    monitor = VolumeMonitor(first_minute=0, last_seen=0)
    events = []
    for minute, (x, total) in enumerate(counts):
        event = monitor.step(minute, x, total, config)
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


def test_a_small_key_below_the_minimum_volume_does_not_fire() -> None:
    rng = random.Random(4)
    counts = traffic(rng, 200, 0.3, 200) + traffic(rng, 10, 0.3, 200, key_x=6)
    assert max(x for x, _ in counts[200:]) < CONFIG.min_volume
    _, events = run(counts)
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
