"""The read commands: ``voc query``, ``voc alerts`` and ``voc dead-letters``.

Each is a thin layer over :mod:`flows.queries` (the SQL, typed rows) and
:mod:`flows.cli.render` (the terminal rendering).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from flows.cli.common import (
    FROM_HELP,
    RANGE_HELP,
    TO_HELP,
    open_store,
    out_console,
    parse_duration,
    settings_for,
    store_options,
    time_range,
)
from flows.cli.filters import SOURCES, fixed_choice, resolve
from flows.terminal import json_text

STATUSES = ("all", "open", "resolved")
KINDS = ("volume_spike", "negative_share", "emerging_phrase", "emerging_issue", "case")


# -- query ------------------------------------------------------------------------------------


@click.command()
@store_options
@click.option("--last", "last", default="24h", show_default=True, help=RANGE_HELP)
@click.option("--from", "start", help=FROM_HELP)
@click.option("--to", "end", help=TO_HELP)
@click.option(
    "--source",
    callback=fixed_choice("source", SOURCES),
    help="Only this source: review, chat, social.",
)
@click.option("--channel", help="Only this channel (shopee, zalo, facebook, ...); any case.")
@click.option("--brand", help="Only this brand; any case.")
@click.option("--product", help="Only this product; any case.")
@click.option("--topic", help="Only messages about this topic (delivery, payment, ...); any case.")
@click.option(
    "--top", type=click.IntRange(1, 100), default=10, show_default=True, help="Topics listed."
)
@click.option(
    "--negatives",
    type=click.IntRange(0, 200),
    default=5,
    show_default=True,
    help="Latest negative messages listed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def query(
    clickhouse_dsn: str | None,
    clickhouse_database: str | None,
    last: str,
    start: str | None,
    end: str | None,
    top: int,
    negatives: int,
    as_json: bool,
    **filters: str | None,
) -> None:
    """Volume, sentiment, topics, ratings and the latest negative messages for a range.

    Each figure is shown against the previous period of the same length. Chats are counted
    by turn and by conversation, social posts also by their reach. The topic table's
    negative share is the sentiment toward the topic; the volume table and the message list
    use the message's sentiment. Filters are compared without case.

    \b
    Examples:
      voc query --last 6h
      voc query --last 1h30m --channel shopee
      voc query --from yesterday --to today --topic delivery
      voc query --from 2026-11-20T00:00+07:00 --to 2026-11-21T00:00+07:00 --channel shopee
      voc query --topic delivery --brand Lumia --json
    """
    from flows.cli.render import print_report
    from flows.queries import Filters, build_report

    settings = settings_for(clickhouse_dsn=clickhouse_dsn, clickhouse_database=clickhouse_database)
    span = time_range(last, start, end, settings.zone)
    with open_store(settings, "voc query") as client:
        given = {k: v for k, v in filters.items() if v}
        for name in given.keys() - {"source"}:
            given[name] = resolve(client, settings, name, given[name] or "")[0]
        chosen = Filters(**given)
        report = build_report(client, span, chosen, top_topics=top, latest_negative=negatives)
    if as_json:
        click.echo(json_text(_report_json(report), indent=2, default=str))
    else:
        print_report(out_console, report, settings.zone)


def _report_json(report: Any) -> dict[str, Any]:
    from flows.cli.render import plain

    return {
        "range": plain({"start": report.range.start, "end": report.range.end}),
        "filters": vars(report.filters),
        "previous_range": plain({"start": report.range.previous.start, "end": report.range.start}),
        "total": report.total,
        "conversations": report.conversations,
        "totals": plain(report.totals),
        "volume": plain(report.volume),
        "sentiment": plain(report.sentiment),
        "topics": plain(report.topics),
        "ratings": plain(report.ratings),
        "rating_step_s": report.rating_step.total_seconds(),
        "latest_negative": plain(report.negatives),
        "dead_letters": plain(report.dead_letters),
    }


# -- alerts -----------------------------------------------------------------------------------

ALERTS_EXAMPLES = """
\b
Examples:
  voc alerts                              open alerts and those updated in the last 24 h
  voc alerts --status open --kind volume_spike
  voc alerts --kind case --status open    customers who need action now
  voc alerts --last 7d --status resolved --limit 50
  voc alerts --json | jq '.[0].sample_texts'
"""


@click.command("alerts", epilog=ALERTS_EXAMPLES)
@store_options
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
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    help="Only this kind of alert; cases (one customer each) are listed only with --kind case.",
)
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Alerts listed."
)
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
    """List open and recent emerging-issue alerts, or customer cases, with sample messages.

    Each alert shows its one-line summary (in Vietnamese: what, where, how much), kind,
    key, the time scale that opened it, severity, the messages observed against the
    expected count, top terms, a breakdown by channel and representative messages (PII
    redacted). A case is one customer who needs action now (urgent, product safety,
    account security, churn risk), one per conversation. Open alerts come first, the most
    severe first. Times are shown in VOC_TIMEZONE.
    """
    from flows.cli.render import alerts_json, render_alerts
    from flows.queries import AlertQuery, fetch_alerts

    settings = settings_for(clickhouse_dsn=clickhouse_dsn, clickhouse_database=clickhouse_database)
    since = datetime.now(UTC) - parse_duration(last)
    with open_store(settings, "voc alerts") as client:
        found = fetch_alerts(client, AlertQuery(status, since, kind or "", limit))
    if as_json:
        click.echo(alerts_json(found))
    else:
        render_alerts(out_console, found, settings.zone)


# -- dead letters -----------------------------------------------------------------------------


@click.command("dead-letters")
@store_options
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Rows listed."
)
@click.option("--step", help="Only this step: read, parse, prepare, enrich or write.")
@click.option("--last", help="Only those received in this span ending at --to: 30m, 6h, 7d.")
@click.option("--from", "start", help=FROM_HELP)
@click.option("--to", "end", help=TO_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
def dead_letters(
    clickhouse_dsn: str | None,
    clickhouse_database: str | None,
    limit: int,
    step: str | None,
    last: str | None,
    start: str | None,
    end: str | None,
    as_json: bool,
) -> None:
    """List the latest dead letters with their reason and where they came from.

    Dead letters have no event time: ranges apply to when they were received.

    \b
    Examples:
      voc dead-letters --step parse --limit 50
      voc dead-letters --last 1h --json
    """
    from flows.cli.render import dead_letter_list, plain
    from flows.queries import fetch_dead_letters

    settings = settings_for(clickhouse_dsn=clickhouse_dsn, clickhouse_database=clickhouse_database)
    span = None
    if last or start or end:
        span = time_range(last or "3650d", start, end, settings.zone)
    with open_store(settings, "voc dead-letters") as client:
        rows = fetch_dead_letters(client, step=step or "", time_range=span, limit=limit)
    if as_json:
        click.echo(json_text(plain(rows), indent=2))
    else:
        out_console.print(dead_letter_list(rows, settings.zone))
