"""Micro-batching where each partition is read, with a deadline counted from a batch's first item.

Bytewax's built-in ``collect`` restarts its timeout on every item, so under a steady trickle
it only flushes when the batch is full and latency grows without bound; and as a keyed step
it sends every item to the worker its key hashes to. :class:`BatchingSource` wraps a source
instead: a partition's batch is emitted when it reaches ``max_size`` items, when
``timeout`` has passed since its first item, or at the end of the partition (or of the run:
:mod:`flows.stopping`), on the worker that read it. The flow's parse, prepare and enrich
steps then work on whole micro-batches there, and no message crosses to another worker
(or process) before its row is written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.stopping import stop_requested

V = TypeVar("V")
S = TypeVar("S")


class HasOrigin(Protocol):
    """An item that names the source partition it was read from."""

    @property
    def origin(self) -> str:
        """The source partition (a file path, ``kafka:<topic>/<partition>``, ...)."""
        ...


R = TypeVar("R", bound=HasOrigin)


@dataclass(frozen=True, slots=True)
class MicroBatch(Generic[V]):
    """Items of one origin, in the order they were read; one item of the flow."""

    origin: str
    items: list[V]


class _BatchingPartition(StatefulSourcePartition[MicroBatch[R], S]):
    """One partition of the inner source, its items grouped into micro-batches.

    The snapshot is the inner partition's state as of the last moment nothing was pending,
    so a restart reads the pending items again (at-least-once) and never skips one.
    """

    def __init__(
        self,
        inner: StatefulSourcePartition[R, S],
        max_size: int,
        timeout: float,
        max_bytes: int | None = None,
    ) -> None:
        self._inner = inner
        self._max_size = max_size
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._pending: list[R] = []
        self._pending_bytes = 0
        self._deadline = 0.0  # time.monotonic() when the pending items must go
        self._resume: S = inner.snapshot()
        self._ended = False

    def next_batch(self) -> list[MicroBatch[R]]:
        if self._ended:
            raise StopIteration
        if stop_requested():  # SIGINT/SIGTERM: what was read goes on, then the partition ends
            self._ended = True
            if not self._pending:
                raise StopIteration
            return self._take(len(self._pending))
        try:
            items = self._inner.next_batch()
        except StopIteration:
            self._ended = True
            if not self._pending:
                raise
            return self._take(len(self._pending))
        if items:
            if not self._pending:
                self._deadline = time.monotonic() + self._timeout
            self._pending.extend(items)
            if self._max_bytes is not None:
                self._pending_bytes += sum(map(payload_size, items))
        if not self._pending:
            self._resume = self._inner.snapshot()
            return []
        if time.monotonic() >= self._deadline or (
            self._max_bytes is not None and self._pending_bytes >= self._max_bytes
        ):
            return self._take(len(self._pending))
        full = len(self._pending) - len(self._pending) % self._max_size
        return self._take(full) if full else []

    def _take(self, n: int) -> list[MicroBatch[R]]:
        """Emit the first ``n`` pending items as batches of at most ``max_size`` per origin."""
        taken, self._pending = self._pending[:n], self._pending[n:]
        if self._max_bytes is not None:
            self._pending_bytes = sum(map(payload_size, self._pending))
        if not self._pending:
            self._resume = self._inner.snapshot()
        else:  # the rest starts a new batch
            self._deadline = time.monotonic() + self._timeout
        by_origin: dict[str, list[R]] = {}
        for item in taken:
            by_origin.setdefault(item.origin, []).append(item)
        size = self._max_size
        return [
            MicroBatch(origin, items[i : i + size])
            for origin, items in by_origin.items()
            for i in range(0, len(items), size)
        ]

    def next_awake(self) -> datetime | None:
        if stop_requested():
            return None  # poll at once, to end
        inner = self._inner.next_awake()
        if inner is None or not self._pending:  # None: the inner partition has more now
            return inner
        due = datetime.now(UTC) + timedelta(seconds=max(0.0, self._deadline - time.monotonic()))
        return min(due, inner)

    def snapshot(self) -> S:
        return self._resume

    def close(self) -> None:
        self._inner.close()


def payload_size(item: object) -> int:
    """Bytes (or characters) of an item's raw payload; 0 for a decoded one (the simulator)."""
    payload = getattr(item, "payload", None)
    return len(payload) if isinstance(payload, bytes | str) else 0


class BatchingSource(FixedPartitionedSource[MicroBatch[R], S]):
    """Any partitioned source, its items grouped into micro-batches where they are read.

    Unit of parallelism and delivery guarantee: those of the inner source (its partitions
    and its resume state are used as they are). A partition's batch is emitted at
    ``max_size`` items, once its raw payloads hold ``max_bytes`` (if given), ``timeout``
    seconds after its first item (wall clock), or at the end of the partition; items of
    several origins read by one partition (tests) are batched per origin.
    """

    def __init__(
        self,
        inner: FixedPartitionedSource[R, S],
        max_size: int,
        timeout: timedelta,
        max_bytes: int | None = None,
    ) -> None:
        if max_size < 1:
            msg = f"batch max_size must be at least 1, got {max_size}"
            raise ValueError(msg)
        self.inner = inner
        self._max_size = max_size
        self._max_bytes = max_bytes
        self._timeout = timeout.total_seconds()

    def list_parts(self) -> list[str]:
        """The inner source's partitions."""
        return self.inner.list_parts()

    def build_part(
        self, step_id: str, for_part: str, resume_state: S | None
    ) -> _BatchingPartition[R, S]:
        """Open the inner partition and batch it."""
        inner = self.inner.build_part(step_id, for_part, resume_state)
        return _BatchingPartition(inner, self._max_size, self._timeout, self._max_bytes)
