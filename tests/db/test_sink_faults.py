"""The ClickHouse sink under faults: retries with capped backoff, order kept, nothing lost.

Faults are injected by a narrow wrapper over a REAL embedded client: its ``insert`` into one
table raises the error clickhouse-connect raises for an unreachable or overloaded server a
given number of times, then passes the insert on.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError

from flows.batching import MicroBatch
from flows.cli import voc_cause
from flows.clickhouse import ERROR_KINDS, Failure, close_deferred, connect, failure_of, translate
from flows.dataflow import FlowIO, build_flow, source_for
from flows.execution import WriteCounter, run_flow
from flows.records import RawRecord
from flows.retry import Backoff, retry
from flows.settings import Settings, load_settings
from flows.sinks.clickhouse import ClickHouseSink, clickhouse_sink, partition_chunks
from flows.steps import Enrich, Preparer, parse_batch, refused_row_letter
from schemas.errors import SinkDataError, SinkFatalError, SinkRetryableError
from schemas.rows import DeadLetter, StoredMessage
from tests.conftest import KeywordEnricher, jsonl, message
from tests.flow.test_flow_memory import line

UNREACHABLE = OperationalError(
    "Error HTTPConnectionPool(host='clickhouse', port=8123): Max retries exceeded "
    "(Caused by NewConnectionError: [Errno 111] Connection refused)"
)
OVERLOADED = DatabaseError(
    "Code: 202. DB::Exception: Too many simultaneous queries. Maximum: 100. "
    "(TOO_MANY_SIMULTANEOUS_QUERIES)"
)
UNKNOWN_TABLE = DatabaseError(
    "Code: 60. DB::Exception: Table voc.messages does not exist. (UNKNOWN_TABLE)"
)
TOO_MANY_PARTITIONS = DatabaseError(
    "Code: 252. DB::Exception: Too many partitions for single INSERT block (more than 100). "
    "The limit is controlled by 'max_partitions_per_insert_block' setting. (TOO_MANY_PARTS)"
)


class FlakyClient:
    """A real client whose inserts into ``table`` fail ``failures`` times before succeeding."""

    def __init__(self, client: Any, table: str, failures: int, error: Exception):
        self._client = client
        self._table = table
        self._error = error
        self.remaining = failures
        self.attempts = 0
        self.written: list[list[str]] = []  # ids of each successful insert, in order

    def insert(self, table: str, rows: list[tuple[Any, ...]], column_names: Any) -> Any:
        if table == self._table:
            self.attempts += 1
            if self.remaining > 0:
                self.remaining -= 1
                raise self._error
            self.written.append([row[0] for row in rows])
        return self._client.insert(table, rows, column_names=column_names)

    def close(self) -> None:
        """The test closes the real client after the flow has returned."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def fault_settings(settings: Settings, path: Path, **overrides: Any) -> Settings:
    return load_settings(
        **{
            **settings.model_dump(),
            "source": "file",
            "input_path": str(path),
            "batch_size": 25,
            "sink_retry_initial_s": 0.001,
            "sink_retry_max_s": 0.004,
            **overrides,
        }
    )


def run_with(
    settings: Settings, clients: dict[str, FlakyClient | None], sink: Any = clickhouse_sink
) -> WriteCounter:
    """Run the file flow; each table's sink opens the given wrapper (or a plain client).

    ``sink`` builds the sinks: the embedded single writer by default, or ``ClickHouseSink``
    (every worker writes, as on a server) over the same embedded client.
    """
    counter = WriteCounter()

    def connector_for(table: str) -> Any:
        def open_client(s: Settings) -> Any:
            return clients.get(table) or connect(s, writer=True)

        return open_client

    io = FlowIO(
        source=source_for(settings),
        messages=sink(
            settings, "messages", StoredMessage.COLUMNS, counter,
            connector=connector_for("messages"), dead_letter_of=refused_row_letter,
        ),
        dead_letters=sink(
            settings, "dead_letters", DeadLetter.COLUMNS, counter,
            connector=connector_for("dead_letters"),
        ),
    )  # fmt: skip
    run_flow(build_flow(settings, io, enricher=KeywordEnricher), counter, quiet=True)
    return counter


@pytest.mark.parametrize(
    ("error", "failures", "sink"),
    [
        (UNREACHABLE, 4, clickhouse_sink),
        (OVERLOADED, 7, clickhouse_sink),
        (UNREACHABLE, 3, ClickHouseSink),
    ],
    ids=["unreachable", "overloaded", "every-worker-sink"],
)
def test_retries_until_clickhouse_is_back_and_loses_nothing(
    settings: Settings,
    client: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    failures: int,
    sink: Any,
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(i, id=f"m{i:03d}") for i in range(300)]) + b"not json\n")
    settings = fault_settings(settings, path)
    flaky = FlakyClient(connect(settings, writer=True), "messages", failures, error)
    try:
        with caplog.at_level(logging.WARNING, logger="flows.retry"):
            counter = run_with(settings, {"messages": flaky}, sink)
    finally:
        flaky._client.close()

    assert counter.snapshot() == {"messages": 300, "dead_letters": 1}
    assert client.query("SELECT count(), uniqExact(id) FROM messages FINAL").result_rows == [
        (300, 300)
    ]
    assert client.query("SELECT count() FROM messages").result_rows == [(300,)]  # no duplicates
    # order kept: every batch written after the ones before it, in file order
    written = [i for batch in flaky.written for i in batch]
    assert written == [f"m{i:03d}" for i in range(300)]
    assert flaky.attempts == len(flaky.written) + failures
    events = client.query(
        "SELECT kind, step, table_name, attempts, downtime_s, last_error, ended_at >= started_at "
        "FROM pipeline_events FINAL"
    ).result_rows
    assert len(events) == 1
    kind, step, table, attempts, downtime, last_error, ordered = events[0]
    assert (kind, step, table, attempts, ordered) == (
        "sink_recovered", "write-messages", "messages", failures + 1, True,
    )  # fmt: skip
    assert downtime > 0 and str(error)[:40] in last_error
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == failures
    writer = "process 0" if sink is clickhouse_sink else "worker 0"
    assert retries[0].startswith(f"write-messages ({writer}): insert into messages failed: ")
    assert retries[0].endswith("(attempt 1)")
    assert any(
        "insert into messages succeeded again after" in r.getMessage()
        and r.getMessage().endswith(f"and {failures + 1} attempts")
        for r in caplog.records
    )


def test_a_permanent_error_fails_fast(settings: Settings, client: Any, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(i) for i in range(10)]))
    settings = fault_settings(settings, path)
    flaky = FlakyClient(connect(settings, writer=True), "messages", 1_000, UNKNOWN_TABLE)
    try:
        with pytest.raises(Exception) as caught:  # noqa: PT011 - Bytewax wraps the sink's error
            run_with(settings, {"messages": flaky})
    finally:
        flaky._client.close()
    assert flaky.attempts == 1
    cause = voc_cause(caught.value)
    assert isinstance(cause, SinkFatalError)
    assert "insert into messages failed permanently" in str(cause)
    assert "UNKNOWN_TABLE" in str(cause)


def test_gives_up_after_the_configured_time(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(i) for i in range(10)]))
    settings = fault_settings(settings, path, sink_give_up_s=0.05)
    flaky = FlakyClient(connect(settings, writer=True), "messages", 10**9, UNREACHABLE)
    try:
        with pytest.raises(Exception) as caught:  # noqa: PT011 - Bytewax wraps the sink's error
            run_with(settings, {"messages": flaky})
    finally:
        flaky._client.close()
    cause = voc_cause(caught.value)
    assert isinstance(cause, SinkRetryableError)
    assert "VOC_SINK_GIVE_UP_S=0.05" in str(cause) and flaky.attempts > 3


def test_the_sink_waits_for_clickhouse_at_start(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(i) for i in range(40)]))
    settings = fault_settings(settings, path)
    refusals = {"left": 3}

    def connector(s: Settings) -> Any:
        if refusals["left"]:
            refusals["left"] -= 1
            raise UNREACHABLE
        return connect(s, writer=True)

    counter = WriteCounter()
    io = FlowIO(
        source=source_for(settings),
        messages=clickhouse_sink(
            settings, "messages", StoredMessage.COLUMNS, counter, connector=connector
        ),
        dead_letters=clickhouse_sink(settings, "dead_letters", DeadLetter.COLUMNS, counter),
    )
    run_flow(build_flow(settings, io, enricher=KeywordEnricher), counter, quiet=True)
    assert refusals["left"] == 0
    assert client.query("SELECT count() FROM messages FINAL").result_rows == [(40,)]


# -- the policy itself ---------------------------------------------------------------------------


def test_backoff_is_exponential_capped_and_jittered() -> None:
    backoff = Backoff(initial_s=0.5, max_s=8.0)
    rng = random.Random(1)
    for failures, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (9, 8.0), (500, 8.0)]:
        waits = [backoff.delay(failures, rng) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), failures
        assert max(waits) - min(waits) > ceiling / 4  # jitter spreads the retries
    with pytest.raises(ValueError, match="initial_s <= max_s"):
        Backoff(initial_s=5, max_s=1)


def test_retry_counts_attempts_and_downtime_on_a_fake_clock() -> None:
    now = {"t": 1000.0}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now["t"] += seconds

    results = iter([UNREACHABLE, UNREACHABLE, UNREACHABLE, "ok"])

    def attempt() -> str:
        item = next(results)
        if isinstance(item, Exception):
            raise translate(item, "insert into messages")
        return item

    value, outcome = retry(
        attempt, Backoff(1.0, 3.0), "insert", rng=random.Random(0), sleep=sleep,
        clock=lambda: now["t"],
    )  # fmt: skip
    assert value == "ok"
    assert outcome.attempts == 4 and outcome.first_failure == 1000.0
    assert outcome.downtime_s == pytest.approx(sum(slept))
    assert [0.5 <= slept[0] <= 1.0, 1.0 <= slept[1] <= 2.0, 1.5 <= slept[2] <= 3.0] == [True] * 3


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (UNREACHABLE, SinkRetryableError),
        (OVERLOADED, SinkRetryableError),
        (DatabaseError("Code: 159. Timeout exceeded (TIMEOUT_EXCEEDED)"), SinkRetryableError),
        (ConnectionResetError("reset by peer"), SinkRetryableError),
        (UNKNOWN_TABLE, SinkFatalError),
        (DatabaseError("Code: 497. Not enough privileges. (ACCESS_DENIED)"), SinkFatalError),
        (TypeError("object of type 'int' has no len()"), SinkFatalError),
        # the values of the rows: split the insert
        (DatabaseError("Code: 6. Cannot parse string. (CANNOT_PARSE_TEXT)"), SinkDataError),
        (DataError("Unable to create native array for column `reach`: error"), SinkDataError),
        (UnicodeEncodeError("utf-8", "\udfff", 0, 1, "surrogates not allowed"), SinkDataError),
        (OverflowError("int too big to convert"), SinkDataError),
        (TOO_MANY_PARTITIONS, SinkDataError),
        # merges are behind: the same name, but it heals
        (
            DatabaseError(
                "Code: 252. Too many parts (3000). Merges are processing "
                "significantly slower than inserts. (TOO_MANY_PARTS)"
            ),
            SinkRetryableError,
        ),
        # a name the table does not know is not retried for ever
        (DatabaseError("Code: 9999. Something new. (SOMETHING_NEW)"), SinkFatalError),
    ],
)
def test_errors_are_classified(error: Exception, kind: type[Exception]) -> None:
    translated = translate(error, "insert into messages")
    assert type(translated) is kind
    assert "messages" in str(translated)


def test_every_name_of_the_translation_table_is_a_clickhouse_error_name() -> None:
    for name, kind in ERROR_KINDS.items():
        assert name.isupper() and name.replace("_", "").isalnum(), name
        error = DatabaseError(f"Code: 1. DB::Exception: something. ({name})")
        assert failure_of(error) is kind
    assert failure_of(TOO_MANY_PARTITIONS) is Failure.DATA


# -- an insert refused for its values ------------------------------------------------------------

POISON = "Code: 6. DB::Exception: Cannot parse input: the value of row {id}. (CANNOT_PARSE_TEXT)"


class RefusingClient(FlakyClient):
    """A real client whose inserts into ``table`` are refused while they hold a poison id."""

    def __init__(self, client: Any, table: str, poison: set[str]):
        super().__init__(client, table, 0, UNREACHABLE)
        self.poison = poison
        self.sizes: list[int] = []

    def insert(self, table: str, rows: list[tuple[Any, ...]], column_names: Any) -> Any:
        if table == self._table:
            self.sizes.append(len(rows))
            bad = [row[0] for row in rows if row[0] in self.poison]
            if bad:
                raise DatabaseError(POISON.format(id=bad[0]))
        return self._client.insert(table, rows, column_names=column_names)


def test_a_refused_insert_is_split_and_only_the_refused_rows_become_dead_letters(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(i, id=f"m{i:03d}") for i in range(300)]))
    settings = fault_settings(settings, path, batch_size=100)
    poison = {"m007", "m150", "m151"}
    refusing = RefusingClient(connect(settings, writer=True), "messages", poison)
    try:
        counter = run_with(settings, {"messages": refusing})
    finally:
        refusing._client.close()

    assert counter.snapshot() == {"messages": 297, "dead_letters": 3}
    assert client.query("SELECT count() FROM messages FINAL").result_rows == [(297,)]
    letters = client.query(
        "SELECT step, error_type, origin, reason, payload FROM dead_letters FINAL ORDER BY payload"
    ).result_rows
    assert [(r[0], r[1], r[2]) for r in letters] == [
        ("insert", "insert_refused", "table:messages")
    ] * 3
    assert [json.loads(r[4])["id"] for r in letters] == sorted(poison)
    assert all("CANNOT_PARSE_TEXT" in r[3] for r in letters)
    # a binary search, not a retry loop: about 2 log2(100) inserts per refused row
    assert len(refusing.sizes) <= 3 + 3 * 2 * 7
    events = client.query(
        "SELECT kind, table_name, sum(attempts) FROM pipeline_events FINAL GROUP BY ALL"
    ).result_rows
    assert events == [("rows_refused", "messages", 3)]  # one event per write: the rows it refused


def test_a_value_the_driver_cannot_encode_is_isolated_with_the_real_client(
    settings: Settings, client: Any
) -> None:
    """Past every check (a bug, a new field): the real insert fails, the split isolates it."""
    batch = MicroBatch("in.jsonl", [RawRecord("in.jsonl", i, line(message(i))) for i in range(9)])
    rows = Enrich(KeywordEnricher)(Preparer("salt").prepare_batch(parse_batch(batch))).rows
    rows[4] = dataclasses.replace(rows[4], attributes='{"note": "\udfff"}')
    rows[6] = dataclasses.replace(rows[6], reach=2**64)
    counter = WriteCounter()
    sink = clickhouse_sink(
        settings, "messages", StoredMessage.COLUMNS, counter, dead_letter_of=refused_row_letter
    )
    part = sink.build_part("voc.write-messages", "clickhouse", None)  # type: ignore[union-attr]
    part.write_batch([rows])
    part.close()
    close_deferred()
    assert counter.snapshot() == {"messages": 7, "dead_letters": 2}
    stored = {r[0] for r in client.query("SELECT id FROM messages FINAL").result_rows}
    assert stored == {row.id for i, row in enumerate(rows) if i not in (4, 6)}
    reasons = [r[0] for r in client.query("SELECT reason FROM dead_letters FINAL").result_rows]
    assert any("UnicodeEncodeError" in r for r in reasons)
    assert any("reach" in r for r in reasons)


def test_a_batch_over_100_months_is_cut_into_inserts_of_at_most_100() -> None:
    start = datetime(2000, 1, 1, tzinfo=UTC)
    rows = [_Dated(start + timedelta(days=31 * (i % 250))) for i in range(500)]
    chunks = partition_chunks(rows, 0)  # type: ignore[arg-type]
    assert [len({(r.at.year, r.at.month) for r in c}) for c in chunks] == [100, 100, 50]
    assert sorted(map(id, (r for c in chunks for r in c))) == sorted(map(id, rows))
    few = rows[:80]
    assert partition_chunks(few, 0) == [few]  # type: ignore[arg-type]
    assert partition_chunks(rows, None) == [rows]  # type: ignore[arg-type]


@dataclasses.dataclass
class _Dated:
    at: datetime

    def as_row(self) -> tuple[Any, ...]:
        return (self.at,)
