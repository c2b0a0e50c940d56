"""Every board query, expanded like the plugin, on embedded ClickHouse with seeded data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from grafana.boards import emerging, overview, pipeline, topics
from grafana.boards.common import Board
from grafana.build import BOARDS, DASHBOARDS, build_boards
from grafana.macros import QueryContext, Variable
from grafana.query import DATASOURCE_UID, PLUGIN_ID, ClickHouseQuery
from tests.grafana.conftest import Seeded
from tests.grafana.grafana_sim import (
    Result,
    is_number,
    is_string,
    is_time,
    run,
    variable_values,
)

MINUTE = timedelta(minutes=1)


def utc(moment: datetime | Any) -> datetime:
    """A datetime from ClickHouse as an aware UTC datetime (the client returns naive UTC)."""
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def board_context(
    seeded: Seeded,
    board: Board,
    *,
    time_from: datetime,
    time_to: datetime,
    interval: timedelta = timedelta(minutes=5),
    **selected: tuple[str, ...],
) -> QueryContext:
    variables = variable_values(seeded.client, board, time_from, time_to, selected)
    return QueryContext(time_from, time_to, interval, variables)


def everything(seeded: Seeded, board: Board, **selected: tuple[str, ...]) -> QueryContext:
    """All data: from the day before the Vietnam-midnight messages to after the seeding."""
    return board_context(
        seeded,
        board,
        time_from=seeded.vn_midnight_day - timedelta(days=1),
        time_to=seeded.wall_after + MINUTE,
        **selected,
    )


def live(seeded: Seeded, board: Board, **selected: tuple[str, ...]) -> QueryContext:
    """The simulated three hours up to now, minute-aligned at the start."""
    return board_context(
        seeded, board, time_from=seeded.start, time_to=seeded.wall_after + MINUTE, **selected
    )


def panel(board: Board, title: str, ref_id: str = "A") -> Any:
    return board.queries[(board.panel_id(title), ref_id)][1]


@pytest.fixture(scope="module")
def boards() -> dict[str, Board]:
    return {board.uid: board for board in build_boards().values()}


@pytest.mark.parametrize("uid", [overview.UID, topics.UID, emerging.UID, pipeline.UID])
def test_every_query_runs_and_returns_its_declared_columns(
    seeded: Seeded, boards: dict[str, Board], uid: str
) -> None:
    board = boards[uid]
    ctx = everything(seeded, board)
    for name, variable in ctx.variables.items():
        spec = next(s for s in board.variables if s.name == name)
        assert variable.options, f"variable {name} offers nothing on seeded data"
        assert variable.is_all
        if spec.sql:
            assert len(set(variable.options)) == len(variable.options), f"{name} repeats values"
    for (panel_id, ref_id), (title, query) in board.queries.items():
        result = run(seeded.client, query.sql, ctx)
        where = f"{uid} panel {panel_id} {title!r} [{ref_id}]"
        assert result.names == query.columns, where
        assert result.rows, f"{where} returned no rows on seeded data"
        if query.format.query_type == "timeseries":
            check_time_series(result, where)


def check_time_series(result: Result, where: str) -> None:
    """A long frame the backend can pivot: time first and sorted, then labels and numbers."""
    (time_name, time_type), *rest = result.columns
    assert is_time(time_type), f"{where}: first column {time_name} is {time_type}, not a time"
    times = [utc(t) for t in result.column(time_name)]
    assert times == sorted(times), f"{where}: rows not sorted by time"
    kinds = [is_number(kind) or is_string(kind) for _, kind in rest]
    assert all(kinds), f"{where}: columns must be labels or numbers: {rest}"
    assert any(is_number(kind) for _, kind in rest), f"{where}: no numeric column"


def test_committed_json_is_what_the_python_declares(boards: dict[str, Board]) -> None:
    for file_name in BOARDS:
        data = json.loads((DASHBOARDS / file_name).read_text(encoding="utf-8"))
        board = boards[data["uid"]]
        assert data["schemaVersion"] >= 41, "Grafana 11.6+/12 dashboards"
        assert data["timezone"] == "Asia/Ho_Chi_Minh"
        found: dict[tuple[int, str], ClickHouseQuery] = {}
        for item in data["panels"]:
            if item["type"] == "row":
                continue
            assert item["datasource"] == {"type": PLUGIN_ID, "uid": DATASOURCE_UID}
            assert item["title"] and item["description"], item["id"]
            for target in item["targets"]:
                query = ClickHouseQuery.from_json(target)
                assert query.datasource_uid == DATASOURCE_UID
                assert target["editorType"] == "sql"
                assert target["pluginVersion"] >= "4.0.0", "else the plugin migrates it as v3"
                found[(item["id"], query.ref_id)] = query
        declared = {key: q for key, (_, q) in board.queries.items()}
        assert set(found) == set(declared), file_name
        for key, spec in declared.items():
            assert found[key].raw_sql == spec.sql, key
            assert found[key].format == spec.format, key
        variables = {v["name"]: v for v in data["templating"].get("list", [])}
        assert list(variables) == [s.name for s in board.variables]
        for spec in board.variables:
            variable = variables[spec.name]
            assert variable["multi"] and variable["includeAll"], spec.name
            assert variable["current"]["value"] == ["$__all"], spec.name
            if spec.sql:
                assert variable["query"]["rawSql"] == spec.sql.strip()
                assert variable["datasource"]["uid"] == DATASOURCE_UID


def test_filters_with_single_multi_and_all_values(seeded: Seeded, boards: dict[str, Board]) -> None:
    board = boards[overview.UID]
    by_channel = overview.BY_CHANNEL
    every = run(seeded.client, by_channel.sql, live(seeded, board))
    assert {"shopee", "tiki", "zalo"} <= set(every.column("channel"))

    shopee_ctx = live(seeded, board, channel=("shopee",))
    shopee = run(seeded.client, by_channel.sql, shopee_ctx)
    assert shopee.column("channel") == ["shopee"]
    total = run(seeded.client, overview.MESSAGES_TOTAL.sql, shopee_ctx).rows[0][0]
    direct = seeded.query(
        "SELECT uniqExact(id) FROM messages FINAL WHERE channel = 'shopee' AND role != 'agent'"
        f" AND created_at >= toDateTime({int(seeded.start.timestamp())})"
    )[0][0]
    assert total == direct == shopee.column("messages")[0]

    two = run(seeded.client, by_channel.sql, live(seeded, board, channel=("shopee", "tiki")))
    assert sorted(two.column("channel")) == ["shopee", "tiki"]

    brands = sorted(live(seeded, board).variables["brand"].options)[:2]
    by_brand = run(seeded.client, overview.BY_BRAND.sql, live(seeded, board, brand=tuple(brands)))
    assert sorted(by_brand.column("brand_name")) == brands


def test_chained_variables_narrow_their_options(seeded: Seeded, boards: dict[str, Board]) -> None:
    board = boards[topics.UID]
    every = variable_values(seeded.client, board, seeded.start, seeded.wall_after)
    reviews = variable_values(
        seeded.client, board, seeded.start, seeded.wall_after, {"source": ("review",)}
    )
    assert set(reviews["channel"].options) < set(every["channel"].options)
    assert "zalo" in every["channel"].options and "zalo" not in reviews["channel"].options
    assert "Zenta S12" in reviews["product"].options


def test_day_buckets_follow_vietnam_days(seeded: Seeded, boards: dict[str, Board]) -> None:
    # 16:30Z and 17:30Z are the same UTC day but 23:30 and 00:30 in Vietnam.
    day = seeded.vn_midnight_day
    board = boards[topics.UID]
    ctx = board_context(
        seeded, board, time_from=day, time_to=day + timedelta(days=1), product=("Zenta S12",)
    )
    daily = run(seeded.client, topics.DAILY_VOLUME.sql, ctx)
    assert [(utc(t), topic, n) for t, topic, n in daily.rows] == [
        (day - timedelta(hours=7), "delivery", 1),  # the Vietnam day ending at 17:00Z
        (day + timedelta(hours=17), "delivery", 1),  # the Vietnam day starting at 17:00Z
    ]
    summary = run(seeded.client, topics.DAILY_SUMMARY.sql, ctx)
    assert [(d.isoformat(), n, neg) for d, _, n, neg, *_ in summary.rows] == [
        ((day + timedelta(days=1)).date().isoformat(), 1, 0.0),
        (day.date().isoformat(), 1, 1.0),
    ]


def test_aspect_sentiment_for_a_product(seeded: Seeded, boards: dict[str, Board]) -> None:
    board = boards[topics.UID]
    aspects = run(seeded.client, topics.ASPECTS.sql, live(seeded, board, product=("Zenta S12",)))
    assert {r["aspect"]: r for r in aspects.dicts()}.keys() == {"BATTERY", "SCREEN"}
    battery, screen = sorted(aspects.dicts(), key=lambda r: r["aspect"])
    assert (battery["mentions"], battery["negative_share"], battery["net_sentiment"]) == (
        12,
        0.75,
        -0.5,
    )
    assert (screen["mentions"], screen["positive_share"]) == (6, 1.0)
    other = run(seeded.client, topics.ASPECTS.sql, live(seeded, board, product=("app MamMam",)))
    assert other.rows == []


def test_topic_table_compares_with_the_period_before(
    seeded: Seeded, boards: dict[str, Board]
) -> None:
    board = boards[overview.UID]
    end = seeded.end
    ctx = board_context(
        seeded, board, time_from=end - timedelta(minutes=40), time_to=end, channel=("shopee",)
    )
    rows = {r["topic"]: r for r in run(seeded.client, overview.TOP_TOPICS.sql, ctx).dicts()}
    delivery = rows["delivery"]
    assert delivery["negative_share"] > delivery["negative_share_before"] + 0.15
    assert delivery["negative_share_change"] == pytest.approx(
        delivery["negative_share"] - delivery["negative_share_before"]
    )


def test_emerging_board_lists_the_seeded_open_alert_with_samples(
    seeded: Seeded, boards: dict[str, Board]
) -> None:
    board = boards[emerging.UID]
    ctx = live(seeded, board)
    open_alerts = run(seeded.client, emerging.OPEN_ALERTS.sql, ctx).dicts()
    assert [a["id"] for a in open_alerts] == ["a-delivery-shopee", "a-phrase", "a-info"]
    first = open_alerts[0]
    assert (first["severity"], first["kind"], first["key"]) == (
        "critical",
        "negative_share",
        "delivery / shopee",
    )
    assert (first["observed"], first["expected"], first["ratio"]) == (0.64, 0.27, 2.4)
    assert open_alerts[1]["key"] == 'delivery / "chưa nhận được hàng"'

    incident = ctx.with_variables(Variable.multi("incident", "a-delivery-shopee"))
    samples = run(seeded.client, emerging.SAMPLES.sql, incident).dicts()
    seeded_rows = seeded.alerts["a-delivery-shopee"][-1]
    assert len(samples) == 5
    assert [s["sample_id"] for s in samples] == sorted(seeded_rows.sample_ids)
    stored = dict(seeded.query("SELECT id, text FROM messages FINAL WHERE channel = 'shopee'"))
    assert all(stored[s["sample_id"]] == s["sample_text"] for s in samples)

    critical = live(seeded, board, severity=("critical",))
    assert run(seeded.client, emerging.OPEN_ALERTS.sql, critical).column("id") == [
        "a-delivery-shopee"
    ]
    breakdown = run(seeded.client, emerging.CHANNEL_BREAKDOWN.sql, ctx).rows
    assert ("delivery / shopee", "shopee", 41) in breakdown
    phrases = run(seeded.client, emerging.PHRASES.sql, ctx).dicts()
    assert [(p["phrase"], p["status"]) for p in phrases] == [("chưa nhận được hàng", "open")]
    counts = run(seeded.client, emerging.OPENED_AND_RESOLVED.sql, ctx).dicts()
    assert counts == [{"opened": 4, "resolved": 1}]  # a-stale opened two days before
    history = {h["id"]: h for h in run(seeded.client, emerging.HISTORY.sql, ctx).dicts()}
    assert history["a-price-resolved"]["status"] == "resolved"
    assert history["a-price-resolved"]["minutes_open"] == 20
    assert "a-stale" not in history


def test_the_spike_shows_on_the_alerted_topic(seeded: Seeded, boards: dict[str, Board]) -> None:
    board = boards[emerging.UID]
    ctx = board_context(
        seeded, board, time_from=seeded.start, time_to=seeded.end - MINUTE, interval=MINUTE
    )
    series = run(seeded.client, emerging.KEY_VOLUME.sql, ctx)
    assert set(series.column("topic")) == {"delivery", "packaging"}
    delivery = {utc(t): n for t, topic, n in series.rows if topic == "delivery"}
    direct = seeded.query(
        "SELECT toStartOfMinute(created_at) AS minute, uniqExact(id) FROM messages FINAL"
        " WHERE has(topics, 'delivery') AND role != 'agent'"
        f" AND created_at >= toDateTime({int(seeded.start.timestamp())})"
        f" AND created_at < toDateTime({int(seeded.end.timestamp())})"
        " GROUP BY minute"
    )
    assert delivery == {utc(m): n for m, n in direct}
    # The diurnal curve moves every topic; the incident moves delivery's share of all messages.
    totals = dict(
        seeded.query("SELECT minute, uniqExactMerge(messages) FROM volume_1m GROUP BY minute")
    )
    split = seeded.incident.start

    def share(minutes: list[datetime]) -> float:
        return sum(delivery[m] for m in minutes) / sum(
            totals[m.replace(tzinfo=None)] for m in minutes
        )

    during = [m for m in delivery if m >= split]
    before = [m for m in delivery if m < split - timedelta(minutes=10)]
    assert share(during) > 1.4 * share(before)


def test_pipeline_board_shows_dead_letters_late_items_and_models(
    seeded: Seeded, boards: dict[str, Board]
) -> None:
    board = boards[pipeline.UID]
    ctx = everything(seeded, board)
    reasons = {
        (r["step"], r["error_type"]): r["payloads"]
        for r in run(seeded.client, pipeline.DEAD_LETTERS_BY_REASON.sql, ctx).dicts()
    }
    assert reasons[("parse", "invalid_json")] >= 30
    models = run(seeded.client, pipeline.MODEL_VERSIONS.sql, ctx).column("model_version")
    assert "test-aspects-1" in models and any(m.startswith("baseline-") for m in models)
    late = run(seeded.client, pipeline.LATE_BY_KEY.sql, ctx).dicts()
    assert sum(r["items"] for r in late) == 4
    assert all(r["median_seconds_late"] > 0 for r in late)
    for _, p50, p95, p99 in run(seeded.client, pipeline.LAG.sql, ctx).rows:
        assert 0 <= p50 <= p95 <= p99
