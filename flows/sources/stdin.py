"""Standard input as a source: one JSON object per line."""

from __future__ import annotations

import queue
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.records import RawRecord

_EOF = object()
_POLL = timedelta(milliseconds=20)
LINES_PER_BATCH = 1_000


class _StdinPartition(StatefulSourcePartition[RawRecord, None]):
    def __init__(self, stream: BinaryIO):
        self._queue: queue.SimpleQueue[bytes | object] = queue.SimpleQueue()
        self._line = 0
        self._done = False
        self._awake: datetime | None = None
        reader = threading.Thread(target=self._read, args=(stream,), name="voc-stdin", daemon=True)
        reader.start()

    def _read(self, stream: BinaryIO) -> None:
        for raw in stream:
            self._queue.put(raw)
        self._queue.put(_EOF)

    def next_batch(self) -> list[RawRecord]:
        out: list[RawRecord] = []
        while len(out) < LINES_PER_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _EOF:
                self._done = True
                break
            assert isinstance(item, bytes)
            self._line += 1
            line = item.rstrip(b"\r\n")
            if line.strip():
                out.append(RawRecord("stdin", self._line, line))
        if self._done and not out:
            raise StopIteration
        # Nothing waiting: sleep a little instead of spinning a core.
        self._awake = None if out else datetime.now(UTC) + _POLL
        return out

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> None:
        return None


class StdinSource(FixedPartitionedSource[RawRecord, None]):
    """Read JSON Lines from standard input.

    Unit of parallelism: one partition (stdin is one stream), read by one worker; the other
    workers share the downstream steps. Delivery: at-most-once across restarts (stdin cannot
    be rewound), exactly once within a run. A reader thread keeps the flow's batch deadlines
    running while stdin is idle.
    """

    def __init__(self, stream: BinaryIO | None = None):
        self._stream = stream

    def list_parts(self) -> list[str]:
        """The single partition ``stdin``."""
        return ["stdin"]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _StdinPartition:
        """Start reading standard input (or the stream given at construction)."""
        return _StdinPartition(self._stream or sys.stdin.buffer)
