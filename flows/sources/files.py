"""JSON Lines files as a source: a path, a directory or a glob."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import BinaryIO

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.records import RawRecord, SourceError
from schemas.errors import ConfigError

#: Lines handed to the flow per poll of a partition.
LINES_PER_BATCH = 1_000
#: Bytes read per poll of a partition at most (a poll may end sooner, after a long line).
BYTES_PER_BATCH = 8 * 1024 * 1024
#: Bytes of an oversized line kept for its dead letter.
OVERSIZED_PREFIX_BYTES = 4_096
#: Default longest line, in bytes (``VOC_MAX_PAYLOAD_BYTES``).
DEFAULT_MAX_LINE_BYTES = 256 * 1024


def read_line(stream: BinaryIO, max_bytes: int) -> tuple[bytes, int, bool]:
    """The next line of ``stream``, its size in bytes, and whether it is over ``max_bytes``.

    ``(b"", 0, False)`` at the end. Never holds more than ``max_bytes`` + 1 bytes of a line:
    a longer one (its line break not counted) is read to its end in pieces, and only its
    first :data:`OVERSIZED_PREFIX_BYTES` are returned.
    """
    raw = stream.readline(max_bytes + 1)
    if len(raw) <= max_bytes or raw.endswith(b"\n"):
        return raw, len(raw), False
    size = len(raw)
    kept = raw[:OVERSIZED_PREFIX_BYTES]
    while not raw.endswith(b"\n"):
        raw = stream.readline(1024 * 1024)
        if not raw:
            break
        size += len(raw)
    return kept, size, True


def oversized(origin: str, line: int, prefix: bytes, size: int, max_bytes: int) -> SourceError:
    """The read error of a line longer than ``max_bytes``: a dead letter of step ``read``."""
    reason = f"line of {size} bytes is over the {max_bytes} allowed (VOC_MAX_PAYLOAD_BYTES)"
    return SourceError(origin, line, "payload_too_large", reason, prefix)


def resolve_paths(pattern: str) -> list[Path]:
    """Return the files a path, directory (its ``*.jsonl`` files) or glob names, sorted.

    Raises :class:`ConfigError` if nothing matches.
    """
    path = Path(pattern).expanduser()
    if path.is_dir():
        found = sorted(p for p in path.glob("*.jsonl") if p.is_file())
    elif path.is_file():
        found = [path]
    else:
        found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    if not found:
        msg = (
            f"input {pattern!r} matches no file; give a JSONL file, a directory of *.jsonl "
            "files or a glob such as 'feedback/*.jsonl'"
        )
        raise ConfigError(msg)
    return [p.resolve() for p in found]


class _FilePartition(StatefulSourcePartition[RawRecord | SourceError, tuple[int, int]]):
    def __init__(self, path: Path, resume: tuple[int, int] | None, max_line_bytes: int):
        self._origin = str(path)
        self._file: BinaryIO = path.open("rb")
        self._offset, self._line = resume if resume is not None else (0, 0)
        self._max = max_line_bytes
        self._file.seek(self._offset)

    def next_batch(self) -> list[RawRecord | SourceError]:
        out: list[RawRecord | SourceError] = []
        at_end = False
        began = self._offset
        for _ in range(LINES_PER_BATCH):
            raw, size, too_long = read_line(self._file, self._max)
            if not size:
                at_end = True
                break
            self._offset += size
            self._line += 1
            if too_long:
                out.append(oversized(self._origin, self._line, raw, size, self._max))
            elif (line := raw.rstrip(b"\r\n")).strip():  # blank lines are not messages
                out.append(RawRecord(self._origin, self._line, line))
            if self._offset - began >= BYTES_PER_BATCH:
                break
        if at_end and not out:
            raise StopIteration
        return out

    def snapshot(self) -> tuple[int, int]:
        return (self._offset, self._line)

    def close(self) -> None:
        self._file.close()


class JsonlFileSource(FixedPartitionedSource[RawRecord | SourceError, tuple[int, int]]):
    """Read JSON Lines files; one partition per file.

    Unit of parallelism: the file. Each line becomes a ``RawRecord`` with the file path as
    origin and the 1-based line number as position. Delivery: at-least-once; with Bytewax
    recovery the byte offset is snapshotted and reading resumes there after a restart.
    Lines are read as bytes: invalid UTF-8 becomes a dead letter downstream, not a crash.
    Memory is bounded: a line longer than ``max_line_bytes`` is never held whole (it
    becomes a ``payload_too_large`` dead letter showing its start), and a poll reads at
    most :data:`LINES_PER_BATCH` lines and about :data:`BYTES_PER_BATCH` bytes; the flow
    polls again when it is ready (back-pressure).
    """

    def __init__(self, pattern: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES):
        self._paths = resolve_paths(pattern)
        self._max = max_line_bytes

    def list_parts(self) -> list[str]:
        """One partition per file path."""
        return [str(p) for p in self._paths]

    def build_part(
        self, step_id: str, for_part: str, resume_state: tuple[int, int] | None
    ) -> _FilePartition:
        """Open one file, resuming at the snapshotted offset if any."""
        return _FilePartition(Path(for_part), resume_state, self._max)
