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
``pipeline_events`` (downtime, attempts, last error) for the pipeline-health board. Which
failures are retried is decided by the one translation table of :mod:`flows.clickhouse`;
an insert refused for its values is split to isolate the refused rows, which become dead
letters (``messages``) or are logged and recorded in ``pipeline_events`` (``rows_refused``),
and the rest is written. A batch whose rows span more than 100 monthly partitions is
written as several inserts.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.outputs import (
    DynamicSink,
    FixedPartitionedSink,
    Sink,
    StatefulSinkPartition,
    StatelessSinkPartition,
)

from flows.clickhouse import connect, release, translate
from flows.retry import Backoff, Outcome, retry
from schemas.errors import SinkDataError, VocError
from schemas.migrate import require_current
from schemas.rows import PARTITION_COLUMNS, DeadLetter

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from flows.settings import Settings

log = logging.getLogger(__name__)

#: Called after each insert with the table name and the number of rows written.
WriteObserver = Callable[[str, int], None]

#: Opens the writer's client; tests pass a narrow wrapper over a real client here.
Connector = Callable[["Settings"], "Client"]

#: The dead letter recording a row the table refused, given the reason (``messages``).
DeadLetterOf = Callable[[Any, str], DeadLetter]

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

#: Most monthly partitions one insert may touch (ClickHouse's max_partitions_per_insert_block).
MAX_PARTITIONS_PER_INSERT = 100


class Row(Protocol):
    """Anything stored by a sink: a row type from :mod:`schemas.rows`."""

    def as_row(self) -> tuple[Any, ...]:
        """The values in the table's column order."""
        ...


R = TypeVar("R", bound=Row)

#: A sink of batches of rows ``R``: taking them as they are (a server, tests' sinks) or
#: keyed to its one partition (embedded storage); :func:`output` wires either.
RowSink = Sink[Sequence[R]] | FixedPartitionedSink[Sequence[R], Any]


def _default_connector(settings: Settings) -> Client:
    return connect(settings, writer=True)


class _TableWriter:
    """One client writing batches into one table, with retries, isolation and outage records.

    A batch is one insert (several when its rows span more than
    :data:`MAX_PARTITIONS_PER_INSERT` monthly partitions). A retryable failure is retried
    (:mod:`flows.retry`); an insert refused for its values (:class:`SinkDataError`) is split
    in halves until the refused rows are alone, and those rows are reported: as dead letters
    (``dead_letter_of``, for ``messages``) and in the log and ``pipeline_events``.
    """

    def __init__(
        self,
        client: Client,
        table: str,
        columns: tuple[str, ...],
        observer: WriteObserver | None,
        backoff: Backoff,
        step_id: str,
        worker: str,
        dead_letter_of: DeadLetterOf | None = None,
    ):
        self._client = client
        self._table = table
        self._columns = columns
        self._observer = observer
        self._backoff = backoff
        self._step = step_id.rsplit(".", 1)[-1]  # "voc.write-messages" -> "write-messages"
        self._worker = worker
        self._who = f"{self._step} ({worker})"
        self._dead_letter_of = dead_letter_of
        partition = PARTITION_COLUMNS.get(table)
        self._partition_at = columns.index(partition) if partition in columns else None

    def write(self, batches: Sequence[Sequence[Row]]) -> None:
        rows = [row for batch in batches for row in batch]
        if not rows:
            return
        refused: list[tuple[Row, str]] = []
        for chunk in partition_chunks(rows, self._partition_at):
            self._isolate(self._table, self._columns, chunk, refused)
        if self._observer is not None:
            self._observer(self._table, len(rows) - len(refused))
        if refused:
            self._report_refused(refused)

    def _isolate(
        self,
        table: str,
        columns: tuple[str, ...],
        rows: list[Row],
        refused: list[tuple[Row, str]],
    ) -> None:
        """Insert ``rows``, splitting the insert to isolate the rows the table refuses.

        Halves are inserted left first, so the written rows keep their order.
        """
        pending = [rows]
        while pending:
            part = pending.pop()
            try:
                self._insert_retrying(table, columns, part)
            except SinkDataError as exc:
                if len(part) == 1:
                    refused.append((part[0], str(exc)))
                    continue
                middle = len(part) // 2
                pending += [part[middle:], part[:middle]]

    def _insert_retrying(self, table: str, columns: tuple[str, ...], rows: list[Row]) -> None:
        values = [row.as_row() for row in rows]
        _, outcome = retry(
            lambda: self._insert(table, columns, values),
            self._backoff,
            f"insert into {table}",
            who=self._who,
        )
        if outcome.attempts > 1:
            self._record_event("sink_recovered", outcome)

    def _insert(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        try:
            self._client.insert(table, rows, column_names=columns)
        except VocError:  # already says what went wrong
            raise
        except Exception as exc:
            raise translate(exc, f"insert into {table}") from exc

    def _report_refused(self, refused: list[tuple[Row, str]]) -> None:
        """Log the rows the table refused, dead-letter them (messages), record the event."""
        first = refused[0][1]
        log.error(
            "%s: %s refused %d row(s) for their values; first: %s",
            self._who, self._table, len(refused), first,
        )  # fmt: skip
        now = datetime.now(UTC).timestamp()
        self._record_event(
            "rows_refused", Outcome(len(refused), now, 0.0, f"{len(refused)} row(s): {first}")
        )
        if self._dead_letter_of is None:
            return
        letters = [self._dead_letter_of(row, reason) for row, reason in refused]
        lost: list[tuple[Row, str]] = []
        self._isolate("dead_letters", DeadLetter.COLUMNS, list(letters), lost)
        if self._observer is not None:
            self._observer("dead_letters", len(letters) - len(lost))
        if lost:  # a dead letter is built to be storable: this is a bug, said loudly
            log.error("%s: %d dead letter(s) refused too: %s", self._who, len(lost), lost[0][1])

    def _record_event(self, kind: str, outcome: Outcome) -> None:
        """Write one ``pipeline_events`` row: an outage that ended, or refused rows.

        Best effort: the rows are stored (or dead-lettered); a missing event must not stop
        the flow.
        """
        if outcome.first_failure is None:  # no outage
            return
        started = datetime.fromtimestamp(outcome.first_failure, UTC)
        now = datetime.now(UTC)
        key = f"{kind}|{self._step}|{self._table}|{self._worker}|{started.isoformat()}"
        row = (
            hashlib.blake2b(key.encode(), digest_size=12).hexdigest(),
            kind,
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
        except Exception as exc:
            log.warning("could not record %s in pipeline_events: %s", key, exc)

    def close(self) -> None:
        release(self._client)


def partition_chunks(rows: list[Row], partition_at: int | None) -> list[list[Row]]:
    """``rows`` in inserts of at most :data:`MAX_PARTITIONS_PER_INSERT` monthly partitions.

    ``partition_at`` is the index of the (datetime) column the table is partitioned by
    month on (``None``: one insert). Rows of one month keep their order; the usual batch,
    within a few months, is returned as it is.
    """
    if partition_at is None or len(rows) <= MAX_PARTITIONS_PER_INSERT:
        return [rows]
    by_month: dict[tuple[int, int], list[Row]] = {}
    for row in rows:
        at = row.as_row()[partition_at]
        by_month.setdefault((at.year, at.month), []).append(row)
    if len(by_month) <= MAX_PARTITIONS_PER_INSERT:
        return [rows]
    months = list(by_month.values())
    return [
        [row for month in months[i : i + MAX_PARTITIONS_PER_INSERT] for row in month]
        for i in range(0, len(months), MAX_PARTITIONS_PER_INSERT)
    ]


@dataclass(frozen=True)
class _Target:
    """What a sink writes: the table, its columns, and who to tell."""

    settings: Settings
    table: str
    columns: tuple[str, ...]
    observer: WriteObserver | None
    connector: Connector
    dead_letter_of: DeadLetterOf | None


def _open_writer(target: _Target, step_id: str, worker: str) -> _TableWriter:
    """Connect (waiting out an unreachable server) and check the schema is current."""
    backoff = Backoff.from_settings(target.settings)
    table = target.table

    def open_client() -> Client:
        try:
            client = target.connector(target.settings)
        except VocError:  # already says what went wrong
            raise
        except Exception as exc:
            raise translate(exc, f"connect for {table}") from exc
        try:
            require_current(client, f"sink {step_id!r} (table {table})")
        except Exception:
            release(client)
            raise
        return client

    step = step_id.rsplit(".", 1)[-1]
    client, _ = retry(open_client, backoff, f"connect for {table}", who=f"{step} ({worker})")
    _resolve_optional_imports()
    return _TableWriter(
        client, table, target.columns, target.observer, backoff, step_id, worker,
        target.dead_letter_of,
    )  # fmt: skip


def _resolve_optional_imports() -> None:
    """Let clickhouse-connect import what its inserts check for (pandas, numpy) now.

    It does so lazily, on the first insert: with pandas installed that is a third of a
    second in the middle of the stream (the first batch's latency, every restart).
    """
    from clickhouse_connect.driver import options

    for name in ("pd", "np"):
        getattr(options, name)


class _WorkerPartition(StatelessSinkPartition[Sequence[R]]):
    def __init__(self, writer: _TableWriter):
        self._writer = writer

    def write_batch(self, items: list[Sequence[R]]) -> None:
        self._writer.write(items)

    def close(self) -> None:
        self._writer.close()


class ClickHouseSink(DynamicSink[Sequence[R]]):
    """Insert batches of rows into one table of a ClickHouse server.

    Unit of parallelism: the worker; each worker of each process opens its own client.
    Each item is a batch of rows and every ``write_batch`` call is one synchronous insert
    (``async_insert=0``) of all rows handed over, retried with capped backoff while the
    failure can heal, so a worker's batches land in order; an insert refused for its values
    is split to isolate the refused rows (:class:`_TableWriter`). Delivery: at-least-once;
    the tables are ReplacingMergeTree and the rollups count distinct ids, so a replayed or
    retried batch
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
        dead_letter_of: DeadLetterOf | None = None,
    ):
        self._settings = settings
        self._target = _Target(
            settings, table, columns, observer, connector or _default_connector, dead_letter_of
        )

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _WorkerPartition[R]:
        """Open this worker's client and check the schema."""
        writer = _open_writer(self._target, step_id, f"worker {worker_index}")
        return _WorkerPartition(writer)


class _SinglePartition(StatefulSinkPartition[Sequence[R], None]):
    def __init__(self, writer: _TableWriter):
        self._writer = writer

    def write_batch(self, values: list[Sequence[R]]) -> None:
        self._writer.write(values)

    def snapshot(self) -> None:
        return None

    def close(self) -> None:
        self._writer.close()


class EmbeddedClickHouseSink(FixedPartitionedSink[Sequence[R], None]):
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
        dead_letter_of: DeadLetterOf | None = None,
    ):
        self._settings = settings
        self._target = _Target(
            settings, table, columns, observer, connector or _default_connector, dead_letter_of
        )

    def list_parts(self) -> list[str]:
        """The single partition, on the writer process only."""
        return [EMBEDDED_PARTITION] if self._settings.is_writer_process else []

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _SinglePartition[R]:
        """Open the client of the writer process and check the schema."""
        writer = _open_writer(self._target, step_id, f"process {self._settings.process_id}")
        return _SinglePartition(writer)


def clickhouse_sink(
    settings: Settings,
    table: str,
    columns: tuple[str, ...],
    observer: WriteObserver | None = None,
    *,
    connector: Connector | None = None,
    dead_letter_of: DeadLetterOf | None = None,
) -> ClickHouseSink[Any] | EmbeddedClickHouseSink[Any]:
    """The sink for ``table``: one writer process on embedded storage, every worker on a server.

    ``dead_letter_of`` turns a row the table refuses for its values into the dead letter
    that records it (``messages``); without it such rows are only logged and counted in
    ``pipeline_events``.
    """
    if settings.is_embedded:
        return EmbeddedClickHouseSink(
            settings, table, columns, observer, connector=connector, dead_letter_of=dead_letter_of
        )
    return ClickHouseSink(
        settings, table, columns, observer, connector=connector, dead_letter_of=dead_letter_of
    )


def output(step_id: str, up: Stream[Sequence[R]], sink: RowSink[R]) -> None:
    """``op.output``, first keying the batches when the sink is partitioned.

    A partitioned sink (embedded storage) takes ``(key, batch)`` pairs; every batch gets the
    one partition's key. Other sinks (servers, tests' ``TestingSink``) take batches as they are.
    """
    if isinstance(sink, FixedPartitionedSink):
        keyed = op.key_on(f"{step_id}-route", up, lambda _batch: EMBEDDED_PARTITION)
        op.output(step_id, keyed, sink)
    else:
        op.output(step_id, up, sink)
