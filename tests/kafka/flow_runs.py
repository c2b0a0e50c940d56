"""Helpers for tests that run the flow as `voc run` subprocesses and compare what they stored."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from flows.clickhouse import close_deferred, connect
from flows.settings import load_settings
from schemas.migrate import migrate
from tests.db.test_idempotence import stored_counts

REPO = Path(__file__).resolve().parents[2]


def voc_env(**settings: str) -> dict[str, str]:
    """The environment of a `voc` subprocess: this one plus VOC_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    env["PYTHONPATH"] = str(REPO)
    env.update({f"VOC_{k.upper()}": v for k, v in settings.items()})
    return env


def start_voc(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `python -m flows ARGS` in the background, its output going to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flows", *args], cwd=REPO, env=env, stdout=out, stderr=out
        )


def run_voc(*args: str, env: dict[str, str], timeout: float = 240) -> str:
    """Run `python -m flows ARGS` to completion; its stderr, or AssertionError if it failed."""
    done = subprocess.run(
        [sys.executable, "-m", "flows", *args], cwd=REPO, env=env, capture_output=True,
        timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode()


def migrated(dsn: str) -> str:
    """Apply the migrations to a fresh embedded database; returns the DSN."""
    client = connect(load_settings(clickhouse_dsn=dsn), create_database=True)
    try:
        migrate(client)
    finally:
        client.close()
        close_deferred()
    return dsn


def message_count(dsn: str) -> int:
    """Distinct messages stored (``messages FINAL``)."""
    client = connect(load_settings(clickhouse_dsn=dsn))
    try:
        return int(client.query("SELECT count() FROM messages FINAL").result_rows[0][0])
    finally:
        client.close()
        close_deferred()


_PART = re.compile(r"^[0-9a-z-]+_(\d+)_(\d+)_\d+(_\d+)?$")


def table_dir(dsn: str, table: str) -> Path:
    """Where embedded ClickHouse keeps a table's parts (readable while another process runs)."""
    client = connect(load_settings(clickhouse_dsn=dsn))
    try:
        rows = client.query(
            "SELECT data_paths FROM system.tables WHERE database = currentDatabase() "
            "AND name = {t:String}",
            parameters={"t": table},
        ).result_rows
    finally:
        client.close()
        close_deferred()
    return Path(rows[0][0][0])


def rows_inserted(data_dir: Path) -> int:
    """Rows a MergeTree table has taken so far, replays included, read from its parts on disk.

    Each insert makes a part named ``<partition>_<block>_<block>_<level>`` whose
    ``count.txt`` holds its rows; merged parts (a block range) are not counted again.
    """
    total = 0
    for part in data_dir.iterdir():
        match = _PART.match(part.name)
        if match and match[1] == match[2]:
            try:
                total += int((part / "count.txt").read_text())
            except (FileNotFoundError, ValueError):  # removed or being written right now
                continue
    return total


def stored(dsn: str) -> dict[str, Any]:
    """Everything the flow stored that must not depend on crashes, batches or processes.

    Wall-clock columns (ingested_at, received_at, seen_at) are left out; rollups are
    compared through their merged counts.
    """
    client = connect(load_settings(clickhouse_dsn=dsn))
    try:
        counts = stored_counts(client)

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in client.query(sql).result_rows]

        return {
            "messages": counts["messages"],
            "volume_1m": counts["volume_1m"],
            "topics_1m": counts["topics_1m"],
            "message_rows": rows(
                "SELECT id, source, channel, brand, role, sentiment, topics, topic_sentiments, "
                "flags, text_normalized, created_at FROM messages FINAL ORDER BY id"
            ),
            "dead_letters": rows(
                "SELECT id, step, error_type, origin, position, payload FROM dead_letters FINAL "
                "ORDER BY id"
            ),
            "alerts": rows("SELECT * FROM alerts FINAL ORDER BY id"),
            "late_items": rows(
                "SELECT id, stage, created_at, watermark FROM late_items FINAL ORDER BY stage, id"
            ),
            "raw_message_rows": client.query("SELECT count() FROM messages").result_rows[0][0],
        }
    finally:
        client.close()
        close_deferred()


def without_raw(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A snapshot without the raw (pre-FINAL) row count, which replays are free to raise."""
    return {k: v for k, v in snapshot.items() if k != "raw_message_rows"}
