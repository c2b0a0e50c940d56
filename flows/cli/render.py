"""Rich renderings for the terminal: reports, alerts, dead letters, messages, SQL results.

Lists of messages are :class:`CardList` objects: per item one aligned line of short fields
under a header line, and the message text below it, wrapped to the full width. The fields
fit the width by shortening the lists (topics, flags) first, so the text keeps the most
room; every message text goes through :func:`message_text` (a rich ``Text``, never markup).

Every value that comes from data (texts, ids, channels, brands, topics, reasons, payloads,
SQL results and column names) is rendered through :func:`flows.terminal.literal` or
:func:`flows.terminal.printable`: shown as written, never read as rich markup, and no escape
sequence, control character or bidi override in it reaches the terminal; JSON through
:func:`flows.terminal.json_text`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from flows.queries import (
    DeadLetterGroup,
    DeadLetterRow,
    MessageRow,
    Report,
    SqlResult,
    TableInfo,
    TimeRange,
    TurnRow,
)
from flows.terminal import json_text, literal, printable
from schemas.rows import AlertRow

_SENTIMENT_STYLE = {"negative": "red", "neutral": "yellow", "positive": "green"}
_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
_ROLE_STYLE = {"customer": "cyan", "agent": "magenta"}


def _local(ts: datetime, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(zone).strftime(fmt)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _clip(text: str, width: int) -> Text:
    one_line = " ".join(printable(text).split())
    return literal(one_line if len(one_line) <= width else one_line[: width - 1] + "…")


def describe_range(span: TimeRange, zone: ZoneInfo) -> str:
    """``2026-11-20 08:00 → 2026-11-20 14:00 (Asia/Ho_Chi_Minh)``."""
    return f"{_local(span.start, zone)} → {_local(span.end, zone)} ({zone.key})"


def message_text(text: str, limit: int | None = None) -> Text:
    """A message text for the terminal, shown literally (a ``Text``, never markup).

    Its words on one line, clipped to ``limit`` characters when given.
    """
    one_line = " ".join(printable(text).split())
    if limit is not None and len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…"
    return Text(one_line, overflow="fold")


# -- lists of messages ------------------------------------------------------------------------

Cell = Text | tuple[str, ...]
"""A field of a card: a styled text, or a list (topics, flags) that can be shortened."""


def shorten_list(items: Sequence[str], width: int) -> str:
    """``items`` joined by ``, `` in at most ``width`` cells: whole items first, then ``+N``."""
    full = ", ".join(items)
    if cell_len(full) <= width or not items:
        return full
    for keep in range(len(items) - 1, 0, -1):
        candidate = f"{', '.join(items[:keep])} +{len(items) - keep}"
        if cell_len(candidate) <= width:
            return candidate
    rest = f" +{len(items) - 1}" if len(items) > 1 else ""
    room = max(1, width - cell_len(rest) - 1)
    return items[0][:room] + "…" + rest


@dataclasses.dataclass(frozen=True)
class Card:
    """One item of a :class:`CardList`: its short fields and the text shown below them."""

    cells: tuple[Cell, ...]
    text: Text
    style: str = ""


@dataclasses.dataclass
class CardList:
    """Items as cards: an aligned line of short fields each, with the text wrapped below.

    The fields take their natural width; when the line is wider than the console, the
    ``shrink`` fields (lists such as topics and flags, long names) give up width, the widest
    first, down to ``min_width`` each; the text below always has the whole width.
    """

    headers: tuple[str, ...]
    cards: Sequence[Card]
    shrink: tuple[int, ...] = ()
    min_width: int = 8
    styles: tuple[str, ...] = ()
    indent: int = 2

    def _cell(self, cell: Cell, width: int | None = None) -> Text:
        if isinstance(cell, Text):
            text = cell.copy()
            if width is not None:
                text.truncate(width, overflow="ellipsis")
            return text
        items = [printable(item) for item in cell]
        return Text(", ".join(items) if width is None else shorten_list(items, width))

    def widths(self, max_width: int) -> list[int]:
        """Each field's width on a console ``max_width`` cells wide."""
        widths = [cell_len(h) for h in self.headers]
        for card in self.cards:
            for i, cell in enumerate(card.cells):
                widths[i] = max(widths[i], self._cell(cell).cell_len)
        excess = sum(widths) + 2 * (len(widths) - 1) - max_width
        floors = {i: max(self.min_width, cell_len(self.headers[i])) for i in self.shrink}
        while excess > 0:
            # the widest field above its floor gives a cell; ties go to the earlier in shrink
            room = [(widths[i] - floors[i], -k, i) for k, i in enumerate(self.shrink)]
            spare, _, widest = max(room, default=(0, 0, 0))
            if spare <= 0:
                break
            widths[widest] -= 1
            excess -= 1
        return widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = self.widths(options.max_width)
        header = Text(style="bold")
        for i, (title, width) in enumerate(zip(self.headers, widths, strict=True)):
            header.append(title.ljust(width) + ("  " if i < len(widths) - 1 else ""))
        header.rstrip()
        yield header
        for card in self.cards:
            line = Text(style=card.style)
            for i, (cell, width) in enumerate(zip(card.cells, widths, strict=True)):
                text = self._cell(cell, width)
                style = self.styles[i] if i < len(self.styles) else ""
                if style:
                    text.stylize(style, 0, len(text))
                text.truncate(width, overflow="ellipsis", pad=i < len(widths) - 1)
                line.append_text(text)
                if i < len(widths) - 1:
                    line.append("  ")
            line.rstrip()
            yield line
            yield Padding(card.text, (0, 0, 0, self.indent), expand=False)


def _sentiment(label: str, short: bool = False) -> Text:
    return Text(label[:3] if short else label, style=_SENTIMENT_STYLE.get(label, ""))


def _rating(value: int | None) -> Text:
    return Text(f"★{value}" if value is not None else "", style="yellow")


def _day_format(times: Sequence[datetime], zone: ZoneInfo) -> str:
    """``%H:%M`` when every time is on the same local day, else ``%m-%d %H:%M``."""
    days = {_utc(t).astimezone(zone).date() for t in times}
    return "%H:%M" if len(days) <= 1 else "%m-%d %H:%M"


def message_list(
    rows: Sequence[MessageRow], zone: ZoneInfo, *, topics: Sequence[str] = ()
) -> CardList:
    """Messages as cards: id, time, channel, rating, sentiment, topics, flags; text below.

    With ``topics`` the sentiment shown is the one toward those topics (the first of them
    the message mentions), else the message's sentiment. A chat turn's conversation id
    follows its text (for ``voc conversation``).
    """
    fmt = _day_format([r.created_at for r in rows], zone)
    chosen = {t.lower() for t in topics}
    cards = []
    for row in rows:
        label = row.sentiment
        if chosen:
            label = next(
                (s for t, s in zip(row.topics, row.topic_sentiments, strict=False)
                 if t.lower() in chosen),
                row.sentiment,
            )  # fmt: skip
        cells: tuple[Cell, ...] = (
            literal(row.id, style="dim"),
            Text(_local(row.created_at, zone, fmt)),
            literal(row.channel),
            _rating(row.rating),
            _sentiment(label),
            tuple(row.topics),
            tuple(row.flags),
        )
        body = message_text(row.text)
        if row.conversation_id:
            body.append(f"  (conversation {printable(row.conversation_id)})", style="dim")
        cards.append(Card(cells, body))
    return CardList(
        headers=("id", "time", "channel", "★", "sentiment", "topics", "flags"),
        cards=cards,
        shrink=(5, 6, 2),
        styles=("", "", "", "", "", "blue", "magenta"),
    )


def conversation_view(rows: Sequence[TurnRow], conversation_id: str, zone: ZoneInfo) -> Group:
    """A chat thread in order: who said it, when, its sentiment, flags and topics, the text."""
    first, last = rows[0], rows[-1]
    customers = sum(1 for r in rows if r.role != "agent")
    where = printable(" / ".join(x for x in (first.channel, first.brand, first.product) if x))
    title = Text.assemble(
        ("conversation ", "bold"),
        (printable(conversation_id), "bold"),
        f" · {where} · {len(rows)} turns ({customers} customer, {len(rows) - customers} agent)"
        f" · {_local(first.created_at, zone)} → {_local(last.created_at, zone, '%H:%M')}"
        f" ({zone.key})",
    )
    cards = [
        Card(
            (
                Text(_local(row.created_at, zone, "%H:%M:%S")),
                literal(row.role or "-", style=_ROLE_STYLE.get(row.role, "")),
                _sentiment(row.sentiment),
                tuple(row.flags),
                tuple(row.topics),
            ),
            message_text(row.text),
        )
        for row in rows
    ]
    turns = CardList(
        headers=("time", "role", "sentiment", "flags", "topics"),
        cards=cards,
        shrink=(4, 3),
        styles=("", "", "", "magenta", "blue"),
        indent=4,
    )
    return Group(title, Text(), turns)


# -- the report -------------------------------------------------------------------------------


def _change(now: float, before: float) -> str:
    """The relative change of a count: ``+12%``, ``−40%``, ``new`` or ``=``."""
    if before == 0:
        return "new" if now else "–"
    ratio = now / before - 1
    return "=" if abs(ratio) < 0.0005 else f"{ratio:+.0%}".replace("-", "−")


def _points(now: float | None, before: float | None) -> str:
    """The change of a share in percentage points: ``+2.1 pp``; ``–`` without a previous."""
    if now is None or before is None:
        return "–"
    return f"{100 * (now - before):+.1f} pp".replace("-", "−")


def _span_words(report: Report) -> str:
    seconds = int((report.range.end - report.range.start).total_seconds())
    return _duration(seconds)


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(parts) or f"{seconds}s"


def report_header(report: Report, zone: ZoneInfo) -> Text:
    """What the report covers and how it changed against the previous period."""
    span = f"{_local(report.range.start, zone)} → {_local(report.range.end, zone)} ({zone.key})"
    totals = report.totals
    before = f"previous {_span_words(report)}"
    compared = (
        f" ({before}: {totals.previous_messages:,}, "
        f"{_change(report.total, totals.previous_messages)})"
        if totals.previous_messages
        else f" (none in the {before})"
    )
    header = Text.assemble(
        ("Voice of Customer ", "bold"),
        f"{span} · filters: {printable(report.filters.describe())}\n",
        (f"{report.total:,} customer messages", "bold"),
        compared,
        (" · agent chat turns are not counted", "dim"),
    )
    if totals.negative_share is not None:
        prev = totals.previous_negative_share
        header.append(f"\nnegative (message sentiment): {_pct(totals.negative_share)}")
        if prev is not None:
            header.append(f" ({before}: {_pct(prev)}, {_points(totals.negative_share, prev)})")
    if totals.rating is not None:
        header.append(f" · review rating {totals.rating:.2f}★")
        if totals.previous_rating is not None:
            header.append(f" ({before}: {totals.previous_rating:.2f})")
    return header


def _heading(title: str) -> Text:
    """A section title spanning the width (a table's own title wraps at the table's width)."""
    return Text(title, style="italic")


def report_renderables(report: Report, zone: ZoneInfo) -> list[Any]:
    """The report as a list of rich renderables, in reading order."""
    out: list[Any] = [report_header(report, zone)]

    out.append(_heading("Volume by source and channel (negative: message sentiment)"))
    volume = Table()
    volume.add_column("source")
    volume.add_column("channel")
    volume.add_column("messages", justify="right")
    volume.add_column("conversations", justify="right")
    volume.add_column("reach", justify="right")
    volume.add_column("negative", justify="right")
    for row in report.volume:
        volume.add_row(
            literal(row.source), literal(row.channel), f"{row.messages:,}",
            f"{row.conversations:,}" if row.source == "chat" else "",
            f"{row.reach:,}" if row.source == "social" else "",
            _pct(row.negative_share),
        )  # fmt: skip
    out.append(volume)
    out.append(
        Text(
            "conversations: chats counted by conversation as well as by turn; "
            "reach: social messages weighted by their audience",
            style="dim",
        )
    )

    out.append(_heading("Sentiment share (message sentiment)"))
    sentiment = Table()
    sentiment.add_column("sentiment")
    sentiment.add_column("messages", justify="right")
    sentiment.add_column("share", justify="right")
    for label, n, share in report.sentiment:
        sentiment.add_row(literal(label, _SENTIMENT_STYLE.get(label, "")), f"{n:,}", _pct(share))
    out.append(sentiment)

    out.append(
        _heading(
            f"Top topics against the previous {_span_words(report)} "
            "(negative, positive: sentiment toward the topic)"
        )
    )
    topics = Table()
    topics.add_column("topic")
    topics.add_column("messages", justify="right")
    topics.add_column("change", justify="right")
    topics.add_column("negative", justify="right")
    topics.add_column("change", justify="right")
    topics.add_column("positive", justify="right")
    for topic in report.topics:
        topics.add_row(
            literal(topic.topic),
            f"{topic.messages:,}",
            _change(topic.messages, topic.previous_messages),
            Text(_pct(topic.negative_share), style="red" if topic.negative_share >= 0.5 else ""),
            _points(
                topic.negative_share if topic.messages else None, topic.previous_negative_share
            ),
            _pct(topic.positive_share),
        )
    out.append(topics)

    if report.ratings:
        step = _duration(int(report.rating_step.total_seconds()))
        fmt = _day_format([r.bucket_start for r in report.ratings], zone)
        out.append(_heading(f"Review ratings per {step} (from, {zone.key})"))
        ratings = Table()
        ratings.add_column("from")
        ratings.add_column("reviews", justify="right")
        ratings.add_column("average", justify="right")
        ratings.add_column("1-2★", justify="right")
        for bucket in report.ratings:
            ratings.add_row(
                _local(bucket.bucket_start, zone, fmt), f"{bucket.reviews:,}",
                f"{bucket.average:.2f}★", _pct(bucket.low_share),
            )  # fmt: skip
        out.append(ratings)
    else:
        out.append(Text("Review ratings: no rated review in this range.", style="dim"))

    out.append(_heading(f"Latest negative messages (message sentiment; times {zone.key})"))
    fmt = _day_format([r.created_at for r in report.negatives], zone)
    out.append(
        CardList(
            headers=("time", "channel", "brand", "topics"),
            cards=[
                Card(
                    (
                        Text(_local(row.created_at, zone, fmt)),
                        literal(row.channel),
                        literal(row.brand),
                        tuple(row.topics),
                    ),
                    message_text(row.text, 280),
                )
                for row in report.negatives
            ],
            shrink=(3, 2),
            styles=("", "", "", "blue"),
        )
        if report.negatives
        else Text("none", style="dim")
    )

    out.append(dead_letter_table(report.dead_letters))

    if report.alerts:
        out.append(_heading(f"Alerts (window start, {zone.key})"))
        window_format = _day_format([a.window_start for a in report.alerts], zone)
        cards = []
        for alert in report.alerts:
            key = "/".join(x for x in (alert.topic, alert.channel, alert.brand, alert.phrase) if x)
            cells: tuple[Cell, ...] = (
                literal(alert.status, style="bold" if alert.status == "open" else "dim"),
                literal(alert.severity, style=_SEVERITY_STYLE.get(alert.severity, "")),
                literal(alert.kind),
                literal(key),
                literal(alert.scale),
                Text(_local(alert.window_start, zone, window_format)),
                Text(f"{alert.observed:g} / {alert.expected:.1f}"),
            )
            sample = alert.sample_texts[0] if alert.sample_texts else ""
            body = message_text(sample, 200)
            if alert.summary:  # what, where and how much, then a message behind it
                body = Text.assemble(message_text(alert.summary, 200), "\n", body)
            cards.append(Card(cells, body))
        out.append(
            CardList(
                headers=("status", "severity", "kind", "key", "scale", "window", "seen/expected"),
                cards=cards,
                shrink=(3,),
            )
        )
    else:
        out.append(Text("Alerts: none in this range.", style="dim"))
    return out


def dead_letter_table(rows: Sequence[DeadLetterGroup]) -> Any:
    """Dead letters grouped by step and error type."""
    if not rows:
        return Text("Dead letters: none.", style="dim")
    table = Table(title="Dead letters", title_justify="left", expand=True)  # as wide as the panel
    table.add_column("step")
    table.add_column("error")
    table.add_column("payloads", justify="right")
    table.add_column("example reason", ratio=1)
    for row in rows:
        table.add_row(
            literal(row.step), literal(row.error_type), f"{row.payloads:,}", _clip(row.example, 120)
        )
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
    return json_text([plain(a) for a in alerts], indent=2)


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
            (f"{printable(alert.severity).upper()} ", style),
            (f"{printable(alert.status)} ", "bold" if alert.status == "open" else "dim"),
            printable(f"{alert.kind} · {_key(alert)}{scale}"),
        )
        lines: list[Any] = []
        if alert.summary:
            lines.append(Text(printable(alert.summary), style="bold"))
        if alert.conversation_id:
            conversation = printable(alert.conversation_id)
            lines.append(Text.assemble(("conversation: ", "bold"), conversation))
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
            lines.append(Text.assemble(("phrase: ", "bold"), printable(alert.phrase)))
        if alert.top_terms:
            terms = printable(", ".join(alert.top_terms))
            lines.append(Text.assemble(("top terms: ", "bold"), terms))
        if alert.channel_breakdown:
            channels = sorted(alert.channel_breakdown.items(), key=lambda kv: (-kv[1], kv[0]))
            listed = printable(", ".join(f"{c} {n}" for c, n in channels))
            lines.append(Text.assemble(("channels: ", "bold"), listed))
        samples = Table(show_header=False, box=None, padding=(0, 1), expand=True)
        samples.add_column("id", style="dim", no_wrap=True)
        samples.add_column("text", ratio=1)
        for sample_id, text in zip(alert.sample_ids, alert.sample_texts, strict=False):
            samples.add_row(literal(sample_id), message_text(text))
        lines.append(samples)
        subtitle = Text(f"{printable(alert.id)} · {zone.key}")
        console.print(Panel(Group(*lines), title=title, title_align="left", subtitle=subtitle))


# -- dead letters -----------------------------------------------------------------------------


def dead_letter_list(rows: Sequence[DeadLetterRow], zone: ZoneInfo) -> Any:
    """The latest dead letters as cards, the reason and the payload below each.

    Fields: received (in the display zone), step, error, origin:line.
    """
    title = _heading(f"Latest {len(rows)} dead letters (received, {zone.key})")
    cards = []
    for row in rows:
        cells: tuple[Cell, ...] = (
            Text(_utc(row.received_at).astimezone(zone).strftime("%m-%d %H:%M:%S")),
            literal(row.step),
            literal(row.error_type, style="red"),
            literal(f"{Path(row.origin).name}:{row.position}"),
        )
        body = Text.assemble(("reason: ", "bold"), message_text(row.reason, 300))
        body.append("\n")
        body.append_text(Text.assemble(("payload: ", "bold"), message_text(row.payload, 300)))
        cards.append(Card(cells, body))
    return Group(
        title,
        CardList(headers=("received", "step", "error", "origin:line"), cards=cards, shrink=(3,)),
    )


# -- SQL results ------------------------------------------------------------------------------


def sql_cell(value: Any) -> str:
    """One value as the SQL table shows it: times as stored, floats to 6 digits, NULL."""
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        text = value.replace(tzinfo=None).isoformat(sep=" ")
        return text[:-3] if value.microsecond else text
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple | dict):
        return json_text(plain(value))
    return str(value)


_NUMERIC = ("Int", "UInt", "Float", "Decimal", "Nullable(Int", "Nullable(UInt", "Nullable(Float")


def sql_table(result: SqlResult, max_rows: int) -> Table:
    """A statement's result as a table like the other commands'; time columns name their zone."""
    shown = result.rows[:max_rows]
    more = len(result.rows) - len(shown)
    caption = f"{len(result.rows):,} row{'s' if len(result.rows) != 1 else ''}"
    if more:
        caption += f", the first {len(shown):,} shown (--format csv for all)"
    table = Table(caption=caption, caption_justify="left")
    for name, kind, zone in zip(result.columns, result.types, result.zones, strict=True):
        header = f"{name} ({zone})" if zone else name
        numeric = kind.startswith(_NUMERIC)
        table.add_column(literal(header), justify="right" if numeric else "left")
    for row in shown:
        table.add_row(
            *(Text("NULL", style="dim") if v is None else literal(sql_cell(v)) for v in row)
        )
    return table


def tables_table(tables: Sequence[TableInfo]) -> Table:
    """The database's tables and views with their engine, rows and comment."""
    commented = any(info.comment for info in tables)
    table = Table(title="tables and views", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("engine")
    table.add_column("rows", justify="right")
    if commented:
        table.add_column("what it holds", ratio=1)
    for info in tables:
        rows = f"{info.rows:,}" if info.rows is not None else ""
        cells: list[Text | str] = [literal(info.name), literal(info.engine), rows]
        cells += [literal(info.comment)] if commented else []
        table.add_row(*cells)
    return table
