"""Which statements the read endpoint runs, and what it takes from them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.endpoint.sql import StatementError, inspect, tokens


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("SELECT 1", "SELECT"),
        ("  select count() FROM messages FINAL", "SELECT"),
        ("WITH 1 AS x SELECT x", "WITH"),
        ("(SELECT 1) UNION ALL (SELECT 2)", "SELECT"),
        ("-- a comment\n/* and /* nested */ one */ SHOW TABLES", "SHOW"),
        ("# a comment\nDESCRIBE TABLE messages", "DESCRIBE"),
        ("desc messages", "DESCRIBE"),
        ("EXISTS TABLE messages", "EXISTS"),
        ("EXPLAIN SELECT 1", "EXPLAIN"),
        ("SELECT 1;", "SELECT"),
        ("SELECT 1 ; -- done", "SELECT"),
    ],
)
def test_reads_run(sql: str, kind: str) -> None:
    assert inspect(sql).kind == kind


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO messages (id) VALUES ('x')",
        "CREATE TABLE t (a UInt8) ENGINE = Memory",
        "DROP TABLE messages",
        "ALTER TABLE messages DELETE WHERE 1",
        "TRUNCATE TABLE messages",
        "OPTIMIZE TABLE messages FINAL",
        "RENAME TABLE a TO b",
        "SYSTEM DROP MARK CACHE",
        "KILL QUERY WHERE 1",
        "SET readonly = 0",
        "USE system",
        "GRANT ALL ON *.* TO default",
        "/* SELECT */ DELETE FROM messages WHERE 1",
        "(INSERT INTO t VALUES (1))",
        "SELECT 1 INTO OUTFILE '/tmp/x.tsv'",
        "select 1 into /* sneaky */ outfile '/tmp/x.tsv' FORMAT CSV",
        "SELECT file('/etc/passwd')",
        "SELECT FILE ('/etc/passwd', 'RawBLOB')",
        "SELECT `file`('/etc/passwd')",
        "SELECT length(\"file\"(('/etc/passwd')))",
    ],
)
def test_everything_else_is_a_readonly_error(sql: str) -> None:
    with pytest.raises(StatementError) as caught:
        inspect(sql)
    assert (caught.value.code, caught.value.name) == (164, "READONLY")
    assert "readonly mode" in str(caught.value)


@pytest.mark.parametrize(
    "sql",
    ["SELECT 1; SELECT 2", "SELECT 1;DROP TABLE messages", "SELECT 1; -- x\nSYSTEM FLUSH LOGS"],
)
def test_one_statement_per_request(sql: str) -> None:
    with pytest.raises(StatementError) as caught:
        inspect(sql)
    assert caught.value.code == 62
    assert "Multi-statements" in str(caught.value)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'INSERT; INTO OUTFILE file(x)'",
        'SELECT 1 AS "INTO", 2 AS `OUTFILE`',
        "SELECT file_name, `file` FROM t -- file('/x')",
        "SELECT $$ ; DROP TABLE t; $$",
        "SELECT $tag$ it's ; $tag$",
        "SELECT 'it''s; fine', 'back\\'slash;'",
    ],
)
def test_words_inside_strings_comments_and_names_do_not_count(sql: str) -> None:
    assert inspect(sql).kind == "SELECT"


@pytest.mark.parametrize("sql", ["", "  ;  ", "-- only a comment", "SELECT 'open", "SELECT 1 /* x"])
def test_empty_or_unterminated_text_is_a_syntax_error(sql: str) -> None:
    with pytest.raises(StatementError) as caught:
        inspect(sql)
    assert caught.value.code == 62


def test_the_format_named_at_the_end_is_found() -> None:
    assert inspect("SELECT 1 FORMAT JSONEachRow").format == "JSONEachRow"
    assert inspect('SELECT 1 FORMAT "JSON" SETTINGS max_threads = 1').format == "JSON"
    assert inspect("SELECT format FROM t").format is None
    assert inspect("SELECT format('{}', 'x') FROM t").format is None
    assert inspect("SELECT * FROM (SELECT 1 FORMAT TSV)").format is None


def test_top_level_settings_are_lifted_out_of_the_text() -> None:
    grafana = inspect("SELECT DISTINCT channel FROM messages SETTINGS max_execution_time=10")
    assert grafana.settings == (("max_execution_time", "10"),)
    assert "SETTINGS" not in grafana.text and grafana.text.startswith("SELECT DISTINCT channel")
    both = inspect("SELECT 1 SETTINGS a = 1, b = 'x' FORMAT JSON SETTINGS c = -2")
    assert both.settings == (("a", "1"), ("b", "'x'"), ("c", "-2"))
    assert both.format == "JSON"
    assert " ".join(both.text.split()) == "SELECT 1 FORMAT JSON"
    inner = inspect("SELECT * FROM (SELECT 1 SETTINGS a = 1) SETTINGS b = 2")
    assert inner.settings == (("b", "2"),) and "SETTINGS a = 1" in inner.text
    # A clause whose value is not one literal, or that does not end the query, stays.
    union = inspect("SELECT 1 SETTINGS a = 1 UNION ALL SELECT 2")
    assert union.settings == () and union.text.endswith("SELECT 2")
    assert inspect("SHOW SETTINGS LIKE '%time%'").settings == ()


def test_tokens_know_their_depth_and_place() -> None:
    found = tokens("SELECT (a, (b)) FROM t")
    assert [(t.text, t.depth) for t in found if t.kind == "word"] == [
        ("SELECT", 0), ("a", 1), ("b", 2), ("FROM", 0), ("t", 0),
    ]  # fmt: skip
    assert all("SELECT (a, (b)) FROM t"[t.start : t.end] == t.text for t in found)


@given(st.text(max_size=200))
def test_any_text_is_a_statement_or_a_statement_error(text: str) -> None:
    try:
        statement = inspect(text)
    except StatementError as exc:
        code = exc.code
    else:
        code = 0
    if code:
        assert code in (62, 164)
        return
    assert statement.kind in {"SELECT", "WITH", "SHOW", "DESCRIBE", "EXISTS", "EXPLAIN"}
    assert not any(t.kind == "other" and t.text == ";" for t in tokens(statement.text))
    assert inspect(statement.text).kind == statement.kind


@given(
    st.sampled_from(["SELECT 1", "SHOW TABLES", "WITH 1 AS a SELECT a"]),
    st.sampled_from([";", "; ", ";\n"]),
    st.sampled_from(["DROP TABLE t", "INSERT INTO t VALUES (1)", "SELECT 2", "SYSTEM SHUTDOWN"]),
)
def test_a_second_statement_never_runs(first: str, separator: str, second: str) -> None:
    with pytest.raises(StatementError):
        inspect(first + separator + second)
