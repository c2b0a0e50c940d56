"""Micro-batching with a deadline counted from the first item of each batch.

Bytewax's built-in ``collect`` restarts its timeout on every item, so under a steady trickle
it only flushes when the batch is full and latency grows without bound. ``batch`` flushes a
key's batch when it reaches ``max_size`` items or when ``timeout`` has passed since the batch's
first item, whichever comes first, and at the end of the input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

import bytewax.operators as op
from bytewax.operators import KeyedStream, StatefulBatchLogic

V = TypeVar("V")


def _system_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class BatchState(Generic[V]):
    """The pending items of one key and when they must be flushed (snapshotted on recovery)."""

    items: list[V] = field(default_factory=list)
    deadline: datetime | None = None


class DeadlineBatchLogic(StatefulBatchLogic[V, list[V], BatchState[V]]):
    """Accumulate items for one key; emit a list at ``max_size`` or at the deadline."""

    def __init__(
        self,
        max_size: int,
        timeout: timedelta,
        clock: Callable[[], datetime],
        resume: BatchState[V] | None,
    ):
        self._max_size = max_size
        self._timeout = timeout
        self._clock = clock
        self._state: BatchState[V] = resume if resume is not None else BatchState()

    def _flush(self) -> tuple[Iterable[list[V]], bool]:
        items = self._state.items
        self._state = BatchState()
        return ([items] if items else [], StatefulBatchLogic.DISCARD)

    def on_batch(self, values: list[V]) -> tuple[Iterable[list[V]], bool]:
        """Add items; emit every batch that fills up on the way."""
        out: list[list[V]] = []
        state = self._state
        for value in values:
            if not state.items:
                state.deadline = self._clock() + self._timeout
            state.items.append(value)
            if len(state.items) >= self._max_size:
                out.append(state.items)
                state.items = []
                state.deadline = None
        return out, (StatefulBatchLogic.DISCARD if not state.items else StatefulBatchLogic.RETAIN)

    def on_notify(self) -> tuple[Iterable[list[V]], bool]:
        """The deadline of the pending batch has passed: emit it."""
        return self._flush()

    def on_eof(self) -> tuple[Iterable[list[V]], bool]:
        """The input ended: emit what is pending."""
        return self._flush()

    def notify_at(self) -> datetime | None:
        """When the pending batch must be flushed, if there is one."""
        return self._state.deadline

    def snapshot(self) -> BatchState[V]:
        """A copy of the pending items for recovery."""
        return BatchState(list(self._state.items), self._state.deadline)


def batch(
    step_id: str,
    up: KeyedStream[V],
    max_size: int,
    timeout: timedelta,
    clock: Callable[[], datetime] = _system_utc,
) -> KeyedStream[list[V]]:
    """Group each key's items into lists of at most ``max_size`` items.

    A list is flushed ``timeout`` after its first item arrived (not after the latest, unlike
    ``op.collect``), when it is full, or at the end of the input.
    """
    if max_size < 1:
        msg = f"batch max_size must be at least 1, got {max_size}"
        raise ValueError(msg)

    def builder(resume: BatchState[V] | None) -> DeadlineBatchLogic[V]:
        return DeadlineBatchLogic(max_size, timeout, clock, resume)

    return op.stateful_batch(step_id, up, builder)
