"""Rich tables for the terminal: reports, dead letters, run summaries.

Every value from data goes through :func:`flows.terminal.literal` (or ``printable``): a
message is shown as written, never read as rich markup, and no escape sequence in it
reaches the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from flows.report import Report
from flows.terminal import literal, printable

_SENTIMENT_STYLE = {"negative": "red", "neutral": "yellow", "positive": "green"}


def _local(ts: datetime, zone: ZoneInfo) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _clip(text: str, width: int) -> Text:
    one_line = " ".join(printable(text).split())
    return literal(one_line if len(one_line) <= width else one_line[: width - 1] + "…")


def report_renderables(report: Report, zone: ZoneInfo) -> list[Any]:
    """The report as a list of rich renderables, in reading order."""
    span = f"{_local(report.range.start, zone)} → {_local(report.range.end, zone)} ({zone.key})"
    header = Text.assemble(
        ("Voice of Customer ", "bold"),
        f"{span} · filters: {printable(report.filters.describe())} · ",
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
        volume.add_row(literal(source), literal(channel), f"{n:,}", _pct(neg))
    out.append(volume)

    sentiment = Table(title="Sentiment share", title_justify="left")
    sentiment.add_column("sentiment")
    sentiment.add_column("messages", justify="right")
    sentiment.add_column("share", justify="right")
    for label, n, share in report.sentiment:
        sentiment.add_row(literal(label, _SENTIMENT_STYLE.get(label, "")), f"{n:,}", _pct(share))
    out.append(sentiment)

    topics = Table(title="Top topics", title_justify="left")
    topics.add_column("topic")
    topics.add_column("messages", justify="right")
    topics.add_column("negative", justify="right")
    topics.add_column("positive", justify="right")
    for topic, n, neg, pos in report.topics:
        topics.add_row(
            literal(topic), f"{n:,}", Text(_pct(neg), style="red" if neg >= 0.5 else ""), _pct(pos)
        )
    out.append(topics)

    negatives = Table(title="Latest negative messages", title_justify="left", expand=True)
    negatives.add_column("time", no_wrap=True)
    negatives.add_column("channel")
    negatives.add_column("topics")
    negatives.add_column("text", ratio=1)
    for created_at, _source, channel, _brand, topic_list, _score, text, _id in report.negatives:
        negatives.add_row(
            _local(created_at, zone),
            literal(channel),
            literal(", ".join(topic_list)),
            _clip(text, 140),
        )
    out.append(negatives)

    out.append(dead_letter_table(report.dead_letters))

    if report.alerts:
        alerts = Table(title="Alerts", title_justify="left", expand=True)
        for col in ("status", "severity", "kind", "key", "window", "observed/expected", "sample"):
            alerts.add_column(col)
        for (_id, kind, status, severity, _kt, topic, channel, brand, phrase,
             window_start, observed, expected, _score, samples) in report.alerts:  # fmt: skip
            key = "/".join(x for x in (topic, channel, brand, phrase) if x)
            alerts.add_row(
                literal(status), literal(severity), literal(kind), literal(key),
                _local(window_start, zone), f"{observed:g} / {expected:.1f}",
                _clip(samples[0], 80) if samples else "",
            )  # fmt: skip
        out.append(alerts)
    else:
        out.append(Text("Alerts: none in this range.", style="dim"))
    return out


def dead_letter_table(rows: Sequence[tuple[Any, ...]]) -> Any:
    """Dead letters grouped by step and error type."""
    if not rows:
        return Text("Dead letters: none.", style="dim")
    table = Table(title="Dead letters", title_justify="left", expand=True)
    table.add_column("step")
    table.add_column("error")
    table.add_column("payloads", justify="right")
    table.add_column("example reason", ratio=1)
    for step, error_type, n, _latest, example in rows:
        table.add_row(literal(step), literal(error_type), f"{n:,}", _clip(example, 120))
    return table


def dead_letter_list(rows: Sequence[tuple[Any, ...]]) -> Table:
    """The latest dead letters, one row each (``voc dead-letters``), shown literally.

    ``rows``: (received_at, step, error_type, origin, position, reason, payload).
    """
    table = Table(title=f"Latest {len(rows)} dead letters", title_justify="left", expand=True)
    for col in ("received", "step", "error", "origin:line", "reason", "payload"):
        table.add_column(col)
    for received, step, error_type, origin, position, reason, payload in rows:
        table.add_row(
            received.strftime("%m-%d %H:%M:%S"),
            literal(step),
            literal(error_type),
            literal(f"{Path(origin).name}:{position}"),
            _clip(reason, 400),
            _clip(payload, 80),
        )
    return table


def print_report(console: Console, report: Report, zone: ZoneInfo) -> None:
    """Print a report."""
    console.print(Panel(Group(*report_renderables(report, zone)), expand=True))
