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
    """Customer messages of one source and channel.

    ``conversations`` counts the distinct chats behind the turns (0 for other sources) and
    ``reach`` sums the audience of social posts (0 for other sources).
    """

    source: str
    channel: str
    messages: int
    negative_share: float
    conversations: int
    reach: int


class SentimentRow(NamedTuple):
    """Customer messages of one sentiment and their share of the total."""

    sentiment: str
    messages: int
    share: float


class TopicRow(NamedTuple):
    """Customer messages about one topic, now and in the previous period of the same length.

    Negative and positive are the sentiment *toward the topic* (``topic_sentiments``), not
    the message's; a previous share is ``None`` when the previous period had no message.
    """

    topic: str
    messages: int
    negative_share: float
    positive_share: float
    previous_messages: int
    previous_negative_share: float | None


class PeriodTotals(NamedTuple):
    """Customer messages and their negative share (message sentiment), now and before.

    ``rating`` is the average star rating of reviews; ``None`` where there was none.
    """

    messages: int
    negative_share: float | None
    rating: float | None
    previous_messages: int
    previous_negative_share: float | None
    previous_rating: float | None


class RatingRow(NamedTuple):
    """Rated reviews in one bucket of the range: how many, the average, the 1-2 star share."""

    bucket_start: datetime
    reviews: int
    average: float
    low_share: float


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

#: Customer voice matching the filters, compared without case (each report query adds its
#: time condition).
_KEYS = """
    role != 'agent'
    AND ({source:String} = '' OR lowerUTF8(source) = lowerUTF8({source:String}))
    AND ({channel:String} = '' OR lowerUTF8(channel) = lowerUTF8({channel:String}))
    AND ({brand:String} = '' OR lowerUTF8(brand) = lowerUTF8({brand:String}))
    AND ({product:String} = '' OR lowerUTF8(product) = lowerUTF8({product:String}))
    AND ({topic:String} = ''
         OR arrayExists(t -> lowerUTF8(t) = lowerUTF8({topic:String}), topics))
"""

#: The report's range.
_NOW = "created_at >= {start:DateTime64(3, 'UTC')} AND created_at < {end:DateTime64(3, 'UTC')}"

#: The previous period of the same length and the report's range together.
_BOTH = (
    "created_at >= {previous_start:DateTime64(3, 'UTC')} "
    "AND created_at < {end:DateTime64(3, 'UTC')}"
)

#: Whether a row of a ``_BOTH`` query is in the report's range (else the previous period).
_CURRENT = "created_at >= {start:DateTime64(3, 'UTC')}"

_FILTER = f"{_NOW} AND {_KEYS}"

VOLUME_SQL = f"""
SELECT source, channel, count() AS messages,
       countIf(sentiment = 'negative') / count() AS negative_share,
       uniqExactIf(conversation_id, source = 'chat' AND conversation_id != '') AS conversations,
       toUInt64(sumIf(ifNull(reach, 0), source = 'social')) AS reach
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

TOTALS_SQL = f"""
SELECT countIf({_CURRENT}) AS messages,
       if(messages = 0, NULL, countIf({_CURRENT} AND sentiment = 'negative') / messages),
       avgIfOrNull(rating, {_CURRENT} AND source = 'review' AND rating IS NOT NULL),
       countIf(NOT ({_CURRENT})) AS previous_messages,
       if(previous_messages = 0, NULL,
          countIf(NOT ({_CURRENT}) AND sentiment = 'negative') / previous_messages),
       avgIfOrNull(rating, NOT ({_CURRENT}) AND source = 'review' AND rating IS NOT NULL)
FROM messages FINAL
WHERE {_BOTH} AND {_KEYS}
"""  # noqa: S608

TOPICS_SQL = f"""
SELECT topic,
       countIf({_CURRENT}) AS messages,
       if(messages = 0, 0, countIf({_CURRENT} AND topic_sentiment = 'negative') / messages),
       if(messages = 0, 0, countIf({_CURRENT} AND topic_sentiment = 'positive') / messages),
       countIf(NOT ({_CURRENT})) AS previous_messages,
       if(previous_messages = 0, NULL,
          countIf(NOT ({_CURRENT}) AND topic_sentiment = 'negative') / previous_messages)
FROM messages FINAL
ARRAY JOIN topics AS topic, topic_sentiments AS topic_sentiment
WHERE {_BOTH} AND {_KEYS}
GROUP BY topic
ORDER BY messages DESC, previous_messages DESC, topic
LIMIT {{limit:UInt32}}
"""  # noqa: S608

#: Rated reviews per bucket of ``step_ms`` milliseconds counted from the range start.
RATINGS_SQL = f"""
SELECT intDiv(toUnixTimestamp64Milli(created_at) - {{start_ms:Int64}}, {{step_ms:Int64}}) AS bucket,
       count() AS reviews, avg(rating) AS average, countIf(rating <= 2) / count() AS low_share
FROM messages FINAL
WHERE {_FILTER} AND source = 'review' AND rating IS NOT NULL
GROUP BY bucket
ORDER BY bucket
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
SELECT step, error_type, count() AS payloads, max(received_at) AS latest,
       argMax(reason, (received_at, reason)) AS example
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

#: Bucket lengths of the rating trend: the shortest that splits a range into at most 8.
_STEPS = tuple(
    timedelta(minutes=m)
    for m in (1, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 10080, 20160, 43200)
)


def trend_step(span: timedelta, buckets: int = 8) -> timedelta:
    """The bucket length of a trend over ``span``: the shortest of at most ``buckets``."""
    for step in _STEPS:
        if span <= step * buckets:
            return step
    return _STEPS[-1]


@dataclass(frozen=True)
class Filters:
    """Optional filters, compared without case; empty strings match everything."""

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

    @property
    def previous(self) -> TimeRange:
        """The period of the same length just before this one."""
        return TimeRange(self.start - (self.end - self.start), self.start)


_NO_TOTALS = PeriodTotals(0, None, None, 0, None, None)


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
    totals: PeriodTotals = _NO_TOTALS
    ratings: list[RatingRow] = field(default_factory=list)
    rating_step: timedelta = timedelta(hours=1)

    @property
    def total(self) -> int:
        """Messages in range (customer voice only)."""
        return sum(int(row.messages) for row in self.volume)

    @property
    def conversations(self) -> int:
        """Distinct chat conversations behind the customer turns in range."""
        return sum(int(row.conversations) for row in self.volume)


def build_report(
    client: Client,
    time_range: TimeRange,
    filters: Filters = Filters(),
    *,
    top_topics: int = 10,
    latest_negative: int = 5,
    alerts: int = 10,
) -> Report:
    """Run every query of the report (changes are against :attr:`TimeRange.previous`)."""
    step = trend_step(time_range.end - time_range.start)
    params = {
        "start": time_range.start,
        "end": time_range.end,
        "previous_start": time_range.previous.start,
        **vars(filters),
    }

    def rows(sql: str, **extra: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in client.query(sql, parameters={**params, **extra}).result_rows]

    start_ms = int(time_range.start.timestamp() * 1000)
    step_ms = int(step.total_seconds() * 1000)
    ratings = [
        RatingRow(time_range.start + step * int(bucket), int(n), float(avg), float(low))
        for bucket, n, avg, low in rows(RATINGS_SQL, start_ms=start_ms, step_ms=step_ms)
    ]
    (totals,) = rows(TOTALS_SQL)
    return Report(
        range=time_range,
        filters=filters,
        volume=[VolumeRow(*r) for r in rows(VOLUME_SQL)],
        sentiment=[SentimentRow(*r) for r in rows(SENTIMENT_SQL)],
        topics=[TopicRow(*r) for r in rows(TOPICS_SQL, limit=top_topics)],
        negatives=[NegativeRow(*r) for r in rows(NEGATIVE_SQL, limit=latest_negative)],
        dead_letters=[DeadLetterGroup(*r) for r in rows(DEAD_LETTERS_SQL)],
        alerts=[AlertBrief(*r) for r in rows(REPORT_ALERTS_SQL, limit=alerts)],
        totals=PeriodTotals(*totals),
        ratings=ratings,
        rating_step=step,
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


# -- drill-down: messages and conversations ---------------------------------------------------


class MessageRow(NamedTuple):
    """One stored message as the drill-down lists it (text PII-redacted)."""

    id: str
    created_at: datetime
    source: str
    channel: str
    brand: str
    product: str
    rating: int | None
    sentiment: str
    sentiment_score: float
    topics: list[str]
    topic_sentiments: list[str]
    flags: list[str]
    conversation_id: str
    role: str
    reach: int | None
    text: str


@dataclass(frozen=True)
class MessageQuery:
    """Which messages to list: every field narrows, an empty one matches everything.

    Values are the stored spellings (see :func:`match_values`); several values of one field
    match any of them. ``sentiment`` is the sentiment toward one of ``topics`` when topics
    are given (the meaning of the report's topic table), the message's otherwise. ``pattern``
    is a ``LIKE`` pattern on ``text_search`` (normalized, without diacritics; see
    :func:`like_pattern`).
    """

    time_range: TimeRange
    sources: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    conversations: tuple[str, ...] = ()
    ratings: tuple[int, ...] = ()
    sentiment: str = ""
    pattern: str = ""
    limit: int = 50

    def parameters(self) -> dict[str, Any]:
        """The query's bound parameters."""
        return {
            "start": self.time_range.start,
            "end": self.time_range.end,
            "sources": list(self.sources),
            "channels": list(self.channels),
            "brands": list(self.brands),
            "products": list(self.products),
            "topics": list(self.topics),
            "flags": list(self.flags),
            "conversations": list(self.conversations),
            "ratings": list(self.ratings),
            "sentiment": self.sentiment,
            "pattern": self.pattern,
            "limit": self.limit,
        }


_MESSAGE_FILTER = """
    created_at >= {start:DateTime64(3, 'UTC')} AND created_at < {end:DateTime64(3, 'UTC')}
    AND role != 'agent'
    AND (empty({sources:Array(String)}) OR has({sources:Array(String)}, source))
    AND (empty({channels:Array(String)}) OR has({channels:Array(String)}, channel))
    AND (empty({brands:Array(String)}) OR has({brands:Array(String)}, brand))
    AND (empty({products:Array(String)}) OR has({products:Array(String)}, product))
    AND (empty({topics:Array(String)}) OR hasAny(topics, {topics:Array(String)}))
    AND (empty({flags:Array(String)}) OR hasAny(flags, {flags:Array(String)}))
    AND (empty({conversations:Array(String)})
         OR has({conversations:Array(String)}, conversation_id))
    AND (empty({ratings:Array(UInt8)})
         OR (rating IS NOT NULL AND has({ratings:Array(UInt8)}, assumeNotNull(rating))))
    AND ({sentiment:String} = ''
         OR (empty({topics:Array(String)}) AND sentiment = {sentiment:String})
         OR arrayExists((t, s) -> has({topics:Array(String)}, t) AND s = {sentiment:String},
                        topics, topic_sentiments))
    AND ({pattern:String} = '' OR text_search LIKE {pattern:String})
"""

MESSAGES_SQL = f"""
SELECT id, created_at, source, channel, brand, product, rating, sentiment, sentiment_score,
       topics, topic_sentiments, flags, conversation_id, role, reach, text
FROM messages FINAL
WHERE {_MESSAGE_FILTER}
ORDER BY created_at DESC, id
LIMIT {{limit:UInt32}}
"""  # noqa: S608 - constant text; values are bound parameters

MESSAGES_COUNT_SQL = f"""
SELECT count() FROM messages FINAL WHERE {_MESSAGE_FILTER}
"""  # noqa: S608


def like_pattern(folded: str) -> str:
    """A ``LIKE`` pattern matching the words of ``folded`` in their order, anything between.

    "giao hang cham" finds "giao hàng quá chậm" as well as "giao hàng chậm"; percent,
    underscore and backslash are literal.
    """
    words = [
        w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in folded.split()
    ]
    return "%" + "%".join(words) + "%"


def fetch_messages(client: Client, query: MessageQuery) -> tuple[int, list[MessageRow]]:
    """How many messages match, and the newest ``query.limit`` of them, newest first."""
    params = query.parameters()
    (count,) = client.query(MESSAGES_COUNT_SQL, parameters=params).result_rows[0]
    rows = client.query(MESSAGES_SQL, parameters=params).result_rows
    return int(count), [MessageRow(*row) for row in rows]


class TurnRow(NamedTuple):
    """One turn of a chat conversation (text PII-redacted)."""

    id: str
    created_at: datetime
    role: str
    channel: str
    brand: str
    product: str
    sentiment: str
    sentiment_score: float
    topics: list[str]
    flags: list[str]
    text: str


CONVERSATION_SQL = """
SELECT id, created_at, role, channel, brand, product, sentiment, sentiment_score, topics, flags,
       text
FROM messages FINAL
WHERE conversation_id = {conversation:String}
ORDER BY created_at, id
"""


def fetch_conversation(client: Client, conversation_id: str) -> list[TurnRow]:
    """Every turn of one conversation, customer and agent, in order."""
    rows = client.query(CONVERSATION_SQL, parameters={"conversation": conversation_id})
    return [TurnRow(*row) for row in rows.result_rows]


# -- the values a filter can take --------------------------------------------------------------

#: Each filterable field: the FROM clause that yields it as ``value`` (constant text).
_VALUE_SOURCES = {
    "source": "(SELECT source AS value FROM messages)",
    "channel": "(SELECT channel AS value FROM messages)",
    "brand": "(SELECT brand AS value FROM messages)",
    "product": "(SELECT product AS value FROM messages)",
    "topic": "(SELECT topic AS value FROM messages ARRAY JOIN topics AS topic)",
    "flag": "(SELECT flag AS value FROM messages ARRAY JOIN flags AS flag)",
    "conversation": "(SELECT conversation_id AS value FROM messages)",
}

#: The stored spellings of a value, compared without case.
MATCH_SQL = {
    name: f"""
SELECT DISTINCT value FROM {source}
WHERE value != '' AND lowerUTF8(value) = lowerUTF8({{value:String}})
ORDER BY value
"""  # noqa: S608 - the FROM clauses are the constants above
    for name, source in _VALUE_SOURCES.items()
}

#: The most frequent values of a field, and how many distinct values it has.
KNOWN_SQL = {
    name: f"""
SELECT groupArray({{limit:UInt32}})(value), any(total)
FROM (
    SELECT value, count() AS n, uniqExact(value) OVER () AS total
    FROM {source}
    WHERE value != ''
    GROUP BY value
    ORDER BY n DESC, value
)
"""  # noqa: S608 - the FROM clauses are the constants above
    for name, source in _VALUE_SOURCES.items()
}


class KnownValues(NamedTuple):
    """The most frequent stored values of a field (at most the limit asked) and their number."""

    values: list[str]
    total: int


FILTER_FIELDS = tuple(_VALUE_SOURCES)


def match_values(client: Client, field_name: str, value: str) -> list[str]:
    """The stored spellings of ``value`` in a field (``FILTER_FIELDS``), ignoring case."""
    rows = client.query(MATCH_SQL[field_name], parameters={"value": value}).result_rows
    return [str(r[0]) for r in rows]


def known_values(client: Client, field_name: str, limit: int = 20) -> KnownValues:
    """The ``limit`` most frequent values of a field, and how many distinct values it has."""
    rows = client.query(KNOWN_SQL[field_name], parameters={"limit": limit}).result_rows
    if not rows:
        return KnownValues([], 0)
    values, total = rows[0]
    return KnownValues([str(v) for v in values], int(total or 0))


# -- store housekeeping -----------------------------------------------------------------------

DATA_TABLES_SQL = """
SELECT name FROM system.tables WHERE database = currentDatabase()
  AND engine NOT IN ('MaterializedView', 'View') AND name != 'schema_migrations'
ORDER BY name
"""


def data_tables(client: Client) -> list[str]:
    """The tables holding data (not views, not the migration log)."""
    return [str(r[0]) for r in client.query(DATA_TABLES_SQL).result_rows]


# -- product teams' SQL ---------------------------------------------------------------------


class TableInfo(NamedTuple):
    """A table or view of the database, what it holds and its comment."""

    name: str
    engine: str
    rows: int | None
    comment: str


class ColumnInfo(NamedTuple):
    """A column of a table, its type and its comment."""

    name: str
    type: str
    comment: str


TABLES_SQL = """
SELECT name, engine, total_rows, comment
FROM system.tables
WHERE database = currentDatabase() AND NOT is_temporary
ORDER BY engine LIKE '%View' , name
"""

COLUMNS_SQL = """
SELECT name, type, comment
FROM system.columns
WHERE database = currentDatabase() AND table = {table:String}
ORDER BY position
"""

ALL_COLUMNS_SQL = """
SELECT DISTINCT name FROM system.columns WHERE database = currentDatabase() ORDER BY name
"""


def list_tables(client: Client) -> list[TableInfo]:
    """The tables of the database first, then its views, each by name."""
    return [TableInfo(*row) for row in client.query(TABLES_SQL).result_rows]


def describe_table(client: Client, table: str) -> list[ColumnInfo]:
    """The columns of one table in order (empty when there is no such table)."""
    rows = client.query(COLUMNS_SQL, parameters={"table": table}).result_rows
    return [ColumnInfo(*row) for row in rows]


def column_names(client: Client) -> list[str]:
    """Every column name of the database's tables (for completion)."""
    return [str(r[0]) for r in client.query(ALL_COLUMNS_SQL).result_rows]


class SqlResult(NamedTuple):
    """What one statement returned: columns, their types, the zone of time columns, rows.

    ``zones`` names the time zone of each date-time column (``None`` for other columns): the
    values of such a column are in that zone. ``written`` is the number of rows a write
    statement wrote, ``None`` for a read.
    """

    columns: list[str]
    types: list[str]
    zones: list[str | None]
    rows: list[tuple[Any, ...]]
    written: int | None = None


def _zone(column_type: Any, server_zone: str) -> str | None:
    name = str(getattr(column_type, "name", ""))
    if "DateTime" not in name or name.startswith(("Array", "Map", "Tuple")):
        return None
    zone = getattr(column_type, "tzinfo", None)
    return str(zone) if zone is not None else server_zone


def run_sql(client: Client, statement: str, *, write: bool = False) -> SqlResult:
    """Run one statement of a person's SQL; only reads unless ``write``.

    A write without ``write`` is refused before it reaches the database; a read runs with
    ``readonly=2`` on the embedded engine as well. Database errors become
    :class:`~schemas.errors.QueryError` with ClickHouse's message.
    """
    from clickhouse_connect.driver.exceptions import ClickHouseError

    from flows.sqltext import first_keyword, is_read
    from schemas.errors import QueryError

    if not is_read(statement):
        if not write:
            keyword = first_keyword(statement) or "this statement"
            msg = (
                f"{keyword} is not a read statement (SELECT, WITH, SHOW, DESCRIBE, EXISTS, "
                "EXPLAIN): check its spelling, or give --write to change data or tables"
            )
            raise QueryError(msg)
        try:
            summary = client.command(statement)
        except ClickHouseError as exc:
            raise QueryError(_first_line(exc)) from exc
        written = getattr(summary, "written_rows", 0)  # a QuerySummary; DDL may return text
        return SqlResult([], [], [], [], int(written or 0))
    settings = {"readonly": 2} if type(client).__name__ == "ChdbClient" else {}
    try:
        result = client.query(statement, settings=settings)
    except ClickHouseError as exc:
        raise QueryError(_first_line(exc)) from exc
    server_zone = str(getattr(client, "server_tz", "UTC"))
    types = list(result.column_types)
    return SqlResult(
        columns=list(result.column_names),
        types=[str(getattr(t, "name", t)) for t in types],
        zones=[_zone(t, server_zone) for t in types],
        rows=[tuple(row) for row in result.result_rows],
    )


def _first_line(exc: Exception) -> str:
    """ClickHouse's message without the driver's wrapping and the appended FORMAT clause."""
    text = " ".join(str(exc).split())
    text = text.replace(" FORMAT Native", "").replace(" FORMAT TabSeparatedWithNamesAndTypes", "")
    return text[:600]
