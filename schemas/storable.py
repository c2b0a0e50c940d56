"""What the ClickHouse columns can hold, checked before a row is inserted.

A value the storage cannot hold must never reach an insert: clickhouse-connect would fail
the whole batch (a lone surrogate cannot be encoded as UTF-8, an integer of 2**64 does not
fit a ``UInt64``) or, worse, store something else (a ``DateTime`` column wraps outside its
range). :func:`unstorable` says which value of a row is out of reach, so the flow can turn
that one message into a dead letter and write the rest of its batch.

The limits:

- every string (array elements and map keys included) is valid Unicode without lone
  surrogates, so it encodes as UTF-8;
- every integer column is unsigned: ``0 <= value < 2**64`` (``rating`` is a ``UInt8``);
- every time is within :data:`EARLIEST` .. :data:`LATEST` in UTC. ``DateTime64`` reaches
  1900-2299, but the board rollups bucket ``created_at`` into ``DateTime`` minutes, which
  reach 1970-2106 only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

UINT64_MAX = 2**64 - 1

#: The earliest and latest time any stored time column may hold (UTC).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2105, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)

#: Integer columns narrower than ``UInt64``: (lowest, highest).
INT_RANGES: Mapping[str, tuple[int, int]] = {
    "rating": (0, 255),
    "revision": (0, 2**32 - 1),
    "attempts": (0, 2**32 - 1),
}


class HasRow(Protocol):
    """A row type of :mod:`schemas.rows`."""

    def as_row(self) -> tuple[Any, ...]:
        """The values in the table's column order."""
        ...


def string_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as a ClickHouse ``String`` (UTF-8), or ``None``."""
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        return (
            f"holds a lone surrogate U+{code:04X} at character {exc.start}, "
            "which is not Unicode text and cannot be encoded as UTF-8"
        )
    return None


def time_problem(value: datetime) -> str | None:
    """Why ``value`` cannot be stored as a time column, or ``None``."""
    if value.tzinfo is None:
        return "is a time without a time zone"
    if not EARLIEST <= value <= LATEST:
        return f"is outside {EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d} (UTC), the storable range"
    return None


def int_problem(value: int, column: str) -> str | None:
    """Why ``value`` cannot be stored in integer ``column``, or ``None``."""
    low, high = INT_RANGES.get(column, (0, UINT64_MAX))
    if not low <= value <= high:
        return f"{_digits(value)} is outside {low} .. {high}"
    return None


def value_problem(value: Any, column: str) -> str | None:
    """Why ``value`` cannot be stored in ``column``, or ``None`` (nested values included)."""
    if value is None or isinstance(value, bool | float):
        return None
    if isinstance(value, str):
        return string_problem(value)
    if isinstance(value, int):
        return int_problem(value, column)
    if isinstance(value, datetime):
        return time_problem(value)
    if isinstance(value, tuple | list):
        for item in value:
            if (problem := value_problem(item, column)) is not None:
                return problem
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = value_problem(key, column) or value_problem(item, column)
            if problem is not None:
                return problem
        return None
    return f"has a type no column takes: {type(value).__name__}"


def unstorable(row: HasRow, columns: tuple[str, ...]) -> str | None:
    """Why ``row`` cannot be inserted (``"column: reason"``), or ``None`` when it can."""
    for column, value in zip(columns, row.as_row(), strict=True):
        problem = value_problem(value, column)
        if problem is not None:
            return f"{column} {problem}"
    return None


def _digits(value: int) -> str:
    """An integer for a message: its digits, or its size when it is very long.

    ``str()`` of an integer over 4,300 digits raises ``ValueError``: never call it on one.
    """
    if abs(value) < 10**30:
        return str(value)
    return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"


__all__ = [
    "EARLIEST",
    "INT_RANGES",
    "LATEST",
    "UINT64_MAX",
    "int_problem",
    "string_problem",
    "time_problem",
    "unstorable",
    "value_problem",
]
