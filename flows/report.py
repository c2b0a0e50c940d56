"""What CX ops ask first, as parameterized queries: volume, sentiment, topics, latest negatives.

Every query takes a time range (event time, half-open ``[start, end)``) and optional filters;
an empty filter matches everything. SQL is static text with ``{name:Type}`` parameters.
Agent turns of chats are not customer voice and are left out of every figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

_FILTER = """
    created_at >= {start:DateTime64(3, 'UTC')} AND created_at < {end:DateTime64(3, 'UTC')}
    AND role != 'agent'
    AND ({source:String} = '' OR source = {source:String})
    AND ({channel:String} = '' OR channel = {channel:String})
    AND ({brand:String} = '' OR brand = {brand:String})
    AND ({product:String} = '' OR product = {product:String})
    AND ({topic:String} = '' OR has(topics, {topic:String}))
"""

VOLUME_SQL = f"""
SELECT source, channel, count() AS messages,
       countIf(sentiment = 'negative') / count() AS negative_share
FROM messages FINAL
WHERE {_FILTER}
GROUP BY source, channel
ORDER BY messages DESC, source, channel
"""  # noqa: S608 - constant text; values are bound parameters

SENTIMENT_SQL = f"""
SELECT sentiment, count() AS messages, count() / sum(count()) OVER () AS share
FROM messages FINAL
WHERE {_FILTER}
GROUP BY sentiment
ORDER BY sentiment
"""  # noqa: S608

TOPICS_SQL = f"""
SELECT topic, count() AS messages,
       countIf(topic_sentiment = 'negative') / count() AS negative_share,
       countIf(topic_sentiment = 'positive') / count() AS positive_share
FROM messages FINAL
ARRAY JOIN topics AS topic, topic_sentiments AS topic_sentiment
WHERE {_FILTER}
GROUP BY topic
ORDER BY messages DESC, topic
LIMIT {{limit:UInt32}}
"""  # noqa: S608

NEGATIVE_SQL = f"""
SELECT created_at, source, channel, brand, topics, sentiment_score, text, id
FROM messages FINAL
WHERE {_FILTER} AND sentiment = 'negative'
ORDER BY created_at DESC, id
LIMIT {{limit:UInt32}}
"""  # noqa: S608

#: Dead letters have no event time: they count by wall-clock arrival since the range start.
DEAD_LETTERS_SQL = """
SELECT step, error_type, count() AS payloads, max(received_at) AS latest, any(reason) AS example
FROM dead_letters FINAL
WHERE received_at >= {since:DateTime64(3, 'UTC')}
GROUP BY step, error_type
ORDER BY payloads DESC, step, error_type
"""

ALERTS_SQL = """
SELECT id, kind, status, severity, key_type, topic, channel, brand, phrase,
       window_start, observed, expected, score, sample_texts
FROM alerts FINAL
WHERE updated_at >= {start:DateTime64(3, 'UTC')} AND opened_at < {end:DateTime64(3, 'UTC')}
ORDER BY status = 'open' DESC, opened_at DESC
LIMIT {limit:UInt32}
"""


@dataclass(frozen=True)
class Filters:
    """Optional filters; empty strings match everything."""

    source: str = ""
    channel: str = ""
    brand: str = ""
    product: str = ""
    topic: str = ""

    def describe(self) -> str:
        """The filters that are set, as ``name=value`` pairs."""
        given = [f"{k}={v}" for k, v in vars(self).items() if v]
        return ", ".join(given) or "none"


@dataclass(frozen=True)
class TimeRange:
    """A half-open event-time range in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def last(cls, span: timedelta, now: datetime | None = None) -> TimeRange:
        """The span ending now."""
        end = now or datetime.now(UTC)
        return cls(end - span, end)


@dataclass(frozen=True)
class Report:
    """The figures of one report: each a list of result rows (tuples) with column names."""

    range: TimeRange
    filters: Filters
    volume: list[tuple[Any, ...]] = field(default_factory=list)
    sentiment: list[tuple[Any, ...]] = field(default_factory=list)
    topics: list[tuple[Any, ...]] = field(default_factory=list)
    negatives: list[tuple[Any, ...]] = field(default_factory=list)
    dead_letters: list[tuple[Any, ...]] = field(default_factory=list)
    alerts: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Messages in range (customer voice only)."""
        return sum(int(row[2]) for row in self.volume)


def _params(time_range: TimeRange, filters: Filters, **extra: Any) -> dict[str, Any]:
    return {"start": time_range.start, "end": time_range.end, **vars(filters), **extra}


def build_report(
    client: Client,
    time_range: TimeRange,
    filters: Filters = Filters(),
    *,
    top_topics: int = 10,
    latest_negative: int = 5,
    alerts: int = 10,
) -> Report:
    """Run every query of the report."""
    params = _params(time_range, filters)

    def rows(sql: str, **extra: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in client.query(sql, parameters={**params, **extra}).result_rows]

    return Report(
        range=time_range,
        filters=filters,
        volume=rows(VOLUME_SQL),
        sentiment=rows(SENTIMENT_SQL),
        topics=rows(TOPICS_SQL, limit=top_topics),
        negatives=rows(NEGATIVE_SQL, limit=latest_negative),
        dead_letters=rows(DEAD_LETTERS_SQL, since=time_range.start),
        alerts=rows(ALERTS_SQL, limit=alerts),
    )
