"""Connections to ClickHouse: embedded chDB or a server, through clickhouse-connect.

One client library for both targets. ``chdb://PATH`` opens the embedded engine in PATH
(``chdb://./data/chdb`` relative to the working directory, ``chdb:///abs/path``,
``chdb://:memory:``); ``http(s)://user:password@host:8123/db`` reaches a server. Errors from
clickhouse-connect are translated here into :mod:`schemas.errors`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.errors import ConfigError, SinkFatalError, SinkRetryableError

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
            path = chdb_path(dsn)
            if path != ":memory:":
                Path(path).mkdir(parents=True, exist_ok=True)
            kwargs: dict[str, Any] = {"interface": "chdb", "path": path}
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
        text = str(exc)
        if "UNKNOWN_DATABASE" in text or ("Database" in text and "does not exist" in text):
            msg = f"ClickHouse at {where} has no database {db!r}; run `voc migrate` first"
            raise SinkFatalError(msg) from exc
        if "AUTHENTICATION_FAILED" in text or "Authentication failed" in text:
            msg = f"ClickHouse at {where} rejected the credentials"
            raise SinkFatalError(msg) from exc
        if is_tls_failure(text):
            msg = (
                f"the TLS certificate of ClickHouse at {where} could not be verified: {text}; "
                "set VOC_CLICKHOUSE_CA_FILE to its CA bundle (or VOC_CLICKHOUSE_VERIFY=false "
                "for a test server)"
            )
            raise SinkFatalError(msg) from exc
        msg = f"cannot reach ClickHouse at {where}: {text}"
        raise SinkRetryableError(msg) from exc
    except OSError as exc:
        msg = f"cannot open ClickHouse at {where}: {exc}"
        raise ConfigError(msg) from exc
