"""CX live overview: how much customers are saying, how they feel, where, and about what.

The CX ops question at 9:00: is anything unusual since yesterday, and which messages are
behind it? Volume and sentiment panels read the per-minute rollups (fast on any range);
panels that show messages read ``messages FINAL``. Agent turns of chats are left out.
"""

from __future__ import annotations

from grafana.boards.common import (
    BRAND,
    CHANNEL,
    NEGATIVE_SHARE_THRESHOLDS,
    SENTIMENT_COLORS,
    SOURCE,
    Board,
    all_of,
    bar_panel,
    in_variable,
    open_alerts_where,
    pie_panel,
    series_panel,
    series_query,
    stat_panel,
    table_panel,
    table_query,
)

UID = "voc-cx-overview"

#: The rollup filters: time range plus source, channel and brand variables.
ROLLUP_FILTER = all_of(
    "$__timeFilter(minute)", in_variable("source"), in_variable("channel"), in_variable("brand")
)

#: The message filters: customer voice only, time range, source, channel and brand.
MESSAGE_FILTER = all_of(
    "$__timeFilter(created_at)",
    "role != 'agent'",
    in_variable("source"),
    in_variable("channel"),
    in_variable("brand"),
)

MESSAGES_TOTAL = table_query(
    f"""
SELECT uniqExactMerge(messages) AS messages
FROM volume_1m
WHERE {ROLLUP_FILTER}
""",
    "messages",
)

SENTIMENT_SHARES = table_query(
    f"""
SELECT negative / greatest(total, 1) AS negative,
       positive / greatest(total, 1) AS positive
FROM (
  SELECT uniqExactMerge(messages) AS total,
         uniqExactMergeIf(messages, sentiment = 'negative') AS negative,
         uniqExactMergeIf(messages, sentiment = 'positive') AS positive
  FROM volume_1m
  WHERE {ROLLUP_FILTER}
)
""",
    "negative",
    "positive",
)

FLAGGED_TOTAL = table_query(
    f"""
SELECT countIf(has(flags, 'urgent')) AS urgent,
       countIf(has(flags, 'churn_risk')) AS churn_risk
FROM messages FINAL
WHERE {MESSAGE_FILTER}
""",
    "urgent",
    "churn_risk",
)

OPEN_ALERTS = table_query(
    f"""
SELECT countIf(severity = 'critical') AS critical,
       countIf(severity = 'warning') AS warning
FROM alerts FINAL
WHERE {open_alerts_where()}
""",
    "critical",
    "warning",
)

VOLUME_BY_SENTIMENT = series_query(
    f"""
SELECT $__timeInterval(minute) AS time, sentiment, uniqExactMerge(messages) AS messages
FROM volume_1m
WHERE {ROLLUP_FILTER}
GROUP BY time, sentiment
ORDER BY time, sentiment
""",
    "time",
    "sentiment",
    "messages",
)

SENTIMENT_SHARE_OVER_TIME = series_query(
    f"""
SELECT time, sentiment, volume / sum(volume) OVER (PARTITION BY time) AS share
FROM (
  SELECT $__timeInterval(minute) AS time, sentiment, uniqExactMerge(messages) AS volume
  FROM volume_1m
  WHERE {ROLLUP_FILTER}
  GROUP BY time, sentiment
)
ORDER BY time, sentiment
""",
    "time",
    "sentiment",
    "share",
)

BY_CHANNEL = table_query(
    f"""
SELECT source, channel, total AS messages,
       negative / total AS negative_share,
       positive / total AS positive_share
FROM (
  SELECT source, channel,
         uniqExactMerge(messages) AS total,
         uniqExactMergeIf(messages, sentiment = 'negative') AS negative,
         uniqExactMergeIf(messages, sentiment = 'positive') AS positive
  FROM volume_1m
  WHERE {ROLLUP_FILTER}
  GROUP BY source, channel
)
ORDER BY messages DESC, source, channel
""",
    "source",
    "channel",
    "messages",
    "negative_share",
    "positive_share",
)

BY_SOURCE = table_query(
    f"""
SELECT source, uniqExactMerge(messages) AS messages
FROM volume_1m
WHERE {ROLLUP_FILTER}
GROUP BY source
ORDER BY source
""",
    "source",
    "messages",
)

BY_BRAND = table_query(
    f"""
SELECT if(brand = '', '(no brand)', brand) AS brand_name, negative, neutral, positive
FROM (
  SELECT brand,
         uniqExactMerge(messages) AS total,
         uniqExactMergeIf(messages, sentiment = 'negative') AS negative,
         uniqExactMergeIf(messages, sentiment = 'neutral') AS neutral,
         uniqExactMergeIf(messages, sentiment = 'positive') AS positive
  FROM volume_1m
  WHERE {ROLLUP_FILTER}
  GROUP BY brand
)
ORDER BY total DESC, brand_name
LIMIT 12
""",
    "brand_name",
    "negative",
    "neutral",
    "positive",
)

#: The same range just before the selected one, for "compared with the period before".
_TWO_PERIODS = all_of(
    "minute >= $__fromTime - ($__toTime - $__fromTime)",
    "minute <= $__toTime",
    in_variable("source"),
    in_variable("channel"),
    in_variable("brand"),
)

TOP_TOPICS = table_query(
    f"""
SELECT topic,
       now_total AS messages,
       now_negative / now_total AS negative_share,
       if(before_total = 0, NULL, before_negative / before_total) AS negative_share_before,
       negative_share - negative_share_before AS negative_share_change,
       now_positive / now_total AS positive_share
FROM (
  SELECT topic,
         uniqExactMergeIf(messages, minute >= $__fromTime) AS now_total,
         uniqExactMergeIf(messages, minute >= $__fromTime AND sentiment = 'negative')
           AS now_negative,
         uniqExactMergeIf(messages, minute >= $__fromTime AND sentiment = 'positive')
           AS now_positive,
         uniqExactMergeIf(messages, minute < $__fromTime) AS before_total,
         uniqExactMergeIf(messages, minute < $__fromTime AND sentiment = 'negative')
           AS before_negative
  FROM topics_1m
  WHERE {_TWO_PERIODS}
  GROUP BY topic
)
WHERE now_total > 0
ORDER BY messages DESC, topic
LIMIT 15
""",
    "topic",
    "messages",
    "negative_share",
    "negative_share_before",
    "negative_share_change",
    "positive_share",
)

LATEST_NEGATIVE = table_query(
    f"""
SELECT created_at, source, channel, brand, product,
       arrayStringConcat(topics, ', ') AS topic_list,
       text, id
FROM messages FINAL
WHERE {MESSAGE_FILTER}
  AND sentiment = 'negative'
ORDER BY created_at DESC, id
LIMIT 100
""",
    "created_at",
    "source",
    "channel",
    "brand",
    "product",
    "topic_list",
    "text",
    "id",
)

LATEST_FLAGGED = table_query(
    f"""
SELECT created_at, arrayStringConcat(flags, ', ') AS flag_list, source, channel, brand,
       sentiment, text, id
FROM messages FINAL
WHERE {MESSAGE_FILTER}
  AND hasAny(flags, ['urgent', 'churn_risk'])
ORDER BY created_at DESC, id
LIMIT 100
""",
    "created_at",
    "flag_list",
    "source",
    "channel",
    "brand",
    "sentiment",
    "text",
    "id",
)


def build() -> Board:
    """The CX live overview board."""
    board = Board(
        UID,
        "VoC · CX live overview",
        "How much customers are saying, how they feel, on which channels and brands, about "
        "which topics, and the messages behind each number. Customer voice only (agent turns "
        "of chats are left out). Day boundaries and clocks are Vietnam time.",
        ("cx",),
    )
    for spec in (SOURCE, CHANNEL, BRAND):
        board.variable(spec)

    board.row("Right now")
    board.add(
        stat_panel(
            "Messages in range",
            "How many distinct customer messages arrived (event time) in the selected range.",
        ),
        MESSAGES_TOTAL,
    )
    board.add(
        stat_panel(
            "Negative and positive share",
            "Share of messages whose overall sentiment is negative, and positive.",
            unit="percentunit",
            thresholds=NEGATIVE_SHARE_THRESHOLDS,
            decimals=1,
            colors={"positive": "green"},
        ),
        SENTIMENT_SHARES,
    )
    board.add(
        stat_panel(
            "Urgent and churn-risk messages",
            "Messages flagged urgent (needs a fast answer) or churn risk (customer says they "
            "will leave) in the range: read them in the table at the bottom.",
            thresholds=((None, "blue"), (1, "orange")),
        ),
        FLAGGED_TOTAL,
    )
    board.add(
        stat_panel(
            "Open emerging-issue alerts",
            "Alerts from the stream detectors that are open now (updated in the last day), by "
            "severity. Details on the 'Emerging issues' board.",
            thresholds=((None, "green"), (1, "red")),
        ),
        OPEN_ALERTS,
    )

    board.row("Volume and sentiment")
    board.add(
        series_panel(
            "Messages by sentiment",
            "Distinct messages per interval, stacked by overall sentiment. A bump in red is "
            "where to look first.",
            stacked=True,
            bars=True,
            span=12,
            label="sentiment",
            min_interval="1m",
            colors=SENTIMENT_COLORS,
        ),
        VOLUME_BY_SENTIMENT,
    )
    board.add(
        series_panel(
            "Sentiment share over time",
            "Share of each sentiment per interval: is the mood changing, independent of volume?",
            unit="percentunit",
            stacked=True,
            span=12,
            label="sentiment",
            min_interval="1m",
            colors=SENTIMENT_COLORS,
            max_value=1,
        ),
        SENTIMENT_SHARE_OVER_TIME,
    )

    board.row("Where it comes from")
    board.add(
        table_panel(
            "By source and channel",
            "Volume and sentiment per channel: which channel is unhappy?",
            span=10,
            height=9,
            shares=("negative_share", "positive_share"),
        ),
        BY_CHANNEL,
    )
    board.add(
        pie_panel("Share by source", "Reviews, chats and social mentions.", span=5, height=9),
        BY_SOURCE,
    )
    board.add(
        bar_panel(
            "By brand and sentiment",
            "The 12 brands with most messages, split by sentiment.",
            x_field="brand_name",
            stacked=True,
            span=9,
            height=9,
            colors=SENTIMENT_COLORS,
        ),
        BY_BRAND,
    )

    board.row("Topics")
    board.add(
        table_panel(
            "Top topics and their negative share",
            "The 15 topics customers talk about most, with the share of negative mentions now "
            "and in the period of the same length just before: a positive change means the "
            "topic got worse. Click a topic for its trends.",
            height=10,
            shares=("negative_share", "negative_share_before", "positive_share"),
            units={"negative_share_change": "percentunit"},
            links={
                "topic": (
                    "Trends of this topic",
                    "/d/voc-topics?var-topic=${__value.raw:percentencode}&${__url_time_range}",
                )
            },
        ),
        TOP_TOPICS,
    )

    board.row("The messages behind the numbers")
    board.add(
        table_panel(
            "Latest negative messages",
            "The 100 most recent negative messages for the selected filters (PII redacted).",
            height=12,
            widths={"created_at": 160, "text": 600},
        ),
        LATEST_NEGATIVE,
    )
    board.add(
        table_panel(
            "Latest urgent and churn-risk messages",
            "The 100 most recent messages flagged urgent or churn risk: who needs an answer now.",
            height=12,
            widths={"created_at": 160, "text": 600},
            colors={"sentiment": SENTIMENT_COLORS},
        ),
        LATEST_FLAGGED,
    )
    return board
