"""Security: ClickHouse users and grants, author hashing, TLS, and no secret in any output.

chDB has no access control, so the grant statements are checked by ClickHouse's own parser
(``EXPLAIN AST``) and by reading what they grant; with ``VOC_TEST_CLICKHOUSE_GRAFANA_DSN``
(Grafana's user on a server set up by deploy/clickhouse/initdb) they are also tried.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from urllib3.exceptions import InsecureRequestWarning

from flows.clickhouse import connect, server_kwargs
from flows.settings import DEMO_SALT, Settings, load_settings
from schemas.errors import SinkFatalError
from schemas.migrate import split_statements
from tests.cli.test_cli import voc
from tests.conftest import jsonl, message
from tests.db.test_flow_clickhouse import stream_file

REPO = Path(__file__).resolve().parents[2]
INITDB = REPO / "deploy/clickhouse/initdb"
GRANTS = INITDB / "20-grants.sql"
USERS = INITDB / "10-users.sh"


def users_sql() -> list[str]:
    """The SQL of 10-users.sh with the password hashes filled in."""
    script = USERS.read_text(encoding="utf-8")
    heredoc = re.search(r"<<SQL\n(.*?)\nSQL\n", script, re.DOTALL)
    assert heredoc is not None
    filled = heredoc[1].replace("${writer_hash}", "a" * 64).replace("${grafana_hash}", "b" * 64)
    assert "$" not in filled
    return split_statements(filled)


def grants() -> dict[str, set[str]]:
    """What each grantee is granted: privileges on voc.* and roles."""
    out: dict[str, set[str]] = {}
    for statement in split_statements(GRANTS.read_text(encoding="utf-8")):
        match = re.fullmatch(r"GRANT (.+?)(?: ON (\S+))? TO (\w+)", statement)
        if match:
            privileges, target, grantee = match.groups()
            assert target in (None, "voc.*"), statement
            out.setdefault(grantee, set()).update(p.strip() for p in privileges.split(","))
    return out


def test_every_user_and_grant_statement_parses(client: Any) -> None:
    statements = split_statements(GRANTS.read_text(encoding="utf-8")) + users_sql()
    assert len(statements) == 13
    for statement in statements:
        ast = client.query(f"EXPLAIN AST {statement}").result_rows  # DDL text, not data
        assert ast and ast[0][0].split()[0].endswith("Query"), statement
    with pytest.raises(Exception, match="SYNTAX_ERROR"):
        client.query("EXPLAIN AST GRANT SELEC ON voc.* TO voc_reader_role")


def test_grafana_can_only_read_and_the_writer_only_insert() -> None:
    granted = grants()
    assert granted == {
        "voc_writer_role": {"SELECT", "INSERT"},
        "voc_reader_role": {"SELECT"},
        "voc_writer": {"voc_writer_role"},
        "voc_grafana": {"voc_reader_role"},
    }
    sql = GRANTS.read_text(encoding="utf-8")
    assert "GRANT OPTION" not in sql and not re.search(r"\bALL\b", sql)
    profile = re.search(r"CREATE SETTINGS PROFILE OR REPLACE voc_grafana_profile\s+SETTINGS (.+?);",
                        sql, re.DOTALL)  # fmt: skip
    assert profile is not None
    assert "readonly = 1" in profile[1]
    assert re.search(r"max_execution_time = \d+ MIN \d+ MAX \d+ CHANGEABLE_IN_READONLY", profile[1])
    assert "SETTINGS PROFILE 'voc_grafana_profile'" in sql
    config = (REPO / "deploy/clickhouse/config.d/voc.xml").read_text(encoding="utf-8")
    assert "<settings_constraints_replace_previous>true<" in config  # CHANGEABLE_IN_READONLY


def test_users_get_passwords_only_from_the_environment() -> None:
    script = USERS.read_text(encoding="utf-8")
    assert script.startswith("#!/bin/bash\n") and "set -euo pipefail" in script
    for name in ("VOC_CH_WRITER_PASSWORD", "VOC_GRAFANA_CLICKHOUSE_PASSWORD"):
        assert f'"${{{name}:?' in script
    for statement in users_sql():
        assert re.search(r"IDENTIFIED WITH sha256_hash BY '[0-9a-f]{64}'$", statement), statement
    if shutil.which("bash"):
        assert subprocess.run(["bash", "-n", str(USERS)], check=False).returncode == 0


GRAFANA_DSN = os.environ.get("VOC_TEST_CLICKHOUSE_GRAFANA_DSN", "")


@pytest.mark.integration
@pytest.mark.skipif(
    not GRAFANA_DSN,
    reason="set VOC_TEST_CLICKHOUSE_GRAFANA_DSN (Grafana's user on the compose ClickHouse)",
)
def test_grafanas_user_cannot_write_on_a_server() -> None:
    grafana = connect(load_settings(clickhouse_dsn=GRAFANA_DSN))
    try:
        assert grafana.query("SELECT count() FROM messages").result_rows
        ok = grafana.query("SELECT 1", settings={"max_execution_time": 30}).result_rows
        assert ok == [(1,)]
        for statement in (
            "INSERT INTO dead_letters (id) VALUES ('x')",
            "ALTER TABLE messages DELETE WHERE 1",
            "DROP TABLE dead_letters",
            "CREATE TABLE x (a UInt8) ENGINE = Memory",
        ):
            with pytest.raises(Exception, match=r"ACCESS_DENIED|READONLY|NOT_ENOUGH_PRIVILEGES"):
                grafana.command(statement)
    finally:
        grafana.close()


# -- authors ---------------------------------------------------------------------------------


def test_authors_are_stored_only_as_salted_hashes(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(i, author=f"khach.hang.{i % 3}") for i in range(9)]))
    salted = load_settings(**{**settings.model_dump(), "author_salt": "s3cret-salt"})
    stream_file(salted, path)

    rows = client.query("SELECT id, author_hash FROM messages FINAL ORDER BY id").result_rows
    for message_id, author_hash in rows:
        author = f"khach.hang.{int(message_id[1:]) % 3}"
        expected = hmac.new(b"s3cret-salt", author.encode(), hashlib.sha256).hexdigest()[:32]
        assert author_hash == expected
        demo = hmac.new(DEMO_SALT.encode(), author.encode(), hashlib.sha256).hexdigest()[:32]
        assert author_hash != demo
    assert len({h for _i, h in rows}) == 3
    dump = client.query("SELECT * FROM messages FINAL").result_rows
    assert len(dump) == 9 and "khach.hang" not in repr(dump)


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, list[str]]]:
    """An HTTPS server on 127.0.0.1 with a certificate from a throwaway CA."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=voc test CA",
        "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "srv.key",
        "-out", "srv.csr")  # fmt: skip
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext.cnf", "-out", "srv.pem")  # fmt: skip
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.send_response(500)
            self.end_headers()

        do_GET = do_POST

        def log_message(self, *args: Any) -> None:
            return None

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(d / "srv.pem", d / "srv.key")

    class TLSServer(HTTPServer):
        def get_request(self) -> tuple[Any, Any]:
            sock, address = self.socket.accept()
            try:
                return context.wrap_socket(sock, server_side=True), address
            except OSError:  # the client refused our certificate
                sock.close()
                raise

    server = TLSServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], d / "ca.pem", seen
    server.shutdown()
    server.server_close()


def test_tls_settings_reach_the_client(tls_server: tuple[int, Path, list[str]]) -> None:
    port, ca_file, seen = tls_server
    dsn = f"https://writer:pw@127.0.0.1:{port}/voc"
    with pytest.raises(SinkFatalError, match="VOC_CLICKHOUSE_CA_FILE"):
        connect(load_settings(clickhouse_dsn=dsn))  # unknown CA: refused, and said why
    assert seen == []
    with pytest.raises(Exception) as caught:  # noqa: PT011 - a test server, not ClickHouse
        connect(load_settings(clickhouse_dsn=dsn, clickhouse_ca_file=ca_file))
    assert "certificate" not in str(caught.value) and seen  # our CA: the handshake succeeded
    requests = len(seen)
    with (
        pytest.warns(InsecureRequestWarning),  # verification really is off
        pytest.raises(Exception) as caught,  # noqa: PT011 - a test server, not ClickHouse
    ):
        connect(load_settings(clickhouse_dsn=dsn, clickhouse_verify=False))
    assert len(seen) > requests
    kwargs = server_kwargs(load_settings(clickhouse_dsn=dsn, clickhouse_ca_file=ca_file))
    assert (kwargs["verify"], kwargs["ca_cert"]) == (True, str(ca_file))
    with pytest.raises(Exception, match="VOC_CLICKHOUSE_CA_FILE: no such file"):
        server_kwargs(
            load_settings(clickhouse_dsn=dsn, clickhouse_ca_file=ca_file.with_suffix(".x"))
        )


def test_kafka_tls_and_sasl_settings_reach_librdkafka() -> None:
    import certifi

    from flows.kafka.config import client_config

    ca = Path(certifi.where())  # any real PEM bundle
    settings = load_settings(
        kafka_brokers="b1:9093,b2:9093", kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512", kafka_username="voc", kafka_password="k-pw",  # noqa: S106
        kafka_ca_file=ca,
    )  # fmt: skip
    config = client_config(settings)
    assert {k: config[k] for k in config if k not in ("logger", "error_cb")} == {
        "bootstrap.servers": "b1:9093,b2:9093", "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "voc", "sasl.password": "k-pw",
        "ssl.ca.location": str(ca), "client.id": "voc-stream",
    }  # fmt: skip
    from confluent_kafka import Producer

    Producer(config).flush(0)  # librdkafka accepts every key
    with pytest.raises(Exception, match="needs kafka_sasl_mechanism and kafka_username"):
        load_settings(kafka_security_protocol="SASL_SSL")


# -- secrets never printed --------------------------------------------------------------------

SECRETS = {
    "VOC_CLICKHOUSE_DSN": "http://writer:dsn-s3cret-1@127.0.0.1:9/voc",
    "VOC_CLICKHOUSE_PASSWORD": "ch-s3cret-2",
    "VOC_KAFKA_PASSWORD": "kafka-s3cret-3",
    "VOC_AUTHOR_SALT": "salt-s3cret-4",
    "VOC_SERVE_PASSWORD": "serve-s3cret-5",
    "VOC_KAFKA_USERNAME": "voc",
    "VOC_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "VOC_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
    "VOC_KAFKA_BROKERS": "127.0.0.1:9",
    "VOC_LOG_LEVEL": "DEBUG",
}
LEAKS = re.compile(rb"s3cret")


SECRET_CASES: list[tuple[tuple[str, ...], dict[str, str]]] = [
    (("config",), {}),
    (("migrate",), {}),
    (("run", "--input", "/nonexistent/*.jsonl"), {}),
    (("run", "--source", "simulator", "--messages", "5"), {}),
    (("demo", "--messages", "5"), {}),
    (("query", "--last", "1h"), {}),
    (("dead-letters",), {}),
    (("alerts",), {}),
    (("messages", "--topic", "delivery"), {}),
    (("conversation", "conv-1"), {}),
    (("sql", "-e", "SELECT 1"), {}),
    (("serve",), {}),
    (("serve", "--host", "0.0.0.0"), {"VOC_CLICKHOUSE_DSN": "chdb:///nonexistent/voc"}),  # noqa: S104
    (("produce", "/nonexistent.jsonl"), {}),
    (("produce", "--simulate", "--messages", "3"), {"VOC_KAFKA_CA_FILE": "/nonexistent.pem"}),
    (("config",), {"VOC_BATCH_SIZE": "0"}),
]


def test_every_command_that_reads_the_settings_is_checked_for_secrets() -> None:
    import inspect

    from flows.cli import cli

    checked = {args[0] for args, _extra in SECRET_CASES}
    for name, command in cli.commands.items():
        source = inspect.getsource(inspect.getmodule(command.callback))  # type: ignore[arg-type]
        reads_settings = "settings_for(" in inspect.getsource(command.callback) and (
            "settings_for" in source
        )
        if name in ("train", "eval"):  # their _settings are training options, not Settings
            assert "flows.settings" not in source
            continue
        assert (name in checked) == reads_settings, name


@pytest.mark.parametrize(("args", "extra"), SECRET_CASES)
def test_no_command_prints_a_secret(args: tuple[str, ...], extra: dict[str, str]) -> None:
    done = voc(*args, env={**SECRETS, **extra})
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output.decode(errors="replace")
    assert not LEAKS.search(output), output.decode(errors="replace")
    if args[0] == "config":
        return
    assert done.returncode == 1
    assert re.search(rb"(^|\n)error: ", output), output.decode(errors="replace")
