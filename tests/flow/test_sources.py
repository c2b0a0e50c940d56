"""The file and stdin sources hold bounded bytes: long lines are cut off, stdin pushes back."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from flows.records import RawRecord, SourceError
from flows.sources.files import BYTES_PER_BATCH, OVERSIZED_PREFIX_BYTES, JsonlFileSource
from flows.sources.stdin import StdinSource
from flows.steps import parse_record

MAX = 64 * 1024


def drain(partition: Any) -> list[RawRecord | SourceError]:
    """Every item the partition hands over until it ends (waiting while it has none)."""
    out: list[RawRecord | SourceError] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            out += partition.next_batch()
        except StopIteration:
            break
        time.sleep(0.001)
    return out


def test_a_line_over_the_cap_is_a_read_error_and_never_held_whole(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    huge = b'{"text": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    exact = b"y" * MAX
    path.write_bytes(b'{"a": 1}\n' + huge + b"\n" + exact + b"\r\n\n" + b'{"b": 2}')
    source = JsonlFileSource(str(path), max_line_bytes=MAX)
    part = source.build_part("read", str(path.resolve()), None)
    items = drain(part)
    part.close()
    assert [type(i).__name__ for i in items] == [
        "RawRecord",
        "SourceError",
        "SourceError",
        "RawRecord",
    ]
    _, too_long, crlf, last = items
    assert isinstance(too_long, SourceError)
    assert (too_long.position, too_long.error_type) == (2, "payload_too_large")
    assert len(too_long.payload) == OVERSIZED_PREFIX_BYTES and too_long.payload.startswith(
        b'{"text"'
    )
    assert f"line of {len(huge) + 1} bytes is over the {MAX} allowed" in too_long.reason
    # a line of exactly MAX bytes is not over the cap, but with \r\n its break counts once
    assert isinstance(crlf, SourceError) and crlf.position == 3
    assert isinstance(last, RawRecord) and (last.position, last.payload) == (5, b'{"b": 2}')
    assert part.snapshot() == (path.stat().st_size, 5)
    dead = parse_record(too_long)
    assert (dead.step, dead.error_type, dead.position) == ("read", "payload_too_large", 2)  # type: ignore[union-attr]


def test_a_line_of_exactly_the_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"z" * MAX + b"\n" + b"w" * MAX)
    part = JsonlFileSource(str(path), max_line_bytes=MAX).build_part("read", str(path), None)
    items = drain(part)
    part.close()
    assert [len(i.payload) for i in items if isinstance(i, RawRecord)] == [MAX, MAX]


def test_a_poll_reads_a_bounded_number_of_bytes(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    line = b"a" * (200 * 1024) + b"\n"
    path.write_bytes(line * 100)  # 20 MB
    part = JsonlFileSource(str(path), max_line_bytes=256 * 1024).build_part("r", str(path), None)
    first = part.next_batch()
    assert 0 < len(first) * len(line) <= BYTES_PER_BATCH + len(line)
    assert len(first) + len(drain(part)) == 100
    part.close()


def test_stdin_reads_a_bounded_amount_ahead_of_the_flow() -> None:
    """A program piping into `voc run` blocks once the flow is behind (back-pressure)."""
    read_fd, write_fd = os.pipe()
    reader, writer = os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")
    line = b'{"text": "' + b"x" * 100_000 + b'"}\n'
    written = {"bytes": 0}

    def produce() -> None:
        for _ in range(400):  # 40 MB
            writer.write(line)
            written["bytes"] += len(line)
        writer.close()

    ahead = 1024 * 1024
    part = StdinSource(reader, max_line_bytes=MAX * 4, read_ahead_bytes=ahead).build_part(
        "read", "stdin", None
    )
    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    time.sleep(0.5)
    # the reader stopped: what it holds, the pipe's buffer and one line in the writer's hands
    assert written["bytes"] <= ahead + 2 * len(line) + 1024 * 1024
    assert len(drain(part)) == 400
    producer.join(5)
    reader.close()


def test_stdin_cuts_off_a_line_over_the_cap() -> None:
    read_fd, write_fd = os.pipe()
    reader, writer = os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")

    def produce() -> None:
        writer.write(b"a" * (MAX * 3) + b"\n" + b'{"ok": 1}\n')
        writer.close()

    threading.Thread(target=produce, daemon=True).start()
    part = StdinSource(reader, max_line_bytes=MAX).build_part("read", "stdin", None)
    items = drain(part)
    reader.close()
    assert [(type(i).__name__, i.position) for i in items] == [("SourceError", 1), ("RawRecord", 2)]
