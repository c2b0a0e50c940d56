"""Topic trends and aspect sentiment: for product teams, per product and period.

Every panel filters on source, channel, brand, product and topic (multi-value, with All).
The per-minute rollups have no product column, so this board reads ``messages FINAL``:
the product filter then applies everywhere. Day panels bucket by Vietnam days
(``toStartOfDay(created_at, 'Asia/Ho_Chi_Minh')``); ``$__timeInterval`` would align days to
UTC, which cuts a Vietnam day at 07:00.
"""

from __future__ import annotations

from grafana.boards.common import (
    BRAND,
    CHANNEL,
    PRODUCT,
    SENTIMENT_COLORS,
    SOURCE,
    TIMEZONE,
    TOPIC,
    Board,
    all_of,
    bar_panel,
    has_any_variable,
    in_variable,
    series_panel,
    series_query,
    table_panel,
    table_query,
)

UID = "voc-topics"

_SCOPE = (
    "$__timeFilter(created_at)",
    "role != 'agent'",
    in_variable("source"),
    in_variable("channel"),
    in_variable("brand"),
    in_variable("product"),
)

#: Per message: the scope plus "mentions a selected topic".
MESSAGE_FILTER = all_of(*_SCOPE, has_any_variable("topics", "topic"))
#: Per topic mention (after ``ARRAY JOIN topics AS topic``): only the selected topics.
TOPIC_FILTER = all_of(*_SCOPE, in_variable("topic"))

_DAY = f"toStartOfDay(created_at, '{TIMEZONE}')"

HOURLY_VOLUME = series_query(
    f"""
SELECT toStartOfHour(created_at) AS time, topic, count() AS messages
FROM messages FINAL
ARRAY JOIN topics AS topic
WHERE {TOPIC_FILTER}
GROUP BY time, topic
ORDER BY time, topic
""",
    "time",
    "topic",
    "messages",
)

HOURLY_NEGATIVE_SHARE = series_query(
    f"""
SELECT toStartOfHour(created_at) AS time, topic,
       countIf(topic_sentiment = 'negative') / count() AS negative_share
FROM messages FINAL
ARRAY JOIN topics AS topic, topic_sentiments AS topic_sentiment
WHERE {TOPIC_FILTER}
GROUP BY time, topic
ORDER BY time, topic
""",
    "time",
    "topic",
    "negative_share",
)

DAILY_VOLUME = series_query(
    f"""
SELECT {_DAY} AS time, topic, count() AS messages
FROM messages FINAL
ARRAY JOIN topics AS topic
WHERE {TOPIC_FILTER}
GROUP BY time, topic
ORDER BY time, topic
""",
    "time",
    "topic",
    "messages",
)

DAILY_SUMMARY = table_query(
    f"""
SELECT toDate(created_at, '{TIMEZONE}') AS day, topic, count() AS messages,
       countIf(topic_sentiment = 'negative') / count() AS negative_share,
       countIf(topic_sentiment = 'positive') / count() AS positive_share,
       uniqExact(channel) AS channels,
       uniqExactIf(product, product != '') AS products
FROM messages FINAL
ARRAY JOIN topics AS topic, topic_sentiments AS topic_sentiment
WHERE {TOPIC_FILTER}
GROUP BY day, topic
ORDER BY day DESC, messages DESC, topic
LIMIT 500
""",
    "day",
    "topic",
    "messages",
    "negative_share",
    "positive_share",
    "channels",
    "products",
)

ASPECTS = table_query(
    f"""
SELECT aspect, count() AS mentions,
       countIf(aspect_sentiment = 'negative') / mentions AS negative_share,
       countIf(aspect_sentiment = 'neutral') / mentions AS neutral_share,
       countIf(aspect_sentiment = 'positive') / mentions AS positive_share,
       (countIf(aspect_sentiment = 'positive') - countIf(aspect_sentiment = 'negative'))
         / mentions AS net_sentiment
FROM messages FINAL
ARRAY JOIN aspects AS aspect, aspect_sentiments AS aspect_sentiment
WHERE {MESSAGE_FILTER}
GROUP BY aspect
ORDER BY mentions DESC, aspect
LIMIT 50
""",
    "aspect",
    "mentions",
    "negative_share",
    "neutral_share",
    "positive_share",
    "net_sentiment",
)

ASPECT_SENTIMENT_BARS = table_query(
    f"""
SELECT aspect,
       countIf(aspect_sentiment = 'negative') AS negative,
       countIf(aspect_sentiment = 'neutral') AS neutral,
       countIf(aspect_sentiment = 'positive') AS positive
FROM messages FINAL
ARRAY JOIN aspects AS aspect, aspect_sentiments AS aspect_sentiment
WHERE {MESSAGE_FILTER}
GROUP BY aspect
ORDER BY count() DESC, aspect
LIMIT 15
""",
    "aspect",
    "negative",
    "neutral",
    "positive",
)

DAILY_ASPECT_NEGATIVE_SHARE = series_query(
    f"""
SELECT {_DAY} AS time, aspect,
       countIf(aspect_sentiment = 'negative') / count() AS negative_share
FROM messages FINAL
ARRAY JOIN aspects AS aspect, aspect_sentiments AS aspect_sentiment
WHERE {MESSAGE_FILTER}
  AND aspect IN (
    SELECT aspect
    FROM messages FINAL
    ARRAY JOIN aspects AS aspect
    WHERE {MESSAGE_FILTER}
    GROUP BY aspect
    ORDER BY count() DESC, aspect
    LIMIT 8
  )
GROUP BY time, aspect
ORDER BY time, aspect
""",
    "time",
    "aspect",
    "negative_share",
)

TOPIC_BY_CHANNEL = table_query(
    f"""
SELECT topic, channel, count() AS messages,
       countIf(topic_sentiment = 'negative') / count() AS negative_share
FROM messages FINAL
ARRAY JOIN topics AS topic, topic_sentiments AS topic_sentiment
WHERE {TOPIC_FILTER}
GROUP BY topic, channel
ORDER BY messages DESC, topic, channel
LIMIT 100
""",
    "topic",
    "channel",
    "messages",
    "negative_share",
)

MESSAGES = table_query(
    f"""
SELECT created_at, channel, brand, product, sentiment,
       arrayStringConcat(arrayMap((t, s) -> concat(t, ' (', s, ')'), topics, topic_sentiments),
                         ', ') AS topic_detail,
       arrayStringConcat(arrayMap((a, s) -> concat(a, ' (', s, ')'), aspects, aspect_sentiments),
                         ', ') AS aspect_detail,
       text, id
FROM messages FINAL
WHERE {MESSAGE_FILTER}
ORDER BY created_at DESC, id
LIMIT 200
""",
    "created_at",
    "channel",
    "brand",
    "product",
    "sentiment",
    "topic_detail",
    "aspect_detail",
    "text",
    "id",
)


def build() -> Board:
    """The topic trends and aspect sentiment board."""
    board = Board(
        UID,
        "VoC · Topic trends and aspect sentiment",
        "What customers talk about and how they feel about each product aspect, hour by hour "
        "and day by day (Vietnam days), for any source, channel, brand, product and topic.",
        ("cx", "product"),
        time_from="now-7d/d",
        refresh="5m",
    )
    for spec in (SOURCE, CHANNEL, BRAND, PRODUCT, TOPIC):
        board.variable(spec)

    board.row("Hourly trends")
    board.add(
        series_panel(
            "Mentions per hour by topic",
            "How many messages mention each selected topic, per hour.",
            span=12,
            label="topic",
        ),
        HOURLY_VOLUME,
    )
    board.add(
        series_panel(
            "Negative share per hour by topic",
            "Share of a topic's mentions that are negative about it, per hour. Few mentions in "
            "an hour make the share jumpy: read it with the volume beside it.",
            unit="percentunit",
            span=12,
            label="topic",
            max_value=1,
        ),
        HOURLY_NEGATIVE_SHARE,
    )

    board.row("Day by day (Vietnam days)")
    board.add(
        series_panel(
            "Mentions per day by topic",
            "Mentions per Vietnam calendar day (00:00 to 24:00, UTC+7) and topic.",
            bars=True,
            stacked=True,
            span=12,
            label="topic",
        ),
        DAILY_VOLUME,
    )
    board.add(
        table_panel(
            "Daily topic summary",
            "Per Vietnam day and topic: mentions, negative and positive share, and how many "
            "channels and products they came from.",
            span=12,
            height=8,
            shares=("negative_share", "positive_share"),
        ),
        DAILY_SUMMARY,
    )

    board.row("Aspect sentiment")
    board.add(
        table_panel(
            "Aspects: mentions and sentiment",
            "Product aspects customers comment on (battery, size, taste...), with the share of "
            "negative, neutral and positive opinions and the net sentiment (positive minus "
            "negative share).",
            span=12,
            height=9,
            shares=("negative_share", "neutral_share", "positive_share"),
            units={"net_sentiment": "percentunit"},
        ),
        ASPECTS,
    )
    board.add(
        bar_panel(
            "Opinions per aspect",
            "The 15 most mentioned aspects, split by sentiment.",
            x_field="aspect",
            stacked=True,
            horizontal=True,
            span=12,
            height=9,
            colors=SENTIMENT_COLORS,
        ),
        ASPECT_SENTIMENT_BARS,
    )
    board.add(
        series_panel(
            "Negative share per day, top aspects",
            "For the 8 most mentioned aspects: the share of negative opinions per Vietnam day. "
            "Did the last release fix the battery complaints?",
            unit="percentunit",
            span=24,
            label="aspect",
            max_value=1,
        ),
        DAILY_ASPECT_NEGATIVE_SHARE,
    )

    board.row("Details")
    board.add(
        table_panel(
            "Topic by channel",
            "Where each topic is discussed and how negatively.",
            span=8,
            height=10,
            shares=("negative_share",),
        ),
        TOPIC_BY_CHANNEL,
    )
    board.add(
        table_panel(
            "Messages for the selected filters",
            "The 200 most recent messages behind the panels above, with topic and aspect "
            "sentiments (PII redacted).",
            span=16,
            height=10,
            widths={"created_at": 160, "text": 500},
            colors={"sentiment": SENTIMENT_COLORS},
        ),
        MESSAGES,
    )
    return board
