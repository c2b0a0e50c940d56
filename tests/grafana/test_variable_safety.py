"""No dashboard variable value can break or widen a query; alert rules take no values.

Messages whose brand and product hold a trailing backslash, quotes, ``) OR 1=1 --``, a line
break, macros and variable syntax are streamed through the real flow 30 days back (outside
every other test's range). The boards must offer them and select exactly their rows; values
that match nothing, however written, must return what a plain unknown value returns, on
every panel and variable query of every board.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml

from flows.dataflow import FlowIO
from grafana.boards import emerging, overview, pipeline, topics
from grafana.boards.common import Board
from grafana.build import RULES, build_boards
from grafana.macros import _TEMPLATE_VAR as TEMPLATE_VAR
from grafana.macros import QueryContext, Variable
from schemas.rows import AlertRow
from tests.grafana.conftest import AspectKeywordEnricher, Seeded, _sinks, _stream, alert_row
from tests.grafana.conftest import write_rows as write
from tests.grafana.grafana_sim import evaluate_rule, run, variable_values

#: Stored values written the way an attacker would (each one a brand and a product).
STORED = [
    "ACME\\",
    "O'Neil",
    "x\\') OR 1=1 --",
    "line\nbreak') OR 1=1 --",
    "$__timeFilter(created_at) ${source} [[brand]] $brand",
    "%27%5C",
    "Nike,Adidas",  # not offered: it would read as two values
    "{braces}",  # not offered: it would read as "braces"
]
OFFERED = [v for v in STORED if not re.search(r"[,{}]", v)]
#: Values that match nothing, however they are written: they must select nothing.
ABSENT = [
    "zz\\",
    "zz'",
    "zz\\') OR 1=1 --",
    "zz') OR 1=1 --",
    "zz'\n) OR 1=1 --",
    "nosuchbrand\\' OR brand != '",
    "zz$__timeFilter(minute)",
    "zz${source}[[source]]$source",
    "zz,yy",
    "{zz}",
    "%27zz%5C",
    "zz\\\\'",
]


@pytest.fixture(scope="module")
def planted(seeded: Seeded) -> datetime:
    """Stream the hostile messages through the flow; return their event time."""
    at = (seeded.start - timedelta(days=30)).replace(second=0, microsecond=0)
    records = []
    for i, value in enumerate(STORED):
        message = {
            "id": f"hostile-{i}",
            "source": "review",
            "channel": "tiki",
            "brand": value,
            "product": value,
            "text": "giao hàng chậm quá",
            "created_at": (at + timedelta(seconds=i)).isoformat(),
        }
        records.append(json.dumps(message).encode())
    from bytewax.testing import TestingSource

    from flows.records import RawRecord

    source = TestingSource([RawRecord("hostile.jsonl", i, r) for i, r in enumerate(records)])
    _stream(
        seeded.settings, FlowIO(source, *_sinks(seeded.settings)), enricher=AspectKeywordEnricher
    )
    stored = seeded.query("SELECT brand FROM messages FINAL WHERE startsWith(id, 'hostile-')")
    assert sorted(b for (b,) in stored) == sorted(STORED)
    return at


@pytest.fixture(scope="module")
def boards() -> dict[str, Board]:
    return {board.uid: board for board in build_boards().values()}


def window(seeded: Seeded, planted: datetime) -> tuple[datetime, datetime]:
    """From before the planted messages to after everything seeded."""
    return planted - timedelta(hours=1), seeded.wall_after + timedelta(minutes=1)


def test_stored_values_are_offered_and_select_exactly_their_rows(
    seeded: Seeded, planted: datetime, boards: dict[str, Board]
) -> None:
    start, end = planted - timedelta(hours=1), planted + timedelta(hours=1)
    board = boards[overview.UID]
    variables = variable_values(seeded.client, board, start, end)
    assert sorted(variables["brand"].options) == sorted(OFFERED)
    for value in OFFERED:
        ctx = QueryContext(start, end, timedelta(minutes=5), {**variables}).with_variables(
            Variable.multi("brand", value, options=variables["brand"].options)
        )
        result = run(seeded.client, overview.BY_BRAND.sql, ctx)
        assert result.column("brand_name") == [value]
    both = QueryContext(start, end, timedelta(minutes=5), variables).with_variables(
        Variable.multi("brand", *OFFERED[:2], options=variables["brand"].options)
    )
    assert sorted(run(seeded.client, overview.BY_BRAND.sql, both).column("brand_name")) == sorted(
        OFFERED[:2]
    )
    trends = boards[topics.UID]
    products = variable_values(seeded.client, trends, start, end)["product"].options
    assert sorted(products) == sorted(OFFERED)


def _results(client: Any, board: Board, ctx: QueryContext, name: str) -> dict[str, Any]:
    """Every panel and variable query of ``board`` that reads ``$name``, run with ``ctx``."""
    marker = re.compile(rf"\$\{{{name}[:}}]|\${name}\b")
    queries = {f"panel {k}": q.sql for k, (_, q) in board.queries.items()}
    queries.update({f"variable {v.name}": v.sql for v in board.variables if v.sql})
    out = {}
    for key, sql in queries.items():
        if marker.search(sql):
            out[key] = run(client, sql, ctx).rows
    return out


@pytest.mark.parametrize("uid", [overview.UID, topics.UID, emerging.UID, pipeline.UID])
def test_no_value_breaks_or_widens_any_query(
    seeded: Seeded, planted: datetime, boards: dict[str, Board], uid: str
) -> None:
    board = boards[uid]
    start, end = window(seeded, planted)
    base = variable_values(seeded.client, board, start, end)
    checked = 0
    for spec in board.variables:
        unknown = QueryContext(start, end, timedelta(minutes=5), base).with_variables(
            Variable.multi(spec.name, "zz-none")
        )
        expected = _results(seeded.client, board, unknown, spec.name)
        for values in ([*ABSENT], *([v] for v in ABSENT)):
            hostile = unknown.with_variables(Variable.multi(spec.name, *values))
            got = _results(seeded.client, board, hostile, spec.name)
            assert got == expected, (spec.name, values)
        checked += len(expected)
    assert checked or not board.variables


def test_alert_rules_take_no_values_and_carry_stored_ones_as_data(
    seeded: Seeded, planted: datetime
) -> None:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = {rule["uid"]: rule for group in data["groups"] for rule in group["rules"]}
    for rule in rules.values():
        for entry in rule["data"]:
            sql = entry["model"].get("rawSql", "")
            names = [m.group(1) or m.group(2) or m.group(4) for m in TEMPLATE_VAR.finditer(sql)]
            assert all(n.startswith("__") for n in names), (rule["uid"], names)
        for text in rule.get("annotations", {}).values():
            # a label put into a link must be one whose values the message contract restricts
            for label in re.findall(r"var-\w+=\{\{ *\.Labels\.(\w+) *\}\}", text):
                assert label == "channel", (rule["uid"], text)
    row = alert_row(
        id="a-hostile",
        kind="volume_spike",
        severity="critical",
        key_type="topic_brand",
        topic="delivery",
        brand=STORED[2],
        product=STORED[3],
        opened_at=planted,
        observed=9.0,
        expected=1.0,
        sample_ids=("hostile-2",),
        sample_texts=(STORED[2],),
        top_terms=(STORED[0],),
        summary=STORED[0],
    )
    write(seeded.settings, "alerts", AlertRow.COLUMNS, [row])
    result = evaluate_rule(
        seeded.client, rules["voc-open-incident"], planted + timedelta(minutes=1)
    )
    (labels,) = result.firing_labels()
    assert labels["key"] == f"delivery / {STORED[2]} / {STORED[3]}"
    assert labels["headline"] == STORED[0]  # the summary (the terms are in it, not a label)
