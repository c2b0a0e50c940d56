"""Rich renderings for the terminal: reports, alerts, dead letters."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from flows.queries import AlertBrief, DeadLetterGroup, DeadLetterRow, Report
from schemas.rows import AlertRow

_SENTIMENT_STYLE = {"negative": "red", "neutral": "yellow", "positive": "green"}
_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def _local(ts: datetime, zone: ZoneInfo) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _clip(text: str, width: int) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"


def report_renderables(report: Report, zone: ZoneInfo) -> list[Any]:
    """The report as a list of rich renderables, in reading order."""
    span = f"{_local(report.range.start, zone)} → {_local(report.range.end, zone)} ({zone.key})"
    header = Text.assemble(
        ("Voice of Customer ", "bold"),
        f"{span} · filters: {report.filters.describe()} · ",
        (f"{report.total:,} customer messages", "bold"),
        (" (agent chat turns are not counted)", "dim"),
    )
    out: list[Any] = [header]

    volume = Table(title="Volume by source and channel", title_justify="left")
    volume.add_column("source")
    volume.add_column("channel")
    volume.add_column("messages", justify="right")
    volume.add_column("negative", justify="right")
    for source, channel, n, neg in report.volume:
        volume.add_row(source, channel, f"{n:,}", _pct(neg))
    out.append(volume)

    sentiment = Table(title="Sentiment share", title_justify="left")
    sentiment.add_column("sentiment")
    sentiment.add_column("messages", justify="right")
    sentiment.add_column("share", justify="right")
    for label, n, share in report.sentiment:
        sentiment.add_row(Text(label, style=_SENTIMENT_STYLE.get(label, "")), f"{n:,}", _pct(share))
    out.append(sentiment)

    topics = Table(title="Top topics", title_justify="left")
    topics.add_column("topic")
    topics.add_column("messages", justify="right")
    topics.add_column("negative", justify="right")
    topics.add_column("positive", justify="right")
    for topic, n, neg, pos in report.topics:
        topics.add_row(
            topic, f"{n:,}", Text(_pct(neg), style="red" if neg >= 0.5 else ""), _pct(pos)
        )
    out.append(topics)

    negatives = Table(title="Latest negative messages", title_justify="left", expand=True)
    negatives.add_column("time", no_wrap=True)
    negatives.add_column("channel")
    negatives.add_column("topics")
    negatives.add_column("text", ratio=1)
    for created_at, _source, channel, _brand, topic_list, _score, text, _id in report.negatives:
        negatives.add_row(
            _local(created_at, zone), channel, ", ".join(topic_list), _clip(text, 140)
        )
    out.append(negatives)

    out.append(dead_letter_table(report.dead_letters))

    if report.alerts:
        alerts = Table(title="Alerts", title_justify="left", expand=True)
        for col in ("status", "severity", "kind", "scale", "window", "summary"):
            alerts.add_column(col)
        for brief in report.alerts:
            alerts.add_row(
                brief.status, brief.severity, brief.kind, brief.scale,
                _local(brief.window_start, zone), _clip(brief.summary or _brief_key(brief), 140),
            )  # fmt: skip
        out.append(alerts)
    else:
        out.append(Text("Alerts: none in this range.", style="dim"))
    return out


def _brief_key(brief: AlertBrief) -> str:
    """An alert's key for rows written before alerts had summaries."""
    key = "/".join(x for x in (brief.topic, brief.channel, brief.brand, brief.phrase) if x)
    return f"{key}: {brief.observed:g} / {brief.expected:.1f}"


def dead_letter_table(rows: Sequence[DeadLetterGroup]) -> Any:
    """Dead letters grouped by step and error type."""
    if not rows:
        return Text("Dead letters: none.", style="dim")
    table = Table(title="Dead letters", title_justify="left", expand=True)
    table.add_column("step")
    table.add_column("error")
    table.add_column("payloads", justify="right")
    table.add_column("example reason", ratio=1)
    for row in rows:
        table.add_row(row.step, row.error_type, f"{row.payloads:,}", _clip(row.example, 120))
    return table


def print_report(console: Console, report: Report, zone: ZoneInfo) -> None:
    """Print a report."""
    console.print(Panel(Group(*report_renderables(report, zone)), expand=True))


# -- alerts -----------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def plain(value: Any) -> Any:
    """A JSON-ready copy of ``value``: times as UTC ISO 8601 (``Z``), rows as objects."""
    if isinstance(value, datetime):
        return _utc(value).isoformat().replace("+00:00", "Z")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def alerts_json(alerts: Sequence[AlertRow]) -> str:
    """The alerts as a JSON array (times in UTC ISO 8601)."""
    return json.dumps([plain(a) for a in alerts], ensure_ascii=False, indent=2)


def _key(alert: AlertRow) -> str:
    if alert.kind == "case":
        where = " ".join(f"{p}" for p in (alert.channel, alert.brand, alert.product) if p)
        return f"{alert.topic or 'customer'} @ {where}" if where else alert.topic or "customer"
    parts = [alert.topic or "(any topic)"]
    if alert.channel:
        parts.append(f"@ {alert.channel}")
    if alert.brand:
        parts.append(f"/ {alert.brand}")
    if alert.product:
        parts.append(f"/ {alert.product}")
    if alert.key_type == "phrase" and not any((alert.topic, alert.channel, alert.brand)):
        return f'"{alert.phrase}"'
    return " ".join(parts)


def _measure(alert: AlertRow) -> str:
    observed, expected = alert.observed, alert.expected
    if alert.kind == "case":
        return f"{observed:g} message(s) of this customer"
    if alert.kind == "negative_share":
        return f"negative share {observed:.0%} vs {expected:.0%} usual"
    ratio = f" ({observed / expected:.1f}x)" if expected > 0 else ""
    return f"{observed:g} messages vs {expected:.1f} expected{ratio}"


def render_alerts(console: Console, alerts: Sequence[AlertRow], zone: ZoneInfo) -> None:
    """Print one panel per alert: what, where, how much, top terms, channels, samples."""

    def local(value: datetime | None) -> str:
        return _utc(value).astimezone(zone).strftime("%m-%d %H:%M") if value else "-"

    if not alerts:
        console.print(Text("No alerts match.", style="dim"))
        return
    for alert in alerts:
        style = _SEVERITY_STYLE.get(alert.severity, "")
        scale = f" · {alert.scale} scale" if alert.scale else ""
        title = Text.assemble(
            (f"{alert.severity.upper()} ", style),
            (f"{alert.status} ", "bold" if alert.status == "open" else "dim"),
            f"{alert.kind} · {_key(alert)}{scale}",
        )
        lines: list[Any] = []
        if alert.summary:
            lines.append(Text(alert.summary, style="bold"))
        if alert.conversation_id:
            lines.append(Text.assemble(("conversation: ", "bold"), alert.conversation_id))
        lines.append(
            Text(
                f"{_measure(alert)} · score {alert.score:.1f} · window "
                f"{local(alert.window_start)} → {local(alert.window_end)} · opened "
                f"{local(alert.opened_at)}"
                + (f" · resolved {local(alert.resolved_at)}" if alert.resolved_at else "")
                + f" · rev {alert.revision}"
            )
        )
        if alert.phrase:
            lines.append(Text.assemble(("phrase: ", "bold"), alert.phrase))
        if alert.top_terms:
            lines.append(Text.assemble(("top terms: ", "bold"), ", ".join(alert.top_terms)))
        if alert.channel_breakdown:
            channels = sorted(alert.channel_breakdown.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append(
                Text.assemble(("channels: ", "bold"), ", ".join(f"{c} {n}" for c, n in channels))
            )
        samples = Table(show_header=False, box=None, padding=(0, 1), expand=True)
        samples.add_column("id", style="dim", no_wrap=True)
        samples.add_column("text", ratio=1)
        for sample_id, text in zip(alert.sample_ids, alert.sample_texts, strict=False):
            samples.add_row(sample_id, " ".join(text.split()))
        lines.append(samples)
        subtitle = f"{alert.id} · {zone.key}"
        console.print(Panel(Group(*lines), title=title, title_align="left", subtitle=subtitle))


# -- dead letters -----------------------------------------------------------------------------


def dead_letter_list(rows: Sequence[DeadLetterRow], zone: ZoneInfo) -> Any:
    """The latest dead letters, one row each, times in the display zone."""
    table = Table(
        title=f"Latest {len(rows)} dead letters (received, {zone.key})",
        title_justify="left",
        expand=True,
    )
    for col in ("received", "step", "error", "origin:line", "reason", "payload"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            _utc(row.received_at).astimezone(zone).strftime("%m-%d %H:%M:%S"), row.step,
            row.error_type, f"{Path(row.origin).name}:{row.position}", row.reason,
            row.payload[:80],
        )  # fmt: skip
    return table
