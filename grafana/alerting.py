"""Grafana-managed alert rules on ClickHouse, written to ``provisioning/alerting/rules.yaml``.

Facts the rules are built around:

- a rule runs in the Grafana backend: dashboard variables, ``$__conditionalAll`` and ad-hoc
  filters do not exist there, only the plugin's macros over the rule's relative time range;
- a table-format query returning one numeric column plus string columns gives one alert
  instance per row, labelled by the string columns (the rows must have distinct label sets);
  other queries with the same label columns feed ``.Values`` in the annotations (here:
  observed and expected), and a threshold expression on the first query decides firing;
- labels must be stable for as long as an incident lasts, or each change opens a new
  instance: label columns are keys, severities and texts fixed when the incident opened;
- in file provisioning, labels and most fields are interpolated with environment variables
  (``$NAME``) while the query model and annotations are not; the templates here use the
  ``.Labels`` / ``.Values`` form and no ``$`` at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from grafana.boards.common import ALERT_KEY_SQL, PanelQuery, table_query
from grafana.query import DATASOURCE_UID, PLUGIN_ID, PLUGIN_VERSION, Format

#: The folder the rules (and the boards) live in.
FOLDER = "VoC stream"

#: Negative-share spike: the recent window is compared with the rest of the rule's range.
NEGATIVE_SHARE_RECENT_MINUTES = 15
NEGATIVE_SHARE_BASELINE_HOURS = 24
NEGATIVE_SHARE_MIN_MESSAGES = 20  # recent mentions of the key
NEGATIVE_SHARE_MIN_NEGATIVE = 10  # recent negative mentions of the key
NEGATIVE_SHARE_MIN_BASELINE = 30  # mentions of the key in the baseline window
NEGATIVE_SHARE_MIN_EXCESS = 0.15  # observed share at least this far above expected
NEGATIVE_SHARE_Z = 4.0  # and this many binomial standard errors above it

STALLED_AFTER_MINUTES = 15
STALLED_WINDOW_MINUTES = 60

DEAD_LETTER_WINDOW_MINUTES = 10
DEAD_LETTER_MIN_COUNT = 10
DEAD_LETTER_SHARE = 0.05

OPEN_INCIDENT_LOOKBACK_HOURS = 24
OPEN_CASE_LOOKBACK_HOURS = 6


@dataclass(frozen=True)
class RuleQuery:
    """A ClickHouse query of a rule: string label columns and one numeric value column."""

    ref_id: str
    sql: str
    labels: tuple[str, ...]
    value: str
    window_seconds: int

    def panel_query(self) -> PanelQuery:
        """The same SQL as a board's table query (the board's range replaces the window)."""
        return table_query(self.sql, *self.labels, self.value)

    def to_provisioning(self) -> dict[str, Any]:
        """The rule's ``data`` entry for this query."""
        return {
            "refId": self.ref_id,
            "relativeTimeRange": {"from": self.window_seconds, "to": 0},
            "datasourceUid": DATASOURCE_UID,
            "model": {
                "refId": self.ref_id,
                "datasource": {"type": PLUGIN_ID, "uid": DATASOURCE_UID},
                "editorType": "sql",
                "format": Format.TABLE.code,
                "queryType": Format.TABLE.query_type,
                "pluginVersion": PLUGIN_VERSION,
                "rawSql": self.sql,
                "intervalMs": 1000,
                "maxDataPoints": 43200,
            },
        }


@dataclass(frozen=True)
class Threshold:
    """A threshold expression: fires where ``input`` is above (``gt``) or below (``lt``)."""

    ref_id: str
    input: str
    op: Literal["gt", "lt"]
    value: float

    def to_provisioning(self) -> dict[str, Any]:
        """The rule's ``data`` entry for this expression."""
        return {
            "refId": self.ref_id,
            "datasourceUid": "__expr__",
            "model": {
                "refId": self.ref_id,
                "type": "threshold",
                "datasource": {"type": "__expr__", "uid": "__expr__"},
                "expression": self.input,
                "conditions": [{"evaluator": {"type": self.op, "params": [self.value]}}],
            },
        }


@dataclass(frozen=True)
class Rule:
    """One alert rule: queries, a threshold on the first, labels, annotations and a panel."""

    uid: str
    title: str
    summary: str
    queries: tuple[RuleQuery, ...]
    threshold: Threshold
    annotations: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    pending: str = "0s"
    no_data: Literal["OK", "NoData", "Alerting"] = "OK"
    dashboard_uid: str = ""
    panel_title: str = ""

    @property
    def condition(self) -> str:
        """The refId whose result decides firing."""
        return self.threshold.ref_id

    def query(self, ref_id: str) -> RuleQuery:
        """The query with this refId."""
        return next(q for q in self.queries if q.ref_id == ref_id)

    def to_provisioning(self, panel_ids: dict[tuple[str, str], int]) -> dict[str, Any]:
        """The rule as a file-provisioning entry."""
        entry: dict[str, Any] = {
            "uid": self.uid,
            "title": self.title,
            "condition": self.condition,
            "data": [q.to_provisioning() for q in self.queries]
            + [self.threshold.to_provisioning()],
            "noDataState": self.no_data,
            "execErrState": "Error",
            "for": self.pending,
            "annotations": {"summary": self.summary, **self.annotations},
            "labels": {"service": "voc-stream", **self.labels},
            "isPaused": False,
        }
        if self.dashboard_uid:
            entry["dashboardUid"] = self.dashboard_uid
            entry["panelId"] = panel_ids[(self.dashboard_uid, self.panel_title)]
        return entry


# -- open incidents from the stream detectors --------------------------------------------------

_INCIDENT_LABELS = ("incident", "kind", "severity", "scale", "key", "headline", "samples")


def _samples_sql(count: int) -> str:
    # The first samples in stored order: the detector keeps those of the opening (or of the
    # latest change of severity) first, so they change only with the severity.
    return f"""arrayStringConcat(
         arrayMap(t -> concat('- ', leftUTF8(replaceRegexpAll(t, '[[:space:]]+', ' '), 160)),
                  arraySlice(sample_texts, 1, {count})),
         char(10))"""


def _open_incident_sql(value: str) -> str:
    # The latest revision of each incident (alerts is a ReplacingMergeTree on revision: older
    # revisions disappear in merges). Every label is fixed between changes of severity: the
    # headline is the summary as of the opening (or the latest severity) and the samples are
    # those pinned then, so a revision that only updates the figures keeps the alert
    # instance; a new severity makes a new instance and a new notification.
    return f"""
SELECT id AS incident, kind, severity, scale, {ALERT_KEY_SQL} AS key,
       if(headline = '', summary, headline) AS headline,
       {_samples_sql(3)} AS samples,
       {value}
FROM alerts FINAL
WHERE status = 'open'
  AND kind != 'case'
  AND severity IN ('warning', 'critical')
  AND $__timeFilter_ms(updated_at)
ORDER BY incident
"""


def _incident_query(ref_id: str, value: str, column: str) -> RuleQuery:
    return RuleQuery(
        ref_id,
        _open_incident_sql(f"{value} AS {column}").strip(),
        _INCIDENT_LABELS,
        column,
        OPEN_INCIDENT_LOOKBACK_HOURS * 3600,
    )


OPEN_INCIDENT = Rule(
    uid="voc-open-incident",
    title="Emerging issue open (warning or critical)",
    summary="{{ .Labels.headline }}",
    queries=(
        _incident_query("A", "toFloat64(1)", "open"),
        _incident_query("B", "observed", "observed"),
        _incident_query("C", "expected", "expected"),
    ),
    threshold=Threshold("D", "A", "gt", 0),
    annotations={
        "description": (
            "The stream detectors opened incident {{ .Labels.incident }} "
            "({{ .Labels.kind }}, {{ .Labels.severity }}) on the evidence of a "
            "{{ .Labels.scale }} window."
        ),
        "key": "{{ .Labels.key }}",
        "scale": "{{ .Labels.scale }}",
        "observed": '{{ printf "%.2f" .Values.B.Value }}',
        "expected": '{{ printf "%.2f" .Values.C.Value }}',
        "samples": "{{ .Labels.samples }}",
    },
    dashboard_uid="voc-emerging-issues",
    panel_title="Open alerts, most severe first",
)

# -- customer cases ----------------------------------------------------------------------------

_CASE_LABELS = ("incident", "kind", "severity", "channel", "conversation", "headline", "samples")


def _open_case_sql(value: str) -> str:
    # One instance per open case (one customer, one conversation): the labels are the
    # headline and the message that opened it, fixed between changes of severity.
    return f"""
SELECT id AS incident, kind, severity, channel, conversation_id AS conversation,
       if(headline = '', summary, headline) AS headline,
       {_samples_sql(1)} AS samples,
       {value}
FROM alerts FINAL
WHERE status = 'open'
  AND kind = 'case'
  AND $__timeFilter_ms(updated_at)
ORDER BY incident
"""


OPEN_CASE = Rule(
    uid="voc-open-case",
    title="Customer case: one customer needs action now",
    summary="{{ .Labels.headline }}",
    queries=(
        RuleQuery(
            "A",
            _open_case_sql("toFloat64(1) AS open").strip(),
            _CASE_LABELS,
            "open",
            OPEN_CASE_LOOKBACK_HOURS * 3600,
        ),
        RuleQuery(
            "B",
            _open_case_sql("observed AS messages").strip(),
            _CASE_LABELS,
            "messages",
            OPEN_CASE_LOOKBACK_HOURS * 3600,
        ),
    ),
    threshold=Threshold("C", "A", "gt", 0),
    annotations={
        "description": (
            "A customer message needs action now (urgent, product safety, account security or "
            "churn risk): case {{ .Labels.incident }} on {{ .Labels.channel }}, conversation "
            "{{ .Labels.conversation }}."
        ),
        "key": "{{ .Labels.channel }} {{ .Labels.conversation }}",
        "observed": '{{ printf "%.0f" .Values.B.Value }} message(s) of this customer',
        "expected": "-",
        "samples": "{{ .Labels.samples }}",
    },
    dashboard_uid="voc-emerging-issues",
    panel_title="Open customer cases, most severe first",
)

# -- negative share spike on the raw stream ----------------------------------------------------

_RECENT = f"$__toTime - INTERVAL {NEGATIVE_SHARE_RECENT_MINUTES} MINUTE"
_FIRES = (
    f"recent_n >= {NEGATIVE_SHARE_MIN_MESSAGES} "
    f"AND recent_negative >= {NEGATIVE_SHARE_MIN_NEGATIVE} "
    f"AND base_n >= {NEGATIVE_SHARE_MIN_BASELINE} "
    f"AND observed_share - expected_share >= {NEGATIVE_SHARE_MIN_EXCESS}"
)


def _negative_share_sql(value: str) -> str:
    # Per (topic, channel): negative share of the last minutes against the rest of the day,
    # smoothed (Laplace) and kept within [0.05, 0.95] so a key never seen negative does not
    # divide by zero. The score is the excess in binomial standard errors, 0 below the gates.
    return f"""
SELECT topic, channel, {value}
FROM (
  SELECT topic, channel, recent_n, recent_negative, base_n,
         recent_negative / recent_n AS observed_share,
         greatest(0.05, least(0.95, (base_negative + 1) / (base_n + 2))) AS expected_share,
         (observed_share - expected_share)
           / sqrt(expected_share * (1 - expected_share) / recent_n) AS z
  FROM (
    SELECT topic, channel,
           uniqExactMergeIf(messages, minute > {_RECENT}) AS recent_n,
           uniqExactMergeIf(messages, minute > {_RECENT} AND sentiment = 'negative')
             AS recent_negative,
           uniqExactMergeIf(messages, minute <= {_RECENT}) AS base_n,
           uniqExactMergeIf(messages, minute <= {_RECENT} AND sentiment = 'negative')
             AS base_negative
    FROM topics_1m
    WHERE $__timeFilter(minute)
    GROUP BY topic, channel
  )
  WHERE recent_n > 0
)
ORDER BY topic, channel
"""


def _share_query(ref_id: str, value: str, column: str) -> RuleQuery:
    return RuleQuery(
        ref_id,
        _negative_share_sql(f"{value} AS {column}").strip(),
        ("topic", "channel"),
        column,
        NEGATIVE_SHARE_BASELINE_HOURS * 3600,
    )


NEGATIVE_SHARE = Rule(
    uid="voc-negative-share",
    title="Negative share spike (topic on a channel)",
    summary=(
        "Negative share of {{ .Labels.topic }} on {{ .Labels.channel }}: "
        "{{ humanizePercentage .Values.B.Value }}, usually {{ humanizePercentage .Values.C.Value }}"
    ),
    queries=(
        _share_query("A", f"if({_FIRES}, z, 0)", "excess_z"),
        _share_query("B", "observed_share", "observed_share"),
        _share_query("C", "expected_share", "expected_share"),
    ),
    threshold=Threshold("D", "A", "gt", NEGATIVE_SHARE_Z),
    annotations={
        "description": (
            f"In the last {NEGATIVE_SHARE_RECENT_MINUTES} minutes customers mention "
            "{{ .Labels.topic }} on {{ .Labels.channel }} negatively far more often than "
            f"over the previous {NEGATIVE_SHARE_BASELINE_HOURS} hours "
            '({{ printf "%.1f" .Values.A.Value }} standard errors above). The stream '
            "detectors may not have opened an incident for it yet."
        ),
        "key": "{{ .Labels.topic }} / {{ .Labels.channel }}",
        "observed": (
            "{{ humanizePercentage .Values.B.Value }} negative in the last "
            f"{NEGATIVE_SHARE_RECENT_MINUTES} minutes"
        ),
        "expected": (
            "{{ humanizePercentage .Values.C.Value }} over the previous "
            f"{NEGATIVE_SHARE_BASELINE_HOURS} hours"
        ),
        "samples": (
            "/d/voc-cx-overview?var-channel={{ .Labels.channel }}"
            f"&from=now-{NEGATIVE_SHARE_RECENT_MINUTES}m&to=now (Latest negative messages)"
        ),
    },
    labels={"severity": "warning"},
    pending="2m",
    dashboard_uid="voc-cx-overview",
    panel_title="Latest negative messages",
)

# -- pipeline ----------------------------------------------------------------------------------

STALLED = RuleQuery(
    "A",
    """
SELECT ifNull(dateDiff('second', maxOrNull(ingested_at), $__toTime) / 60,
              dateDiff('second', $__fromTime, $__toTime) / 60) AS minutes_since_last_row
FROM messages
WHERE $__timeFilter_ms(ingested_at)
""".strip(),
    (),
    "minutes_since_last_row",
    STALLED_WINDOW_MINUTES * 60,
)

PIPELINE_STALLED = Rule(
    uid="voc-pipeline-stalled",
    title="Pipeline stalled: no new messages",
    summary=(
        'No message written for {{ printf "%.0f" .Values.A.Value }} minutes '
        f"(alerts after {STALLED_AFTER_MINUTES})"
    ),
    queries=(STALLED,),
    threshold=Threshold("B", "A", "gt", STALLED_AFTER_MINUTES),
    annotations={
        "description": (
            "The flow has not written to voc.messages recently: the source may be empty or "
            "unreachable, a worker may have stopped, or ClickHouse may refuse inserts. Check "
            "the flow's logs and the pipeline-health board. With quiet nights, raise the "
            "threshold rather than muting the rule."
        ),
        "key": "voc.messages",
        "observed": '{{ printf "%.0f" .Values.A.Value }} minutes since the last row',
        "expected": f"under {STALLED_AFTER_MINUTES} minutes",
        "samples": "-",
    },
    labels={"severity": "critical"},
    no_data="Alerting",
    dashboard_uid="voc-pipeline-health",
    panel_title="Minutes since the last row",
)


def _dead_letter_sql(value: str) -> str:
    return f"""
SELECT step, {value}
FROM (
  SELECT step, dead, dead / greatest(dead_all + stored, 1) AS share
  FROM (
    SELECT step, uniqExact(id) AS dead, sum(uniqExact(id)) OVER () AS dead_all
    FROM dead_letters
    WHERE $__timeFilter_ms(received_at)
    GROUP BY step
  ) AS dead_by_step
  CROSS JOIN (
    SELECT uniqExact(id) AS stored
    FROM messages
    WHERE $__timeFilter_ms(ingested_at)
  ) AS stored_total
)
WHERE dead >= {DEAD_LETTER_MIN_COUNT}
ORDER BY step
""".strip()


DEAD_LETTERS = Rule(
    uid="voc-dead-letter-rate",
    title="Dead-letter rate high",
    summary=(
        "Step {{ .Labels.step }} rejected {{ humanizePercentage .Values.A.Value }} of the "
        f"payloads in {DEAD_LETTER_WINDOW_MINUTES} minutes"
    ),
    queries=(
        RuleQuery(
            "A",
            _dead_letter_sql("share AS dead_letter_share"),
            ("step",),
            "dead_letter_share",
            DEAD_LETTER_WINDOW_MINUTES * 60,
        ),
        RuleQuery(
            "B",
            _dead_letter_sql("dead AS dead_letters"),
            ("step",),
            "dead_letters",
            DEAD_LETTER_WINDOW_MINUTES * 60,
        ),
    ),
    threshold=Threshold("C", "A", "gt", DEAD_LETTER_SHARE),
    annotations={
        "description": (
            "Many payloads fail at step {{ .Labels.step }}: a producer may have changed its "
            "format, or a source sends broken data. The pipeline-health board shows the error "
            "types and the payloads."
        ),
        "key": "step {{ .Labels.step }}",
        "observed": (
            '{{ printf "%.0f" .Values.B.Value }} dead letters, '
            "{{ humanizePercentage .Values.A.Value }} of the payloads"
        ),
        "expected": f"under {DEAD_LETTER_SHARE:.0%} of the payloads",
        "samples": "see 'Latest dead letters' on the pipeline-health board",
    },
    labels={"severity": "warning"},
    pending="5m",
    dashboard_uid="voc-pipeline-health",
    panel_title="Dead letters by reason",
)

#: Rule groups (evaluated every minute) and their rules.
GROUPS: dict[str, tuple[Rule, ...]] = {
    "emerging-issues": (OPEN_INCIDENT, NEGATIVE_SHARE),
    "customer-cases": (OPEN_CASE,),
    "pipeline": (PIPELINE_STALLED, DEAD_LETTERS),
}


def rules() -> tuple[Rule, ...]:
    """Every rule, in file order."""
    return tuple(rule for group in GROUPS.values() for rule in group)


def provisioning(panel_ids: dict[tuple[str, str], int]) -> dict[str, Any]:
    """The content of ``provisioning/alerting/rules.yaml``."""
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": name,
                "folder": FOLDER,
                "interval": "1m",
                "rules": [rule.to_provisioning(panel_ids) for rule in group],
            }
            for name, group in GROUPS.items()
        ],
    }
