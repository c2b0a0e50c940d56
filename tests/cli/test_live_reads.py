"""Reads of an embedded store that another process owns: during `voc run`, through `voc serve`.

Real processes throughout: `voc run --source stdin` streams while the test feeds it and reads
(clickhouse-connect's HTTP client on the endpoint, the voc read commands with no extra
option); `voc serve` serves a store at rest, and every read command prints the same through
it as it does reading the store directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import clickhouse_connect
import pytest

from flows.clickhouse import chdb_path, close_deferred
from flows.endpoint import address as addresses
from flows.endpoint import owner_pid
from flows.settings import Settings
from schemas.rows import AlertRow
from tests.cli.test_cli import REPO, voc
from tests.conftest import T0, jsonl, message
from tests.grafana.conftest import alert_row, write_rows

pytestmark = pytest.mark.slow

T = TypeVar("T")
#: Every run here serves on a free port: parallel test runs must not meet on 8123.
ENV = {"VOC_ENRICHER": "baseline", "VOC_SERVE_PORT": "0", "COLUMNS": "120"}
RANGE = ("--from", "2026-11-20T00:00:00+00:00", "--to", "2026-11-22T00:00:00+00:00")


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 90.0) -> T:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def start(args: list[str], err: Path, stdin: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """A `voc` process in the background, its stderr to a file."""
    with err.open("wb") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "flows", *args],
            cwd=REPO, stdin=stdin, stdout=subprocess.DEVNULL, stderr=handle,
            env={**os.environ, "PYTHONPATH": str(REPO), **ENV},
        )  # fmt: skip


def address_of(path: str, process: subprocess.Popen[bytes]) -> addresses.Address:
    """The address the process publishes, once its endpoint listens."""

    def published() -> addresses.Address | None:
        assert process.poll() is None, "the process ended before serving"
        found = addresses.read(path)
        return found if found is not None and found.pid == process.pid else None

    return wait_for(published, "the read endpoint's address")


def reads(dsn: str) -> dict[str, str]:
    """What every read command prints (JSON and tables) for the store of ``dsn``."""
    out = {}
    for name, args in {
        "query-json": ("query", *RANGE, "--json"),
        "query": ("query", *RANGE),
        "alerts-json": ("alerts", "--status", "all", "--last", "3650d", "--json"),
        "alerts": ("alerts", "--status", "all", "--last", "3650d"),
        "dead-letters-json": ("dead-letters", "--json"),
        "dead-letters": ("dead-letters",),
        "messages-json": ("messages", *RANGE, "--json", "--limit", "100"),
        "messages": ("messages", *RANGE, "--search", "giao hang"),
        "conversation-json": ("conversation", "c1", "--json"),
        "sql": (
            "sql",
            "-e",
            "SELECT channel, count() AS n FROM messages FINAL GROUP BY channel ORDER BY channel",
        ),
    }.items():
        result = voc(*args, "--dsn", dsn, env=ENV)
        assert result.returncode == 0, (name, result.stderr.decode())
        out[name] = result.stdout.decode()
    return out


def poll_until_gone(served: addresses.Address, process: subprocess.Popen[bytes]) -> None:
    """Query the endpoint in a loop until its process has ended."""
    client = clickhouse_connect.get_client(host=served.host, port=served.port, database="voc")
    while process.poll() is None:
        with contextlib.suppress(Exception):  # refused while stopping, or gone: both the end
            client.command("SELECT count() FROM messages")
    client.close()


@pytest.fixture
def store(settings: Settings) -> tuple[str, str]:
    """A migrated store no process has open: its DSN and directory."""
    dsn = settings.clickhouse_dsn.get_secret_value()
    assert voc("migrate", "--dsn", dsn, "--quiet").returncode == 0
    return dsn, chdb_path(dsn)


CHATS = [
    message(100 + i, source="chat", channel="zalo", conversation_id="c1", role=role)
    for i, role in enumerate(["customer", "agent", "customer"])
]


def test_every_read_works_while_voc_run_streams(store: tuple[str, str], tmp_path: Path) -> None:
    dsn, path = store
    run = start(
        ["run", "--dsn", dsn, "--source", "stdin", "--quiet"], tmp_path / "run.err", subprocess.PIPE
    )
    assert run.stdin is not None
    pollers: list[threading.Thread] = []
    try:
        run.stdin.write(jsonl([message(i) for i in range(27)] + CHATS) + b"[1, 2]\n")
        run.stdin.flush()
        served = address_of(path, run)
        assert (served.host, served.command) == ("127.0.0.1", "voc run")
        http = clickhouse_connect.get_client(host=served.host, port=served.port, database="voc")

        def count() -> int:
            return int(http.command("SELECT count() FROM messages FINAL"))

        wait_for(lambda: count() == 30, "the first 30 messages")
        run.stdin.write(jsonl([message(i) for i in range(30, 50)]))
        run.stdin.flush()
        wait_for(lambda: count() == 50, "20 more messages, read while the run goes on")
        assert http.command("SELECT count() FROM dead_letters") == 1

        during = reads(dsn)
        report = json.loads(during["query-json"])
        assert report["total"] == 49, "agent turns are not customer voice"
        assert len(json.loads(during["messages-json"])) == 49
        turns = json.loads(during["conversation-json"])
        assert [turn["role"] for turn in turns] == ["customer", "agent", "customer"]
        assert "zalo" in during["sql"] and "shopee" in during["sql"]
        assert {row["channel"] for row in report["volume"]} == {"shopee", "tiki", "lazada", "zalo"}
        assert [row["error_type"] for row in json.loads(during["dead-letters-json"])] == [
            "not_an_object"
        ]
        assert "Giao hàng chậm quá" in during["query"]
        dead_proxy = {**ENV, "HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
        proxied = voc("query", "--dsn", dsn, *RANGE, "--json", env=dead_proxy)
        assert proxied.stdout.decode() == during["query-json"], "loopback reads skip a proxy"

        # Writing is the owner's job; a second server of the same store is refused.
        for args, expected in [
            (("migrate", "--dsn", dsn), "open in `voc run`"),
            (("serve", "--dsn", dsn), "already served"),
            (("run", "--dsn", dsn, "--source", "stdin"), "open in `voc run`"),
        ]:
            refused = voc(*args, env=ENV, stdin=b"")
            lines = refused.stderr.decode().strip().splitlines()
            assert refused.returncode == 1, args
            assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
        http.close()
        # Readers keep querying as the run ends: the endpoint must stop under them cleanly.
        pollers += [threading.Thread(target=poll_until_gone, args=(served, run)) for _ in range(3)]
        for poller in pollers:
            poller.start()
        time.sleep(0.5)
    finally:
        run.stdin.close()
        assert run.wait(timeout=120) == 0, (tmp_path / "run.err").read_text()
        for poller in pollers:
            poller.join(timeout=30)
    assert "wrote 50 messages and 1 dead letters" in (tmp_path / "run.err").read_text()
    assert addresses.read(path) is None, "the address is withdrawn when the run ends"
    after = reads(dsn)  # the store directly, now that no process has it open
    assert after == during


def test_voc_serve_reads_exactly_what_a_direct_read_does(
    store: tuple[str, str], settings: Settings, tmp_path: Path
) -> None:
    dsn, path = store
    feed = tmp_path / "in.jsonl"
    feed.write_bytes(jsonl([message(i) for i in range(40)] + CHATS) + b'{"id": 1\n')
    ran = voc("run", "--dsn", dsn, "--input", str(feed), "--quiet", env=ENV)
    assert ran.returncode == 0, ran.stderr.decode()
    opened = T0 + timedelta(minutes=20)
    write_rows(
        settings,
        "alerts",
        AlertRow.COLUMNS,
        [
            alert_row(id="a1", kind="volume_spike", topic="delivery", channel="shopee",
                      opened_at=opened, observed=9.0, expected=2.0, score=4.5,
                      top_terms=("giao hàng", "chậm"), channel_breakdown={"shopee": 9},
                      sample_ids=("r2",), sample_texts=("Giao hàng chậm quá, shop ơi",)),
            alert_row(id="a2", kind="negative_share", key_type="topic", topic="payment",
                      opened_at=opened, status="resolved", resolved_at=opened + timedelta(hours=1),
                      updated_at=opened + timedelta(hours=1), observed=0.6, expected=0.2),
        ],
    )  # fmt: skip
    close_deferred()
    assert owner_pid(path) is None, "this test process must not hold the store"

    direct = reads(dsn)
    assert len(json.loads(direct["alerts-json"])) == 2
    serve = start(["serve", "--dsn", dsn, "--port", "0"], tmp_path / "serve.err")
    try:
        served = address_of(path, serve)
        assert served.command == "voc serve"
        through = reads(dsn)
        notebook = clickhouse_connect.get_client(host=served.host, port=served.port, database="voc")
        assert notebook.command("SELECT count() FROM messages FINAL") == 43
        notebook.close()
    finally:
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=60) == 0, (tmp_path / "serve.err").read_text()
    assert through == direct
    err = (tmp_path / "serve.err").read_text()
    assert f"at {served.url}" in err and "stopped serving reads" in err
    assert addresses.read(path) is None
