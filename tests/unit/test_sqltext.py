"""Splitting SQL scripts into statements, and telling reads from writes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.sqltext import first_keyword, is_complete, is_read, split_statements


@pytest.mark.parametrize(
    ("script", "statements"),
    [
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
        ("SELECT ';' AS s; SELECT 2", ["SELECT ';' AS s", "SELECT 2"]),
        ("SELECT 'it''s; here'; SELECT 2", ["SELECT 'it''s; here'", "SELECT 2"]),
        ("SELECT 'a\\';b'; SELECT 2", ["SELECT 'a\\';b'", "SELECT 2"]),
        ('SELECT 1 AS "x;y"; SELECT `a;b` FROM t', ['SELECT 1 AS "x;y"', "SELECT `a;b` FROM t"]),
        ("-- a comment; with a semicolon\nSELECT 1;", ["-- a comment; with a semicolon\nSELECT 1"]),
        ("SELECT 1 /* ; */ + 1; /* only a comment */;", ["SELECT 1 /* ; */ + 1"]),
        ("; ;\n\n;", []),
        ("-- nothing but a comment", []),
        ("SELECT 1;\n-- trailing comment\n", ["SELECT 1"]),
        ("SELECT '#not a comment'; # a comment\nSELECT 2", ["SELECT '#not a comment'", "# a comment\nSELECT 2"]),
    ],
)  # fmt: skip
def test_statements_split_on_semicolons_outside_quotes_and_comments(
    script: str, statements: list[str]
) -> None:
    assert split_statements(script) == statements


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ("SELECT 1;", True),
        ("SELECT 1;  \n", True),
        ("SELECT 1", False),
        ("SELECT ';'", False),
        ("SELECT 'unterminated;", False),
        ("SELECT 1; -- done", True),
        ("SELECT 1 -- not yet;", False),
        ("SELECT 1;\nSELECT 2", False),
    ],
)
def test_a_statement_is_complete_at_a_semicolon_outside_quotes(text: str, complete: bool) -> None:
    assert is_complete(text) is complete


@pytest.mark.parametrize(
    ("statement", "keyword", "read"),
    [
        ("select 1", "SELECT", True),
        ("  WITH x AS (SELECT 1) SELECT * FROM x", "WITH", True),
        ("(SELECT 1) UNION ALL (SELECT 2)", "SELECT", True),
        ("-- DROP TABLE x\nSHOW TABLES", "SHOW", True),
        ("/* INSERT */ describe messages", "DESCRIBE", True),
        ("DESC messages", "DESC", True),
        ("EXISTS TABLE messages", "EXISTS", True),
        ("EXPLAIN SELECT 1", "EXPLAIN", True),
        ("INSERT INTO t SELECT 1", "INSERT", False),
        ("'SELECT' ; DROP", "DROP", False),
        ("OPTIMIZE TABLE messages FINAL", "OPTIMIZE", False),
        ("SET max_threads = 1", "SET", False),
        ("SELEC 1", "SELEC", False),
        ("", "", False),
    ],
)
def test_reads_are_told_from_writes_by_their_first_keyword(
    statement: str, keyword: str, read: bool
) -> None:
    assert first_keyword(statement) == keyword
    assert is_read(statement) is read


_piece = st.sampled_from(["SELECT 1", "'a;b'", '"c;d"', "-- e;f\n", "/* g;h */", " ", "x"])


@given(st.lists(st.lists(_piece, min_size=1, max_size=5), min_size=1, max_size=5))
def test_joining_statements_with_semicolons_splits_back_into_them(
    parts: list[list[str]],
) -> None:
    statements = ["".join(p) for p in parts]
    expected = [s.strip() for s in statements if any(x in s for x in ("SELECT 1", "'", '"', "x"))]
    assert split_statements(";".join(statements)) == expected
