"""Pipeline health: is the flow writing, how far behind event time, and what does it reject.

Wall-clock views: ingest rate by ``ingested_at``, event-time lag ``ingested_at -
created_at``, dead letters by ``received_at``, late items by ``seen_at``, and which model
versions wrote the rows. Counts of replayed rows use distinct ids where a replay would
otherwise count twice. The stat panels run the same SQL as the pipeline alert rules.
"""

from __future__ import annotations

from grafana import alerting
from grafana.boards.common import (
    Board,
    series_panel,
    series_query,
    stat_panel,
    table_panel,
    table_query,
)

UID = "voc-pipeline-health"

ROWS_PER_SECOND = table_query(
    """
SELECT count() / greatest(dateDiff('second', $__fromTime, $__toTime), 1) AS rows_per_second
FROM messages
WHERE $__timeFilter_ms(ingested_at)
""",
    "rows_per_second",
)

DEAD_LETTERS_TOTAL = table_query(
    """
SELECT uniqExact(id) AS dead_letters
FROM dead_letters
WHERE $__timeFilter_ms(received_at)
""",
    "dead_letters",
)

LATE_TOTAL = table_query(
    """
SELECT uniqExact(stage, id) AS late_items
FROM late_items
WHERE $__timeFilter_ms(seen_at)
""",
    "late_items",
)

INGEST_RATE = series_query(
    """
SELECT $__timeInterval_ms(ingested_at) AS time, source, count() / $__interval_s AS rows_per_second
FROM messages
WHERE $__timeFilter_ms(ingested_at)
GROUP BY time, source
ORDER BY time, source
""",
    "time",
    "source",
    "rows_per_second",
)

LAG = series_query(
    """
SELECT time, lag[1] AS p50, lag[2] AS p95, lag[3] AS p99
FROM (
  SELECT $__timeInterval(ingested_at) AS time,
         quantilesExact(0.5, 0.95, 0.99)(dateDiff('millisecond', created_at, ingested_at) / 1000)
           AS lag
  FROM messages
  WHERE $__timeFilter_ms(ingested_at)
  GROUP BY time
)
ORDER BY time
""",
    "time",
    "p50",
    "p95",
    "p99",
)

DEAD_LETTERS_OVER_TIME = series_query(
    """
SELECT $__timeInterval(received_at) AS time, concat(step, ': ', error_type) AS reason,
       uniqExact(id) AS dead_letters
FROM dead_letters
WHERE $__timeFilter_ms(received_at)
GROUP BY time, reason
ORDER BY time, reason
""",
    "time",
    "reason",
    "dead_letters",
)

DEAD_LETTERS_BY_REASON = table_query(
    """
SELECT step, error_type, uniqExact(id) AS payloads, max(received_at) AS latest,
       argMax(reason, (received_at, reason)) AS example_reason
FROM dead_letters
WHERE $__timeFilter_ms(received_at)
GROUP BY step, error_type
ORDER BY payloads DESC, step, error_type
""",
    "step",
    "error_type",
    "payloads",
    "latest",
    "example_reason",
)

LATEST_DEAD_LETTERS = table_query(
    """
SELECT received_at, step, error_type, reason, origin, position, payload_size,
       leftUTF8(payload, 300) AS payload_start
FROM dead_letters FINAL
WHERE $__timeFilter_ms(received_at)
ORDER BY received_at DESC, id
LIMIT 100
""",
    "received_at",
    "step",
    "error_type",
    "reason",
    "origin",
    "position",
    "payload_size",
    "payload_start",
)

LATE_OVER_TIME = series_query(
    """
SELECT $__timeInterval(seen_at) AS time, stage, uniqExact(id) AS late_items
FROM late_items
WHERE $__timeFilter_ms(seen_at)
GROUP BY time, stage
ORDER BY time, stage
""",
    "time",
    "stage",
    "late_items",
)

LATE_BY_KEY = table_query(
    """
SELECT stage, source, channel, uniqExact(id) AS items,
       quantileExact(0.5)(dateDiff('millisecond', created_at, watermark) / 1000)
         AS median_seconds_late,
       max(dateDiff('millisecond', created_at, watermark) / 1000) AS max_seconds_late
FROM late_items FINAL
WHERE $__timeFilter_ms(seen_at)
GROUP BY stage, source, channel
ORDER BY items DESC, stage, source, channel
""",
    "stage",
    "source",
    "channel",
    "items",
    "median_seconds_late",
    "max_seconds_late",
)

MODEL_VERSIONS = table_query(
    """
SELECT model_version, count() AS rows, min(ingested_at) AS first_written,
       max(ingested_at) AS last_written
FROM messages
WHERE $__timeFilter_ms(ingested_at)
GROUP BY model_version
ORDER BY last_written DESC, model_version
""",
    "model_version",
    "rows",
    "first_written",
    "last_written",
)

MODEL_VERSIONS_OVER_TIME = series_query(
    """
SELECT $__timeInterval(ingested_at) AS time, model_version, count() AS rows
FROM messages
WHERE $__timeFilter_ms(ingested_at)
GROUP BY time, model_version
ORDER BY time, model_version
""",
    "time",
    "model_version",
    "rows",
)


def build() -> Board:
    """The pipeline health board."""
    board = Board(
        UID,
        "VoC · Pipeline health",
        "Is the flow writing, how far behind event time is it, what does it reject, which "
        "items came too late for the detectors, and which model versions wrote the rows.",
        ("ops",),
        time_from="now-6h",
        refresh="30s",
    )
    board.row("Now")
    board.add(
        stat_panel(
            "Rows written per second",
            "Rows written to messages per second of wall-clock time, averaged over the range.",
            unit="short",
            span=6,
        ),
        ROWS_PER_SECOND,
    )
    board.add(
        stat_panel(
            "Minutes since the last row",
            "Wall-clock minutes since the flow last wrote a message (the whole range if none): "
            "the 'pipeline stalled' alert fires above "
            f"{alerting.STALLED_AFTER_MINUTES} minutes.",
            unit="m",
            thresholds=((None, "green"), (alerting.STALLED_AFTER_MINUTES, "red")),
            decimals=1,
            span=6,
        ),
        alerting.STALLED.panel_query(),
    )
    board.add(
        stat_panel(
            "Dead letters in range",
            "Payloads the flow could not process (see below for why).",
            thresholds=((None, "green"), (1, "orange")),
            span=6,
        ),
        DEAD_LETTERS_TOTAL,
    )
    board.add(
        stat_panel(
            "Late items in range",
            "Messages that reached a detector after their event-time window had closed; they "
            "are stored, but did not count towards alerts.",
            thresholds=((None, "green"), (1, "orange")),
            span=6,
        ),
        LATE_TOTAL,
    )

    board.row("Throughput and lag")
    board.add(
        series_panel(
            "Ingest rate by source",
            "Rows written per second (wall clock, by ingested_at), per source.",
            unit="short",
            span=12,
            label="source",
        ),
        INGEST_RATE,
    )
    board.add(
        series_panel(
            "Event-time lag",
            "How long after the customer wrote it a message was stored (ingested_at minus "
            "created_at): median, 95th and 99th percentile per interval. Replays of old data "
            "show here as large lags.",
            unit="s",
            span=12,
            legend_calcs=("mean", "max"),
        ),
        LAG,
    )

    board.row("Dead letters")
    board.add(
        series_panel(
            "Dead letters by step and error type",
            "Rejected payloads per interval, by the step that rejected them and why.",
            bars=True,
            stacked=True,
            span=12,
            label="reason",
        ),
        DEAD_LETTERS_OVER_TIME,
    )
    board.add(
        table_panel(
            "Dead letters by reason",
            f"Counts per step and error type, with the latest reason. The 'dead-letter rate' alert "
            f"fires when more than {alerting.DEAD_LETTER_SHARE:.0%} of a "
            f"{alerting.DEAD_LETTER_WINDOW_MINUTES}-minute window's payloads are rejected.",
            span=12,
            height=8,
        ),
        DEAD_LETTERS_BY_REASON,
    )
    board.add(
        table_panel(
            "Latest dead letters",
            "The 100 most recent rejected payloads, with where they came from (PII redacted).",
            height=9,
            widths={"payload_start": 500},
        ),
        LATEST_DEAD_LETTERS,
    )

    board.row("Late items")
    board.add(
        series_panel(
            "Late items by stage",
            "Messages older than a detector's event-time watermark when they arrived.",
            bars=True,
            stacked=True,
            span=12,
            label="stage",
        ),
        LATE_OVER_TIME,
    )
    board.add(
        table_panel(
            "Late items by source and channel",
            "Where late items come from, and how late (event time behind the watermark).",
            span=12,
            height=8,
            units={"median_seconds_late": "s", "max_seconds_late": "s"},
        ),
        LATE_BY_KEY,
    )

    board.row("Models")
    board.add(
        table_panel(
            "Model versions",
            "Which enricher versions wrote rows in the range, and when first and last.",
            span=12,
            height=7,
        ),
        MODEL_VERSIONS,
    )
    board.add(
        series_panel(
            "Rows by model version",
            "Rows written per interval by model version: a rollout shows as a hand-over.",
            bars=True,
            stacked=True,
            span=12,
            height=7,
            label="model_version",
        ),
        MODEL_VERSIONS_OVER_TIME,
    )
    return board
