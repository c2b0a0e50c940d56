"""Connections to ClickHouse: embedded chDB or a server, through clickhouse-connect.

One client library for both targets. ``chdb://PATH`` opens the embedded engine in PATH
(``chdb://./data/chdb`` relative to the working directory, ``chdb:///abs/path``,
``chdb://:memory:``); ``http(s)://user:password@host:8123/db`` reaches a server.

Errors of every ClickHouse call are translated here, by one table (:data:`ERROR_KINDS`,
:func:`failure_of`, :func:`translate`), into :mod:`schemas.errors`: only what can heal
(unreachable, overloaded, timed out) is retried; values a table cannot take split an insert
to isolate the rows; the rest (schema, credentials, a bug) stops the flow.

chDB lets one process open a data directory. While another process has it open and serves
reads of it (:mod:`flows.endpoint`), a reader of a ``chdb://`` DSN connects to that read
endpoint over HTTP instead, found through the address file in the directory: every read
works during a run without an option.
"""

from __future__ import annotations

import os
import re
import struct
import threading
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.errors import (
    ConfigError,
    SinkDataError,
    SinkError,
    SinkFatalError,
    SinkRetryableError,
)

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from flows.settings import Settings

#: The flow batches itself: inserts are synchronous and each batch is one insert.
WRITER_SETTINGS: dict[str, Any] = {"async_insert": 0, "wait_for_async_insert": 0}


_deferred: list[Client] = []
_deferred_lock = threading.Lock()


def release(client: Client) -> None:
    """Close a client, or defer the close if it is embedded.

    Closing a chDB connection from a Bytewax worker thread while other workers run can
    deadlock inside the engine, so sinks release embedded clients here and the thread that
    ran the flow calls :func:`close_deferred` once the flow has returned.
    """
    if type(client).__name__ == "ChdbClient":
        with _deferred_lock:
            _deferred.append(client)
    else:
        client.close()


def close_deferred() -> int:
    """Close the embedded clients released by sinks; returns how many were closed."""
    with _deferred_lock:
        pending = list(_deferred)
        _deferred.clear()
    for client in pending:
        client.close()
    return len(pending)


def is_tls_failure(text: str) -> bool:
    """Whether an error message says a TLS certificate could not be verified."""
    return "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text


class Failure(StrEnum):
    """What a failed ClickHouse call calls for."""

    RETRY = "retry"
    """Transient (unreachable, overloaded, timed out): the same call may succeed later."""
    DATA = "data"
    """The values of an insert: the same rows fail again, a smaller insert isolates them."""
    FATAL = "fatal"
    """Schema, credentials, configuration or a bug: nothing a retry or a split can fix."""


_R, _D, _F = Failure.RETRY, Failure.DATA, Failure.FATAL

#: The one translation table of ClickHouse error names, for every call the project makes
#: (connect, insert, query). A name that is not here is FATAL: only what is known to heal
#: is retried, so a new kind of failure stops the flow loudly instead of looping.
ERROR_KINDS: Mapping[str, Failure] = {
    # unreachable, overloaded, timed out, a replica or Keeper away: heals by itself
    "TIMEOUT_EXCEEDED": _R,
    "SOCKET_TIMEOUT": _R,
    "NETWORK_ERROR": _R,
    "ALL_CONNECTION_TRIES_FAILED": _R,
    "NO_FREE_CONNECTION": _R,
    "UNEXPECTED_END_OF_FILE": _R,
    "ATTEMPT_TO_READ_AFTER_EOF": _R,
    "CANNOT_READ_FROM_SOCKET": _R,
    "CANNOT_WRITE_TO_SOCKET": _R,
    "TOO_MANY_SIMULTANEOUS_QUERIES": _R,
    "SERVER_OVERLOADED": _R,
    "MEMORY_LIMIT_EXCEEDED": _R,
    "CANNOT_ALLOCATE_MEMORY": _R,
    "CANNOT_SCHEDULE_TASK": _R,
    "TOO_MANY_PARTS": _R,  # merges are behind; but see _PARTITIONS_PER_INSERT
    "QUERY_WAS_CANCELLED": _R,
    "ABORTED": _R,
    "TABLE_IS_READ_ONLY": _R,
    "NOT_A_LEADER": _R,
    "KEEPER_EXCEPTION": _R,
    "NO_ZOOKEEPER": _R,
    "TOO_FEW_LIVE_REPLICAS": _R,
    "UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE": _R,
    "UNKNOWN_STATUS_OF_INSERT": _R,
    "QUOTA_EXCEEDED": _R,
    # the values of the rows
    "CANNOT_PARSE_TEXT": _D,
    "CANNOT_PARSE_INPUT_ASSERTION_FAILED": _D,
    "CANNOT_PARSE_DATE": _D,
    "CANNOT_PARSE_DATETIME": _D,
    "CANNOT_PARSE_NUMBER": _D,
    "CANNOT_PARSE_ESCAPE_SEQUENCE": _D,
    "CANNOT_PARSE_QUOTED_STRING": _D,
    "CANNOT_CONVERT_TYPE": _D,
    "CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN": _D,
    "INCORRECT_DATA": _D,
    "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE": _D,
    "ARGUMENT_OUT_OF_BOUND": _D,
    "DECIMAL_OVERFLOW": _D,
    "TOO_LARGE_STRING_SIZE": _D,
    "TOO_LARGE_ARRAY_SIZE": _D,
    "SIZES_OF_ARRAYS_DONT_MATCH": _D,
    # the schema, the credentials, the configuration
    "UNKNOWN_TABLE": _F,
    "UNKNOWN_DATABASE": _F,
    "NO_SUCH_COLUMN_IN_TABLE": _F,
    "THERE_IS_NO_COLUMN": _F,
    "UNKNOWN_IDENTIFIER": _F,
    "NUMBER_OF_COLUMNS_DOESNT_MATCH": _F,
    "INCORRECT_NUMBER_OF_COLUMNS": _F,
    "TYPE_MISMATCH": _F,
    "ILLEGAL_COLUMN": _F,
    "ILLEGAL_TYPE_OF_ARGUMENT": _F,
    "UNKNOWN_TYPE": _F,
    "SYNTAX_ERROR": _F,
    "UNKNOWN_SETTING": _F,
    "ACCESS_DENIED": _F,
    "NOT_ENOUGH_PRIVILEGES": _F,
    "AUTHENTICATION_FAILED": _F,
    "REQUIRED_PASSWORD": _F,
    "UNKNOWN_USER": _F,
    "WRONG_PASSWORD": _F,
    "READONLY": _F,
}

#: ``TOO_MANY_PARTS`` also names an insert whose rows span more monthly partitions than
#: ``max_partitions_per_insert_block``: that is about the rows, not the server's load.
_PARTITIONS_PER_INSERT = "partitions for single INSERT block"
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)")


def error_name(exc: BaseException) -> str | None:
    """The ClickHouse error name of ``exc`` (``UNKNOWN_TABLE``), if it carries one."""
    name = getattr(exc, "name", None)
    if isinstance(name, str) and name:
        return name
    found = _NAME.findall(str(exc))
    return found[-1] if found else None


def failure_of(exc: BaseException) -> Failure:
    """What ``exc``, raised by a clickhouse-connect call, calls for (see :data:`ERROR_KINDS`).

    Without an error name: an unverifiable TLS certificate is FATAL; the driver's transport
    errors (``OperationalError``) and the operating system's (``OSError``) are RETRY; the
    driver's ``DataError`` and the errors of turning Python values into columns
    (``ValueError`` such as ``UnicodeEncodeError`` for a lone surrogate, ``OverflowError``,
    ``struct.error``) are DATA; anything else is a bug: FATAL.
    """
    from clickhouse_connect.driver.exceptions import DataError, OperationalError

    text = str(exc)
    if is_tls_failure(text):
        return Failure.FATAL
    name = error_name(exc)
    if name is not None and name in ERROR_KINDS:
        if name == "TOO_MANY_PARTS" and _PARTITIONS_PER_INSERT in text:
            return Failure.DATA
        return ERROR_KINDS[name]
    if name is None:
        if isinstance(exc, DataError | ValueError | OverflowError | struct.error):
            return Failure.DATA
        if isinstance(exc, OperationalError | OSError):
            return Failure.RETRY
    return Failure.FATAL


def translate(exc: BaseException, what: str) -> SinkError:
    """The :mod:`schemas.errors` error for ``exc``; ``what`` names the call ("insert into x")."""
    text = str(exc)
    if type(exc).__module__.split(".")[0] != "clickhouse_connect" and not isinstance(exc, OSError):
        text = f"{type(exc).__name__}: {text}"
    kind = failure_of(exc)
    if kind is Failure.RETRY:
        return SinkRetryableError(f"{what} failed: {text}")
    if kind is Failure.DATA:
        return SinkDataError(f"{what} refused the values: {text}")
    return SinkFatalError(f"{what} failed permanently: {text}")


def chdb_path(dsn: str) -> str:
    """Return the engine path of a ``chdb://`` DSN (``:memory:`` for an in-memory engine)."""
    rest = dsn.removeprefix("chdb://")
    if rest in ("", ":memory:", "memory"):
        return ":memory:"
    return str(Path(rest).expanduser().resolve())


def server_kwargs(settings: Settings) -> dict[str, Any]:
    """``clickhouse_connect.get_client`` arguments for a server DSN: address, user, TLS.

    The password comes from the DSN (any character; see :func:`flows.settings.parse_server_dsn`)
    or else ``VOC_CLICKHOUSE_PASSWORD`` (verbatim); an ``https://`` DSN
    verifies the server certificate (against ``VOC_CLICKHOUSE_CA_FILE`` when set) unless
    ``VOC_CLICKHOUSE_VERIFY`` is false. The result holds the password: never print it.
    """
    parts = settings.server_dsn()
    kwargs: dict[str, Any] = {
        "interface": parts.scheme,
        "host": parts.host,
        "port": parts.port,
        "username": parts.username or None,
        "password": parts.password or "",
    }
    if parts.scheme == "https":
        kwargs["verify"] = settings.clickhouse_verify
        if settings.clickhouse_ca_file is not None:
            if not settings.clickhouse_ca_file.is_file():
                msg = f"VOC_CLICKHOUSE_CA_FILE: no such file {settings.clickhouse_ca_file}"
                raise ConfigError(msg)
            kwargs["ca_cert"] = str(settings.clickhouse_ca_file)
    return kwargs


def embedded_kwargs(settings: Settings, *, write: bool = False) -> dict[str, Any]:
    """``clickhouse_connect.get_client`` arguments for a ``chdb://`` DSN.

    chDB lets one process open a data directory. When another process has it open and
    serves reads of it (``voc run``, ``voc demo``, ``voc serve``), a reader gets the address
    of that read endpoint (ClickHouse's HTTP interface, with ``VOC_SERVE_PASSWORD``);
    otherwise the directory itself. Writing while another process has the directory open,
    or reading while it serves no reads, is a :class:`ConfigError` naming that process.
    """
    from flows.endpoint import find, owner_pid

    path = chdb_path(settings.clickhouse_dsn.get_secret_value())
    if path == ":memory:":
        return {"interface": "chdb", "path": path}
    endpoint = find(path)
    if endpoint is not None and not write:
        from clickhouse_connect.driver.httputil import default_pool_manager

        password = settings.serve_password
        return {
            "interface": "http",
            "host": endpoint.host,
            "port": endpoint.port,
            "username": endpoint.user,
            "password": password.get_secret_value() if password else "",
            # a pool of its own: HTTP_PROXY from the environment must not route loopback reads
            "pool_mgr": default_pool_manager(),
        }
    owner = endpoint.pid if endpoint is not None else owner_pid(path)
    if owner is not None and owner != os.getpid():
        if endpoint is not None:
            msg = (
                f"the embedded store {path} is open in `{endpoint.command}` (pid {owner}), which "
                f"serves reads only (at {endpoint.url}); stop it before writing to the store"
            )
        else:
            msg = (
                f"the embedded store {path} is open in another process (pid {owner}) that serves "
                "no reads: chDB lets one process open a data directory; stop that process, or "
                "let it serve reads (VOC_SERVE, on by default in voc run and voc demo)"
            )
        raise ConfigError(msg)
    Path(path).mkdir(parents=True, exist_ok=True)
    return {"interface": "chdb", "path": path}


def connect(
    settings: Settings,
    *,
    database: str | None = None,
    create_database: bool = False,
    writer: bool = False,
) -> Client:
    """Open a client on the configured ClickHouse.

    ``database`` defaults to ``settings.clickhouse_database``. With ``create_database`` the
    database is created first if missing (only ``voc migrate`` does this). ``writer`` applies
    the insert settings the flow's sinks use.
    """
    import clickhouse_connect
    from clickhouse_connect.driver.exceptions import ClickHouseError

    db = database or settings.clickhouse_database
    dsn = settings.clickhouse_dsn.get_secret_value()
    extra = dict(WRITER_SETTINGS) if writer else {}
    where = settings.redacted_dsn()
    try:
        if dsn.startswith("chdb:"):
            kwargs: dict[str, Any] = embedded_kwargs(settings, write=writer or create_database)
            if kwargs["interface"] == "http":
                where = f"{where} (its read endpoint {kwargs['host']}:{kwargs['port']})"
        else:
            kwargs = server_kwargs(settings)
        if create_database:
            bootstrap = clickhouse_connect.get_client(**kwargs)
            try:
                bootstrap.command(
                    "CREATE DATABASE IF NOT EXISTS {db:Identifier}", parameters={"db": db}
                )
            finally:
                bootstrap.close()
        return clickhouse_connect.get_client(**kwargs, database=db, settings=extra)
    except ClickHouseError as exc:
        text, name = str(exc), error_name(exc)
        if name == "UNKNOWN_DATABASE" or ("Database" in text and "does not exist" in text):
            msg = f"ClickHouse at {where} has no database {db!r}; run `voc migrate` first"
            raise SinkFatalError(msg) from exc
        if name == "AUTHENTICATION_FAILED" or "Authentication failed" in text:
            msg = f"ClickHouse at {where} rejected the credentials"
            if dsn.startswith("chdb:"):
                msg += "; set VOC_SERVE_PASSWORD to the read endpoint's password"
            raise SinkFatalError(msg) from exc
        if is_tls_failure(text):
            msg = (
                f"the TLS certificate of ClickHouse at {where} could not be verified: {text}; "
                "set VOC_CLICKHOUSE_CA_FILE to its CA bundle (or VOC_CLICKHOUSE_VERIFY=false "
                "for a test server)"
            )
            raise SinkFatalError(msg) from exc
        if failure_of(exc) is Failure.RETRY or name is None:
            msg = f"cannot reach ClickHouse at {where}: {text}"
            raise SinkRetryableError(msg) from exc
        raise translate(exc, f"connect to ClickHouse at {where}") from exc
    except OSError as exc:
        msg = f"cannot open ClickHouse at {where}: {exc}"
        raise ConfigError(msg) from exc
