"""``voc serve``: serve reads of an idle embedded store, as ``voc run`` does while it streams."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import click

from flows.cli.common import err_console, settings_for, store_options
from schemas.errors import ConfigError

SERVE_EXAMPLES = """
\b
Examples:
  voc serve                               127.0.0.1:8123 (VOC_SERVE_PORT), until Ctrl-C
  voc serve --port 0                      any free port (the read commands still find it)
  VOC_SERVE_PASSWORD=s3cret voc serve --host 0.0.0.0    for Grafana in a container
\b
In Python, as from any ClickHouse server:
  clickhouse_connect.get_client(host="127.0.0.1", port=8123, database="voc")
"""


@click.command("serve", epilog=SERVE_EXAMPLES)
@store_options
@click.option(
    "--host",
    "serve_host",
    help="Address to listen on (default: VOC_SERVE_HOST or 127.0.0.1; anything but loopback "
    "needs VOC_SERVE_PASSWORD).",
)
@click.option(
    "--port",
    "serve_port",
    type=click.IntRange(0, 65_535),
    help="Port (default: VOC_SERVE_PORT or 8123; 0: any free port).",
)
def serve(**options: Any) -> None:
    """Serve reads of an embedded store over ClickHouse's HTTP interface until stopped.

    `voc run` and `voc demo` do this while they stream; `voc serve` does it for a store at
    rest: for a local Grafana (the ClickHouse plugin with protocol http), a notebook, or the
    voc read commands, which find it by themselves. Only reads run (SELECT, WITH, SHOW,
    DESCRIBE, EXISTS, EXPLAIN). Ctrl-C (or SIGTERM) stops it.
    """
    from flows.clickhouse import chdb_path, connect
    from flows.endpoint import find, start_endpoint
    from schemas.migrate import require_current

    settings = settings_for(**options)
    if not settings.is_embedded:
        msg = (
            f"voc serve serves an embedded store (a chdb:// DSN); {settings.redacted_dsn()} is a "
            "ClickHouse server, which has its own HTTP interface"
        )
        raise ConfigError(msg)
    path = chdb_path(settings.clickhouse_dsn.get_secret_value())
    if path == ":memory:" or not Path(path).is_dir():
        msg = f"no embedded store at {path}; create it with `voc migrate`"
        raise ConfigError(msg)
    running = find(path)
    if running is not None:
        msg = (
            f"the embedded store {path} is already served at {running.url} by "
            f"`{running.command}` (pid {running.pid})"
        )
        raise ConfigError(msg)
    client = connect(settings, writer=True)  # this process must be able to own the store
    try:
        require_current(client, "voc serve")
    finally:
        client.close()
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    endpoint = start_endpoint(settings, path, "voc serve")
    try:
        assert endpoint.address is not None
        err_console.print(
            f"serving reads of {path} (database {settings.clickhouse_database}) at "
            f"{endpoint.address.url}; Ctrl-C stops",
            highlight=False,
            soft_wrap=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        endpoint.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)
    err_console.print("stopped serving reads", highlight=False)
