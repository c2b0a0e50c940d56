"""Micro-batching where each partition is read (``BatchingSource``).

A batch's deadline counts from its first item, not its latest.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import bytewax.operators as op
import pytest
from bytewax.dataflow import Dataflow
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from bytewax.testing import TestingSink, run_main

from flows.batching import BatchingSource, MicroBatch
from flows.records import RawRecord


class _Trickle(StatefulSourcePartition[RawRecord, None]):
    """One record every ``gap`` seconds of wall time."""

    def __init__(self, n: int, gap: float):
        self._left = list(range(n))
        self._gap = gap
        self._next = time.monotonic()

    def next_batch(self) -> list[RawRecord]:
        if not self._left:
            raise StopIteration
        if time.monotonic() < self._next:
            return []
        self._next = time.monotonic() + self._gap
        return [RawRecord("trickle", self._left.pop(0), b"")]

    def next_awake(self) -> datetime | None:
        return datetime.now(UTC) + timedelta(seconds=max(0.0, self._next - time.monotonic()))

    def snapshot(self) -> None:
        return None


class TrickleSource(FixedPartitionedSource[RawRecord, None]):
    def __init__(self, n: int, gap: float):
        self._n, self._gap = n, gap

    def list_parts(self) -> list[str]:
        return ["trickle"]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _Trickle:
        return _Trickle(self._n, self._gap)


# -- BatchingSource ------------------------------------------------------------------------------


class _Items(StatefulSourcePartition[RawRecord, int]):
    """Hands over the chunks it was given, one per poll; its state is the next position."""

    def __init__(self, chunks: list[list[RawRecord]], resume: int | None):
        self._chunks = chunks
        self._next = resume or 0
        self._polls = 0

    def next_batch(self) -> list[RawRecord]:
        while self._polls < len(self._chunks):
            chunk = [r for r in self._chunks[self._polls] if r.position >= self._next]
            self._polls += 1
            if chunk:
                self._next = chunk[-1].position + 1
            return chunk
        raise StopIteration

    def snapshot(self) -> int:
        return self._next


class _ItemsSource(FixedPartitionedSource[RawRecord, int]):
    def __init__(self, chunks: list[list[RawRecord]]):
        self._chunks = chunks

    def list_parts(self) -> list[str]:
        return ["p0"]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _Items:
        return _Items(self._chunks, resume_state)


def records(first: int, n: int, origin: str = "p0") -> list[RawRecord]:
    return [RawRecord(origin, i, b"{}") for i in range(first, first + n)]


def positions(batches: list[MicroBatch[RawRecord]]) -> list[list[int]]:
    return [[r.position for r in b.items] for b in batches]


def test_the_source_emits_full_batches_at_once_and_the_rest_at_the_end() -> None:
    source = BatchingSource(_ItemsSource([records(0, 5), records(5, 4)]), 3, timedelta(hours=1))
    part = source.build_part("read", "p0", None)
    assert positions(part.next_batch()) == [[0, 1, 2]]
    assert positions(part.next_batch()) == [[3, 4, 5], [6, 7, 8]]
    with pytest.raises(StopIteration):
        part.next_batch()


def test_the_source_flushes_what_is_pending_when_its_partition_ends() -> None:
    source = BatchingSource(_ItemsSource([records(0, 2)]), 100, timedelta(hours=1))
    part = source.build_part("read", "p0", None)
    assert part.next_batch() == []
    assert part.next_awake() is None  # the inner partition has more to say now
    assert positions(part.next_batch()) == [[0, 1]]
    with pytest.raises(StopIteration):
        part.next_batch()


def test_the_source_snapshot_never_skips_a_pending_item() -> None:
    chunks = [records(0, 2), records(2, 3), [], records(5, 1)]
    source = BatchingSource(_ItemsSource(chunks), 4, timedelta(hours=1))
    part = source.build_part("read", "p0", None)
    assert part.next_batch() == [] and part.snapshot() == 0  # 0, 1 pending
    assert positions(part.next_batch()) == [[0, 1, 2, 3]]
    assert part.snapshot() == 0  # 4 is still pending: a restart must read it again
    resumed = source.build_part("read", "p0", part.snapshot())
    assert positions(resumed.next_batch()) == []  # 0-1 again, pending
    assert part.next_batch() == [] and part.next_batch() == []  # an empty poll, then 5
    assert positions(part.next_batch()) == [[4, 5]]  # the end of the partition
    assert part.snapshot() == 6


def test_the_source_batches_each_origin_apart() -> None:
    mixed = records(0, 2, "a") + records(10, 3, "b") + records(2, 1, "a")
    source = BatchingSource(_ItemsSource([mixed]), 100, timedelta(hours=1))
    part = source.build_part("read", "p0", None)
    part.next_batch()
    out = part.next_batch()
    assert [(b.origin, [r.position for r in b.items]) for b in out] == [
        ("a", [0, 1, 2]),
        ("b", [10, 11, 12]),
    ]


def test_under_a_steady_trickle_the_source_flushes_on_the_deadline() -> None:
    # 40 items, one every 25 ms, deadline 100 ms, room for 1,000 per batch
    flushed: list[tuple[float, list[int]]] = []
    started = time.monotonic()
    flow = Dataflow("trickle-source")
    source = BatchingSource(TrickleSource(40, 0.025), 1_000, timedelta(milliseconds=100))
    stamped = op.map(
        "stamp",
        op.input("in", flow, source),
        lambda b: (time.monotonic() - started, [r.position for r in b.items]),
    )
    op.output("out", stamped, TestingSink(flushed))
    run_main(flow)

    assert [i for _, b in flushed for i in b] == list(range(40))
    assert len(flushed) >= 4, [len(b) for _, b in flushed]
    assert max(len(b) for _, b in flushed) <= 15, [len(b) for _, b in flushed]


def test_a_batching_source_needs_room_for_one_item() -> None:
    with pytest.raises(ValueError, match="max_size must be at least 1"):
        BatchingSource(_ItemsSource([]), 0, timedelta(seconds=1))


def test_the_source_also_closes_a_batch_once_its_payloads_hold_max_bytes() -> None:
    """Long messages: a batch is bounded in bytes too, whatever its count."""
    big = [[RawRecord("p0", i * 2 + j, b"x" * 1_000) for j in range(2)] for i in range(5)]
    source = BatchingSource(_ItemsSource(big), 100, timedelta(hours=1), max_bytes=3_000)
    part = source.build_part("read", "p0", None)
    assert part.next_batch() == []  # 2,000 bytes pending
    assert positions(part.next_batch()) == [[0, 1, 2, 3]]  # 4,000 >= 3,000
    assert part.next_batch() == []
    assert positions(part.next_batch()) == [[4, 5, 6, 7]]
    unbounded = BatchingSource(_ItemsSource(big), 100, timedelta(hours=1))
    assert unbounded.build_part("read", "p0", None).next_batch() == []
