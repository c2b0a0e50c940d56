"""The macro expansion mirrors the plugin: the cases of its own tests, with the same output.

Backend cases come from grafana-clickhouse-datasource ``pkg/macros/macros_test.go`` and the
argument parsing of grafana-plugin-sdk-go ``data/sqlutil/macros_test.go``; the conditional-All
cases from the plugin's ``src/data/CHDatasource.test.ts``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from grafana.macros import (
    ALL,
    QueryContext,
    Variable,
    apply_conditional_all,
    expand_alert_query,
    expand_backend,
    expand_panel_query,
    replace_variables,
)
from schemas.errors import ConfigError

FROM = datetime(2014, 11, 12, 11, 45, 26, 123000, tzinfo=UTC)
TO = datetime(2015, 11, 12, 11, 45, 26, 456000, tzinfo=UTC)
CTX = QueryContext(FROM, TO, interval=timedelta(seconds=20))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "select * from foo where $__timeFilter(cast(sth as timestamp))",
            "select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= toDateTime(1447328726)",
        ),
        (
            "select * from foo where $__timeFilter(cast(sth as timestamp) )",
            "select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= toDateTime(1447328726)",
        ),
        (
            "select * from foo where $__timeFilter_ms(cast(sth as timestamp))",
            "select * from foo where cast(sth as timestamp) >= fromUnixTimestamp64Milli(1415792726123) AND cast(sth as timestamp) <= fromUnixTimestamp64Milli(1447328726456)",
        ),
        (
            "select * from foo where ( date >= $__fromTime and date <= $__toTime ) limit 100",
            "select * from foo where ( date >= toDateTime(1415792726) and date <= toDateTime(1447328726) ) limit 100",
        ),
        (
            "select * from foo where ( date >= $__fromTime_ms ) and ( date <= $__toTime_ms ) limit 100",
            "select * from foo where ( date >= fromUnixTimestamp64Milli(1415792726123) ) and ( date <= fromUnixTimestamp64Milli(1447328726456) ) limit 100",
        ),
        (
            "select $__timeInterval(col) from foo",
            "select toStartOfInterval(toDateTime(col), INTERVAL 20 second) from foo",
        ),
        (
            "select $__timeInterval_ms(col) from foo",
            "select toStartOfInterval(toDateTime64(col, 3), INTERVAL 20000 millisecond) from foo",
        ),
        (
            "select toStartOfInterval(col, INTERVAL $__interval_s second) AS time from foo",
            "select toStartOfInterval(col, INTERVAL 20 second) AS time from foo",
        ),
        (
            "select count() / $__interval_ms * 1000 as qps from foo",
            "select count() / 20000 * 1000 as qps from foo",
        ),
        (
            "where $__dateFilter(dateCol)",
            "where dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')",
        ),
        (
            "where $__dateTimeFilter(dateCol, timeCol)",
            "where (dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')) AND (timeCol >= toDateTime(1415792726) AND timeCol <= toDateTime(1447328726))",
        ),
        (
            "where $__dt(d, t)",
            "where (d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')) AND (t >= toDateTime(1415792726) AND t <= toDateTime(1447328726))",
        ),
    ],
)
def test_backend_macros_match_the_plugin(sql: str, expected: str) -> None:
    assert expand_backend(sql, CTX) == expected


def test_interval_is_at_least_one_second_and_truncated() -> None:
    tiny = QueryContext(FROM, TO, interval=timedelta(milliseconds=300))
    assert expand_backend("$__interval_s", tiny) == "1"
    assert "INTERVAL 1 second" in expand_backend("$__timeInterval(c)", tiny)
    assert "INTERVAL 300 millisecond" in expand_backend("$__timeInterval_ms(c)", tiny)
    odd = QueryContext(FROM, TO, interval=timedelta(seconds=90, milliseconds=900))
    assert expand_backend("$__interval_s", odd) == "90"


def test_a_macro_whose_name_extends_another_is_not_taken_for_it() -> None:
    # `\b` after the name: $__timeFilter does not match the start of $__timeFilter_ms
    out = expand_backend("$__timeFilter_ms(a) AND $__timeFilter(b)", CTX)
    assert out.startswith("a >= fromUnixTimestamp64Milli(1415792726123)")
    assert "b >= toDateTime(1415792726)" in out


def test_arguments_only_from_a_bracket_right_after_the_name() -> None:
    # sqlutil: "don't consume args after a space" and nested brackets stay in one argument
    assert expand_backend("x >= $__fromTime (1)", CTX) == "x >= toDateTime(1415792726) (1)"
    nested = expand_backend("$__timeFilter(coalesce(a, b))", CTX)
    assert nested.startswith("coalesce(a, b) >= toDateTime(")


def test_bad_macro_calls_are_errors() -> None:
    with pytest.raises(ConfigError, match="missing close bracket"):
        expand_backend("where $__timeFilter(created_at", CTX)
    with pytest.raises(ConfigError, match="expected 1 argument"):
        expand_backend("where $__timeFilter", CTX)
    with pytest.raises(ConfigError, match=r"\$__timeGroup"):
        expand_backend("select $__timeGroup(t, minute)", CTX)


@pytest.mark.parametrize(
    ("sql", "variables", "expected"),
    [
        (
            "select stuff from table where $__conditionalAll(fieldVal in ($fieldVal), $fieldVal);",
            [Variable("fieldVal", ALL)],
            "select stuff from table where 1=1;",
        ),
        (
            "select stuff from table where $__conditionalAll(fieldVal in ($fieldVal), $fieldVal);",
            [Variable("fieldVal", "'val1', 'val2'")],
            "select stuff from table where fieldVal in ($fieldVal);",
        ),
        (
            "select stuff from table where $__conditionalAll(fieldVal in ($fieldVal), $fieldVal) and $__conditionalAll(fieldVal in ($fieldVal2), $fieldVal2);",
            [Variable("fieldVal", "'val1', 'val2'"), Variable("fieldVal2", ALL)],
            "select stuff from table where fieldVal in ($fieldVal) and 1=1;",
        ),
    ],
)
def test_conditional_all_matches_the_plugin(
    sql: str, variables: list[Variable], expected: str
) -> None:
    assert apply_conditional_all(sql, {v.name: v for v in variables}) == expected


def test_conditional_all_with_multi_value_variables_and_formats() -> None:
    sql = "a AND $__conditionalAll(channel IN (${channel:singlequote}), $channel) AND b"
    every = {"channel": Variable.all("channel", ["shopee", "tiki"])}
    assert apply_conditional_all(sql, every) == "a AND 1=1 AND b"
    two = {"channel": Variable.multi("channel", "shopee", "tiki")}
    assert expand_panel_query(sql, CTX.with_variables(*two.values())) == (
        "a AND channel IN ('shopee','tiki') AND b"
    )
    empty = {"channel": Variable("channel", "")}
    assert apply_conditional_all(sql, empty) == "a AND 1=1 AND b"


def test_template_variables_follow_grafana_formats() -> None:
    variables = {
        "brand": Variable.multi("brand", "Mộc Lam", "O'Neil"),
        "one": Variable.single("one", "x'y"),
        "every": Variable.all("every", ["a", "b"]),
        "custom": Variable.all("custom", ["a", "b"], all_value=".*"),
    }
    assert replace_variables("${brand:singlequote}", variables) == "'Mộc Lam','O\\'Neil'"
    assert replace_variables("${brand:sqlstring}", variables) == "'Mộc Lam','O''Neil'"
    assert replace_variables("${q:sqlstring}", {"q": Variable.single("q", 'a"b')}) == "'a\\\"b'"
    assert replace_variables("$brand", variables) == "'Mộc Lam','O'Neil'"  # the plugin's format
    assert replace_variables("[[one]] ${one}", variables) == "x'y x'y"
    assert replace_variables("${every:singlequote}", variables) == "'a','b'"
    assert replace_variables("${custom:singlequote}", variables) == ".*"
    assert replace_variables("$unknown $__timeFilter(c)", variables) == "$unknown $__timeFilter(c)"
    with pytest.raises(ConfigError, match="lucene"):
        replace_variables("${brand:lucene}", variables)


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        # encodeURIComponentStrict: only A-Z a-z 0-9 - _ . ~ stay as they are
        ("O'Neil", "O%27Neil"),
        ("ACME\\", "ACME%5C"),
        ("x') OR 1=1 --\n", "x%27%29%20OR%201%3D1%20--%0A"),
        ("!*()'~-_.", "%21%2A%28%29%27~-_."),
        ("$__timeFilter(x) ${a} [[a]]", "%24__timeFilter%28x%29%20%24%7Ba%7D%20%5B%5Ba%5D%5D"),
        ("Mộc Lam", "M%E1%BB%99c%20Lam"),
        (("a", "b,c"), "%7Ba%2Cb%2Cc%7D"),  # several values: {a,b} then encoded
    ],
)
def test_percentencode_is_encode_uri_component_strict(
    current: str | tuple[str, ...], expected: str
) -> None:
    variable = Variable("v", current, current if isinstance(current, tuple) else (current,))
    assert replace_variables("${v:percentencode}", {"v": variable}) == expected


def test_alert_queries_get_no_variables() -> None:
    assert expand_alert_query("SELECT 1 WHERE $__timeFilter_ms(t)", CTX).startswith(
        "SELECT 1 WHERE t >= fromUnixTimestamp64Milli("
    )
    with pytest.raises(ConfigError, match="template variables"):
        expand_alert_query("SELECT 1 WHERE channel IN (${channel:singlequote})", CTX)
    with pytest.raises(ConfigError, match="conditionalAll"):
        expand_alert_query("SELECT 1 WHERE $__conditionalAll(a = 1, $a)", CTX)
    with pytest.raises(ConfigError, match="no dashboard variables"):
        expand_alert_query("SELECT 1", CTX.with_variables(Variable.single("a", "1")))


def test_time_range_must_be_aware_and_ordered() -> None:
    with pytest.raises(ConfigError, match="timezone-aware"):
        QueryContext(datetime(2026, 1, 1), TO)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ConfigError, match="ends before"):
        QueryContext(TO, FROM)
