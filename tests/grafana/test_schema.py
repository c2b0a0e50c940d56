"""Every query reads only tables and columns that the migrations create.

ClickHouse resolves each expanded query (``EXPLAIN QUERY TREE``); every column read from a
table is checked against ``system.columns`` of the migrated database.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import yaml

from grafana.build import RULES, build_boards
from grafana.macros import QueryContext, expand_alert_query, expand_panel_query
from tests.grafana.conftest import Seeded
from tests.grafana.grafana_sim import variable_values

_TABLE = re.compile(r"TABLE id: (\d+),.*?table_name: (\w+)\.(\w+)")
_COLUMN = re.compile(r"COLUMN id: \d+, (?:alias: \w+, )?column_name: (\w+),.*?source_id: (\d+)")


def columns_read(client: Any, sql: str) -> set[tuple[str, str, str]]:
    """(database, table, column) of every table column the query reads."""
    tree = "\n".join(r[0] for r in client.query(f"EXPLAIN QUERY TREE {sql}").result_rows)
    tables = {node: (db, table) for node, db, table in _TABLE.findall(tree)}
    assert tables, f"no table in {sql[:80]}"
    return {
        (*tables[source], column) for column, source in _COLUMN.findall(tree) if source in tables
    }


def all_queries(seeded: Seeded) -> list[tuple[str, str]]:
    """(where, expanded SQL) of every panel, variable and alert query."""
    out = []
    time_from, time_to = seeded.start, seeded.wall_after + timedelta(minutes=1)
    for board in build_boards().values():
        variables = variable_values(seeded.client, board, time_from, time_to)
        ctx = QueryContext(time_from, time_to, timedelta(minutes=5), variables)
        for spec in board.variables:
            if spec.sql:
                out.append((f"{board.uid} variable {spec.name}", expand_panel_query(spec.sql, ctx)))
        for (panel_id, ref_id), (title, query) in board.queries.items():
            where = f"{board.uid} panel {panel_id} {title} [{ref_id}]"
            out.append((where, expand_panel_query(query.sql, ctx)))
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    at = seeded.wall_after
    for group in data["groups"]:
        for rule in group["rules"]:
            for entry in rule["data"]:
                if entry["datasourceUid"] == "__expr__":
                    continue
                span = timedelta(seconds=entry["relativeTimeRange"]["from"])
                ctx = QueryContext(at - span, at)
                sql = expand_alert_query(entry["model"]["rawSql"], ctx)
                out.append((f"rule {rule['uid']} [{entry['refId']}]", sql))
    return out


def test_every_query_reads_existing_tables_and_columns(seeded: Seeded) -> None:
    existing = set(
        seeded.query("SELECT database, table, name FROM system.columns WHERE database = 'voc'")
    )
    queries = all_queries(seeded)
    assert len(queries) > 60
    read: set[tuple[str, str, str]] = set()
    for where, sql in queries:
        columns = columns_read(seeded.client, sql)
        assert columns, f"{where}: no column found in the query tree"
        assert columns <= existing, f"{where}: unknown {sorted(columns - existing)}"
        read |= columns
    tables = {table for _, table, _ in read}
    assert tables == {"messages", "dead_letters", "alerts", "late_items", "volume_1m", "topics_1m"}
    # the checker sees through ARRAY JOIN and subqueries to the stored columns
    assert {("voc", "messages", "topic_sentiments"), ("voc", "alerts", "sample_texts")} <= read
