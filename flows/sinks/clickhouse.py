"""ClickHouse as a sink, through clickhouse-connect (embedded chDB or a server).

Two shapes of the same writer, chosen by :func:`clickhouse_sink`:

* a server takes inserts from every worker of every process: :class:`ClickHouseSink` is a
  ``DynamicSink``, one client per worker;
* embedded chDB allows ONE process per data directory: :class:`EmbeddedClickHouseSink` is a
  ``FixedPartitionedSink`` with a single partition that only the writer process (process 0)
  lists, so Bytewax routes every batch of the table to one worker of that process and no
  other process ever opens the directory. Use :func:`output` to wire either into a flow.

Every insert is retried on retryable failures with capped exponential backoff and jitter
(:mod:`flows.retry`); the worker waits (back-pressure) rather than drop or reorder a batch.
When a write succeeds after failures, the sink logs it and records the outage in
``pipeline_events`` (downtime, attempts, last error) for the pipeline-health board.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.outputs import (
    DynamicSink,
    FixedPartitionedSink,
    Sink,
    StatefulSinkPartition,
    StatelessSinkPartition,
)

from flows.clickhouse import connect, is_tls_failure, release
from flows.retry import Backoff, Outcome, retry
from schemas.errors import SinkError, SinkFatalError, SinkRetryableError, VocError
from schemas.migrate import require_current

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from flows.settings import Settings

log = logging.getLogger(__name__)

#: Called after each insert with the table name and the number of rows written.
WriteObserver = Callable[[str, int], None]

#: Opens the writer's client; tests pass a narrow wrapper over a real client here.
Connector = Callable[["Settings"], "Client"]

#: The one partition of an embedded table's writer.
EMBEDDED_PARTITION = "clickhouse"

PIPELINE_EVENT_COLUMNS = (
    "id",
    "kind",
    "step",
    "table_name",
    "worker",
    "started_at",
    "ended_at",
    "downtime_s",
    "attempts",
    "last_error",
    "recorded_at",
)

#: Server error codes that no retry can fix: the schema, the data or the credentials.
PERMANENT_CODES = frozenset(
    {
        "UNKNOWN_TABLE",
        "UNKNOWN_DATABASE",
        "NO_SUCH_COLUMN_IN_TABLE",
        "THERE_IS_NO_COLUMN",
        "UNKNOWN_IDENTIFIER",
        "TYPE_MISMATCH",
        "ILLEGAL_COLUMN",
        "ILLEGAL_TYPE_OF_ARGUMENT",
        "INCORRECT_DATA",
        "CANNOT_PARSE_TEXT",
        "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
        "CANNOT_PARSE_DATETIME",
        "SYNTAX_ERROR",
        "ACCESS_DENIED",
        "NOT_ENOUGH_PRIVILEGES",
        "AUTHENTICATION_FAILED",
        "REQUIRED_PASSWORD",
        "UNKNOWN_USER",
        "READONLY",
    }
)
_CODE = re.compile(r"\(([A-Z][A-Z0-9_]+)\)")


class Row(Protocol):
    """Anything stored by a sink: a row type from :mod:`schemas.rows`."""

    def as_row(self) -> tuple[Any, ...]:
        """The values in the table's column order."""
        ...


def classify(exc: Exception, table: str, action: str = "insert into") -> SinkError:
    """Translate a failed insert into a retryable or a fatal sink error.

    Errors from the driver or the network are retryable (unreachable, overloaded, timed
    out, an unknown server error) unless the server names a permanent cause (unknown
    table or column, bad data, denied access). Anything else is a bug: fatal.
    """
    from clickhouse_connect.driver.exceptions import ClickHouseError

    text = str(exc)
    if isinstance(exc, ClickHouseError | OSError):
        codes = set(_CODE.findall(text))
        if codes & PERMANENT_CODES or is_tls_failure(text):
            return SinkFatalError(f"{action} {table} failed permanently: {text}")
        return SinkRetryableError(f"{action} {table} failed: {text}")
    return SinkFatalError(f"{action} {table} failed: {type(exc).__name__}: {text}")


def _default_connector(settings: Settings) -> Client:
    return connect(settings, writer=True)


class _TableWriter:
    """One client writing batches into one table, with retries and outage records."""

    def __init__(
        self,
        client: Client,
        table: str,
        columns: tuple[str, ...],
        observer: WriteObserver | None,
        backoff: Backoff,
        step_id: str,
        worker: str,
    ):
        self._client = client
        self._table = table
        self._columns = columns
        self._observer = observer
        self._backoff = backoff
        self._step = step_id.rsplit(".", 1)[-1]  # "voc.write-messages" -> "write-messages"
        self._worker = worker
        self._who = f"{self._step} ({worker})"

    def write(self, batches: list[Sequence[Row]]) -> None:
        rows = [row.as_row() for batch in batches for row in batch]
        if not rows:
            return
        _, outcome = retry(
            lambda: self._insert(rows), self._backoff, f"insert into {self._table}", who=self._who
        )
        if self._observer is not None:
            self._observer(self._table, len(rows))
        if outcome.attempts > 1:
            self._record_outage(outcome)

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        try:
            self._client.insert(self._table, rows, column_names=self._columns)
        except VocError:  # already says what went wrong
            raise
        except Exception as exc:
            raise classify(exc, self._table) from exc

    def _record_outage(self, outcome: Outcome) -> None:
        """Write one ``pipeline_events`` row for the outage that just ended (best effort)."""
        if outcome.first_failure is None:  # no outage
            return
        started = datetime.fromtimestamp(outcome.first_failure, UTC)
        now = datetime.now(UTC)
        key = f"{self._step}|{self._table}|{self._worker}|{started.isoformat()}"
        row = (
            hashlib.blake2b(key.encode(), digest_size=12).hexdigest(),
            "sink_recovered",
            self._step,
            self._table,
            self._worker,
            started,
            now,
            outcome.downtime_s,
            outcome.attempts,
            outcome.last_error[:2_000],
            now,
        )
        try:
            self._client.insert("pipeline_events", [row], column_names=PIPELINE_EVENT_COLUMNS)
        except Exception as exc:  # the rows are stored; a missing event must not stop the flow
            log.warning("could not record the outage of %s in pipeline_events: %s", key, exc)

    def close(self) -> None:
        release(self._client)


def _open_writer(
    settings: Settings,
    connector: Connector,
    table: str,
    columns: tuple[str, ...],
    observer: WriteObserver | None,
    step_id: str,
    worker: str,
) -> _TableWriter:
    """Connect (waiting out an unreachable server) and check the schema is current."""
    backoff = Backoff.from_settings(settings)

    def open_client() -> Client:
        try:
            client = connector(settings)
        except VocError:  # already says what went wrong
            raise
        except Exception as exc:
            raise classify(exc, table, "connect for") from exc
        try:
            require_current(client, f"sink {step_id!r} (table {table})")
        except Exception:
            release(client)
            raise
        return client

    step = step_id.rsplit(".", 1)[-1]
    client, _ = retry(open_client, backoff, f"connect for {table}", who=f"{step} ({worker})")
    _resolve_optional_imports()
    return _TableWriter(client, table, columns, observer, backoff, step_id, worker)


def _resolve_optional_imports() -> None:
    """Let clickhouse-connect import what its inserts check for (pandas, numpy) now.

    It does so lazily, on the first insert: with pandas installed that is a third of a
    second in the middle of the stream (the first batch's latency, every restart).
    """
    from clickhouse_connect.driver import options

    for name in ("pd", "np"):
        getattr(options, name)


class _WorkerPartition(StatelessSinkPartition[Sequence[Row]]):
    def __init__(self, writer: _TableWriter):
        self._writer = writer

    def write_batch(self, items: list[Sequence[Row]]) -> None:
        self._writer.write(items)

    def close(self) -> None:
        self._writer.close()


class ClickHouseSink(DynamicSink[Sequence[Row]]):
    """Insert batches of rows into one table of a ClickHouse server.

    Unit of parallelism: the worker; each worker of each process opens its own client.
    Each item is a batch of rows and every ``write_batch`` call is one synchronous insert
    (``async_insert=0``) of all rows handed over, retried with capped backoff until it
    succeeds, so a worker's batches land in order. Delivery: at-least-once; the tables are
    ReplacingMergeTree and the rollups count distinct ids, so a replayed or retried batch
    changes no count. At start the sink checks the database has every migration and
    refuses to run, naming the missing one, if not.
    """

    def __init__(
        self,
        settings: Settings,
        table: str,
        columns: tuple[str, ...],
        observer: WriteObserver | None = None,
        *,
        connector: Connector | None = None,
    ):
        self._settings = settings
        self._table = table
        self._columns = columns
        self._observer = observer
        self._connector = connector or _default_connector

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _WorkerPartition:
        """Open this worker's client and check the schema."""
        writer = _open_writer(
            self._settings, self._connector, self._table, self._columns, self._observer,
            step_id, f"worker {worker_index}",
        )  # fmt: skip
        return _WorkerPartition(writer)


class _SinglePartition(StatefulSinkPartition[Sequence[Row], None]):
    def __init__(self, writer: _TableWriter):
        self._writer = writer

    def write_batch(self, values: list[Sequence[Row]]) -> None:
        self._writer.write(values)

    def snapshot(self) -> None:
        return None

    def close(self) -> None:
        self._writer.close()


class EmbeddedClickHouseSink(FixedPartitionedSink[Sequence[Row], None]):
    """Insert batches of rows into one table of embedded ClickHouse (chDB).

    Unit of parallelism: one partition for the whole cluster. chDB allows one process per
    data directory, so only the writer process (``process_id`` 0) lists the partition and
    Bytewax routes every batch of the table to one of its workers; the other processes never
    open the directory. Items are ``(key, batch)`` pairs (see :func:`output`). Delivery and
    retries as :class:`ClickHouseSink`; the partition keeps no resume state.
    """

    def __init__(
        self,
        settings: Settings,
        table: str,
        columns: tuple[str, ...],
        observer: WriteObserver | None = None,
        *,
        connector: Connector | None = None,
    ):
        self._settings = settings
        self._table = table
        self._columns = columns
        self._observer = observer
        self._connector = connector or _default_connector

    def list_parts(self) -> list[str]:
        """The single partition, on the writer process only."""
        return [EMBEDDED_PARTITION] if self._settings.is_writer_process else []

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _SinglePartition:
        """Open the client of the writer process and check the schema."""
        writer = _open_writer(
            self._settings, self._connector, self._table, self._columns, self._observer,
            step_id, f"process {self._settings.process_id}",
        )  # fmt: skip
        return _SinglePartition(writer)


def clickhouse_sink(
    settings: Settings,
    table: str,
    columns: tuple[str, ...],
    observer: WriteObserver | None = None,
    *,
    connector: Connector | None = None,
) -> ClickHouseSink | EmbeddedClickHouseSink:
    """The sink for ``table``: one writer process on embedded storage, every worker on a server."""
    kind = EmbeddedClickHouseSink if settings.is_embedded else ClickHouseSink
    return kind(settings, table, columns, observer, connector=connector)


def output(step_id: str, up: Stream[Sequence[Row]], sink: Sink[Any]) -> None:
    """``op.output``, first keying the batches when the sink is partitioned.

    A partitioned sink (embedded storage) takes ``(key, batch)`` pairs; every batch gets the
    one partition's key. Other sinks (servers, tests' ``TestingSink``) take batches as they are.
    """
    if isinstance(sink, FixedPartitionedSink):
        keyed = op.key_on(f"{step_id}-route", up, lambda _batch: EMBEDDED_PARTITION)
        op.output(step_id, keyed, sink)
    else:
        op.output(step_id, up, sink)
