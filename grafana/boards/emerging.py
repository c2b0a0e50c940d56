"""Emerging issues, for on-call at 3:00: what is open, how bad, why, and the messages.

Reads ``alerts FINAL`` (the latest revision of each incident, written by the stream
detectors). "Open" means the latest revision is open and was written in the last day
(event time, up to the end of the board's range). Alert times are ``DateTime64``: the
queries use ``$__timeFilter_ms`` and ``$__toTime_ms``, not second precision. Every alert
shows its one-line Vietnamese summary and the time scale whose evidence opened it; the
customer cases (kind ``case``: one customer who needs action now) have their own row.
"""

from __future__ import annotations

from grafana.boards.common import (
    ALERT_KEY_SQL,
    SEVERITY_COLORS,
    SEVERITY_RANK_SQL,
    Board,
    VariableSpec,
    all_of,
    in_variable,
    open_alerts_where,
    series_panel,
    series_query,
    stat_panel,
    table_panel,
    table_query,
)

UID = "voc-emerging-issues"

#: The detectors' alerts: cases are listed apart.
DETECTOR_ALERTS = "kind != 'case'"
CASES = "kind = 'case'"

KIND = VariableSpec(
    "kind",
    "Kind",
    "Which detector raised the alert.",
    options=("volume_spike", "negative_share", "emerging_phrase", "emerging_issue"),
)
SEVERITY = VariableSpec(
    "severity",
    "Severity",
    "info: worth a look; warning: act in working hours; critical: act now.",
    options=("critical", "warning", "info"),
)
_SELECTED = (DETECTOR_ALERTS, in_variable("kind"), in_variable("severity"))

INCIDENT = VariableSpec(
    "incident",
    "Incident",
    "Narrow the samples and the volume panel to some incidents (ids of alerts updated in the "
    "range).",
    f"""
SELECT id
FROM alerts FINAL
WHERE {all_of("$__timeFilter_ms(updated_at)", *_SELECTED)}
ORDER BY opened_at DESC, id
LIMIT 500
""",
)

_SELECTED_INCIDENTS = (*_SELECTED, in_variable("id", "incident"))

OPEN_BY_SEVERITY = table_query(
    f"""
SELECT countIf(severity = 'critical') AS critical,
       countIf(severity = 'warning') AS warning,
       countIf(severity = 'info') AS info
FROM alerts FINAL
WHERE {open_alerts_where(*_SELECTED)}
""",
    "critical",
    "warning",
    "info",
)

OPENED_AND_RESOLVED = table_query(
    f"""
SELECT countIf($__timeFilter_ms(opened_at)) AS opened,
       countIf(status = 'resolved' AND $__timeFilter_ms(resolved_at)) AS resolved
FROM alerts FINAL
WHERE {all_of("opened_at <= $__toTime_ms", *_SELECTED)}
""",
    "opened",
    "resolved",
)

OPEN_ALERTS = table_query(
    f"""
SELECT opened_at, severity, summary, kind, scale, {ALERT_KEY_SQL} AS key,
       round(observed, 2) AS observed, round(expected, 2) AS expected,
       if(expected > 0, round(observed / expected, 1), NULL) AS ratio,
       round(score, 2) AS score,
       arrayStringConcat(top_terms, ', ') AS terms,
       window_start, window_end, updated_at, id
FROM alerts FINAL
WHERE {open_alerts_where(*_SELECTED)}
ORDER BY {SEVERITY_RANK_SQL}, opened_at DESC, id
""",
    "opened_at",
    "severity",
    "summary",
    "kind",
    "scale",
    "key",
    "observed",
    "expected",
    "ratio",
    "score",
    "terms",
    "window_start",
    "window_end",
    "updated_at",
    "id",
)

SAMPLES = table_query(
    f"""
SELECT severity, {ALERT_KEY_SQL} AS key, sample_text, sample_id, id AS incident
FROM alerts FINAL
ARRAY JOIN sample_texts AS sample_text, sample_ids AS sample_id
WHERE {open_alerts_where(*_SELECTED_INCIDENTS)}
ORDER BY {SEVERITY_RANK_SQL}, opened_at DESC, incident, sample_id
LIMIT 500
""",
    "severity",
    "key",
    "sample_text",
    "sample_id",
    "incident",
)

CHANNEL_BREAKDOWN = table_query(
    f"""
SELECT {ALERT_KEY_SQL} AS key, channel_name, messages
FROM alerts FINAL
ARRAY JOIN mapKeys(channel_breakdown) AS channel_name,
           mapValues(channel_breakdown) AS messages
WHERE {open_alerts_where(*_SELECTED_INCIDENTS)}
ORDER BY {SEVERITY_RANK_SQL}, key, messages DESC, channel_name
""",
    "key",
    "channel_name",
    "messages",
)

OPEN_CASES = table_query(
    f"""
SELECT opened_at, severity, summary, channel, brand, product, conversation_id,
       arrayStringConcat(top_terms, ', ') AS reasons, toUInt32(observed) AS messages,
       arrayStringConcat(arraySlice(sample_ids, 1, 3), ', ') AS message_ids,
       updated_at, id
FROM alerts FINAL
WHERE {open_alerts_where(CASES, in_variable("severity"))}
ORDER BY {SEVERITY_RANK_SQL}, opened_at DESC, id
LIMIT 500
""",
    "opened_at",
    "severity",
    "summary",
    "channel",
    "brand",
    "product",
    "conversation_id",
    "reasons",
    "messages",
    "message_ids",
    "updated_at",
    "id",
)

PHRASES = table_query(
    f"""
SELECT phrase, status, severity, round(observed, 2) AS observed,
       round(expected, 2) AS expected, round(score, 2) AS score,
       arrayStringConcat(top_terms, ', ') AS terms, topic, opened_at, id
FROM alerts FINAL
WHERE {all_of("kind = 'emerging_phrase'", "$__timeFilter_ms(updated_at)", in_variable("severity"))}
ORDER BY status = 'open' DESC, score DESC, opened_at DESC, id
LIMIT 50
""",
    "phrase",
    "status",
    "severity",
    "observed",
    "expected",
    "score",
    "terms",
    "topic",
    "opened_at",
    "id",
)

TERMS = table_query(
    f"""
SELECT term, count() AS incidents,
       arrayStringConcat(groupUniqArray(3)({ALERT_KEY_SQL}), '; ') AS keys
FROM alerts FINAL
ARRAY JOIN top_terms AS term
WHERE {open_alerts_where(*_SELECTED)}
GROUP BY term
ORDER BY incidents DESC, term
LIMIT 30
""",
    "term",
    "incidents",
    "keys",
)

KEY_VOLUME = series_query(
    f"""
SELECT $__timeInterval(minute) AS time, topic, uniqExactMerge(messages) AS messages
FROM topics_1m
WHERE $__timeFilter(minute)
  AND topic IN (
    SELECT topic
    FROM alerts FINAL
    WHERE {open_alerts_where("topic != ''", *_SELECTED_INCIDENTS)}
  )
GROUP BY time, topic
ORDER BY time, topic
""",
    "time",
    "topic",
    "messages",
)

OPENED_OVER_TIME = series_query(
    f"""
SELECT $__timeInterval_ms(opened_at) AS time, kind, count() AS alerts
FROM alerts FINAL
WHERE {all_of("$__timeFilter_ms(opened_at)", *_SELECTED)}
GROUP BY time, kind
ORDER BY time, kind
""",
    "time",
    "kind",
    "alerts",
)

HISTORY = table_query(
    f"""
SELECT opened_at, resolved_at,
       dateDiff('minute', opened_at, ifNull(resolved_at, updated_at)) AS minutes_open,
       status, severity, kind, scale, summary, {ALERT_KEY_SQL} AS key,
       round(observed, 2) AS observed, round(expected, 2) AS expected,
       revision, detector_version, id
FROM alerts FINAL
WHERE {all_of("$__timeFilter_ms(opened_at)", *_SELECTED)}
ORDER BY opened_at DESC, id
LIMIT 500
""",
    "opened_at",
    "resolved_at",
    "minutes_open",
    "status",
    "severity",
    "kind",
    "scale",
    "summary",
    "key",
    "observed",
    "expected",
    "revision",
    "detector_version",
    "id",
)


def build() -> Board:
    """The emerging-issues board for on-call."""
    board = Board(
        UID,
        "VoC · Emerging issues (on-call)",
        "Open alerts of the stream detectors with their severity, key, observed versus "
        "expected volume or share, sample messages, bursting phrases, and the alert history.",
        ("oncall",),
        time_from="now-24h",
    )
    for spec in (KIND, SEVERITY, INCIDENT):
        board.variable(spec)

    board.row("Open now")
    board.add(
        stat_panel(
            "Open alerts by severity",
            "Incidents whose latest revision is open (updated in the last day).",
            thresholds=((None, "green"), (1, "red")),
            span=12,
        ),
        OPEN_BY_SEVERITY,
    )
    board.add(
        stat_panel(
            "Opened and resolved in range",
            "Incidents opened, and incidents resolved, in the selected range.",
            span=12,
        ),
        OPENED_AND_RESOLVED,
    )
    board.add(
        table_panel(
            "Open alerts, most severe first",
            "What is wrong now: the summary (what, where, how much), the time scale whose "
            "evidence opened it (1m: one busy minute; 5m, 10m, 15m, 60m: a sliding window, how a "
            "small channel, brand or product shows a rise), the key (topic / channel / brand "
            "/ product / phrase), observed versus expected messages (or negative share) over "
            "the alert's window and their ratio, the detector's score, and the terms that "
            "stand out. Filter the samples below by incident with the variable at the top.",
            height=9,
            colors={"severity": SEVERITY_COLORS},
            widths={"summary": 420, "key": 220, "terms": 240},
        ),
        OPEN_ALERTS,
    )
    board.add(
        table_panel(
            "Sample messages of open alerts",
            "The messages behind each open alert, as the detector chose them (PII redacted).",
            height=10,
            span=16,
            colors={"severity": SEVERITY_COLORS},
            widths={"sample_text": 600},
        ),
        SAMPLES,
    )
    board.add(
        table_panel(
            "Where the messages come from",
            "Per open alert: its messages by channel.",
            height=10,
            span=8,
        ),
        CHANNEL_BREAKDOWN,
    )

    board.row("Customer cases")
    board.add(
        table_panel(
            "Open customer cases, most severe first",
            "One customer who needs action now (urgent, product safety, account security, "
            "churn risk), one case per conversation: the summary with the first message, "
            "where it came from, the conversation, why it is a case and how many of its "
            "messages qualified. Customer service acts on these one by one.",
            height=9,
            colors={"severity": SEVERITY_COLORS},
            widths={"summary": 480},
        ),
        OPEN_CASES,
    )

    board.row("Phrases and terms")
    board.add(
        table_panel(
            "Bursting phrases",
            "Phrases far above their own baseline (never-seen phrases included), open ones first.",
            span=14,
            height=8,
            colors={"severity": SEVERITY_COLORS},
        ),
        PHRASES,
    )
    board.add(
        table_panel(
            "Terms across open alerts",
            "The top terms of open alerts, and how many incidents share each.",
            span=10,
            height=8,
        ),
        TERMS,
    )
    board.add(
        series_panel(
            "Mentions per interval of the topics with open alerts",
            "The shape of the spike: messages per interval for each topic that has an open "
            "alert (or the incidents selected above).",
            span=24,
            label="topic",
            min_interval="1m",
        ),
        KEY_VOLUME,
    )

    board.row("History")
    board.add(
        series_panel(
            "Alerts opened per interval by kind",
            "How often each detector opened an incident.",
            bars=True,
            stacked=True,
            span=24,
            height=7,
            label="kind",
        ),
        OPENED_OVER_TIME,
    )
    board.add(
        table_panel(
            "Alert history",
            "Every incident opened in the range with how long it stayed open.",
            height=10,
            colors={"severity": SEVERITY_COLORS},
        ),
        HISTORY,
    )
    return board
