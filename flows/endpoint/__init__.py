"""Reads of an embedded store while its owner streams: ClickHouse's HTTP interface on loopback.

chDB lets one process open a data directory (a second one gets "Cannot lock file
.../status"). So the process that owns the store (``voc run``, ``voc demo``, ``voc serve``)
serves reads of it over the part of ClickHouse's HTTP interface that clickhouse-connect and
the Grafana ClickHouse plugin use, and writes its address into the data directory; every
reader then works as it does against a ClickHouse server: the ``voc`` read commands (through
:func:`flows.clickhouse.connect`, which finds the address), a notebook, a local Grafana.

    sql       which statements run (reads only), and the format a statement names
    native    Native blocks in the layout of the client's protocol revision
    server    ReadEndpoint: the HTTP server, one chDB connection per query
    address   the address file in the data directory; ``find`` for readers
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flows.endpoint.address import Address, find, owner_pid
from flows.endpoint.server import ReadEndpoint
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from flows.settings import Settings

__all__ = ["Address", "ReadEndpoint", "find", "owner_pid", "serving", "start_endpoint"]

log = logging.getLogger("flows.endpoint")


@contextmanager
def serving(settings: Settings, command: str) -> Iterator[Address | None]:
    """Serve reads of the configured embedded store while the block runs.

    Yields the address, or ``None`` where nothing is served: ``VOC_SERVE`` off, a server DSN,
    an in-memory store, or a cluster process other than the writer. When the default port
    is taken, any free port is used (with a warning); a port set with ``VOC_SERVE_PORT`` (or
    ``--port``) that is taken is a :class:`ConfigError`.
    """
    from flows.clickhouse import chdb_path

    path = chdb_path(settings.clickhouse_dsn.get_secret_value()) if settings.is_embedded else ""
    if not settings.serve or not path or path == ":memory:" or not settings.is_writer_process:
        yield None
        return
    endpoint = start_endpoint(settings, path, command)
    try:
        yield endpoint.address
    finally:
        endpoint.stop()


def start_endpoint(settings: Settings, path: str, command: str) -> ReadEndpoint:
    """Start a read endpoint for the chDB directory ``path`` with the ``VOC_SERVE_*`` settings."""
    password = settings.serve_password.get_secret_value() if settings.serve_password else ""
    port = settings.serve_port
    while True:
        endpoint = ReadEndpoint(
            path,
            host=settings.serve_host,
            port=port,
            user=settings.serve_user,
            password=password,
            command=command,
        )
        try:
            endpoint.start()
        except OSError as exc:
            chosen = "serve_port" in settings.model_fields_set
            if exc.errno == errno.EADDRINUSE and port != 0 and not chosen:
                log.warning(
                    "port %d is taken: serving reads on a free port instead "
                    "(set VOC_SERVE_PORT to choose one)",
                    port,
                )
                port = 0
                continue
            msg = (
                f"cannot serve reads on {settings.serve_host}:{port}: {exc.strerror or exc}; "
                "set VOC_SERVE_PORT to a free port (0: any) or VOC_SERVE=false"
            )
            raise ConfigError(msg) from exc
        except Exception as exc:  # chDB's own errors opening the store
            msg = f"cannot serve reads of the embedded store {path}: {exc}"
            raise ConfigError(msg) from exc
        return endpoint
