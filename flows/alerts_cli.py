"""``voc alerts``: open and recent emerging-issue alerts, with their sample messages.

A thin click layer over one parameterized query on ``alerts FINAL`` (the latest revision of
each alert). The ``voc`` group registers it (``cli.add_command(alerts)``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from schemas.rows import AlertRow

STATUSES = ("all", "open", "resolved")
KINDS = ("volume_spike", "negative_share", "emerging_phrase")
#: The oldest time ClickHouse's DateTime64 holds: "since the beginning".
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}

ALERTS_SQL = """
SELECT id, revision, kind, status, severity, key_type, topic, channel, brand, product, phrase,
       window_start, window_end, observed, expected, score, top_terms, channel_breakdown,
       sample_ids, sample_texts, opened_at, updated_at, resolved_at, detector_version
FROM alerts FINAL
WHERE ((status = 'open' AND {status:String} IN ('all', 'open'))
       OR (status = 'resolved' AND {status:String} IN ('all', 'resolved')
           AND updated_at >= {since:DateTime64(3, 'UTC')}))
  AND ({kind:String} = '' OR kind = {kind:String})
ORDER BY status = 'open' DESC,
         indexOf(['info', 'warning', 'critical'], severity) DESC,
         updated_at DESC, id
LIMIT {limit:UInt32}
"""
#: The columns ALERTS_SQL selects, in order (``AlertRow.COLUMNS``; a test checks it).
SELECTED = AlertRow.COLUMNS

EXAMPLES = """
\b
Examples:
  voc alerts                              open alerts and those updated in the last 24 h
  voc alerts --status open --kind volume_spike
  voc alerts --last 7d --status resolved --limit 50
  voc alerts --json | jq '.[0].sample_texts'
"""


@dataclass(frozen=True)
class AlertQuery:
    """Which alerts to list."""

    status: str = "all"
    since: datetime = EPOCH
    kind: str = ""
    limit: int = 20


def fetch_alerts(client: Any, query: AlertQuery) -> list[dict[str, Any]]:
    """The latest revision of the selected alerts, most urgent first."""
    result = client.query(
        ALERTS_SQL,
        parameters={
            "status": query.status,
            "since": query.since,
            "kind": query.kind,
            "limit": query.limit,
        },
    )
    return [dict(zip(SELECTED, row, strict=True)) for row in result.result_rows]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def alerts_json(alerts: Sequence[dict[str, Any]]) -> str:
    """The alerts as a JSON array (times in UTC ISO 8601)."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return _utc(value).isoformat().replace("+00:00", "Z")
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        return value

    return json.dumps([plain(a) for a in alerts], ensure_ascii=False, indent=2)


def _key(alert: dict[str, Any]) -> str:
    parts = [alert["topic"] or "(any topic)"]
    if alert["channel"]:
        parts.append(f"@ {alert['channel']}")
    if alert["brand"]:
        parts.append(f"/ {alert['brand']}")
    if alert["product"]:
        parts.append(f"/ {alert['product']}")
    if alert["key_type"] == "phrase" and not any(alert[f] for f in ("topic", "channel", "brand")):
        return f'"{alert["phrase"]}"'
    return " ".join(parts)


def _measure(alert: dict[str, Any]) -> str:
    observed, expected = alert["observed"], alert["expected"]
    if alert["kind"] == "negative_share":
        return f"negative share {observed:.0%} vs {expected:.0%} usual"
    ratio = f" ({observed / expected:.1f}x)" if expected > 0 else ""
    return f"{observed:g} messages vs {expected:.1f} expected{ratio}"


def render_alerts(console: Any, alerts: Sequence[dict[str, Any]], zone: ZoneInfo) -> None:
    """Print one panel per alert: what, where, how much, top terms, channels, samples."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    def local(value: datetime | None) -> str:
        return _utc(value).astimezone(zone).strftime("%m-%d %H:%M") if value else "-"

    if not alerts:
        console.print(Text("No alerts match.", style="dim"))
        return
    for alert in alerts:
        style = _SEVERITY_STYLE.get(alert["severity"], "")
        title = Text.assemble(
            (f"{alert['severity'].upper()} ", style),
            (f"{alert['status']} ", "bold" if alert["status"] == "open" else "dim"),
            f"{alert['kind']} · {_key(alert)}",
        )
        lines: list[Any] = [
            Text(
                f"{_measure(alert)} · score {alert['score']:.1f} · window "
                f"{local(alert['window_start'])} → {local(alert['window_end'])} · opened "
                f"{local(alert['opened_at'])}"
                + (f" · resolved {local(alert['resolved_at'])}" if alert["resolved_at"] else "")
                + f" · rev {alert['revision']}"
            )
        ]
        if alert["phrase"]:
            lines.append(Text.assemble(("phrase: ", "bold"), alert["phrase"]))
        if alert["top_terms"]:
            lines.append(Text.assemble(("top terms: ", "bold"), ", ".join(alert["top_terms"])))
        if alert["channel_breakdown"]:
            channels = sorted(alert["channel_breakdown"].items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append(
                Text.assemble(("channels: ", "bold"), ", ".join(f"{c} {n}" for c, n in channels))
            )
        samples = Table(show_header=False, box=None, padding=(0, 1), expand=True)
        samples.add_column("id", style="dim", no_wrap=True)
        samples.add_column("text", ratio=1)
        for sample_id, text in zip(alert["sample_ids"], alert["sample_texts"], strict=False):
            samples.add_row(sample_id, " ".join(text.split()))
        lines.append(samples)
        subtitle = f"{alert['id']} · {zone.key}"
        console.print(Panel(Group(*lines), title=title, title_align="left", subtitle=subtitle))


@click.command("alerts", epilog=EXAMPLES, context_settings={"max_content_width": 100})
@click.option("--dsn", "clickhouse_dsn", help="ClickHouse DSN (default: VOC_CLICKHOUSE_DSN).")
@click.option("--database", "clickhouse_database", help="ClickHouse database (default: voc).")
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    default="all",
    show_default=True,
    help="open: every open alert; resolved: resolved within --last; all: both.",
)
@click.option(
    "--last",
    default="24h",
    show_default=True,
    help="How far back resolved alerts are listed (30m, 6h, 7d), by their last update.",
)
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind of alert.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of panels.")
def alerts(
    clickhouse_dsn: str | None,
    clickhouse_database: str | None,
    status: str,
    last: str,
    kind: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List open and recent emerging-issue alerts with their sample messages.

    Each alert shows its kind, key, severity, the messages observed against the expected
    count, top terms, a breakdown by channel and representative messages (PII redacted).
    Open alerts come first, the most severe first. Times are shown in VOC_TIMEZONE.
    """
    from flows.cli import out_console, parse_duration
    from flows.clickhouse import connect
    from flows.settings import load_settings
    from schemas.migrate import require_current

    settings = load_settings(clickhouse_dsn=clickhouse_dsn, clickhouse_database=clickhouse_database)
    since = datetime.now(UTC) - parse_duration(last)
    client = connect(settings)
    try:
        require_current(client, "voc alerts")
        found = fetch_alerts(client, AlertQuery(status, since, kind or "", limit))
    finally:
        client.close()
    if as_json:
        click.echo(alerts_json(found))
    else:
        render_alerts(out_console, found, settings.zone)
