"""`voc messages` and `voc conversation` on a store seeded through the real flow."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flows.cli import cli
from flows.clickhouse import connect
from flows.queries import Filters, TimeRange, build_report
from flows.settings import Settings
from tests.cli.conftest import CUSTOMER, HOUR_END, TEXT
from tests.conftest import T0


def voc(settings: Settings, *args: str) -> Result:
    dsn = settings.clickhouse_dsn.get_secret_value()
    return CliRunner().invoke(cli, [*args, "--dsn", dsn])


def listed(settings: Settings, *args: str) -> list[str]:
    """The ids `voc messages … --json` lists over the whole seed, newest first."""
    result = voc(settings, "messages", "--from", T0.isoformat(), "--to", HOUR_END, "--json", *args)
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.output)]


def newest_first(*ids: str) -> list[str]:
    return [mid for mid in reversed(CUSTOMER) if mid in ids]


def test_without_filters_every_customer_message_is_listed_newest_first(seeded: Settings) -> None:
    assert listed(seeded) == newest_first(*CUSTOMER)
    assert "ch2" not in listed(seeded)  # an agent turn is not customer voice


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--topic", "delivery"), ("r1", "r2", "r3", "ch1", "ch3", "so1")),
        (
            ("--topic", "DELIVERY", "--topic", "Packaging"),
            ("r1", "r2", "r3", "ch1", "ch3", "so1", "so2"),
        ),
        # with a topic, the sentiment is the one toward the topic: r3 is a negative message
        # (the price) about a delivery that was fast
        (("--topic", "delivery", "--sentiment", "negative"), ("r1", "ch1", "so1")),
        (("--topic", "delivery", "--sentiment", "Positive"), ("r2", "r3", "ch3")),
        (("--sentiment", "negative"), ("r1", "r3", "r4", "r6", "ch1", "ch4", "so1")),
        (("--flag", "churn_risk"), ("r6", "ch4")),
        (("--flag", "QUESTION"), ("r5", "ch1")),
        (("--channel", "Shopee"), ("r1", "r2", "r6")),
        (("--source", "chat"), ("ch1", "ch3", "ch4")),
        (("--source", "social", "--source", "chat"), ("ch1", "ch3", "ch4", "so1", "so2")),
        (("--brand", "sao mai"), ("r3", "r6")),
        (("--product", "lumia s12"), ("r1", "r2", "r4")),
        (("--rating", "1"), ("r1", "r6")),
        (("--rating", "1-2"), ("r1", "r3", "r6")),
        (("--rating", "4,5"), ("r2", "r4")),
        (("--conversation", "conv-100"), ("ch1", "ch3")),
        (("--search", "giao hàng chậm"), ("r1", "so1")),  # "Giao hàng của Lumia chậm quá"
        (("--search", "GIAO HANG CHAM"), ("r1", "so1")),
        (("--search", "dong goi"), ("r1", "so2")),  # đ = d
        (("--search", "đóng gói cẩn thận"), ("so2",)),
        (("--search", "100%"), ()),  # LIKE wildcards are literal
        (("--search", "giao cham"), ("r1", "ch1", "so1")),  # words in order, others between
        (("--search", "cham giao"), ()),  # ... in their order
        (("--search", "giao   mop"), ("r1",)),
        (("--brand", "lumia", "--channel", "shopee", "--sentiment", "positive"), ("r2",)),
    ],
)
def test_each_filter_narrows_the_list_without_case(
    seeded: Settings, args: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert listed(seeded, *args) == newest_first(*expected)


def test_a_topic_and_sentiment_drill_down_matches_the_report_topic_table(
    seeded: Settings,
) -> None:
    client = connect(seeded)
    try:
        report = build_report(client, TimeRange(T0, T0 + timedelta(hours=1)), Filters())
    finally:
        client.close()
    for row in report.topics:
        drilled = listed(seeded, "--topic", row.topic, "--sentiment", "negative")
        assert len(drilled) == round(row.negative_share * row.messages), row


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--topic", "shipping"), "unknown topic 'shipping'; known: account_security, "
         "app_website, authenticity, customer_service, delivery, packaging, payment, price, "
         "product_quality, product_safety, promotion, refund_return, warranty"),
        (("--channel", "shoppe"), "unknown channel 'shoppe'; known: facebook, lazada, messenger, "
         "shopee, tiki, tiktok, zalo"),
        (("--brand", "Lumiaa"), "unknown brand 'Lumiaa'; known: Lumia, Sao Mai"),
        (("--flag", "angry"), "unknown flag 'angry'; known: churn_risk, complaint, praise, "
         "question, rating_mismatch, urgent"),
        (("--conversation", "c-1"), "unknown conversation id 'c-1'; known: Conv-100, conv-200"),
    ],
)  # fmt: skip
def test_an_unknown_value_says_so_and_lists_the_known_ones(
    seeded: Settings, args: tuple[str, ...], expected: str
) -> None:
    result = voc(seeded, "messages", *args)
    assert result.exit_code == 1
    assert str(result.exception) == expected


def test_a_known_topic_without_messages_is_an_empty_list_not_an_error(seeded: Settings) -> None:
    assert listed(seeded, "--topic", "warranty") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--sentiment", "angry"), "unknown sentiment 'angry'; known: negative, neutral, positive"),
        (("--source", "email"), "unknown source 'email'; known: review, chat, social"),
        (("--rating", "6"), "expected ratings from 1 to 5 like 1, 1-2 or 4,5, got '6'"),
        (("--json", "--csv"), "--json and --csv cannot be combined"),
    ],
)
def test_bad_fixed_values_are_usage_errors(
    seeded: Settings, args: tuple[str, ...], message: str
) -> None:
    result = voc(seeded, "messages", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_json_and_csv_carry_every_field(seeded: Settings) -> None:
    span = ("--from", T0.isoformat(), "--to", HOUR_END)
    rows = json.loads(voc(seeded, "messages", *span, "--json", "--conversation", "conv-100").output)
    assert [r["id"] for r in rows] == ["ch3", "ch1"]
    first = rows[1]
    assert first["created_at"] == "2026-11-20T01:10:00Z"
    assert (first["source"], first["channel"], first["conversation_id"], first["role"]) == (
        "chat", "zalo", "Conv-100", "customer"
    )  # fmt: skip
    assert (first["sentiment"], first["topics"], first["topic_sentiments"]) == (
        "negative", ["delivery"], ["negative"]
    )  # fmt: skip
    assert first["flags"] == ["complaint", "question"] and first["text"] == TEXT["ch1"]

    out = voc(seeded, "messages", *span, "--csv", "--channel", "shopee").output
    table = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in table] == ["r6", "r2", "r1"]
    assert table[2]["text"] == TEXT["r1"] and table[2]["rating"] == "1"
    assert table[2]["topics"] == "delivery;packaging" and table[2]["flags"] == "complaint"
    assert table[2]["created_at"] == "2026-11-20T01:01:00Z" and table[2]["reach"] == ""


def test_the_list_shows_the_count_the_meaning_of_sentiment_the_zone_and_the_texts(
    seeded: Settings,
) -> None:
    result = voc(
        seeded, "messages", "--from", T0.isoformat(), "--to", HOUR_END, "--topic", "delivery"
    )
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "6 customer messages match; the newest 6 shown" in flat
    assert "sentiment: toward delivery" in flat and "times Asia/Ho_Chi_Minh" in flat
    assert "(Asia/Ho_Chi_Minh)" in flat  # the range
    for mid in ("r1", "r2", "r3", "ch1", "ch3", "so1"):
        assert TEXT[mid] in flat
    assert "(conversation Conv-100)" in flat  # a chat turn leads to its thread
    empty = voc(seeded, "messages", "--from", T0.isoformat(), "--to", HOUR_END, "--search", "xyz")
    assert "0 customer messages match" in empty.output


def test_every_option_of_the_new_commands_has_help() -> None:
    for name in ("messages", "conversation", "sql", "query"):
        command = cli.commands[name]
        for param in command.params:
            if isinstance(param, __import__("click").Option):
                assert param.help, f"voc {name} {param.opts[0]} has no help"


# -- voc conversation -------------------------------------------------------------------------


def test_a_conversation_shows_both_sides_in_order_with_sentiment_and_flags(
    seeded: Settings,
) -> None:
    result = voc(seeded, "conversation", "conv-100")  # the stored id is Conv-100
    assert result.exit_code == 0, result.output
    text = result.output
    flat = " ".join(text.split())
    assert "conversation Conv-100" in flat and "3 turns (2 customer, 1 agent)" in flat
    assert "(Asia/Ho_Chi_Minh)" in flat
    positions = [flat.index(TEXT[mid]) for mid in ("ch1", "ch2", "ch3")]
    assert positions == sorted(positions)
    lines = text.splitlines()
    meta = [lines[i - 1] for i, line in enumerate(lines) if TEXT["ch1"][:20] in line]
    assert meta and "customer" in meta[0] and "negative" in meta[0]
    assert "complaint, question" in meta[0] and "delivery" in meta[0]
    assert "08:10:00" in meta[0]  # 01:10 UTC in Vietnam time

    turns = json.loads(voc(seeded, "conversation", "Conv-100", "--json").output)
    assert [(t["id"], t["role"], t["sentiment"]) for t in turns] == [
        ("ch1", "customer", "negative"),
        ("ch2", "agent", "neutral"),
        ("ch3", "customer", "positive"),
    ]


def test_an_unknown_conversation_is_one_error_line(seeded: Settings) -> None:
    result = voc(seeded, "conversation", "conv-999")
    assert result.exit_code == 1
    assert str(result.exception) == "unknown conversation id 'conv-999'; known: Conv-100, conv-200"


def test_the_list_is_readable_in_a_real_80_column_terminal(
    seeded: Settings, tmp_path: Path
) -> None:
    """A subprocess with COLUMNS=80: no line is wider, the texts wrap and stay whole."""
    from tests.cli.test_cli import voc as voc_process

    dsn = seeded.clickhouse_dsn.get_secret_value()
    result = voc_process(
        "messages", "--dsn", dsn, "--from", T0.isoformat(), "--to", HOUR_END,
        env={"COLUMNS": "80", "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 80
    flat = " ".join(out.split())
    for mid in CUSTOMER:
        assert TEXT[mid] in flat, mid
