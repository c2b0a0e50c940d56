"""The voc command line: help, README coverage, one-line errors, the main commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.settings import Settings
from tests.conftest import jsonl, message

REPO = Path(__file__).resolve().parents[2]


def voc(
    *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m flows` (the voc console script) in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "flows", *args],
        cwd=REPO, capture_output=True, timeout=240, input=stdin,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )  # fmt: skip


def test_every_command_has_help_with_an_example_and_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    runner = CliRunner()
    assert cli.commands, "no commands registered"
    for name in cli.commands:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output, f"`voc {name} --help` has no example"
        assert f"voc {name}" in readme, f"`voc {name}` is not in the README"


def test_migrate_twice_then_run_a_file_then_query(settings: Settings, tmp_path: Path) -> None:
    dsn = settings.clickhouse_dsn.get_secret_value()
    first = voc("migrate", "--dsn", dsn)
    assert first.returncode == 0, first.stderr.decode()
    assert b"applied 0001_core_tables.sql" in first.stderr
    second = voc("migrate", "--dsn", dsn)
    assert b"nothing to apply" in second.stderr and b"applied 0001" not in second.stderr

    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(i) for i in range(20)]) + b"[1, 2]\n")
    ran = voc(
        "run", "--dsn", dsn, "--input", str(path), "--quiet", env={"VOC_ENRICHER": "baseline"}
    )
    assert ran.returncode == 0, ran.stderr.decode()
    assert b"wrote 20 messages and 1 dead letters" in ran.stderr

    out = voc("query", "--dsn", dsn, "--from", "2026-11-20T00:00:00+00:00", "--json")
    assert out.returncode == 0, out.stderr.decode()
    report = json.loads(out.stdout)
    assert report["total"] == 20
    assert {row["channel"] for row in report["volume"]} == {"shopee", "tiki", "lazada"}
    assert report["dead_letters"][0]["error_type"] == "not_an_object"
    # --to bounds every table: the dead letter arrived now, after this range
    bounded = voc(
        "query", "--dsn", dsn, "--from", "2026-11-20T00:00:00+00:00",
        "--to", "2026-11-21T00:00:00+00:00", "--json",
    )  # fmt: skip
    assert json.loads(bounded.stdout)["total"] == 20
    assert json.loads(bounded.stdout)["dead_letters"] == []


def test_stdin_is_a_source(settings: Settings) -> None:
    dsn = settings.clickhouse_dsn.get_secret_value()
    assert voc("migrate", "--dsn", dsn, "--quiet").returncode == 0
    ran = voc(
        "run",
        "--dsn",
        dsn,
        "--source",
        "stdin",
        "--quiet",
        stdin=jsonl([message(i) for i in range(5)]),
    )
    assert ran.returncode == 0, ran.stderr.decode()
    assert b"wrote 5 messages and 0 dead letters" in ran.stderr


def test_library_errors_are_one_line_and_exit_1(settings: Settings, tmp_path: Path) -> None:
    dsn = settings.clickhouse_dsn.get_secret_value()
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(1)]))
    cases = [
        (("run", "--dsn", dsn, "--input", str(path)), {}, "run `voc migrate` first"),
        (("run", "--dsn", dsn, "--input", str(tmp_path / "missing*.jsonl")), {}, "matches no file"),
        (("config",), {"VOC_BATCH_SIZE": "-3"}, "VOC_BATCH_SIZE"),
    ]
    for args, env, expected in cases:
        result = voc(*args, env=env)
        lines = result.stderr.decode().strip().splitlines()
        assert result.returncode == 1, (args, result.stderr.decode())
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines


def test_config_masks_secrets() -> None:
    result = voc(
        "config",
        env={"VOC_CLICKHOUSE_DSN": "http://writer:hunter2@db:8123/voc", "VOC_AUTHOR_SALT": "s4lty"},
    )
    assert result.returncode == 0
    shown = json.loads(result.stdout)
    assert shown["clickhouse_dsn"] == "http://writer:***@db:8123/voc"
    assert b"hunter2" not in result.stdout and b"s4lty" not in result.stdout


def test_config_prints_the_detector_settings_in_effect() -> None:
    result = voc("config", env={"VOC_DETECT_SCALES": "5,30", "VOC_DETECT_FIRE_SCORE": "7.5"})
    assert result.returncode == 0, result.stderr.decode()
    detect = json.loads(result.stdout)["detect"]
    assert detect["scales"] == [5, 30] and detect["fire_score"] == 7.5
    assert detect["false_alarms_per_day"] == 1.0  # the rest at their defaults
    bad = voc("config", env={"VOC_DETECT_SCALES": "60,5"})
    assert bad.returncode == 1 and b"VOC_DETECT_SCALES" in bad.stderr


def test_schema_check_passes_on_the_committed_file() -> None:
    assert CliRunner().invoke(cli, ["schema", "--check"]).exit_code == 0


@pytest.mark.parametrize("bad", ["--last=5x", "--from=tomorrow", "--last=0m", "--to=2026-13-01"])
def test_bad_options_are_usage_errors(bad: str) -> None:
    result = CliRunner().invoke(cli, ["query", bad])
    assert result.exit_code == 2


# -- one error style, validation before the flow starts -----------------------------------------


def test_usage_errors_are_one_error_line_and_exit_2() -> None:
    result = voc("query", "--last", "5x")
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 2
    assert (
        lines[0]
        == "error: Invalid value for --last: expected a duration like 30m, 6h, 1h30m or 2d, got '5x'"
    )
    assert lines[1] == "see `voc query --help`"


def test_user_errors_are_found_before_the_flow_starts(settings: Settings, tmp_path: Path) -> None:
    dsn = settings.clickhouse_dsn.get_secret_value()
    assert voc("migrate", "--dsn", dsn, "--quiet").returncode == 0
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([message(1)]))
    broken = tmp_path / "taxonomy.yaml"
    broken.write_text("topics: [\n", encoding="utf-8")
    cases = [
        ({"VOC_ENRICHER": "nope"}, (), "unknown enricher 'nope'"),
        ({"VOC_TAXONOMY_PATH": str(broken)}, (), "is not valid YAML"),
        ({}, ("--model", str(tmp_path / "missing")), "does not exist"),
        ({}, ("--source", "kafka", "--brokers", "127.0.0.1:9"), "cannot list Kafka topic"),
    ]
    for env, extra, expected in cases:
        args = ("run", "--dsn", dsn, "--quiet", *(extra or ("--input", str(path))))
        result = voc(*args, env=env)
        lines = result.stderr.decode().strip().splitlines()
        assert result.returncode == 1, (args, result.stderr.decode())
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines


def test_sigint_stops_a_run_cleanly(settings: Settings, tmp_path: Path) -> None:
    """Ctrl-C: the batches in flight are written, one line, exit 130, no panic or traceback."""
    import signal
    import time

    dsn = settings.clickhouse_dsn.get_secret_value()
    assert voc("migrate", "--dsn", dsn, "--quiet").returncode == 0
    env = {**os.environ, "PYTHONPATH": str(REPO), "VOC_ENRICHER": "baseline"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows", "run", "--dsn", dsn, "--source", "stdin", "--quiet",
         "--batch-timeout", "0.1"],
        cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(jsonl([message(i) for i in range(30)]))
    proc.stdin.flush()  # stdin stays open: the run would go on for ever
    deadline = time.monotonic() + 60
    client = connect_count(settings)
    while client() < 30 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    text = err.decode()
    assert proc.returncode == 130, text
    assert "Traceback" not in text and "panicked" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stopped by SIGINT: wrote 30 messages"), text


def connect_count(settings: Settings) -> Any:
    """A function counting the rows of messages, reading the table's parts on disk."""
    from tests.kafka.flow_runs import rows_inserted, table_dir

    folder = table_dir(settings.clickhouse_dsn.get_secret_value(), "messages")
    return lambda: rows_inserted(folder)


def test_migrate_restores_a_dropped_view_and_says_so(settings: Settings) -> None:
    from flows.clickhouse import close_deferred, connect

    dsn = settings.clickhouse_dsn.get_secret_value()
    assert voc("migrate", "--dsn", dsn, "--quiet").returncode == 0
    client = connect(settings)
    client.command("DROP VIEW topics_1m_mv")
    client.close()
    close_deferred()
    again = voc("migrate", "--dsn", dsn)
    assert again.returncode == 0, again.stderr.decode()
    assert b"restored topics_1m_mv" in again.stderr
    assert b"1 missing table(s) or view(s) restored" in again.stderr


def test_a_failed_read_is_a_query_error_not_a_traceback(client: Any, settings: Settings) -> None:
    from flows.cli.common import open_store
    from schemas.errors import QueryError

    client.close()
    with (
        pytest.raises(QueryError, match=r"voc test failed permanently: .*nosuch"),
        open_store(settings, "voc test") as store,
    ):
        store.query("SELECT nosuch FROM messages")
