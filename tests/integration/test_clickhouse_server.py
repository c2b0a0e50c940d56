"""The same migrations, flow and queries on a real ClickHouse server.

Set ``VOC_TEST_CLICKHOUSE_DSN`` (e.g. ``http://writer:secret@localhost:8123``) to run them;
each test works in a database of its own and drops it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.clickhouse import connect
from flows.queries import TimeRange, build_report
from flows.settings import Settings, load_settings
from schemas.migrate import discover, migrate
from tests.conftest import T0, jsonl, message
from tests.db.test_flow_clickhouse import stream_file
from tests.db.test_idempotence import corpus, expected_counts, stored_counts

DSN = os.environ.get("VOC_TEST_CLICKHOUSE_DSN", "")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not DSN, reason="set VOC_TEST_CLICKHOUSE_DSN to test against a ClickHouse server"
    ),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Settings, Any]]:
    settings = load_settings(
        clickhouse_dsn=DSN, clickhouse_database=f"voc_it_{uuid.uuid4().hex[:10]}", batch_size=64
    )
    client = connect(settings, create_database=True)
    assert [m.version for m in migrate(client)] == [m.version for m in discover()]
    assert migrate(client) == []
    yield settings, client
    client.command(
        "DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": settings.clickhouse_database}
    )
    client.close()


def test_flow_and_report_on_a_server(server: tuple[Settings, Any], tmp_path: Path) -> None:
    settings, client = server
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(i) for i in range(60)]) + b"not json\n")
    stream_file(settings, path)
    report = build_report(client, TimeRange(T0, datetime.now(UTC) + timedelta(minutes=1)))
    assert report.total == 60
    assert report.dead_letters[0][:3] == ("parse", "invalid_json", 1)


def test_replays_keep_exact_counts_on_a_server(
    server: tuple[Settings, Any], tmp_path: Path
) -> None:
    settings, client = server
    messages = corpus(2_000)
    volume, topics = expected_counts(messages)
    path = tmp_path / "all.jsonl"
    path.write_bytes(jsonl(messages))
    for batch_size in (37, 500):
        stream_file(settings, path, batch_size=batch_size)
        counts = stored_counts(client)
        assert counts["messages"] == (2_000, 2_000)
        assert counts["volume_1m"] == volume
        assert counts["topics_1m"] == topics
