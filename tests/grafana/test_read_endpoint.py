"""A local Grafana on the read endpoint: the plugin's requests, replayed on the seeded store.

Every board query (panels and variables, expanded like the plugin) and every alert rule
query goes through the endpoint as the plugin sends it (tests/grafana/plugin_http.py) and
must come back as a direct read of the same SQL does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml

from flows.clickhouse import chdb_path
from flows.endpoint import ReadEndpoint
from grafana.boards import emerging, overview, pipeline, topics
from grafana.build import RULES, build_boards
from grafana.macros import QueryContext, expand_alert_query, expand_panel_query
from tests.grafana.conftest import Seeded
from tests.grafana.plugin_http import PluginConnection, PluginError
from tests.grafana.test_boards import everything
from tests.support.native_decoder import normalize

USER, PASSWORD = "grafana", "read-only-please"


@pytest.fixture(scope="module")
def plugin(seeded: Seeded) -> Iterator[PluginConnection]:
    """The plugin's connection to an endpoint serving the seeded store."""
    path = chdb_path(seeded.settings.clickhouse_dsn.get_secret_value())
    with ReadEndpoint(path, port=0, user=USER, password=PASSWORD) as endpoint:
        assert endpoint.address is not None
        yield PluginConnection(endpoint.address.url, user=USER, password=PASSWORD)


def same_as_direct(seeded: Seeded, plugin: PluginConnection, sql: str, where: str) -> int:
    """Run ``sql`` through the endpoint and directly; assert the same columns and rows."""
    direct = seeded.client.query(sql)
    frame = plugin.query(sql)
    assert frame.names == list(direct.column_names), where
    expected = [tuple(normalize(v) for v in row) for row in direct.result_rows]
    got = [tuple(normalize(v) for v in row) for row in frame.rows]
    if "ORDER BY" not in sql.upper():  # e.g. the plugin's SELECT DISTINCT: any order is right
        expected, got = sorted(expected, key=repr), sorted(got, key=repr)
    assert got == expected, where
    return len(frame.rows)


def test_the_connection_and_the_health_check(seeded: Seeded, plugin: PluginConnection) -> None:
    version, zone = seeded.client.query("SELECT version(), timezone()").result_rows[0]
    assert (plugin.version, plugin.timezone) == (version, zone)
    assert plugin.revision > 54454, "later answers are read at the server's revision"
    assert plugin.health_check()


def test_wrong_credentials_fail_the_connection_test(
    seeded: Seeded, plugin: PluginConnection
) -> None:
    del seeded
    with pytest.raises(PluginError) as caught:
        PluginConnection(plugin.url, user=USER, password="guess")  # noqa: S106
    assert caught.value.status == 403
    assert caught.value.headers["X-ClickHouse-Exception-Code"] == "516"
    assert "DB::Exception" in caught.value.body  # the plugin marks it a downstream error


@pytest.mark.parametrize("uid", [overview.UID, topics.UID, emerging.UID, pipeline.UID])
def test_every_board_query_reads_as_directly(
    seeded: Seeded, plugin: PluginConnection, uid: str
) -> None:
    board = next(b for b in build_boards().values() if b.uid == uid)
    ctx = everything(seeded, board)
    for spec in board.variables:
        if spec.sql:
            sql = expand_panel_query(
                spec.sql, QueryContext(ctx.time_from, ctx.time_to, variables=ctx.variables)
            )
            assert same_as_direct(seeded, plugin, sql, f"{uid} variable {spec.name}")
    answered = 0
    for (panel_id, ref_id), (title, query) in board.queries.items():
        where = f"{uid} panel {panel_id} {title!r} [{ref_id}]"
        rows = same_as_direct(seeded, plugin, expand_panel_query(query.sql, ctx), where)
        answered += rows > 0
    assert answered == len(board.queries), "every panel has rows on the seeded data"


def test_every_alert_rule_query_reads_as_directly(seeded: Seeded, plugin: PluginConnection) -> None:
    data: dict[str, Any] = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    checked = 0
    for group in data["groups"]:
        for rule in group["rules"]:
            for entry in rule["data"]:
                if entry["datasourceUid"] == "__expr__":
                    continue
                window = entry["relativeTimeRange"]
                ctx = QueryContext(
                    seeded.wall_after - timedelta(seconds=window["from"]),
                    seeded.wall_after - timedelta(seconds=window["to"]),
                    interval=timedelta(milliseconds=entry["model"]["intervalMs"]),
                )
                sql = expand_alert_query(entry["model"]["rawSql"], ctx)
                same_as_direct(seeded, plugin, sql, f"rule {rule['uid']} [{entry['refId']}]")
                checked += 1
    assert checked >= 3


def test_the_query_builders_schema_queries(seeded: Seeded, plugin: PluginConnection) -> None:
    tables = plugin.query("SELECT database, name FROM system.tables ORDER BY database, name")
    assert ("voc", "messages") in tables.rows
    schema_sql = (
        "SELECT database, table, name, type, comment FROM system.columns WHERE "
        "(database, table) IN (('voc', 'messages'), ('voc', 'alerts')) "
        "ORDER BY database, table, position"
    )
    assert same_as_direct(seeded, plugin, schema_sql, "columns") > 10
    # ColumnValues: a SETTINGS clause, which a readonly = 1 session would refuse
    values = "SELECT DISTINCT channel FROM voc.messages SETTINGS max_execution_time=10"
    assert same_as_direct(seeded, plugin, values, "column values") > 3
    described = plugin.query('DESCRIBE TABLE "voc"."messages"')
    assert described.names[:2] == ["name", "type"] and len(described.names) == 7
    assert plugin.query("SELECT currentDatabase()").rows == [("voc",)]


def test_what_a_board_editor_cannot_do(plugin: PluginConnection) -> None:
    for sql in (
        "TRUNCATE TABLE messages",
        "SELECT 1 INTO OUTFILE 'x.tsv'",
        "SELECT 1; DROP TABLE alerts",
    ):
        with pytest.raises(PluginError) as caught:
            plugin.query(sql)
        assert caught.value.headers["X-ClickHouse-Exception-Code"] in ("164", "62"), sql
