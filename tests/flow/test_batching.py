"""Micro-batching: a deadline counted from a batch's first item, not its latest."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from bytewax.testing import TestingSink, TestingSource, run_main

from flows.batching import BatchState, DeadlineBatchLogic, batch

T = datetime(2026, 11, 20, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T

    def __call__(self) -> datetime:
        return self.now


def test_the_deadline_is_set_by_the_first_item_and_not_moved_by_later_ones() -> None:
    clock = Clock()
    logic: DeadlineBatchLogic[int] = DeadlineBatchLogic(10, timedelta(seconds=2), clock, None)
    assert logic.on_batch([1]) == ([], False)
    assert logic.notify_at() == T + timedelta(seconds=2)
    clock.now = T + timedelta(seconds=1.5)
    assert logic.on_batch([2, 3]) == ([], False)
    assert logic.notify_at() == T + timedelta(seconds=2)  # collect would have moved it to 3.5 s
    assert logic.on_notify() == ([[1, 2, 3]], True)


def test_a_full_batch_is_emitted_at_once_and_the_rest_starts_a_new_deadline() -> None:
    clock = Clock()
    logic: DeadlineBatchLogic[int] = DeadlineBatchLogic(3, timedelta(seconds=1), clock, None)
    clock.now = T + timedelta(seconds=5)
    emitted, discard = logic.on_batch(list(range(7)))
    assert (list(emitted), discard) == ([[0, 1, 2], [3, 4, 5]], False)
    assert logic.notify_at() == T + timedelta(seconds=6)
    assert logic.snapshot() == BatchState([6], T + timedelta(seconds=6))
    assert logic.on_eof() == ([[6]], True)


def test_a_batch_resumes_from_its_snapshot() -> None:
    logic: DeadlineBatchLogic[int] = DeadlineBatchLogic(
        3, timedelta(seconds=1), Clock(), BatchState([7, 8], T)
    )
    emitted, _ = logic.on_batch([9])
    assert list(emitted) == [[7, 8, 9]]


class _Trickle(StatefulSourcePartition[int, None]):
    """One item every ``gap`` seconds of wall time."""

    def __init__(self, n: int, gap: float):
        self._left = list(range(n))
        self._gap = gap
        self._next = time.monotonic()

    def next_batch(self) -> list[int]:
        if not self._left:
            raise StopIteration
        if time.monotonic() < self._next:
            return []
        self._next = time.monotonic() + self._gap
        return [self._left.pop(0)]

    def next_awake(self) -> datetime | None:
        return datetime.now(UTC) + timedelta(seconds=max(0.0, self._next - time.monotonic()))

    def snapshot(self) -> None:
        return None


class TrickleSource(FixedPartitionedSource[int, None]):
    def __init__(self, n: int, gap: float):
        self._n, self._gap = n, gap

    def list_parts(self) -> list[str]:
        return ["trickle"]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _Trickle:
        return _Trickle(self._n, self._gap)


def test_under_a_steady_trickle_batches_flush_on_their_deadline() -> None:
    # 40 items, one every 25 ms, deadline 100 ms, room for 1,000 per batch: op.collect would
    # restart its timeout on every item and emit one batch at the end.
    flushed: list[tuple[float, list[int]]] = []
    started = time.monotonic()
    flow = Dataflow("trickle")
    items = op.key_on("key", op.input("in", flow, TrickleSource(40, 0.025)), lambda _: "all")
    batches = batch("batch", items, 1_000, timedelta(milliseconds=100))
    op.output(
        "out",
        op.map("stamp", batches, lambda kv: (time.monotonic() - started, kv[1])),
        TestingSink(flushed),
    )
    run_main(flow)

    assert [i for _, b in flushed for i in b] == list(range(40))
    assert len(flushed) >= 4, [len(b) for _, b in flushed]
    assert max(len(b) for _, b in flushed) <= 15, [len(b) for _, b in flushed]


def test_end_of_input_flushes_every_key() -> None:
    out: list[tuple[str, list[int]]] = []
    flow = Dataflow("eof")
    items = op.key_on(
        "key", op.input("in", flow, TestingSource(list(range(10)))), lambda i: str(i % 3)
    )
    op.output("out", batch("batch", items, 100, timedelta(hours=1)), TestingSink(out))
    run_main(flow)
    assert sorted((k, sorted(v)) for k, v in out) == [
        ("0", [0, 3, 6, 9]),
        ("1", [1, 4, 7]),
        ("2", [2, 5, 8]),
    ]
