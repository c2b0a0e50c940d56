"""The read endpoint over a real embedded store, with raw HTTP and clickhouse-connect's client.

Each test serves the per-test store from this process (chDB lets one process own a data
directory; the endpoint shares this process's engine) on a free loopback port.
"""

from __future__ import annotations

import base64
import gzip
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import clickhouse_connect
import pytest

from flows.clickhouse import chdb_path
from flows.endpoint import ReadEndpoint, find, serving
from flows.endpoint import address as addresses
from flows.settings import Settings, load_settings
from schemas.errors import ConfigError
from tests.support.native_decoder import rows_of


@dataclass
class Answer:
    """An HTTP answer: status, headers, body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


@pytest.fixture
def path(settings: Settings, client: Any) -> str:
    """The migrated store's directory, with a few rows."""
    client.command(
        "INSERT INTO dead_letters (id, step, error_type, reason, origin, payload) VALUES "
        "('d1', 'parse', 'not_json', 'bad', 'test', '{'), ('d2', 'parse', 'not_json', 'bad', 'test', '[')"
    )
    return chdb_path(settings.clickhouse_dsn.get_secret_value())


@pytest.fixture
def endpoint(path: str) -> Iterator[ReadEndpoint]:
    with ReadEndpoint(path, port=0, command="test") as served:
        yield served


def call(
    endpoint: ReadEndpoint,
    params: dict[str, str] | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    route: str = "/",
    method: str | None = None,
) -> Answer:
    """One request, its answer whatever the status."""
    assert endpoint.address is not None
    url = f"{endpoint.address.url}{route}"
    if params:
        url += "?" + urlencode(params)
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)  # noqa: S310
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, dict(exc.headers), exc.read())


def test_ping_and_the_root_answer_ok(endpoint: ReadEndpoint) -> None:
    assert endpoint.address is not None
    ping = call(endpoint, route="/ping")
    assert (ping.status, ping.body) == (200, b"Ok.\n")
    assert ping.headers[addresses.INSTANCE_HEADER] == endpoint.address.instance
    assert call(endpoint).body == b"Ok.\n"
    assert call(endpoint, route="/nowhere", params={"query": "SELECT 1"}).status == 404


def test_a_query_by_parameter_by_body_or_both(endpoint: ReadEndpoint) -> None:
    by_get = call(endpoint, {"query": "SELECT 1 AS x, 'a' AS y"})
    assert (by_get.status, by_get.text) == (200, "1\ta\n")
    assert by_get.headers["X-ClickHouse-Format"] == "TabSeparated"
    assert by_get.headers["Content-Type"].startswith("text/tab-separated-values")
    assert by_get.headers["X-ClickHouse-Timezone"] == endpoint.facts.timezone
    assert by_get.headers["X-ClickHouse-Server-Display-Name"] == endpoint.facts.display_name
    summary = json.loads(by_get.headers["X-ClickHouse-Summary"])
    assert summary["read_rows"] == "1" and int(summary["elapsed_ns"]) > 0
    by_post = call(endpoint, {"query_id": "q-42"}, body=b"SELECT 2")
    assert (by_post.text, by_post.headers["X-ClickHouse-Query-Id"]) == ("2\n", "q-42")
    both = call(endpoint, {"query": "SELECT 3 AS n"}, body=b"FORMAT JSONEachRow")
    assert json.loads(both.body) == {"n": 3}
    assert both.headers["X-ClickHouse-Format"] == "JSONEachRow"


def test_database_parameters_settings_and_formats(endpoint: ReadEndpoint) -> None:
    assert call(endpoint, {"query": "SELECT currentDatabase()", "database": "voc"}).text == "voc\n"
    bound = call(
        endpoint,
        # values in ClickHouse's escaped text form, as clients send them
        {"param_who": "it's me\\tand a tab", "param_ids": "[1,2,3]", "default_format": "JSON"},
        body=b"SELECT {who:String} AS who, arraySum({ids:Array(UInt8)}) AS total",
    )
    data = json.loads(bound.body)["data"]
    assert data == [{"who": "it's me\tand a tab", "total": 6}]
    assert bound.headers["X-ClickHouse-Format"] == "JSON"
    zone = call(endpoint, {"query": "SELECT timezone()", "session_timezone": "Asia/Ho_Chi_Minh"})
    assert zone.text == "Asia/Ho_Chi_Minh\n"
    assert zone.headers["X-ClickHouse-Timezone"] == "Asia/Ho_Chi_Minh"
    capped = call(
        endpoint,
        {"max_result_rows": "1", "result_overflow_mode": "throw"},
        body=b"SELECT number FROM numbers(10)",
    )
    assert capped.status == 500 and capped.headers["X-ClickHouse-Exception-Code"] == "396"
    named = call(endpoint, {"default_format": "JSON"}, body=b"SELECT 1 AS a FORMAT CSVWithNames")
    assert (named.text, named.headers["X-ClickHouse-Format"]) == ('"a"\n1\n', "CSVWithNames")
    unknown = call(endpoint, {"query": "SELECT 1", "no_such_setting": "1"})
    assert unknown.status == 404 and unknown.headers["X-ClickHouse-Exception-Code"] == "115"


def test_gzip_or_deflate_only_when_asked_for_both_ways(endpoint: ReadEndpoint) -> None:
    sql = b"SELECT repeat('voc ', 1000)"
    plain = call(endpoint, body=sql, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers
    squeezed = call(
        endpoint, {"enable_http_compression": "1"}, body=sql, headers={"Accept-Encoding": "gzip"}
    )
    assert squeezed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(squeezed.body) == plain.body
    assert int(squeezed.headers["Content-Length"]) < len(plain.body) / 10
    deflated = call(
        endpoint, {"enable_http_compression": "1"}, body=sql, headers={"Accept-Encoding": "deflate"}
    )
    assert zlib.decompress(deflated.body) == plain.body
    nothing = call(endpoint, {"enable_http_compression": "1"}, body=sql, headers={"Accept-Encoding": "br"})  # fmt: skip
    assert "Content-Encoding" not in nothing.headers and nothing.body == plain.body


@pytest.mark.parametrize(
    ("sql", "status", "code"),
    [
        ("SELECT * FROM no_such_table", 404, 60),
        ("SELECT nope()", 404, 46),
        ("SELEC 1", 500, 164),  # not a read: refused before the engine sees it
        ("SELECT 1 +", 400, 62),
        ("SELECT 1; SELECT 2", 400, 62),
        ("DROP TABLE messages", 500, 164),
        ("SELECT 1 INTO OUTFILE '/tmp/voc-endpoint-test.tsv'", 500, 164),
        ("SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')", 500, 164),
        ("SELECT * FROM s3('http://127.0.0.1:9/x.csv') SETTINGS readonly = 0", 500, 164),
        ("SELECT file('/etc/hostname')", 500, 164),
    ],
)
def test_errors_come_as_clickhouse_sends_them(
    endpoint: ReadEndpoint, sql: str, status: int, code: int
) -> None:
    answer = call(endpoint, {"database": "voc"}, body=sql.encode())
    assert answer.status == status, answer.text
    assert answer.headers["X-ClickHouse-Exception-Code"] == str(code)
    assert answer.text.startswith(f"Code: {code}. DB::Exception: ")
    assert f"(version {endpoint.facts.version})" in answer.text
    assert not Path("/tmp/voc-endpoint-test.tsv").exists()  # noqa: S108


def test_queries_run_readonly_with_their_settings(endpoint: ReadEndpoint) -> None:
    # The Grafana plugin's column-values query carries a SETTINGS clause, which a
    # readonly = 1 session refuses: the endpoint applies it before turning readonly on.
    sql = b"SELECT DISTINCT step FROM dead_letters SETTINGS max_execution_time=10"
    assert call(endpoint, {"database": "voc"}, body=sql).text == "parse\n"
    checked = call(
        endpoint,
        {"max_threads": "1"},
        body=b"SELECT getSetting('readonly'), getSetting('max_threads') SETTINGS max_execution_time = 7",
    )
    assert checked.text == "1\t1\n"
    assert call(endpoint, {"readonly": "0"}, body=b"SELECT 1").headers["X-ClickHouse-Exception-Code"] == "164"  # fmt: skip


def test_native_for_the_revision_the_client_asks_for(endpoint: ReadEndpoint) -> None:
    sql = b"SELECT toLowCardinality(step) AS step, count() AS n FROM dead_letters GROUP BY step"
    for revision in (0, 54405, 54460):
        answer = call(
            endpoint,
            {
                "database": "voc",
                "default_format": "Native",
                "client_protocol_version": str(revision),
            },
            body=sql,
        )
        assert answer.headers["Content-Type"] == "application/octet-stream"
        names, types, rows = rows_of(answer.body, revision)
        assert (names, types, rows) == (["step", "n"], ["LowCardinality(String)", "UInt64"], [("parse", 2)])  # fmt: skip
    refused = call(
        endpoint,
        {"default_format": "Native", "client_protocol_version": "54460"},
        body=b"SELECT CAST(1 AS Dynamic) AS d",
    )
    assert (refused.status, refused.headers["X-ClickHouse-Exception-Code"]) == (501, "48")


def test_credentials_every_way_clickhouse_takes_them(path: str) -> None:
    with ReadEndpoint(path, port=0, user="grafana", password="s3cret") as served:  # noqa: S106
        sql = b"SELECT 1"
        basic = base64.b64encode(b"grafana:s3cret").decode()
        assert call(served, body=sql, headers={"Authorization": f"Basic {basic}"}).status == 200
        keyed = {"X-ClickHouse-User": "grafana", "X-ClickHouse-Key": "s3cret"}
        assert call(served, body=sql, headers=keyed).status == 200
        assert call(served, {"user": "grafana", "password": "s3cret"}, body=sql).status == 200
        for params, headers in [
            ({}, {}),
            ({"user": "grafana", "password": "wrong"}, {}),
            ({"user": "default", "password": "s3cret"}, {}),
            ({"user": "grafana", "password": "s3cret"}, {"Authorization": f"Basic {basic}"}),
        ]:
            denied = call(served, params, body=sql, headers=headers)
            assert (denied.status, denied.headers["X-ClickHouse-Exception-Code"]) == (403, "516")
            assert "Authentication failed" in denied.text or "not allowed" in denied.text
        assert call(served, route="/ping").status == 200  # liveness needs no credentials


def test_clickhouse_connects_http_client_reads_like_a_direct_client(
    endpoint: ReadEndpoint, client: Any
) -> None:
    assert endpoint.address is not None
    http = clickhouse_connect.get_client(
        host=endpoint.address.host, port=endpoint.address.port, database="voc"
    )
    try:
        assert http.ping()
        assert http.protocol_version == 54405, "the client's Native probe passed"
        queries = [
            ("SELECT * FROM dead_letters ORDER BY id", {}),
            (
                "SELECT name, engine FROM system.tables WHERE database = {d:String} ORDER BY name",
                {"d": "voc"},
            ),
            # long parameters go as multipart/form-data fields
            (
                "SELECT length({long:String}) AS n, {long:String} = repeat('é', 20000) AS same",
                {"long": "é" * 20000},
            ),
        ]
        for sql, parameters in queries:
            expected = client.query(sql, parameters=parameters)
            got = http.query(sql, parameters=parameters)
            assert got.column_names == expected.column_names
            assert got.result_rows == expected.result_rows
        assert http.command("SELECT count() FROM dead_letters") == 2
        with pytest.raises(Exception, match="164"):
            http.command("TRUNCATE TABLE dead_letters")
        assert client.command("SELECT count() FROM dead_letters") == 2
    finally:
        http.close()


def test_queries_of_several_clients_run_at_the_same_time(endpoint: ReadEndpoint) -> None:
    finished: list[float] = []

    def slow() -> None:
        assert call(endpoint, body=b"SELECT sleep(1)").status == 200
        finished.append(time.perf_counter())

    started = time.perf_counter()
    threads = [threading.Thread(target=slow) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(finished) == 4
    assert max(finished) - started < 3.0, "four 1 s queries took as long as running in turn"


def test_the_address_is_published_while_serving_and_withdrawn_after(path: str) -> None:
    with ReadEndpoint(path, port=0, command="test") as served:
        assert addresses.read(path) == served.address
        assert find(path) is None, "this process's own endpoint is not a reader's"
    assert addresses.read(path) is None


def test_stale_addresses_are_found_out(path: str) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)  # fmt: skip
    dead = addresses.Address("127.0.0.1", 9, int(gone.stdout), "voc run", "abc", "default", "")
    addresses.publish(path, dead)
    assert find(path) is None
    assert addresses.read(path) is None, "a file of a finished process is removed"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        silent = replace(dead, pid=sleeper.pid)
        addresses.publish(path, silent)
        assert find(path) is None, "a live process that does not answer is not an endpoint"
        assert addresses.read(path) == silent
    finally:
        sleeper.kill()
        sleeper.wait()
        addresses.address_file(path).unlink()


def test_a_taken_default_port_falls_back_a_chosen_one_is_an_error(
    settings: Settings, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    del client  # the migrated store
    monkeypatch.delenv("VOC_SERVE_PORT")  # the suite's default (tests/conftest.py): unset here
    settings = load_settings(clickhouse_dsn=settings.clickhouse_dsn.get_secret_value())
    assert "serve_port" not in settings.model_fields_set
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        holder.bind(("127.0.0.1", 8123))
        holder.listen()
    except OSError:
        pass  # taken already: the same situation
    try:
        with serving(settings, "test") as served:
            assert served is not None and served.port not in (0, 8123)
        chosen = load_settings(
            clickhouse_dsn=settings.clickhouse_dsn.get_secret_value(), serve_port=8123
        )
        with pytest.raises(ConfigError, match="VOC_SERVE_PORT"), serving(chosen, "test"):
            pass
    finally:
        holder.close()
    off = load_settings(clickhouse_dsn=settings.clickhouse_dsn.get_secret_value(), serve=False)
    with serving(off, "test") as served:
        assert served is None


def test_a_non_loopback_address_needs_a_password() -> None:
    with pytest.raises(ConfigError, match="VOC_SERVE_PASSWORD"):
        load_settings(serve_host="0.0.0.0")  # noqa: S104
    shown = load_settings(serve_host="0.0.0.0", serve_password="hunter2").describe()  # noqa: S104, S106
    assert shown["serve_password"] == "**********"  # noqa: S105
    assert load_settings(serve_host="::1").serve_host == "::1"
