"""Standard input as a source: one JSON object per line."""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.records import RawRecord, SourceError
from flows.sources.files import DEFAULT_MAX_LINE_BYTES, oversized, read_line

_POLL = timedelta(milliseconds=20)
LINES_PER_BATCH = 1_000
#: Bytes of lines read ahead of the flow at most: past it the reader waits (back-pressure).
READ_AHEAD_BYTES = 8 * 1024 * 1024


class _Lines:
    """Lines read ahead by the reader thread, bounded in bytes: a full buffer blocks it.

    The writer of a pipe into ``voc run`` then blocks too, instead of the flow's memory
    growing with everything it has not processed yet.
    """

    def __init__(self, max_bytes: int) -> None:
        self._items: deque[tuple[int, bytes, bool]] = deque()
        self._bytes = 0
        self._max = max_bytes
        self._ended = False
        self._lock = threading.Condition()

    def put(self, size: int, raw: bytes, too_long: bool) -> None:
        with self._lock:
            self._lock.wait_for(lambda: self._bytes < self._max)
            self._items.append((size, raw, too_long))
            self._bytes += len(raw)

    def end(self) -> None:
        with self._lock:
            self._ended = True

    def take(self, most: int) -> tuple[list[tuple[int, bytes, bool]], bool]:
        """Up to ``most`` lines now, and whether the input has ended after them."""
        with self._lock:
            out = [self._items.popleft() for _ in range(min(most, len(self._items)))]
            self._bytes -= sum(len(raw) for _, raw, _ in out)
            self._lock.notify_all()
            return out, self._ended and not self._items


class _StdinPartition(StatefulSourcePartition[RawRecord | SourceError, None]):
    def __init__(self, stream: BinaryIO, max_line_bytes: int, read_ahead_bytes: int):
        self._lines = _Lines(read_ahead_bytes)
        self._max = max_line_bytes
        self._line = 0
        self._done = False
        self._awake: datetime | None = None
        reader = threading.Thread(target=self._read, args=(stream,), name="voc-stdin", daemon=True)
        reader.start()

    def _read(self, stream: BinaryIO) -> None:
        try:
            while True:
                raw, size, too_long = read_line(stream, self._max)
                if not size:
                    break
                self._lines.put(size, raw, too_long)
        finally:
            self._lines.end()

    def next_batch(self) -> list[RawRecord | SourceError]:
        out: list[RawRecord | SourceError] = []
        taken, ended = self._lines.take(LINES_PER_BATCH)
        for size, raw, too_long in taken:
            self._line += 1
            if too_long:
                out.append(oversized("stdin", self._line, raw, size, self._max))
            elif (line := raw.rstrip(b"\r\n")).strip():
                out.append(RawRecord("stdin", self._line, line))
        if ended and not out:
            raise StopIteration
        # Nothing waiting: sleep a little instead of spinning a core.
        self._awake = None if taken else datetime.now(UTC) + _POLL
        return out

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> None:
        return None


class StdinSource(FixedPartitionedSource[RawRecord | SourceError, None]):
    """Read JSON Lines from standard input.

    Unit of parallelism: one partition (stdin is one stream), read by one worker; the other
    workers share the downstream steps. Delivery: at-most-once across restarts (stdin cannot
    be rewound), exactly once within a run. A reader thread keeps the flow's batch deadlines
    running while stdin is idle; it reads at most :data:`READ_AHEAD_BYTES` ahead of the
    flow and then waits (back-pressure reaches the program writing into the pipe), and a
    line longer than ``max_line_bytes`` is never held whole (a ``payload_too_large`` dead
    letter shows its start).
    """

    def __init__(
        self,
        stream: BinaryIO | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        read_ahead_bytes: int = READ_AHEAD_BYTES,
    ):
        self._stream = stream
        self._max = max_line_bytes
        self._read_ahead = read_ahead_bytes

    def list_parts(self) -> list[str]:
        """The single partition ``stdin``."""
        return ["stdin"]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _StdinPartition:
        """Start reading standard input (or the stream given at construction)."""
        return _StdinPartition(self._stream or _own_stdin(), self._max, self._read_ahead)


def _own_stdin() -> BinaryIO:
    """A reader of standard input of its own (a duplicate of its file descriptor).

    The reader thread blocks in it while the pipe is idle. Were it ``sys.stdin.buffer``,
    Python would find its lock held when it closes ``sys.stdin`` at exit, and abort ("could
    not acquire lock for <stdin> at interpreter shutdown") after a run stopped by a signal.
    """
    try:
        descriptor = os.dup(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):  # no real standard input (embedded, tests)
        return sys.stdin.buffer
    return os.fdopen(descriptor, "rb")
