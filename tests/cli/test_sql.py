"""`voc sql`: statements from -e, -f and stdin, the formats, read-only unless --write.

Also the prompt in a real terminal, and every SQL example of the README run through it with
its figures checked on seeded data.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from flows.cli import cli
from flows.clickhouse import close_deferred, connect
from flows.settings import Settings, load_settings
from schemas.migrate import migrate
from tests.conftest import jsonl
from tests.db.test_flow_clickhouse import stream_file
from tests.support.enrichers import CueEnricher

REPO = Path(__file__).resolve().parents[2]
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def voc_sql(settings: Settings, *args: str, stdin: str | None = None) -> Result:
    dsn = settings.clickhouse_dsn.get_secret_value()
    return CliRunner().invoke(cli, ["sql", "--dsn", dsn, *args], input=stdin)


@pytest.fixture
def store(settings: Settings, client: Any) -> Settings:
    """A migrated, empty embedded store."""
    return settings


VALUES = (
    "SELECT 1 AS n, 'a,b\tc' AS s, NULL AS z, "
    "toDateTime64('2026-11-20 01:02:03.456', 3, 'UTC') AS t, "
    "toDateTime64('2026-11-20 01:02:03', 0, 'Asia/Ho_Chi_Minh') AS local, ['x', 'y'] AS arr, "
    "toDate('2026-11-20') AS d, 0.125 AS f"
)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("csv", 'n,s,z,t,local,arr,d,f\n1,"a,b\tc",,2026-11-20T01:02:03.456+00:00,'
                '2026-11-20T01:02:03+07:00,"[""x"", ""y""]",2026-11-20,0.125\n'),
        ("tsv", "n\ts\tz\tt\tlocal\tarr\td\tf\n1\ta,b\\tc\t\\N\t2026-11-20T01:02:03.456+00:00\t"
                '2026-11-20T01:02:03+07:00\t["x", "y"]\t2026-11-20\t0.125\n'),
    ],
)  # fmt: skip
def test_machine_formats_give_times_with_their_offset(
    store: Settings, fmt: str, expected: str
) -> None:
    result = voc_sql(store, "-e", VALUES, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert result.output == expected


def test_json_is_an_array_of_objects_per_statement(store: Settings) -> None:
    result = voc_sql(store, "-e", VALUES, "--format", "json")
    assert json.loads(result.output) == [
        {"n": 1, "s": "a,b\tc", "z": None, "t": "2026-11-20T01:02:03.456+00:00",
         "local": "2026-11-20T01:02:03+07:00", "arr": ["x", "y"], "d": "2026-11-20", "f": 0.125}
    ]  # fmt: skip


def test_the_table_format_names_the_zone_of_each_time_column(store: Settings) -> None:
    from flows.cli.common import out_console

    before, out_console.width = out_console.width, 200
    try:
        result = voc_sql(store, "-e", VALUES)
    finally:
        out_console.width = before
    assert result.exit_code == 0, result.output
    out = result.output
    assert "t (UTC)" in out and "local (Asia/Ho_Chi_Minh)" in out
    assert "2026-11-20 01:02:03.456" in out and "NULL" in out and "1 row" in out


def test_statements_from_a_file_run_in_order_and_stop_at_the_first_error(
    store: Settings, tmp_path: Path
) -> None:
    script = tmp_path / "two.sql"
    script.write_text("-- counts\nSELECT 1 AS a;\n\nSELECT 'x;y' AS b; -- done\n", encoding="utf-8")
    result = voc_sql(store, "-f", str(script), "--format", "tsv")
    assert result.exit_code == 0, result.output
    assert result.output == "a\n1\nb\nx;y\n"
    script.write_text("SELECT 1 AS a; SELECT nope FROM messages; SELECT 3 AS c;", encoding="utf-8")
    failed = voc_sql(store, "-f", str(script), "--format", "tsv")
    assert failed.exit_code == 1
    assert failed.output == "a\n1\n"  # the third statement never ran
    assert "UNKNOWN_IDENTIFIER" in str(failed.exception) or "nope" in str(failed.exception)


def test_writes_are_refused_without_write(store: Settings) -> None:
    insert = "INSERT INTO late_items (id, stage) VALUES ('m1', 'test')"
    for statement in (insert, "DROP TABLE messages", "OPTIMIZE TABLE messages FINAL"):
        result = voc_sql(store, "-e", statement)
        assert result.exit_code == 1
        assert "is not a read statement" in str(result.exception)
        assert "--write" in str(result.exception)
    count = "SELECT count() AS n FROM late_items"
    assert voc_sql(store, "-e", count, "--format", "tsv").output == "n\n0\n"
    written = voc_sql(store, "--write", "-e", insert)
    assert written.exit_code == 0, written.output
    assert voc_sql(store, "-e", count, "--format", "tsv").output == "n\n1\n"
    assert voc_sql(store, "-e", "SHOW TABLES", "--format", "tsv").exit_code == 0


def test_a_read_cannot_write_through_a_table_function_either(store: Settings) -> None:
    """A read runs with readonly=2 on the embedded engine: even a SELECT cannot change data."""
    result = voc_sql(store, "-e", "SELECT * FROM messages FINAL SETTINGS readonly = 0")
    assert result.exit_code == 1
    assert "readonly" in str(result.exception).lower()


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    """A store migrated by a `voc migrate` process: this process keeps it closed."""
    from tests.cli.test_cli import voc

    done = voc("migrate", "--dsn", settings.clickhouse_dsn.get_secret_value(), "--quiet")
    assert done.returncode == 0, done.stderr.decode()
    return settings


def test_bad_sql_is_one_error_line(migrated: Settings) -> None:
    from tests.cli.test_cli import voc

    dsn = migrated.clickhouse_dsn.get_secret_value()
    result = voc("sql", "--dsn", dsn, "-e", "SELECT FROM WHERE")
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Syntax error" in lines[0]


def test_statements_piped_on_stdin_run_without_a_prompt(migrated: Settings) -> None:
    from tests.cli.test_cli import voc

    dsn = migrated.clickhouse_dsn.get_secret_value()
    result = voc("sql", "--dsn", dsn, "--format", "csv", stdin=b"SELECT 1 AS a;\nSELECT 'b' AS b\n")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == "a\n1\nb\nb\n"
    assert b"voc>" not in result.stdout + result.stderr


# -- the prompt in a real terminal ------------------------------------------------------------


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_prompt_in_a_terminal_runs_statements_keeps_history_and_lists_tables(
    migrated: Settings, tmp_path: Path
) -> None:
    """The prompt in a real 80-column terminal (tmux), with its history.

    A two-line statement, the table list, a result that fits, Up recalls the statement, the
    quit command; the history file keeps the statements.
    """
    history = tmp_path / "history"
    server = f"voc-sql-test-{os.getpid()}"
    dsn = migrated.clickhouse_dsn.get_secret_value()
    command = (
        f"env PYTHONPATH={REPO} VOC_SQL_HISTORY={history} {sys.executable} -m flows sql "
        f"--dsn {dsn}; sleep 60"
    )

    def tmux(*args: str) -> str:
        done = subprocess.run(["tmux", "-L", server, *args], capture_output=True, check=True)
        return done.stdout.decode()

    def send(text: str) -> None:
        tmux("send-keys", "-t", "t", "-l", text.replace(";", "\\;"))
        tmux("send-keys", "-t", "t", "Enter")

    def screen_after(expected: str, times: int = 1, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = tmux("capture-pane", "-p", "-t", "t", "-S", "-200")
            if screen.count(expected) >= times or time.monotonic() > deadline:
                return screen
            time.sleep(0.2)

    tmux("new-session", "-d", "-x", "80", "-y", "50", "-s", "t", command)
    try:
        assert "\\help for help" in screen_after("\\help for help")
        send("SELECT name, engine")
        send("FROM system.tables WHERE database = currentDatabase() AND name = 'messages';")
        screen = screen_after("ReplacingMergeTree")
        assert "  -> FROM system.tables" in screen  # a continuation line
        assert "│ messages │ ReplacingMergeTree │" in screen and "1 row" in screen
        send("\\tables")
        screen = screen_after("topics_1m_mv")
        assert "volume_1m" in screen and "AggregatingMergeTree" in screen
        tmux("send-keys", "-t", "t", "Up", "Up", "Enter")  # the two-line statement, recalled
        row = "│ messages │ ReplacingMergeTree │"
        screen = screen_after(row, times=2)
        assert screen.count(row) == 2
        assert all(len(line) <= 80 for line in screen.splitlines())
        send("\\q")
        deadline = time.monotonic() + 30
        while not history.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True, check=False)
    kept = history.read_text(encoding="utf-8").splitlines()
    assert "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND " \
           "name = 'messages';" in kept  # fmt: skip
    assert "\\tables" in kept


# -- the README's SQL, checked ----------------------------------------------------------------

NOW = datetime.now(UTC).replace(microsecond=0)

#: (product, brand, days ago, text, how many): CueEnricher reads the texts.
README_SEED = [
    ("Lumia S12", "Lumia", 1, "giao hàng chậm", 10),  # negative, delivery negative
    ("Lumia S12", "Lumia", 1, "pin khỏe, camera tốt", 10),  # positive, BATTERY and CAMERA positive
    ("Lumia S12", "Lumia", 8, "giao hàng chậm", 5),
    ("Lumia S12", "Lumia", 8, "giao hàng nhanh", 15),  # positive, delivery positive
    ("Sao Mai Tee", "Sao Mai", 1, "đóng gói cẩn thận", 16),  # positive, packaging positive
    ("Sao Mai Tee", "Sao Mai", 1, "đóng gói móp", 4),  # negative, packaging negative
    ("Sao Mai Tee", "Sao Mai", 8, "đóng gói móp", 8),
    ("Sao Mai Tee", "Sao Mai", 8, "đóng gói cẩn thận", 12),
    ("Lumia Note", "Lumia", 15, "pin yếu", 3),  # negative, BATTERY negative
]


def _readme_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for product, brand, days, text, count in README_SEED:
        for _ in range(count):
            created = NOW - timedelta(days=days, minutes=len(rows) % 50)
            rows.append({"id": f"m{len(rows)}", "source": "review", "channel": "shopee",
                         "brand": brand, "product": product, "text": text,
                         "created_at": created.isoformat()})  # fmt: skip
    # an agent turn is not customer voice: every example leaves it out
    rows.append({"id": "agent-1", "source": "chat", "channel": "zalo", "brand": "Lumia",
                 "product": "Lumia S12", "conversation_id": "c1", "role": "agent",
                 "text": "giao hàng chậm, pin yếu",
                 "created_at": (NOW - timedelta(days=1)).isoformat()})  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def readme_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    folder = tmp_path_factory.mktemp("readme-sql")
    settings = load_settings(clickhouse_dsn=f"chdb://{folder / 'chdb'}", batch_size=64)
    client = connect(settings, create_database=True)
    migrate(client)
    client.close()
    path = folder / "seed.jsonl"
    path.write_bytes(jsonl(_readme_rows()))
    stream_file(settings, path, enricher=CueEnricher)
    yield settings
    close_deferred()


def readme_sql() -> dict[str, str]:
    """Every ```sql block of the README, by its first comment line."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.DOTALL)
    return {block.splitlines()[0].removeprefix("-- "): block for block in blocks}


def run_readme(settings: Settings, tmp_path: Path, starts: str) -> list[dict[str, Any]]:
    (block,) = [b for title, b in readme_sql().items() if title.startswith(starts)]
    script = tmp_path / "example.sql"
    script.write_text(block, encoding="utf-8")
    result = voc_sql(settings, "-f", str(script), "--format", "json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return rows


def test_every_sql_block_of_the_readme_runs_through_voc_sql(
    readme_store: Settings, tmp_path: Path
) -> None:
    blocks = readme_sql()
    assert len(blocks) >= 5
    for title, block in blocks.items():
        script = tmp_path / "block.sql"
        script.write_text(block, encoding="utf-8")
        result = voc_sql(readme_store, "-f", str(script), "--format", "json")
        assert result.exit_code == 0, (title, result.output)
        assert isinstance(json.loads(result.output), list), title


def _week(days_ago: int, minutes: int) -> str:
    local = (NOW - timedelta(days=days_ago, minutes=minutes)).astimezone(VIETNAM).date()
    return (local - timedelta(days=local.weekday())).isoformat()


def _expected_weekly() -> list[dict[str, Any]]:
    """Mentions and negative share per (week, product, topic), counted here in Python."""
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    n = 0
    for product, _brand, days, text, count in README_SEED:
        for _ in range(count):
            topic = "delivery" if "giao" in text else "packaging" if "đóng gói" in text else ""
            if topic:
                cell = counts[_week(days, n % 50), product, topic]
                cell[0] += 1
                cell[1] += any(cue in text for cue in ("chậm", "móp"))
            n += 1
    rows = [
        {"week": w, "product": p, "topic": t, "mentions": m, "negative_share": round(neg / m, 3)}
        for (w, p, t), (m, neg) in counts.items()
    ]
    return sorted(rows, key=lambda r: (r["week"], r["product"], -r["mentions"], r["topic"]))


def test_the_weekly_topic_trends_per_product_are_right(
    readme_store: Settings, tmp_path: Path
) -> None:
    rows = run_readme(readme_store, tmp_path, "topic trends per product and week")
    assert rows == _expected_weekly()
    assert {r["product"] for r in rows} == {"Lumia S12", "Sao Mai Tee"}  # Lumia Note: no topic
    assert sum(r["mentions"] for r in rows) == 10 + 5 + 15 + 16 + 4 + 8 + 12


def test_the_products_getting_more_negative_are_right(
    readme_store: Settings, tmp_path: Path
) -> None:
    rows = run_readme(readme_store, tmp_path, "products whose customers got more negative")
    assert rows == [
        {"product": "Lumia S12", "messages": 20, "previous_messages": 20,
         "negative_share": 0.5, "previous_negative_share": 0.25, "change": 0.25},
        {"product": "Sao Mai Tee", "messages": 20, "previous_messages": 20,
         "negative_share": 0.2, "previous_negative_share": 0.4, "change": -0.2},
    ]  # fmt: skip


def test_the_aspect_sentiment_per_brand_is_right(readme_store: Settings, tmp_path: Path) -> None:
    rows = run_readme(readme_store, tmp_path, "aspect sentiment per brand")
    assert rows == [
        {"brand": "Lumia", "aspect": "BATTERY", "mentions": 13,
         "negative_share": round(3 / 13, 3), "positive_share": round(10 / 13, 3)},
        {"brand": "Lumia", "aspect": "CAMERA", "mentions": 10,
         "negative_share": 0.0, "positive_share": 1.0},
    ]  # fmt: skip


def test_the_weekly_rollup_agrees_with_the_messages(readme_store: Settings, tmp_path: Path) -> None:
    rows = run_readme(readme_store, tmp_path, "weekly topic volume and negative share")
    from_messages: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in _expected_weekly():
        cell = from_messages[row["week"], row["topic"]]
        cell[0] += row["mentions"]
        cell[1] += round(row["negative_share"] * row["mentions"])
    assert {(r["week"], r["topic"]): r["mentions"] for r in rows} == {
        key: mentions for key, (mentions, _neg) in from_messages.items()
    }
    assert all(
        r["negative_share"] == round(from_messages[r["week"], r["topic"]][1] / r["mentions"], 3)
        for r in rows
    )
    assert [r["week"] for r in rows] == sorted(r["week"] for r in rows)
    assert all(date.fromisoformat(r["week"]).weekday() == 0 for r in rows)
