"""Every read the ``voc`` commands make, as parameterized SQL returning typed rows.

Reports take an event-time range (half-open ``[start, end)``, UTC) and optional filters; an
empty filter matches everything. SQL is static text with ``{name:Type}`` parameters, bound
by the client: the same queries run on embedded chDB and on a ClickHouse server. Agent turns
of chats are not customer voice and are left out of every customer figure.

Rows are ``NamedTuple``s: typed, readable by name, and equal to the plain tuples the client
returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from schemas.rows import AlertRow

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

#: The oldest time ClickHouse's DateTime64 holds: "since the beginning".
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# -- rows -------------------------------------------------------------------------------------


class VolumeRow(NamedTuple):
    """Customer messages of one source and channel."""

    source: str
    channel: str
    messages: int
    negative_share: float


class SentimentRow(NamedTuple):
    """Customer messages of one sentiment and their share of the total."""

    sentiment: str
    messages: int
    share: float


class TopicRow(NamedTuple):
    """Customer messages about one topic and the share negative / positive toward it."""

    topic: str
    messages: int
    negative_share: float
    positive_share: float


class NegativeRow(NamedTuple):
    """One negative customer message (text PII-redacted)."""

    created_at: datetime
    source: str
    channel: str
    brand: str
    topics: list[str]
    score: float
    text: str
    id: str


class DeadLetterGroup(NamedTuple):
    """Dead letters of one step and error type."""

    step: str
    error_type: str
    payloads: int
    latest: datetime
    example: str


class AlertBrief(NamedTuple):
    """An alert as the report lists it."""

    id: str
    kind: str
    status: str
    severity: str
    key_type: str
    topic: str
    channel: str
    brand: str
    phrase: str
    window_start: datetime
    observed: float
    expected: float
    score: float
    sample_texts: list[str]
    scale: str
    summary: str


class DeadLetterRow(NamedTuple):
    """One dead letter (payload and reason PII-redacted)."""

    received_at: datetime
    step: str
    error_type: str
    origin: str
    position: int
    reason: str
    payload: str


# -- the report -------------------------------------------------------------------------------

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

#: Dead letters have no event time: they count by wall-clock arrival within the range.
DEAD_LETTERS_SQL = """
SELECT step, error_type, count() AS payloads, max(received_at) AS latest, any(reason) AS example
FROM dead_letters FINAL
WHERE received_at >= {start:DateTime64(3, 'UTC')} AND received_at < {end:DateTime64(3, 'UTC')}
GROUP BY step, error_type
ORDER BY payloads DESC, step, error_type
"""

#: Detector alerts only: cases (one customer each) have their own list (voc alerts --kind case).
REPORT_ALERTS_SQL = """
SELECT id, kind, status, severity, key_type, topic, channel, brand, phrase,
       window_start, observed, expected, score, sample_texts, scale, summary
FROM alerts FINAL
WHERE updated_at >= {start:DateTime64(3, 'UTC')} AND opened_at < {end:DateTime64(3, 'UTC')}
  AND kind != 'case'
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
    """The figures of one report, each a list of typed rows."""

    range: TimeRange
    filters: Filters
    volume: list[VolumeRow] = field(default_factory=list)
    sentiment: list[SentimentRow] = field(default_factory=list)
    topics: list[TopicRow] = field(default_factory=list)
    negatives: list[NegativeRow] = field(default_factory=list)
    dead_letters: list[DeadLetterGroup] = field(default_factory=list)
    alerts: list[AlertBrief] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Messages in range (customer voice only)."""
        return sum(int(row.messages) for row in self.volume)


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
    params = {"start": time_range.start, "end": time_range.end, **vars(filters)}

    def rows(sql: str, **extra: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in client.query(sql, parameters={**params, **extra}).result_rows]

    return Report(
        range=time_range,
        filters=filters,
        volume=[VolumeRow(*r) for r in rows(VOLUME_SQL)],
        sentiment=[SentimentRow(*r) for r in rows(SENTIMENT_SQL)],
        topics=[TopicRow(*r) for r in rows(TOPICS_SQL, limit=top_topics)],
        negatives=[NegativeRow(*r) for r in rows(NEGATIVE_SQL, limit=latest_negative)],
        dead_letters=[DeadLetterGroup(*r) for r in rows(DEAD_LETTERS_SQL)],
        alerts=[AlertBrief(*r) for r in rows(REPORT_ALERTS_SQL, limit=alerts)],
    )


# -- alerts -----------------------------------------------------------------------------------

#: The columns ALERTS_SQL selects, in order: every column of an alert row.
SELECTED = AlertRow.COLUMNS

ALERTS_SQL = f"""
SELECT {", ".join(SELECTED)}
FROM alerts FINAL
WHERE ((status = 'open' AND {{status:String}} IN ('all', 'open'))
       OR (status = 'resolved' AND {{status:String}} IN ('all', 'resolved')
           AND updated_at >= {{since:DateTime64(3, 'UTC')}}))
  AND (({{kind:String}} = '' AND kind != 'case') OR kind = {{kind:String}})
ORDER BY status = 'open' DESC,
         indexOf(['info', 'warning', 'critical'], severity) DESC,
         updated_at DESC, id
LIMIT {{limit:UInt32}}
"""  # noqa: S608 - the column list is the constant AlertRow.COLUMNS


@dataclass(frozen=True)
class AlertQuery:
    """Which alerts to list."""

    status: str = "all"
    since: datetime = EPOCH
    kind: str = ""
    limit: int = 20


def fetch_alerts(client: Client, query: AlertQuery) -> list[AlertRow]:
    """The latest revision of the selected alerts, most urgent first.

    Without a kind, the detectors' alerts; cases (kind ``case``) only when asked for.
    """
    result = client.query(
        ALERTS_SQL,
        parameters={
            "status": query.status,
            "since": query.since,
            "kind": query.kind,
            "limit": query.limit,
        },
    )
    return [AlertRow(*row) for row in result.result_rows]


# -- dead letters -----------------------------------------------------------------------------

DEAD_LETTER_LIST_SQL = """
SELECT received_at, step, error_type, origin, position, reason, payload
FROM dead_letters FINAL
WHERE ({step:String} = '' OR step = {step:String})
  AND received_at >= {start:DateTime64(3, 'UTC')} AND received_at < {end:DateTime64(3, 'UTC')}
ORDER BY received_at DESC, origin, position
LIMIT {limit:UInt32}
"""


def fetch_dead_letters(
    client: Client, *, step: str = "", time_range: TimeRange | None = None, limit: int = 20
) -> list[DeadLetterRow]:
    """The latest dead letters, newest first (of one step, within a range, when given)."""
    time_range = time_range or TimeRange(EPOCH, datetime(2299, 12, 31, tzinfo=UTC))
    rows = client.query(
        DEAD_LETTER_LIST_SQL,
        parameters={
            "step": step,
            "start": time_range.start,
            "end": time_range.end,
            "limit": limit,
        },
    ).result_rows
    return [DeadLetterRow(*row) for row in rows]


# -- store housekeeping -----------------------------------------------------------------------

DATA_TABLES_SQL = """
SELECT name FROM system.tables WHERE database = currentDatabase()
  AND engine NOT IN ('MaterializedView', 'View') AND name != 'schema_migrations'
ORDER BY name
"""


def data_tables(client: Client) -> list[str]:
    """The tables holding data (not views, not the migration log)."""
    return [str(r[0]) for r in client.query(DATA_TABLES_SQL).result_rows]
