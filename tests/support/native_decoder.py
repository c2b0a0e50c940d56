"""Native blocks read the way clickhouse-go reads an HTTP answer, for tests.

clickhouse-go (the Grafana ClickHouse plugin's driver) sends ``client_protocol_version`` and
decodes each block with the revision of the server (``lib/proto/block.go``): the block info
when the revision is above 0, and after each column's type a byte that must be 0 (a custom
serialization, which it cannot read) from revision 54454. The column data layouts are
ClickHouse's (``src/DataTypes/Serializations``). Values come out as clickhouse-connect returns
them, so tests can compare an answer with a direct read.
"""

from __future__ import annotations

import ipaddress
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flows.endpoint.native import ColumnType, parse_type

CUSTOM_SERIALIZATION_REVISION = 54454
_INTS = {
    "Int8": (1, True), "UInt8": (1, False), "Int16": (2, True), "UInt16": (2, False),
    "Int32": (4, True), "UInt32": (4, False), "Int64": (8, True), "UInt64": (8, False),
    "Int128": (16, True), "UInt128": (16, False), "Int256": (32, True), "UInt256": (32, False),
}  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Block:
    """One decoded block: its column names, type names and values by column."""

    names: list[str]
    types: list[str]
    columns: list[list[Any]]

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """Values by row."""
        return list(zip(*self.columns, strict=True)) if self.columns else []


class _Source:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            msg = f"read past the end: {count} bytes at {self.pos} of {len(self.data)}"
            raise AssertionError(msg)
        out = self.data[self.pos : self.pos + count]
        self.pos += count
        return out

    def uvarint(self) -> int:
        value = shift = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def string(self) -> bytes:
        return self.take(self.uvarint())

    def uint(self, size: int, signed: bool = False) -> int:
        return int.from_bytes(self.take(size), "little", signed=signed)


def decode(data: bytes, revision: int) -> list[Block]:
    """Every block of a Native answer, read at ``revision`` as clickhouse-go reads it."""
    source = _Source(data)
    blocks = []
    while source.pos < len(data):
        if revision > 0:  # decodeBlockInfo
            assert source.uvarint() == 1
            source.take(1)
            assert source.uvarint() == 2
            source.take(4)
            assert source.uvarint() == 0
        columns, rows = source.uvarint(), source.uvarint()
        block = Block([], [], [])
        for _ in range(columns):
            block.names.append(source.string().decode())
            type_name = source.string().decode()
            block.types.append(type_name)
            if revision >= CUSTOM_SERIALIZATION_REVISION:
                assert source.take(1) == b"\x00", "custom serialization is not readable"
            kind = parse_type(type_name)
            values: list[Any] = []
            if rows:
                _prefix(source, kind)
                values = _values(source, kind, rows)
            block.columns.append(values)
        blocks.append(block)
    return blocks


def rows_of(data: bytes, revision: int) -> tuple[list[str], list[str], list[tuple[Any, ...]]]:
    """Names, types and all rows of a Native answer."""
    blocks = decode(data, revision)
    if not blocks:
        return [], [], []
    return blocks[0].names, blocks[0].types, [row for block in blocks for row in block.rows]


def _prefix(source: _Source, kind: ColumnType) -> None:
    if kind.name == "LowCardinality":
        assert source.uint(8) == 1, "LowCardinality key version"
    for arg in kind.args:
        if isinstance(arg, ColumnType) and kind.name in ("Nullable", "Array", "Tuple", "Map"):
            _prefix(source, arg)


def _values(source: _Source, kind: ColumnType, rows: int) -> list[Any]:
    name = kind.name
    if name in _INTS:
        size, signed = _INTS[name]
        return [source.uint(size, signed) for _ in range(rows)]
    if name in ("Float32", "Float64"):
        fmt = "<f" if name == "Float32" else "<d"
        width = struct.calcsize(fmt)
        return [struct.unpack(fmt, source.take(width))[0] for _ in range(rows)]
    if name == "Bool":
        return [source.take(1) != b"\x00" for _ in range(rows)]
    if name == "String":
        return [source.string().decode("utf-8", errors="replace") for _ in range(rows)]
    if name == "FixedString":
        size = int(str(kind.args[0]))
        return [source.take(size) for _ in range(rows)]
    if name == "Date":
        return [date(1970, 1, 1) + timedelta(days=source.uint(2)) for _ in range(rows)]
    if name == "Date32":
        return [date(1970, 1, 1) + timedelta(days=source.uint(4, True)) for _ in range(rows)]
    if name == "DateTime":
        return [_EPOCH + timedelta(seconds=source.uint(4)) for _ in range(rows)]
    if name == "DateTime64":
        scale = int(str(kind.args[0]))
        ticks = [source.uint(8, True) for _ in range(rows)]
        return [_EPOCH + timedelta(microseconds=t * 10**6 // 10**scale) for t in ticks]
    if name.startswith("Decimal"):
        precision, scale = _decimal(kind)
        size = 4 if precision <= 9 else 8 if precision <= 18 else 16 if precision <= 38 else 32
        return [Decimal(source.uint(size, True)).scaleb(-scale) for _ in range(rows)]
    if name == "UUID":
        out = []
        for _ in range(rows):
            high, low = source.uint(8), source.uint(8)
            out.append(uuid.UUID(int=(high << 64) | low))
        return out
    if name == "IPv4":
        return [ipaddress.IPv4Address(source.uint(4)) for _ in range(rows)]
    if name in ("Enum8", "Enum16"):
        labels = {}
        for arg in kind.args:
            label, _, number = str(arg).rpartition("=")
            labels[int(number)] = label.strip().strip("'")
        size = 1 if name == "Enum8" else 2
        return [labels[source.uint(size, True)] for _ in range(rows)]
    if name == "Nothing":
        source.take(rows)
        return [None] * rows
    if name == "Nullable":
        nulls = source.take(rows)
        inner = _values(source, kind.arg(0), rows)
        return [None if null else value for null, value in zip(nulls, inner, strict=True)]
    if name in ("Array", "Map"):
        offsets = [source.uint(8) for _ in range(rows)]
        inner_kind = kind.arg(0) if name == "Array" else ColumnType("Tuple", kind.args)
        flat = _values(source, inner_kind, offsets[-1]) if offsets[-1] else []
        starts = [0, *offsets[:-1]]
        items = [flat[a:b] for a, b in zip(starts, offsets, strict=True)]
        return items if name == "Array" else [dict(item) for item in items]
    if name == "Tuple":
        parts = [_values(source, arg, rows) for arg in kind.args if isinstance(arg, ColumnType)]
        return list(zip(*parts, strict=True))
    if name == "LowCardinality":
        return _low_cardinality(source, kind.arg(0), rows)
    msg = f"no decoder for {name} in this test reader"
    raise AssertionError(msg)


def _decimal(kind: ColumnType) -> tuple[int, int]:
    fixed = {"Decimal32": 9, "Decimal64": 18, "Decimal128": 38, "Decimal256": 76}
    if kind.name in fixed:
        return fixed[kind.name], int(str(kind.args[0]))
    return int(str(kind.args[0])), int(str(kind.args[1]))


def _low_cardinality(source: _Source, inner: ColumnType, rows: int) -> list[Any]:
    nullable = inner.name == "Nullable"
    keys_kind = inner.arg(0) if nullable else inner
    out: list[Any] = []
    while len(out) < rows:
        flags = source.uint(8)
        assert flags & (1 << 9), "a Native LowCardinality granule carries its keys"
        keys = _values(source, keys_kind, source.uint(8))
        count = source.uint(8)
        size = (1, 2, 4, 8)[flags & 0xFF]
        for _ in range(count):
            index = source.uint(size)
            out.append(None if nullable and index == 0 else keys[index])
    return out


def normalize(value: Any) -> Any:
    """A value in a form both readers agree on: aware datetimes in UTC, dates, containers."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, (list, tuple)):
        return tuple(normalize(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((normalize(k), normalize(v)) for k, v in value.items()))
    if isinstance(value, bytes):
        return value.rstrip(b"\x00").decode(errors="replace")
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, ipaddress.IPv4Address | uuid.UUID):
        return str(value)
    return value
