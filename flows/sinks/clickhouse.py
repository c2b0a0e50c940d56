"""ClickHouse as a sink, through clickhouse-connect (embedded chDB or a server)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from flows.clickhouse import connect, release
from schemas.errors import SinkFatalError, SinkRetryableError
from schemas.migrate import require_current

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from flows.settings import Settings

log = logging.getLogger(__name__)

#: Called after each insert with the table name and the number of rows written.
WriteObserver = Callable[[str, int], None]


class Row(Protocol):
    """Anything stored by a sink: a row type from :mod:`schemas.rows`."""

    def as_row(self) -> tuple[Any, ...]:
        """The values in the table's column order."""
        ...


def _translate(exc: Exception, table: str) -> Exception:
    text = str(exc)
    permanent = (
        "UNKNOWN_TABLE",
        "NO_SUCH_COLUMN",
        "TYPE_MISMATCH",
        "CANNOT_PARSE",
        "ACCESS_DENIED",
    )
    if any(code in text for code in permanent):
        return SinkFatalError(f"insert into {table} failed permanently: {text}")
    return SinkRetryableError(f"insert into {table} failed: {text}")


class _TablePartition(StatelessSinkPartition[Sequence[Row]]):
    def __init__(
        self,
        client: Client,
        table: str,
        columns: tuple[str, ...],
        observer: WriteObserver | None,
    ):
        self._client = client
        self._table = table
        self._columns = columns
        self._observer = observer

    def write_batch(self, items: list[Sequence[Row]]) -> None:
        rows = [row.as_row() for batch in items for row in batch]
        if not rows:
            return
        try:
            self._client.insert(self._table, rows, column_names=self._columns)
        except Exception as exc:
            raise _translate(exc, self._table) from exc
        if self._observer is not None:
            self._observer(self._table, len(rows))

    def close(self) -> None:
        release(self._client)


class ClickHouseSink(DynamicSink[Sequence[Row]]):
    """Insert batches of rows into one ClickHouse table.

    Unit of parallelism: the worker; each worker opens its own client. Each item is a batch
    of rows and every ``write_batch`` call is one synchronous insert (``async_insert=0``) of
    all rows handed over. Delivery: at-least-once; the tables are ReplacingMergeTree and the
    rollups count distinct ids, so a replayed batch changes no count. At start the sink checks
    the database has every migration and refuses to run, naming the missing one, if not.
    """

    def __init__(
        self,
        settings: Settings,
        table: str,
        columns: tuple[str, ...],
        observer: WriteObserver | None = None,
    ):
        self._settings = settings
        self._table = table
        self._columns = columns
        self._observer = observer

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _TablePartition:
        """Open this worker's client and check the schema."""
        client = connect(self._settings, writer=True)
        try:
            require_current(client, f"sink {step_id!r} (table {self._table})")
        except Exception:
            release(client)
            raise
        return _TablePartition(client, self._table, self._columns, self._observer)
