"""The flow writing to embedded ClickHouse through the real sinks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.clickhouse import close_deferred
from flows.dataflow import build_flow, default_io
from flows.execution import WriteCounter, run_flow
from flows.settings import Settings, load_settings
from flows.steps import EnricherFactory
from schemas.errors import MigrationError
from tests.conftest import KeywordEnricher, jsonl, message
from tests.flow.test_flow_memory import MALFORMED


def stream_file(
    settings: Settings,
    path: Path,
    workers: int = 1,
    enricher: EnricherFactory = KeywordEnricher,
    **overrides: Any,
) -> WriteCounter:
    settings = load_settings(
        **{**settings.model_dump(), "source": "file", "input_path": str(path), **overrides}
    )
    counter = WriteCounter()
    run_flow(
        build_flow(settings, default_io(settings, counter), enricher=enricher),
        counter,
        workers=workers,
        quiet=True,
    )
    return counter


@pytest.mark.parametrize("workers", [1, 2])
def test_messages_and_dead_letters_land_in_clickhouse(
    settings: Settings, client: Any, tmp_path: Path, workers: int
) -> None:
    path = tmp_path / "in.jsonl"
    good = [message(i) for i in range(200)]
    path.write_bytes(
        jsonl(good[:100]) + b"\n".join(bad for _, bad, _ in MALFORMED) + b"\n" + jsonl(good[100:])
    )
    counter = stream_file(settings, path, workers)

    assert counter.snapshot() == {"messages": 200, "dead_letters": len(MALFORMED)}
    assert client.query("SELECT count(), uniqExact(id) FROM messages FINAL").result_rows == [
        (200, 200)
    ]
    letters = client.query(
        "SELECT error_type, origin, position, payload_size FROM dead_letters FINAL ORDER BY position"
    ).result_rows
    assert [r[0] for r in letters] == [e for _, _, e in MALFORMED]
    assert {r[1] for r in letters} == {str(path.resolve())}
    assert [r[2] for r in letters] == list(range(101, 101 + len(MALFORMED)))
    row = client.query(
        "SELECT sentiment, topics, model_version, created_at FROM messages FINAL WHERE id = 'r0'"
    ).result_rows[0]
    assert row[:3] == ("negative", ["delivery"], "test-keywords-1")
    assert row[3].isoformat().startswith("2026-11-20 01:00:00".replace(" ", "T"))


def test_the_sink_refuses_a_database_without_migrations(settings: Settings, tmp_path: Path) -> None:
    from flows.clickhouse import connect

    connect(settings, create_database=True).close()
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(1)]))
    with pytest.raises(Exception) as caught:  # noqa: PT011 - Bytewax wraps the sink's error
        stream_file(settings, path)
    close_deferred()
    chain, current = [], caught.value
    while current is not None:
        chain.append(current)
        current = current.__cause__
    refusal = [e for e in chain if isinstance(e, MigrationError)]
    assert refusal and "0001_core_tables.sql" in str(refusal[0])


def test_a_run_collects_cyclic_garbage_less_often_and_restores_the_thresholds_after(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    import gc

    from flows.execution import STREAMING_GC_THRESHOLD, streaming_gc

    before = gc.get_threshold()
    with streaming_gc():
        assert gc.get_threshold() == (STREAMING_GC_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(i) for i in range(5)]))
    assert stream_file(settings, path).snapshot() == {"messages": 5}
    assert gc.get_threshold() == before
