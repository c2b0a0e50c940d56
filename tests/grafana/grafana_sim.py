"""What Grafana does with a query's result, enough to test the boards and rules here.

- :func:`run`: expand a query like the plugin and run it on ClickHouse, with column types
  (``DESCRIBE``, so an empty result still has its columns);
- :func:`variable_values`: resolve a board's variables in order, as Grafana does on load;
- :func:`evaluate_rule`: evaluate a provisioned alert rule like Grafana's server-side
  expressions: each ClickHouse query's table becomes numbers labelled by its string columns
  (exactly one numeric column, distinct label sets), the threshold decides which fire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from grafana.boards.common import Board
from grafana.macros import QueryContext, Variable, expand_alert_query, expand_panel_query

_NUMERIC = re.compile(r"^(Nullable\()?(U?Int\d+|Float\d+|Decimal.*)\)?$")
_STRING = re.compile(r"^(Nullable\()?(LowCardinality\()?(String|FixedString\(\d+\))\)?\)?$")
_TIME = re.compile(r"^(Nullable\()?(DateTime(64)?(\(.*\))?|Date(32)?)\)?$")


@dataclass(frozen=True)
class Result:
    """Columns (name, ClickHouse type) and rows of a query, and the SQL that ran."""

    sql: str
    columns: list[tuple[str, str]]
    rows: list[tuple[Any, ...]]

    @property
    def names(self) -> tuple[str, ...]:
        """Column names."""
        return tuple(name for name, _ in self.columns)

    def column(self, name: str) -> list[Any]:
        """Values of one column."""
        index = self.names.index(name)
        return [row[index] for row in self.rows]

    def dicts(self) -> list[dict[str, Any]]:
        """Rows as dicts."""
        return [dict(zip(self.names, row, strict=True)) for row in self.rows]


def run_sql(client: Any, sql: str) -> Result:
    """Run expanded SQL and describe its columns."""
    described = client.query(f"DESCRIBE TABLE ({sql})").result_rows
    rows = [tuple(r) for r in client.query(sql).result_rows]
    return Result(sql, [(str(r[0]), str(r[1])) for r in described], rows)


def run(client: Any, sql: str, ctx: QueryContext) -> Result:
    """A panel or variable query, expanded like the browser and the plugin do."""
    return run_sql(client, expand_panel_query(sql, ctx))


def is_time(type_name: str) -> bool:
    """Whether a ClickHouse type becomes a time field."""
    return bool(_TIME.match(type_name))


def is_number(type_name: str) -> bool:
    """Whether a ClickHouse type becomes a numeric field."""
    return bool(_NUMERIC.match(type_name))


def is_string(type_name: str) -> bool:
    """Whether a ClickHouse type becomes a string field."""
    return bool(_STRING.match(type_name))


def variable_values(
    client: Any,
    board: Board,
    time_from: datetime,
    time_to: datetime,
    selected: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, Variable]:
    """Each variable's options (queried in order, chained) and its selection (All unless given)."""
    chosen = selected or {}
    variables: dict[str, Variable] = {}
    for spec in board.variables:
        if spec.options:
            options = spec.options
        else:
            ctx = QueryContext(time_from, time_to, variables=variables)
            result = run(client, spec.sql, ctx)
            assert len(result.columns) == 1, f"variable {spec.name} must return one column"
            options = tuple(str(v) for v in result.column(result.names[0]))
        if spec.name in chosen:
            variables[spec.name] = Variable(spec.name, chosen[spec.name], options)
        else:
            variables[spec.name] = Variable.all(spec.name, options)
    return variables


@dataclass(frozen=True)
class Evaluation:
    """An evaluated rule: every query's numbers by label set, and the firing label sets."""

    numbers: dict[str, dict[tuple[tuple[str, str], ...], float]]
    firing: set[tuple[tuple[str, str], ...]]

    def firing_labels(self) -> list[dict[str, str]]:
        """The firing instances' labels, sorted."""
        return [dict(labels) for labels in sorted(self.firing)]

    def value(self, ref_id: str, labels: tuple[tuple[str, str], ...]) -> float:
        """``.Values.<ref_id>.Value`` of an instance."""
        return self.numbers[ref_id][labels]


def _numbers(result: Result) -> dict[tuple[tuple[str, str], ...], float]:
    numeric = [name for name, kind in result.columns if is_number(kind)]
    strings = [name for name, kind in result.columns if is_string(kind)]
    assert len(numeric) == 1, f"an alert query needs exactly one numeric column: {result.columns}"
    assert len(strings) == len(result.columns) - 1, (
        f"other columns must be strings: {result.columns}"
    )
    value_at = result.names.index(numeric[0])
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for row in result.rows:
        labels = tuple(sorted((n, str(row[result.names.index(n)])) for n in strings))
        assert labels not in out, f"duplicate label set {labels}"
        out[labels] = float(row[value_at])
    return out


def evaluate_rule(client: Any, rule: dict[str, Any], at: datetime) -> Evaluation:
    """Evaluate a rule from the provisioning file at wall-clock time ``at``."""
    numbers: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for entry in rule["data"]:
        model = entry["model"]
        if entry["datasourceUid"] == "__expr__":
            assert model["type"] == "threshold", "only threshold expressions are used"
            (condition,) = model["conditions"]
            op, (limit,) = condition["evaluator"]["type"], condition["evaluator"]["params"]
            source = numbers[model["expression"]]
            assert op in ("gt", "lt"), f"threshold type {op} is not used here"
            numbers[entry["refId"]] = {
                k: float(v > limit if op == "gt" else v < limit) for k, v in source.items()
            }
            continue
        window = entry["relativeTimeRange"]
        ctx = QueryContext(
            at - timedelta(seconds=window["from"]),
            at - timedelta(seconds=window["to"]),
            interval=timedelta(milliseconds=model["intervalMs"]),
        )
        numbers[entry["refId"]] = _numbers(
            run_sql(client, expand_alert_query(model["rawSql"], ctx))
        )
    decided = numbers[rule["condition"]]
    return Evaluation(numbers, {labels for labels, v in decided.items() if v})
