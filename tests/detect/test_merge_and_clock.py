"""The minute merger across partitions and the per-partition window clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows.detect.clock import PartitionClock
from flows.detect.merge import MinuteMerger
from tests.detect.support import START, START_MINUTE, make_signal

M = START_MINUTE


def test_a_minute_is_handed_over_once_every_partition_is_past_it() -> None:
    merger = MinuteMerger(startup_grace_s=0.0, idle_grace_s=30.0)
    a, b = make_signal(1, 0), make_signal(2, 0)
    assert merger.add("p0", M, [a], now=100.0) == []
    assert merger.add("p0", M + 1, [make_signal(3, 1)], now=100.0) == []
    assert [m for m, _ in merger.ready(now=100.0)] == [M, M + 1]  # only p0 is known
    merger = MinuteMerger(startup_grace_s=0.0, idle_grace_s=30.0)
    merger.add("p0", M, [a], now=100.0)
    merger.add("p1", M, [b], now=100.0)
    merger.add("p0", M + 1, [], now=100.0)
    assert merger.ready(now=100.0) == [(M, [a, b])]  # both closed minute 0
    assert merger.ready(now=100.0) == []  # p1 has not closed minute 1


def test_a_window_for_a_minute_already_handed_over_is_late_at_merge() -> None:
    merger = MinuteMerger(startup_grace_s=0.0, idle_grace_s=30.0)
    merger.add("p0", M, [make_signal(1, 0)], now=0.0)
    merger.add("p0", M + 2, [make_signal(2, 2)], now=0.0)
    assert [m for m, _ in merger.ready(now=0.0)] == [M, M + 2]
    late = merger.add("p0", M + 1, [make_signal(3, 1)], now=1.0)
    assert [x.signal.id for x in late] == ["m3"]
    assert late[0].watermark == START + timedelta(minutes=3)


def test_a_silent_partition_stops_holding_minutes_back_after_its_idle_grace() -> None:
    merger = MinuteMerger(startup_grace_s=0.0, idle_grace_s=10.0)
    merger.add("p1", M, [make_signal(1, 0)], now=0.0)
    merger.add("p0", M + 5, [make_signal(2, 5)], now=0.0)
    assert [m for m, _ in merger.ready(now=5.0)] == [M]
    assert merger.ready(now=9.0) == []
    assert merger.wake_at(now=9.0) == 10.0 + 5 * 60  # p1 must run 5 more minutes
    assert merger.ready(now=9.0 + 5 * 60) == []
    assert [m for m, _ in merger.ready(now=10.0 + 5 * 60)] == [M + 5]


def test_nothing_is_handed_over_during_the_startup_grace_and_flush_hands_over_all() -> None:
    merger = MinuteMerger(startup_grace_s=20.0, idle_grace_s=10.0)
    merger.add("p0", M, [make_signal(1, 0)], now=0.0)
    merger.add("p0", M + 3, [make_signal(2, 3)], now=0.0)
    assert merger.ready(now=19.0) == []
    assert merger.wake_at(now=19.0) == 20.0
    assert [m for m, _ in merger.flush()] == [M, M + 3]
    assert merger.pending == {}


def clock_logic(
    wait_s: float = 20.0, idle_s: float = 10.0
) -> tuple[PartitionClock, list[datetime]]:
    now = [START]
    clock = PartitionClock(timedelta(seconds=wait_s), timedelta(seconds=idle_s), lambda: now[0])
    return clock, now


def test_the_partition_watermark_follows_event_times_minus_the_wait() -> None:
    clock, _now = clock_logic()
    first = make_signal(1, 10)
    assert clock.on_item(first, clock.watermark()) == first.created_at - timedelta(seconds=20)
    behind = make_signal(2, 10, second=-5)  # 5 s out of order: within the wait
    assert clock.on_item(behind, clock.watermark()) == first.created_at - timedelta(seconds=20)
    assert behind.watermark is None


def test_an_item_behind_the_watermark_is_stamped_late() -> None:
    clock, _now = clock_logic()
    clock.on_item(make_signal(1, 10), clock.watermark())
    late = make_signal(2, 9)
    watermark = clock.on_item(late, clock.watermark())
    assert late.created_at < watermark and late.watermark == watermark


def test_the_watermark_follows_the_wall_clock_only_after_the_idle_grace() -> None:
    clock, now = clock_logic(wait_s=20, idle_s=10)
    clock.on_item(make_signal(1, 10), clock.watermark())
    base = make_signal(1, 10).created_at - timedelta(seconds=20)
    now[0] = START + timedelta(seconds=8)
    assert clock.watermark() == base  # a short pause changes nothing (replays stay exact)
    now[0] = START + timedelta(seconds=40)
    assert clock.watermark() == base + timedelta(seconds=30)
    window_end = base + timedelta(seconds=60)
    assert clock.to_system_utc(window_end) == START + timedelta(seconds=70)
    now[0] = START  # the wall clock steps back: the watermark does not
    assert clock.watermark() == base + timedelta(seconds=30)


def test_declared_partitions_are_waited_for_from_the_start_up_to_their_idle_grace() -> None:
    merger = MinuteMerger(startup_grace_s=999.0, idle_grace_s=10.0)
    merger.declare(["p0", "p1"], now=0.0)
    merger.add("p0", M, [make_signal(1, 0)], now=1.0)
    merger.add("p0", M + 1, [], now=1.0)
    assert merger.ready(now=2.0) == []  # p1 declared, not heard from yet
    assert merger.wake_at(now=2.0) == 10.0
    merger.add("p1", M, [make_signal(2, 0)], now=3.0)
    assert [m for m, _ in merger.ready(now=3.0)] == [M]  # no startup grace to wait for
    silent = MinuteMerger(startup_grace_s=999.0, idle_grace_s=10.0)
    silent.declare(["p0", "p1"], now=0.0)
    silent.add("p0", M, [make_signal(3, 0)], now=1.0)
    assert [m for m, _ in silent.ready(now=10.5)] == [M]  # p1 never reported: idle


def test_a_partition_that_keeps_sending_is_waited_for_however_slow_its_event_time() -> None:
    merger = MinuteMerger(startup_grace_s=0.0, idle_grace_s=10.0)
    merger.declare(["p0", "p1"], now=0.0)
    merger.add("p0", M, [make_signal(1, 0)], now=1.0)
    merger.add("p0", M + 1, [], now=1.0)
    for t in range(2, 60, 5):  # p1 sends all along but closes no minute (a slow replay)
        merger.heard("p1", now=float(t))
        assert merger.ready(now=float(t)) == []
    merger.add("p1", M, [make_signal(2, 0)], now=60.0)
    assert [(m, len(s)) for m, s in merger.ready(now=60.0)] == [(M, 2)]  # nothing late
    assert [m for m, _ in merger.ready(now=131.0)] == [M + 1]  # p1 silent for 71 s: not waited
