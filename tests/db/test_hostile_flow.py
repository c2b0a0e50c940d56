"""No payload stops the flow: the crashes found by attacking it, and a fuzz of the whole flow.

Every test streams through the real flow (``build_flow``, the file source, the real
ClickHouse sinks on embedded chDB) and checks that the run finishes, that every payload is
either stored or a dead letter, and that the rest of the batch is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from flows.clickhouse import close_deferred, connect
from flows.dataflow import build_flow, default_io
from flows.execution import Execution, WriteCounter, run_flow
from flows.settings import Settings, load_settings
from schemas.migrate import migrate
from tests.conftest import KeywordEnricher
from tests.hostile import CRASHES, RECENT, expected_payloads, line, payloads, review


def stream(
    settings: Settings,
    path: Path,
    lines: list[bytes],
    workers: int = 1,
    execution: Execution | None = None,
    **overrides: Any,
) -> WriteCounter:
    """Write ``lines`` to ``path`` and stream the file through the flow; the sinks' counts."""
    path.write_bytes(b"".join(raw + b"\n" for raw in lines))
    settings = load_settings(
        **{**settings.model_dump(), "source": "file", "input_path": str(path), **overrides}
    )
    counter = WriteCounter()
    flow = build_flow(settings, default_io(settings, counter), enricher=KeywordEnricher)
    run_flow(flow, counter, workers=workers, quiet=True, execution=execution)
    return counter


@pytest.mark.parametrize("workers", [1, 2])
def test_every_listed_crash_is_a_dead_letter_and_the_rest_is_written(
    settings: Settings, client: Any, tmp_path: Path, workers: int
) -> None:
    good = [line(review(i, id=f"ok{i}")) for i in range(40)]
    lines = good[:20] + [raw for _, raw, _ in CRASHES] + good[20:]
    counter = stream(settings, tmp_path / "in.jsonl", lines, workers, batch_size=16)

    counts = counter.snapshot()
    assert (counts["messages"], counts["dead_letters"]) == (40, len(CRASHES))
    letters = client.query(
        "SELECT position, step, error_type, reason FROM dead_letters FINAL ORDER BY position"
    ).result_rows
    assert [(p, e) for p, _, e, _ in letters] == [
        (21 + i, error) for i, (_, _, error) in enumerate(CRASHES)
    ]
    assert all(step in ("read", "parse") and reason for _, step, _, reason in letters)
    assert client.query("SELECT count() FROM messages FINAL").result_rows == [(40,)]
    # the message dated a day ahead moved no watermark: no on-time message after it is late
    assert client.query("SELECT count() FROM late_items").result_rows == [(0,)]


def test_a_batch_spanning_more_than_100_months_is_written_in_several_inserts(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    start = datetime(2010, 1, 15, tzinfo=UTC)
    lines = [
        line(review(i, id=f"m{i}", created_at=(start + timedelta(days=31 * i)).isoformat()))
        for i in range(150)
    ]
    inserts: list[int] = []

    def observe(table: str, rows: int) -> None:
        if table == "messages":
            inserts.append(rows)

    settings = load_settings(
        **{
            **settings.model_dump(),
            "source": "file",
            "input_path": str(tmp_path / "in.jsonl"),
            "batch_size": 1000,
        }
    )
    (tmp_path / "in.jsonl").write_bytes(b"".join(raw + b"\n" for raw in lines))
    counter = WriteCounter()

    def both(table: str, rows: int) -> None:
        counter(table, rows)
        observe(table, rows)

    run_flow(
        build_flow(settings, default_io(settings, both), enricher=KeywordEnricher),
        counter,
        quiet=True,
    )
    assert counter.snapshot().get("dead_letters", 0) == 0
    assert sum(inserts) == 150
    assert client.query(
        "SELECT count(), uniqExact(toYYYYMM(created_at)) FROM messages FINAL"
    ).result_rows == [(150, 150)]
    events = client.query("SELECT count() FROM pipeline_events").result_rows
    assert events == [(0,)]  # nothing refused, no outage: chunked before the insert


def test_a_jump_of_months_in_event_time_does_not_overflow_the_detector(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    first = [line(review(0, id="old", created_at=(RECENT - timedelta(days=300)).isoformat()))]
    later = [line(review(i, id=f"now{i}", text="giao hàng chậm quá")) for i in range(1, 60)]
    counter = stream(settings, tmp_path / "in.jsonl", first + later, batch_size=8)
    assert counter.snapshot().get("messages") == 60
    assert counter.snapshot().get("dead_letters", 0) == 0


def test_a_poison_message_under_recovery_is_dead_lettered_not_replayed_into_a_crash(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    lines = [line(review(i, id=f"p{i}")) for i in range(10)] + [raw for _, raw, _ in CRASHES]
    execution = Execution(
        recovery_dir=tmp_path / "recovery", snapshot_interval=timedelta(milliseconds=200)
    )
    path = tmp_path / "in.jsonl"
    first = stream(settings, path, lines, execution=execution, batch_size=4)
    assert first.snapshot()["dead_letters"] == len(CRASHES)
    second = stream(settings, path, lines, execution=execution, batch_size=4)  # resumes
    assert second.snapshot().get("messages", 0) == 0  # nothing left to replay
    assert client.query("SELECT count() FROM dead_letters FINAL").result_rows == [(len(CRASHES),)]
    assert client.query("SELECT count() FROM messages FINAL").result_rows == [(10,)]


def test_input_people_have_is_accepted(settings: Settings, client: Any, tmp_path: Path) -> None:
    lines = [
        b"\xef\xbb\xbf" + line(review(0, id="bom")),  # a byte-order mark on the first line
        line(review(1, id="zalo", source="chat", role="customer", author=84912345678,
                    conversation_id=1234567890123456789)),
        line(review(2, id="counts", source="social", reach="1200", likes=35.0, rating="4")),
        line(review(3, id="fullwidth", text="giao hàng ｃｈａｍ \u200b quá")),
    ]  # fmt: skip
    counter = stream(settings, tmp_path / "in.jsonl", lines)
    assert counter.snapshot() == {"messages": 4}
    rows = dict(
        client.query(
            "SELECT id, (conversation_id, reach, likes, rating, author_hash != '') "
            "FROM messages FINAL"
        ).result_rows
    )
    assert rows["zalo"] == ("1234567890123456789", None, None, None, True)
    assert rows["counts"] == ("", 1200, 35, 4, False)


def test_a_redelivered_id_with_another_created_at_keeps_the_latest_within_the_hour(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    """The documented rule: ``messages`` is keyed by (hour of created_at, source, channel, id).

    A re-delivery with a created_at in the same hour replaces the row (the latest ingested
    wins); one in another hour is another event as far as storage can tell: both rows stay.
    """
    at = RECENT.replace(minute=0)
    first = [line(review(0, id="same", created_at=(at + timedelta(minutes=5)).isoformat()))]
    stream(settings, tmp_path / "a.jsonl", first)
    again = [
        line(review(0, id="same", created_at=(at + timedelta(minutes=20)).isoformat(),
                    text="đã nhận hàng")),
        line(review(1, id="moved", created_at=at.isoformat())),
    ]  # fmt: skip
    stream(settings, tmp_path / "b.jsonl", again)
    later = [line(review(1, id="moved", created_at=(at + timedelta(hours=3)).isoformat()))]
    stream(settings, tmp_path / "c.jsonl", later)
    rows = client.query(
        "SELECT id, created_at, text FROM messages FINAL ORDER BY id, created_at"
    ).result_rows
    hours = [(r[1].replace(tzinfo=UTC) - at) // timedelta(hours=1) for r in rows]
    assert [(r[0], r[1].minute, h) for r, h in zip(rows, hours, strict=True)] == [
        ("moved", 0, 0), ("moved", 0, 3), ("same", 20, 0),
    ]  # fmt: skip
    assert rows[2][2] == "đã nhận hàng"


# -- the fuzz -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Any]]:
    """One migrated embedded database for every fuzz example (emptied before each)."""
    path = tmp_path_factory.mktemp("fuzz")
    settings = load_settings(
        clickhouse_dsn=f"chdb://{path / 'chdb'}", batch_size=16, batch_timeout_s=0.2
    )
    client = connect(settings, create_database=True)
    migrate(client)
    yield settings, client
    client.close()
    close_deferred()


def fuzz_run(fuzz: tuple[Settings, Any], path: Path, lines: list[bytes], workers: int) -> None:
    """Stream ``lines``; check every payload is stored or a dead letter, and storage is sane."""
    settings, client = fuzz
    for table in ("messages", "dead_letters", "alerts", "late_items", "pipeline_events"):
        client.command(f"TRUNCATE TABLE {table}")
    counter = stream(settings, path, lines, workers)
    counts = counter.snapshot()
    stored, dead = counts.get("messages", 0), counts.get("dead_letters", 0)
    event("some stored" if stored else "none stored")
    event("some dead letters" if dead else "no dead letters")
    assert stored + dead == expected_payloads(lines), counts
    assert client.query("SELECT count() FROM dead_letters FINAL").result_rows == [(dead,)]
    assert client.query("SELECT count() FROM dead_letters WHERE step = 'detect'").result_rows == [
        (0,)
    ]
    (ids,) = client.query("SELECT uniqExact(id) FROM messages FINAL").result_rows[0]
    assert (ids == 0) == (stored == 0) and ids <= stored
    floor = datetime(2000, 1, 1, tzinfo=UTC)
    (outside,) = client.query(
        "SELECT count() FROM messages WHERE created_at < {floor:DateTime64(3, 'UTC')} "
        "OR created_at > now64(3) + INTERVAL 5 MINUTE",
        parameters={"floor": floor},
    ).result_rows[0]
    assert outside == 0


_CRASH_LINES = [raw for _, raw, _ in CRASHES]


@pytest.mark.slow
@hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(lines=st.lists(payloads(), min_size=1, max_size=24))
@example(lines=_CRASH_LINES)
def test_fuzz_one_worker(fuzz_db: tuple[Settings, Any], tmp_path: Path, lines: list[bytes]) -> None:
    fuzz_run(fuzz_db, tmp_path / "fuzz-1.jsonl", lines, workers=1)


@pytest.mark.slow
@hsettings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(lines=st.lists(payloads(), min_size=1, max_size=24))
@example(lines=_CRASH_LINES + [line(review(i)) for i in range(20)])
def test_fuzz_two_workers(
    fuzz_db: tuple[Settings, Any], tmp_path: Path, lines: list[bytes]
) -> None:
    fuzz_run(fuzz_db, tmp_path / "fuzz-2.jsonl", lines, workers=2)


def test_the_fuzz_payloads_cover_what_broke_the_flow() -> None:
    """Each crash of the issue is an explicit example of the fuzz, and valid JSON lines parse."""
    assert len(_CRASH_LINES) == len(CRASHES) >= 18
    for name, raw, _ in CRASHES:
        assert b"\n" not in raw, name
    assert json.loads(line(review(0)))["id"] == "h0"
