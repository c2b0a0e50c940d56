"""Rows as they are stored: one dataclass per ClickHouse table the flow writes.

Each class lists its table's columns in ``COLUMNS`` (the order of ``as_row``); a test checks
them against the migrated tables, so a migration and its row type cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One row of ``messages``: what came in (PII redacted) plus what the NLP stage added."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "id",
        "source",
        "channel",
        "brand",
        "product",
        "rating",
        "author_hash",
        "conversation_id",
        "role",
        "url",
        "reach",
        "likes",
        "attributes",
        "text",
        "text_normalized",
        "text_search",
        "pii_kinds",
        "language",
        "sentiment",
        "sentiment_score",
        "topics",
        "topic_scores",
        "topic_sentiments",
        "aspects",
        "aspect_scores",
        "aspect_sentiments",
        "flags",
        "model_version",
        "created_at",
        "ingested_at",
    )

    id: str
    source: str
    channel: str
    brand: str
    product: str
    rating: int | None
    author_hash: str
    conversation_id: str
    role: str
    url: str
    reach: int | None
    likes: int | None
    attributes: str
    text: str
    text_normalized: str
    text_search: str
    pii_kinds: tuple[str, ...]
    language: str
    sentiment: str
    sentiment_score: float
    topics: tuple[str, ...]
    topic_scores: tuple[float, ...]
    topic_sentiments: tuple[str, ...]
    aspects: tuple[str, ...]
    aspect_scores: tuple[float, ...]
    aspect_sentiments: tuple[str, ...]
    flags: tuple[str, ...]
    model_version: str
    created_at: datetime
    ingested_at: datetime

    def as_row(self) -> tuple[Any, ...]:
        """The values in ``COLUMNS`` order, ready for a row-oriented insert."""
        return _STORED_MESSAGE_ROW(self)

    def __reduce__(self) -> tuple[type[StoredMessage], tuple[Any, ...]]:
        """Pickle as the plain values (``COLUMNS`` is the field order).

        A cluster sends rows to the writer process; the values pickle twice as fast.
        """
        return (StoredMessage, self.as_row())


_STORED_MESSAGE_ROW = attrgetter(*StoredMessage.COLUMNS)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A payload some step could not process, with the reason: one row of ``dead_letters``."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "id",
        "step",
        "error_type",
        "reason",
        "origin",
        "position",
        "payload",
        "payload_size",
        "received_at",
    )

    step: str
    error_type: str
    reason: str
    origin: str
    position: int
    payload: str
    payload_size: int
    received_at: datetime

    @property
    def id(self) -> str:
        """Stable under replay: the same payload at the same place gives the same id."""
        key = json.dumps([self.origin, self.position, self.step, self.payload], ensure_ascii=False)
        return hashlib.blake2b(key.encode("utf-8"), digest_size=12).hexdigest()

    def as_row(self) -> tuple[Any, ...]:
        """The values in ``COLUMNS`` order, ready for a row-oriented insert."""
        return tuple(getattr(self, name) for name in self.COLUMNS)


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One revision of an emerging-issue alert or a customer case: one row of ``alerts``.

    ``id`` is stable for an incident (the same incident keeps it across replays and
    restarts); each state change writes a new ``revision`` and ``alerts FINAL`` shows the
    latest. Times are event time. ``scale`` names the window whose evidence opened it
    (``1m``, ``5m``, ``10m``, ``15m``, ``60m``; empty for a case), ``summary`` is a one-line
    Vietnamese account of what, where and how much, refreshed with every revision, and
    ``headline`` the summary as of the opening (or the latest change of severity): what a
    notification shows. ``conversation_id`` is the chat conversation of a case.
    """

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "id",
        "revision",
        "kind",
        "status",
        "severity",
        "key_type",
        "topic",
        "channel",
        "brand",
        "product",
        "phrase",
        "window_start",
        "window_end",
        "observed",
        "expected",
        "score",
        "top_terms",
        "channel_breakdown",
        "sample_ids",
        "sample_texts",
        "opened_at",
        "updated_at",
        "resolved_at",
        "detector_version",
        "scale",
        "summary",
        "headline",
        "conversation_id",
    )

    id: str
    revision: int
    kind: str
    status: str
    severity: str
    key_type: str
    topic: str
    channel: str
    brand: str
    product: str
    phrase: str
    window_start: datetime
    window_end: datetime
    observed: float
    expected: float
    score: float
    top_terms: tuple[str, ...]
    channel_breakdown: dict[str, int]
    sample_ids: tuple[str, ...]
    sample_texts: tuple[str, ...]
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    detector_version: str
    scale: str = ""
    summary: str = ""
    headline: str = ""
    conversation_id: str = ""

    def as_row(self) -> tuple[Any, ...]:
        """The values in ``COLUMNS`` order, ready for a row-oriented insert."""
        return tuple(getattr(self, name) for name in self.COLUMNS)


@dataclass(frozen=True, slots=True)
class LateItem:
    """A message that arrived after its event-time window closed: one row of ``late_items``."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "id",
        "stage",
        "source",
        "channel",
        "created_at",
        "watermark",
        "seen_at",
    )

    id: str
    stage: str
    source: str
    channel: str
    created_at: datetime
    watermark: datetime
    seen_at: datetime

    def as_row(self) -> tuple[Any, ...]:
        """The values in ``COLUMNS`` order, ready for a row-oriented insert."""
        return tuple(getattr(self, name) for name in self.COLUMNS)


#: Table name of each row type, for sinks and schema checks.
TABLES: dict[str, tuple[str, ...]] = {
    "messages": StoredMessage.COLUMNS,
    "dead_letters": DeadLetter.COLUMNS,
    "alerts": AlertRow.COLUMNS,
    "late_items": LateItem.COLUMNS,
}

#: The time column each table is partitioned by month on (``PARTITION BY toYYYYMM(...)``).
PARTITION_COLUMNS: dict[str, str] = {
    "messages": "created_at",
    "dead_letters": "received_at",
    "alerts": "opened_at",
    "late_items": "created_at",
}
