"""Native blocks for a client's protocol revision, checked on chDB's own output.

chDB writes revision 0; the endpoint rewrites it for clients that ask for a revision
(clickhouse-connect 54405, clickhouse-go 54460 and the server's revision after its hello).
Each case: chDB's output for many blocks of a type, rewritten, then read back the way
clickhouse-go reads it (tests/support/native_decoder.py) and compared with what
clickhouse-connect reads directly from chDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flows.clickhouse import chdb_path, connect
from flows.endpoint.native import BLOCK_INFO, NativeError, for_revision, parse_type
from flows.settings import Settings
from tests.support.native_decoder import decode, normalize, rows_of

REVISIONS = (54405, 54454, 54460, 54515)

EXPRESSIONS = [
    "number",
    "toInt8(number) - 100",
    "toInt256(number) * -7",
    "toFloat32(number) / 4",
    "toString(number)",
    "concat('Giao hàng chậm ', toString(number))",
    "toFixedString(toString(number % 10), 3)",
    "toNullable(number)",
    "if(number % 3 = 0, NULL, toString(number))",
    "[number, 1]",
    "range(number % 5)",
    "arrayMap(x -> toString(x), range(number % 4))",
    "toLowCardinality(toString(number % 7))",
    "toLowCardinality(if(number % 3 = 0, NULL, toString(number % 5)))",
    "[toLowCardinality(toString(number % 3))]",
    "map(toString(number % 3), number)",
    "(number, toString(number), [number])",
    "CAST((number, 'a') AS Tuple(UInt64, String))",
    "toDateTime(number * 3600, 'Asia/Ho_Chi_Minh')",
    "toDateTime64(number * 1.5, 3, 'UTC')",
    "toDate(number)",
    "toDate32(number)",
    "toDecimal64(number, 2)",
    "CAST(number AS Decimal(40, 2))",
    "toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0')",
    "toIPv4(number)",
    "CAST(number % 2 AS Enum8('positive' = 0, 'negative, really' = 1))",
    "number % 2 = 0",
    "NULL",
    "[]",
    "[NULL, number]",
    "[[toLowCardinality(toString(number))]]",
    "map('k', [toLowCardinality(toString(number % 2))])",
]


@pytest.fixture
def engine(settings: Settings) -> Iterator[tuple[Any, Any]]:
    """A chDB connection (raw Native bytes) and a clickhouse-connect client on one store."""
    import chdb

    client = connect(settings, create_database=True)
    raw = chdb.connect(chdb_path(settings.clickhouse_dsn.get_secret_value()))
    yield raw, client
    raw.close()
    client.close()


def _sql(expression: str, rows: int) -> str:
    return (
        f"SELECT {expression} AS c, number AS n FROM numbers({rows}) ORDER BY n "
        "SETTINGS max_block_size = 777"
    )


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_every_revision_reads_what_chdb_wrote(engine: tuple[Any, Any], expression: str) -> None:
    raw, client = engine
    sql = _sql(expression, 2000)
    native = raw.query(sql, "Native").bytes()
    direct = [tuple(normalize(v) for v in row) for row in client.query(sql).result_rows]
    names, _types, rows = rows_of(native, 0)
    assert names == ["c", "n"]
    assert [tuple(normalize(v) for v in row) for row in rows] == direct
    blocks = len(decode(native, 0))
    assert blocks == 3, "the case should span several blocks"
    for revision in REVISIONS:
        rewritten = for_revision(native, revision)
        marks = 2 if revision >= 54454 else 0
        assert len(rewritten) == len(native) + blocks * (len(BLOCK_INFO) + marks)
        assert rewritten.startswith(BLOCK_INFO)
        _, _, again = rows_of(rewritten, revision)
        assert [tuple(normalize(v) for v in row) for row in again] == direct, revision


def test_named_tuples_and_nested_read_the_same_at_every_revision(engine: tuple[Any, Any]) -> None:
    raw, _ = engine
    expression = (
        "CAST((number, [(toString(number), 1)]) AS Tuple(a UInt64, b Nested(x String, y UInt8)))"
    )
    native = raw.query(_sql(expression, 1000), "Native").bytes()
    _, types, expected = rows_of(native, 0)
    assert types[0].startswith("Tuple(a UInt64")
    for revision in REVISIONS:
        assert rows_of(for_revision(native, revision), revision)[2] == expected


def test_revision_zero_and_empty_answers_are_untouched(engine: tuple[Any, Any]) -> None:
    raw, _ = engine
    native = raw.query(_sql("toString(number)", 5), "Native").bytes()
    assert for_revision(native, 0) is native
    empty = raw.query("SELECT 1 AS x WHERE 0", "Native").bytes()
    assert empty == b""
    assert for_revision(empty, 54460) == b""


@pytest.mark.parametrize(
    "expression",
    ["CAST(1 AS Variant(UInt8, String))", "CAST(1 AS Dynamic)", "sumState(number)"],
)
def test_types_it_cannot_walk_are_refused_by_name(engine: tuple[Any, Any], expression: str) -> None:
    raw, _ = engine
    native = raw.query(f"SELECT {expression} AS c FROM numbers(3)", "Native").bytes()
    with pytest.raises(NativeError, match="cannot send a"):
        for_revision(native, 54460)


def test_truncated_data_is_an_error_not_a_wrong_answer(engine: tuple[Any, Any]) -> None:
    raw, _ = engine
    native = raw.query(_sql("toString(number)", 50), "Native").bytes()
    with pytest.raises(NativeError):
        for_revision(native[:-3], 54460)


def test_type_names_parse_with_nesting_quotes_and_element_names() -> None:
    kind = parse_type("Map(String, Array(Tuple(a LowCardinality(Nullable(String)), `b c` UInt8)))")
    assert kind.name == "Map"
    array = kind.arg(1)
    assert array.name == "Array"
    element = array.arg(0)
    assert [a.name for a in element.args if not isinstance(a, str)] == ["LowCardinality", "UInt8"]
    enum = parse_type("Enum8('a, b' = 1, 'it''s' = 2)")
    assert enum.args == ("'a, b' = 1", "'it''s' = 2")
    assert parse_type("Ring").name == "Array"
    assert parse_type("SimpleAggregateFunction(sum, UInt64)").name == "UInt64"
