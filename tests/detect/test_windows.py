"""One partition's minute windows: ordering, closing, lateness, idle partitions, snapshots."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta

from flows.detect.signals import Signal
from flows.detect.windows import PartitionWindows, WindowState
from tests.detect.support import START, START_MINUTE, make_signal

M = START_MINUTE


def windows(
    wait_s: float = 20.0, idle_s: float = 10.0, state: WindowState | None = None
) -> tuple[PartitionWindows, list[datetime]]:
    now = [START]
    w = PartitionWindows(
        state or WindowState(), timedelta(seconds=wait_s), timedelta(seconds=idle_s), lambda: now[0]
    )
    return w, now


def ids(signals: list[Signal]) -> list[str]:
    return [s.id for s in signals]


def test_a_minute_closes_when_the_watermark_passes_its_end_with_its_signals_in_time_order() -> None:
    w, _ = windows(wait_s=20)
    closed, late = w.add([make_signal(1, 0, second=30), make_signal(2, 0, second=10)])
    assert (closed, late) == ([], [])  # 2 is 20 s out of order: within the wait
    closed, _ = w.add([make_signal(3, 1, second=15)])  # watermark 0:55: minute 0 still open
    assert closed == []
    closed, _ = w.add([make_signal(4, 1, second=25)])  # watermark 1:05
    assert [(m, ids(s)) for m, s in closed] == [(M, ["m2", "m1"])]
    assert [(m, ids(s)) for m, s in w.close_all()] == [(M + 1, ["m3", "m4"])]


def test_equal_times_keep_their_arrival_order_across_batches() -> None:
    w, _ = windows(wait_s=0)
    w.add([make_signal(1, 0, second=5), make_signal(2, 0, second=5)])
    w.add([make_signal(3, 0, second=5)])
    assert [(m, ids(s)) for m, s in w.close_all()] == [(M, ["m1", "m2", "m3"])]


def test_a_signal_behind_the_watermark_is_late_and_stamped_not_counted() -> None:
    w, _ = windows(wait_s=20)
    w.add([make_signal(1, 5)])
    behind = make_signal(2, 4, second=30)  # 30 s behind 5:00, the watermark is 4:40
    closed, late = w.add([behind, make_signal(3, 5, second=1)])
    assert late == [behind]
    assert behind.watermark == START + timedelta(minutes=4, seconds=40)
    assert [ids(s) for _, s in closed + w.close_all()] == [["m1", "m3"]]


def test_a_quiet_partition_closes_its_minute_after_the_idle_grace_at_the_time_it_names() -> None:
    w, now = windows(wait_s=20, idle_s=10)
    w.add([make_signal(1, 0, second=50)])  # watermark 0:30; minute 0 ends at 1:00
    due = w.wake_at()
    assert due == START + timedelta(seconds=10 + 30)  # idle grace, then 30 s to go
    now[0] = due - timedelta(seconds=1)
    assert w.advance() == []
    now[0] = due
    assert [(m, ids(s)) for m, s in w.advance()] == [(M, ["m1"])]
    assert w.wake_at() is None


def test_the_state_pickles_and_a_resumed_partition_closes_the_same_minutes() -> None:
    signals = [make_signal(i, i // 7, second=(i * 13) % 50) for i in range(60)]

    def feed(w: PartitionWindows, batch: list[Signal]) -> list[tuple[int, list[str]]]:
        closed, late = w.add(batch)
        return [(m, ids(s)) for m, s in closed] + [(-1, ids(late))]

    whole, _ = windows()
    expected = feed(whole, signals[:30]) + feed(whole, signals[30:])
    expected += [(m, ids(s)) for m, s in whole.close_all()]

    first, _ = windows()
    got = feed(first, signals[:30])
    state = pickle.loads(pickle.dumps(first.state))  # noqa: S301 (what Bytewax stores)
    resumed, _ = windows(state=state)
    got += feed(resumed, signals[30:]) + [(m, ids(s)) for m, s in resumed.close_all()]
    assert got == expected
    assert sorted(i for _, s in got for i in s) == sorted(ids(signals))  # each one, once
    assert any(m == -1 and s for m, s in got)  # the disorder makes some late
