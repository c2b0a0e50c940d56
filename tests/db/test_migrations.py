"""Migrations on embedded ClickHouse: apply, no-op on rerun, refusal on a stale database."""

from __future__ import annotations

from typing import Any

import pytest

from flows.clickhouse import connect
from flows.settings import Settings
from schemas.errors import MigrationError
from schemas.migrate import (
    MIGRATIONS_TABLE,
    Migration,
    discover,
    migrate,
    pending,
    require_current,
    split_statements,
)
from schemas.rows import TABLES


def test_migrations_create_every_table_and_a_second_run_is_a_no_op(settings: Settings) -> None:
    client = connect(settings, create_database=True)
    applied = migrate(client)
    assert [m.label for m in applied] == [m.label for m in discover()]
    assert migrate(client) == []
    tables = {
        r[0]
        for r in client.query("SELECT name FROM system.tables WHERE database = 'voc'").result_rows
    }
    assert {
        "messages",
        "dead_letters",
        "alerts",
        "volume_1m",
        "topics_1m",
        MIGRATIONS_TABLE,
    } <= tables
    recorded = client.query(
        f"SELECT version FROM {MIGRATIONS_TABLE} FINAL ORDER BY version"
    ).result_rows
    assert [r[0] for r in recorded] == [m.version for m in discover()]
    client.close()


def test_require_current_names_the_missing_migration(settings: Settings) -> None:
    client = connect(settings, create_database=True)
    with pytest.raises(
        MigrationError,
        match=r"0001_core_tables\.sql, 0002_board_rollups\.sql, 0003_late_items\.sql",
    ):
        require_current(client, "sink 'write-messages'")
    migrate(client)
    client.command(f"ALTER TABLE {MIGRATIONS_TABLE} DELETE WHERE version = 2")
    with pytest.raises(
        MigrationError,
        match=r"sink 'x' refuses to start: .*lacks migration\(s\) 0002_board_rollups.sql",
    ):
        require_current(client, "sink 'x'")
    client.close()


def test_an_edited_applied_migration_is_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = connect(settings, create_database=True)
    migrate(client)
    original = discover()
    edited = (
        Migration(original[0].version, original[0].name, original[0].sql + "\n-- edited\n"),
        *original[1:],
    )
    monkeypatch.setattr("schemas.migrate.discover", lambda: edited)
    with pytest.raises(MigrationError, match="must not change"):
        pending(client)
    client.close()


def test_row_types_match_the_migrated_columns(client: Any) -> None:
    for table, columns in TABLES.items():
        rows = client.query(
            "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {t:String} ORDER BY position",
            parameters={"t": table},
        ).result_rows
        assert tuple(r[0] for r in rows) == columns, table


def test_statements_split_on_line_end_semicolons_only() -> None:
    sql = "-- comment; not a statement\nCREATE TABLE a (x String DEFAULT 'a;b');\n\nCREATE VIEW v AS SELECT 1;\n"
    assert split_statements(sql) == [
        "CREATE TABLE a (x String DEFAULT 'a;b')",
        "CREATE VIEW v AS SELECT 1",
    ]


def test_a_dropped_table_or_view_is_refused_and_voc_migrate_restores_it(
    settings: Settings,
) -> None:
    """``schema_migrations`` alone cannot tell: the check looks for every table and view."""
    client = connect(settings, create_database=True)
    migrate(client)
    client.command("DROP VIEW topics_1m_mv")
    client.command("DROP TABLE late_items")
    assert pending(client) == []  # every migration is still recorded
    with pytest.raises(
        MigrationError,
        match=r"lacks topics_1m_mv \(0002_board_rollups\.sql\), "
        r"late_items \(0003_late_items\.sql\).*`voc migrate` to restore",
    ):
        require_current(client, "sink 'write-messages'")
    restored: list[str] = []
    assert migrate(client, on_restored=restored.append) == []  # nothing to apply...
    assert sorted(restored) == ["late_items", "topics_1m_mv"]  # ...but two objects restored
    require_current(client, "sink 'write-messages'")
    every = {name for m in discover() for name, _ in m.creates()}
    assert every == {
        "messages", "dead_letters", "alerts", "volume_1m", "volume_1m_mv", "topics_1m",
        "topics_1m_mv", "late_items", "pipeline_events",
    }  # fmt: skip
    client.close()
