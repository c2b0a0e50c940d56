"""Native blocks for the protocol revision an HTTP client asks for.

chDB writes the Native format as ClickHouse writes it for a client of revision 0: blocks of
``columns, rows`` and, per column, its name, its type and its data. An HTTP client that sends
``client_protocol_version=N`` reads blocks of revision ``N`` instead: from revision 1 each
block starts with its block info (8 bytes: not an overflow block, no bucket), from 54454 each
column's type is followed by one byte saying whether the column has a custom (sparse)
serialization (chDB's output never has one: it is 0). clickhouse-connect asks for 54405 (block
info) when the server passes its probe; clickhouse-go, under the Grafana plugin, always asks
for its own revision (54460 and later: both).

:func:`for_revision` rewrites chDB's output for such a client. Inserting the byte after a
column's type means finding where its data ends, so the data of every type a read returns is
walked (not decoded): numbers, dates and times, decimals, UUIDs, IPs, enums, strings,
``Nullable``, ``Array``, ``Tuple``, ``Map``, ``LowCardinality`` and the geo aliases. A column of
another type (``Variant``, ``Dynamic``, ``JSON``, aggregate function states) is an
:class:`NativeError`: select it as ``String``, or use another ``FORMAT``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A block's info as ClickHouse writes it: field 1 (is_overflows) 0, field 2 (bucket_num) -1.
BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"
#: The first revision whose Native blocks mark each column's serialization kind.
CUSTOM_SERIALIZATION_REVISION = 54454

_FIXED = {
    **dict.fromkeys(("Int8", "UInt8", "Bool", "Enum8", "Nothing"), 1),
    **dict.fromkeys(("Int16", "UInt16", "Date", "Enum16", "BFloat16"), 2),
    **dict.fromkeys(
        ("Int32", "UInt32", "Float32", "Date32", "DateTime", "DateTime32", "IPv4", "Time"), 4
    ),
    **dict.fromkeys(("Int64", "UInt64", "Float64", "DateTime64", "Time64"), 8),
    **dict.fromkeys(("Int128", "UInt128", "UUID", "IPv6"), 16),
    **dict.fromkeys(("Int256", "UInt256"), 32),
    "Decimal32": 4,
    "Decimal64": 8,
    "Decimal128": 16,
    "Decimal256": 32,
}
_ALIASES = {
    "Point": "Tuple(Float64, Float64)",
    "Ring": "Array(Point)",
    "LineString": "Array(Point)",
    "Polygon": "Array(Ring)",
    "MultiLineString": "Array(LineString)",
    "MultiPolygon": "Array(Polygon)",
}
_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?$", re.DOTALL)
_ELEMENT_NAME = re.compile(r"^(`(?:[^`\\]|\\.|``)*`|[A-Za-z_][A-Za-z0-9_]*)\s+(\S.*)$", re.DOTALL)
_INDEX_SIZES = (1, 2, 4, 8)
_NEED_GLOBAL_DICTIONARY = 1 << 8
_HAS_ADDITIONAL_KEYS = 1 << 9


class NativeError(Exception):
    """Native data this module cannot walk: a type it does not know, or truncated data."""


@dataclass(frozen=True)
class ColumnType:
    """A parsed ClickHouse type: its name and its arguments (types, or literals as text)."""

    name: str
    args: tuple[ColumnType | str, ...] = ()

    def arg(self, index: int) -> ColumnType:
        """The type argument at ``index``."""
        value = self.args[index]
        if not isinstance(value, ColumnType):
            msg = f"{self.name}: argument {index + 1} is not a type"
            raise NativeError(msg)
        return value


def parse_type(text: str) -> ColumnType:
    """Parse a type name as ClickHouse writes it in Native headers."""
    text = text.strip()
    if text in _ALIASES:
        return parse_type(_ALIASES[text])
    match = _NAME.match(text)
    if match is None:
        msg = f"cannot read the type {text!r}"
        raise NativeError(msg)
    name, inner = match.group(1), match.group(2)
    if inner is None:
        return ColumnType(name)
    parts = _split_arguments(inner)
    if name in ("Nullable", "Array", "LowCardinality", "Map"):
        return ColumnType(name, tuple(parse_type(p) for p in parts))
    if name == "Tuple":
        return ColumnType(name, tuple(parse_type(_element_type(p)) for p in parts))
    if name == "Nested":
        elements = tuple(parse_type(_element_type(p)) for p in parts)
        return ColumnType("Array", (ColumnType("Tuple", elements),))
    if name == "SimpleAggregateFunction":
        return parse_type(parts[-1])
    return ColumnType(name, tuple(parts))


def _element_type(part: str) -> str:
    """The type of a tuple element written ``name Type`` or ``Type``."""
    match = _ELEMENT_NAME.match(part.strip())
    return match.group(2) if match else part


def _split_arguments(text: str) -> list[str]:
    """Split a type's arguments at the commas outside parentheses and quotes."""
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    pos = 0
    while pos < len(text):
        char = text[pos]
        if quote:
            if char == "\\":
                pos += 1
            elif char == quote:
                quote = ""
        elif char in "'`\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:pos].strip())
            start = pos + 1
        pos += 1
    parts.append(text[start:].strip())
    return parts


class _Reader:
    """A position in Native bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def skip(self, count: int) -> None:
        if self.pos + count > len(self.data):
            msg = "Native data ends inside a column"
            raise NativeError(msg)
        self.pos += count

    def varint(self) -> int:
        value = shift = 0
        while True:
            if self.pos >= len(self.data):
                msg = "Native data ends inside a number"
                raise NativeError(msg)
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def uint64(self) -> int:
        start = self.pos
        self.skip(8)
        return int.from_bytes(self.data[start : self.pos], "little")

    def string(self) -> bytes:
        size = self.varint()
        start = self.pos
        self.skip(size)
        return bytes(self.data[start : self.pos])


def for_revision(data: bytes, revision: int) -> bytes:
    """The Native output of chDB (revision 0) as ClickHouse writes it for ``revision``."""
    if revision <= 0 or not data:
        return data
    marks = revision >= CUSTOM_SERIALIZATION_REVISION
    reader = _Reader(data)
    out = bytearray()
    while not reader.at_end():
        out += BLOCK_INFO
        start = reader.pos
        columns = reader.varint()
        rows = reader.varint()
        out += reader.data[start : reader.pos]
        for _ in range(columns):
            start = reader.pos
            reader.string()
            type_name = reader.string().decode()
            out += reader.data[start : reader.pos]
            if marks:
                out.append(0)
            start = reader.pos
            if rows:
                kind = parse_type(type_name)
                _skip_prefix(reader, kind)
                _skip_data(reader, kind, rows)
            out += reader.data[start : reader.pos]
    return bytes(out)


def _skip_prefix(reader: _Reader, kind: ColumnType) -> None:
    """Skip the serialization state a column writes before its data."""
    if kind.name == "LowCardinality":
        version = reader.uint64()
        if version != 1:
            msg = f"LowCardinality key version {version} (expected 1)"
            raise NativeError(msg)
    elif kind.name in ("Nullable", "Array", "Tuple", "Map"):
        for arg in kind.args:
            if isinstance(arg, ColumnType):
                _skip_prefix(reader, arg)


def _skip_data(reader: _Reader, kind: ColumnType, rows: int) -> None:
    """Skip ``rows`` values of a column of type ``kind``."""
    name = kind.name
    if name in _FIXED:
        reader.skip(rows * _FIXED[name])
    elif name.startswith("Interval"):
        reader.skip(rows * 8)
    elif name == "Decimal":
        reader.skip(rows * _decimal_size(int(str(kind.args[0]))))
    elif name == "String":
        for _ in range(rows):
            reader.skip(reader.varint())
    elif name == "FixedString":
        reader.skip(rows * int(str(kind.args[0])))
    elif name == "Nullable":
        reader.skip(rows)
        _skip_data(reader, kind.arg(0), rows)
    elif name in ("Array", "Map"):
        reader.skip((rows - 1) * 8)
        items = reader.uint64()
        inner = kind.arg(0) if name == "Array" else ColumnType("Tuple", kind.args)
        if items:
            _skip_data(reader, inner, items)
    elif name == "Tuple":
        for arg in kind.args:
            if isinstance(arg, ColumnType):
                _skip_data(reader, arg, rows)
    elif name == "LowCardinality":
        _skip_low_cardinality(reader, kind.arg(0), rows)
    else:
        msg = f"the read endpoint cannot send a {name} column in Native to this client"
        raise NativeError(msg)


def _decimal_size(precision: int) -> int:
    """Bytes of a ``Decimal(precision, scale)`` value."""
    for limit, size in ((9, 4), (18, 8), (38, 16)):
        if precision <= limit:
            return size
    return 32


def _skip_low_cardinality(reader: _Reader, keys: ColumnType, rows: int) -> None:
    """Skip ``rows`` of a LowCardinality column: granules of keys then indexes."""
    if keys.name == "Nullable":
        keys = keys.arg(0)
    left = rows
    while left > 0:
        flags = reader.uint64()
        if flags & _NEED_GLOBAL_DICTIONARY or (flags & 0xFF) >= len(_INDEX_SIZES):
            msg = f"LowCardinality granule flags {flags:#x}"
            raise NativeError(msg)
        if flags & _HAS_ADDITIONAL_KEYS:
            count = reader.uint64()
            if count:
                _skip_data(reader, keys, count)
        granule = reader.uint64()
        if granule == 0 or granule > left:
            msg = f"LowCardinality granule of {granule} rows where {left} are left"
            raise NativeError(msg)
        reader.skip(granule * _INDEX_SIZES[flags & 0xFF])
        left -= granule
