"""JSON Lines files as a source: a path, a directory or a glob."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import BinaryIO

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.records import RawRecord
from schemas.errors import ConfigError

#: Lines handed to the flow per poll of a partition.
LINES_PER_BATCH = 1_000


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


class _FilePartition(StatefulSourcePartition[RawRecord, tuple[int, int]]):
    def __init__(self, path: Path, resume: tuple[int, int] | None):
        self._origin = str(path)
        self._file: BinaryIO = path.open("rb")
        self._offset, self._line = resume if resume is not None else (0, 0)
        self._file.seek(self._offset)

    def next_batch(self) -> list[RawRecord]:
        out: list[RawRecord] = []
        at_end = False
        for _ in range(LINES_PER_BATCH):
            raw = self._file.readline()
            if not raw:
                at_end = True
                break
            self._offset += len(raw)
            self._line += 1
            line = raw.rstrip(b"\r\n")
            if line.strip():  # blank lines are not messages
                out.append(RawRecord(self._origin, self._line, line))
        if at_end and not out:
            raise StopIteration
        return out

    def snapshot(self) -> tuple[int, int]:
        return (self._offset, self._line)

    def close(self) -> None:
        self._file.close()


class JsonlFileSource(FixedPartitionedSource[RawRecord, tuple[int, int]]):
    """Read JSON Lines files; one partition per file.

    Unit of parallelism: the file. Each line becomes a ``RawRecord`` with the file path as
    origin and the 1-based line number as position. Delivery: at-least-once; with Bytewax
    recovery the byte offset is snapshotted and reading resumes there after a restart.
    Lines are read as bytes: invalid UTF-8 becomes a dead letter downstream, not a crash.
    """

    def __init__(self, pattern: str):
        self._paths = resolve_paths(pattern)

    def list_parts(self) -> list[str]:
        """One partition per file path."""
        return [str(p) for p in self._paths]

    def build_part(
        self, step_id: str, for_part: str, resume_state: tuple[int, int] | None
    ) -> _FilePartition:
        """Open one file, resuming at the snapshotted offset if any."""
        return _FilePartition(Path(for_part), resume_state)
