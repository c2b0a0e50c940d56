"""The drill-down commands: ``voc messages`` and ``voc conversation``.

``voc messages`` lists the messages behind a number; ``voc conversation`` shows one chat
thread, both sides, in order.

Thin layers over :mod:`flows.queries` (SQL, typed rows), :mod:`flows.cli.filters` (values
compared without case, unknown values listed) and :mod:`flows.cli.render`.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import click

from flows.cli.common import (
    FROM_HELP,
    RANGE_HELP,
    TO_HELP,
    open_store,
    out_console,
    settings_for,
    store_options,
    time_range,
)
from flows.cli.filters import SENTIMENTS, SOURCES, fixed_choice, parse_ratings, resolve_all
from flows.terminal import json_text
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from flows.queries import MessageRow

_REPEAT = " Compared without case; repeat the option for any of several."

MESSAGES_EXAMPLES = """
\b
Examples:
  voc messages --topic delivery --sentiment negative --last 6h
  voc messages --channel shopee --rating 1-2 --flag complaint
  voc messages --search "giao hang cham"          # with or without diacritics
  voc messages --brand Lumia --product "Lumia S12" --from yesterday --to today
  voc messages --source chat --flag churn_risk --json | jq '.[].conversation_id'
  voc messages --topic payment --last 7d --limit 1000 --csv > payment.csv
"""

#: The columns of ``--csv`` (lists joined by ``;``, times in UTC).
CSV_COLUMNS = (
    "id", "created_at", "source", "channel", "brand", "product", "rating", "sentiment",
    "sentiment_score", "topics", "topic_sentiments", "flags", "conversation_id", "role",
    "reach", "text",
)  # fmt: skip


@click.command("messages", epilog=MESSAGES_EXAMPLES)
@store_options
@click.option("--last", default="24h", show_default=True, help=RANGE_HELP)
@click.option("--from", "start", help=FROM_HELP)
@click.option("--to", "end", help=TO_HELP)
@click.option(
    "--topic", "topics", multiple=True, help="About this topic (delivery, ...)." + _REPEAT
)
@click.option(
    "--sentiment",
    callback=fixed_choice("sentiment", SENTIMENTS),
    help="negative, neutral or positive: toward --topic when given (as in `voc query`'s topic "
    "table), else the message's.",
)
@click.option("--flag", "flags", multiple=True, help="Flagged complaint, churn_risk, ..." + _REPEAT)
@click.option("--channel", "channels", multiple=True, help="From this channel." + _REPEAT)
@click.option(
    "--source",
    "sources",
    multiple=True,
    callback=fixed_choice("source", SOURCES),
    help="review, chat or social; repeat for any of several.",
)
@click.option("--brand", "brands", multiple=True, help="About this brand." + _REPEAT)
@click.option("--product", "products", multiple=True, help="About this product." + _REPEAT)
@click.option("--rating", help="Reviews of these stars: 1, 1-2 or 4,5.")
@click.option(
    "--conversation",
    "conversations",
    multiple=True,
    help="Customer turns of this chat conversation (`voc conversation ID` shows both sides).",
)
@click.option(
    "--search",
    help="Words to find in this order, other words allowed between, with or without "
    "diacritics (đ = d), teencode expanded: 'giao hang cham' finds 'giao hàng quá chậm'.",
)
@click.option(
    "--limit", type=click.IntRange(1, 100_000), default=50, show_default=True, help="Rows listed."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of messages.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header row (times in UTC).")
def messages(
    clickhouse_dsn: str | None,
    clickhouse_database: str | None,
    last: str,
    start: str | None,
    end: str | None,
    topics: tuple[str, ...],
    sentiment: str | None,
    flags: tuple[str, ...],
    channels: tuple[str, ...],
    sources: tuple[str, ...],
    brands: tuple[str, ...],
    products: tuple[str, ...],
    rating: str | None,
    conversations: tuple[str, ...],
    search: str | None,
    limit: int,
    as_json: bool,
    as_csv: bool,
) -> None:
    """List the customer messages behind a number, newest first, with their text.

    Every filter narrows the list; values are compared without case, and a value the store
    does not know is reported with the values it knows. Agent turns of chats are left out,
    as in every customer figure. Times are shown in VOC_TIMEZONE.
    """
    from flows.cli.render import message_list
    from flows.queries import MessageQuery, fetch_messages, like_pattern

    if as_json and as_csv:
        msg = "--json and --csv cannot be combined"
        raise click.UsageError(msg)
    settings = settings_for(clickhouse_dsn=clickhouse_dsn, clickhouse_database=clickhouse_database)
    span = time_range(last, start, end, settings.zone)
    ratings = parse_ratings(rating)
    pattern = ""
    if search is not None:
        from nlp.normalize import fold

        folded = " ".join(fold(search).split())
        if not folded:
            msg = f"--search {search!r} has no letters or digits to look for"
            raise ConfigError(msg)
        pattern = like_pattern(folded)
    with open_store(settings, "voc messages") as client:

        def values(name: str, given: tuple[str, ...]) -> tuple[str, ...]:
            return resolve_all(client, settings, name, given)

        query = MessageQuery(
            time_range=span,
            sources=sources,
            channels=values("channel", channels),
            brands=values("brand", brands),
            products=values("product", products),
            topics=values("topic", topics),
            flags=values("flag", flags),
            conversations=values("conversation", conversations),
            ratings=ratings,
            sentiment=sentiment or "",
            pattern=pattern,
            limit=limit,
        )
        matched, rows = fetch_messages(client, query)
    if as_json:
        click.echo(json_text([_message_json(r) for r in rows], indent=2))
        return
    if as_csv:
        click.echo(_csv(rows), nl=False)
        return
    from rich.text import Text

    from flows.cli.render import describe_range

    chosen = [
        f"{name}={','.join(str(v) for v in given)}"
        for name, given in (
            ("topic", query.topics), ("sentiment", (sentiment,) if sentiment else ()),
            ("flag", query.flags), ("channel", query.channels), ("source", query.sources),
            ("brand", query.brands), ("product", query.products), ("rating", ratings),
            ("conversation", query.conversations), ("search", (search,) if search else ()),
        )
        if given
    ]  # fmt: skip
    meaning = f"toward {', '.join(query.topics)}" if query.topics else "of the message"
    out_console.print(
        Text.assemble(
            ("Messages ", "bold"),
            f"{describe_range(span, settings.zone)} · filters: {', '.join(chosen) or 'none'}\n",
            (f"{matched:,} customer messages match", "bold"),
            f"; the newest {len(rows):,} shown · sentiment: {meaning} · times {settings.zone.key}"
            if rows
            else "",
        ),
        highlight=False,
    )
    if rows:
        out_console.print(message_list(rows, settings.zone, topics=query.topics))


def _message_json(row: MessageRow) -> dict[str, Any]:
    from flows.cli.render import plain

    return dict(plain(row))


def _csv(rows: list[MessageRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        record = _message_json(row)
        writer.writerow(
            ";".join(v) if isinstance(v := record[c], list) else ("" if v is None else v)
            for c in CSV_COLUMNS
        )
    return buffer.getvalue()


# -- conversation -----------------------------------------------------------------------------

CONVERSATION_EXAMPLES = """
\b
Examples:
  voc conversation conv-7-000000123
  voc messages --source chat --flag churn_risk     # find one: the conversation column
  voc conversation conv-7-000000123 --json
"""


@click.command("conversation", epilog=CONVERSATION_EXAMPLES)
@click.argument("conversation_id", metavar="ID")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of the turns.")
def conversation(
    conversation_id: str,
    clickhouse_dsn: str | None,
    clickhouse_database: str | None,
    as_json: bool,
) -> None:
    """Show one chat conversation in order, customer and agent turns.

    Each turn with its sentiment, flags and topics. ID is the conversation_id of the chat
    (compared without case). Times are shown in VOC_TIMEZONE.
    """
    from flows.cli.filters import resolve
    from flows.cli.render import conversation_view, plain
    from flows.queries import fetch_conversation

    settings = settings_for(clickhouse_dsn=clickhouse_dsn, clickhouse_database=clickhouse_database)
    with open_store(settings, "voc conversation") as client:
        turns = fetch_conversation(client, conversation_id)
        if not turns:
            (found, *_) = resolve(client, settings, "conversation", conversation_id)
            conversation_id = found
            turns = fetch_conversation(client, found)
    if as_json:
        click.echo(json_text(plain(turns), indent=2))
    else:
        out_console.print(conversation_view(turns, conversation_id, settings.zone))
