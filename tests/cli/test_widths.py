"""Every table command renders usefully at 80 and at 120 columns.

No line is wider than the console, and the message texts are all there (wrapped, never cut).
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.settings import Settings
from tests.cli.conftest import CUSTOMER, DEAD_LETTER_TEXT, HOUR_END, TEXT
from tests.conftest import T0

RANGE = ("--from", T0.isoformat(), "--to", HOUR_END)

_INVISIBLE = re.compile(r"[\s│┃╭╮╰╯─━┏┓┗┛┡┩┠┨╇┯┷┳┻╋┼└┘┌┐]")


def visible(output: str, text: str) -> bool:
    """Whether ``text`` is in ``output`` once wrapping, indentation and borders are ignored."""
    return _INVISIBLE.sub("", text) in _INVISIBLE.sub("", output)


def render(settings: Settings, width: int, *args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--dsn", settings.clickhouse_dsn.get_secret_value()])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    too_wide = [line for line in lines if len(line.rstrip()) > width]
    assert not too_wide, f"wider than {width} columns: {too_wide[:3]}"
    return result.output


@pytest.mark.parametrize(
    ("args", "texts"),
    [
        (("query", *RANGE), ("so1", "ch4", "ch1", "r6", "r4")),  # the 5 latest negatives
        (("messages", *RANGE), tuple(CUSTOMER)),
        (("messages", *RANGE, "--topic", "delivery", "--flag", "complaint"), ("r1", "ch1", "so1")),
        (("conversation", "Conv-100"), ("ch1", "ch2", "ch3")),
        (("sql", "-e", "SELECT id, channel, topics, text FROM messages FINAL ORDER BY id"),
         tuple(TEXT)),
    ],
    ids=["query", "messages", "messages-filtered", "conversation", "sql"],
)  # fmt: skip
def test_each_table_command_shows_its_message_texts(
    seeded: Settings, width: int, args: tuple[str, ...], texts: tuple[str, ...]
) -> None:
    output = render(seeded, width, *args)
    for mid in texts:
        assert visible(output, TEXT[mid]), (mid, output)


def test_dead_letters_show_their_payload(seeded: Settings, width: int) -> None:
    output = render(seeded, width, "dead-letters")
    assert visible(output, "bad_event_time") and visible(output, DEAD_LETTER_TEXT)
    assert "(received, Asia/Ho_Chi_Minh)" in " ".join(output.split())


def test_the_report_states_its_zone_and_what_negative_means(seeded: Settings, width: int) -> None:
    output = render(seeded, width, "query", *RANGE)
    for phrase in (
        "2026-11-20 08:00 → 2026-11-20 09:00 (Asia/Ho_Chi_Minh)",
        "Volume by source and channel (negative: message sentiment)",
        "(negative, positive: sentiment toward the topic)",
        "Latest negative messages (message sentiment; times Asia/Ho_Chi_Minh)",
        "Review ratings per 10m (from, Asia/Ho_Chi_Minh)",
    ):
        assert visible(output, phrase), phrase


def test_lists_shorten_topics_and_flags_before_the_text() -> None:
    """When the fields are too wide, the topics and flags give up width, never the text."""
    from rich.console import Console
    from rich.text import Text

    from flows.cli.render import Card, CardList, shorten_list

    assert shorten_list(["delivery", "packaging", "price"], 30) == "delivery, packaging, price"
    assert shorten_list(["delivery", "packaging", "price"], 22) == "delivery, packaging +1"
    assert shorten_list(["delivery", "packaging", "price"], 12) == "delivery +2"
    assert shorten_list(["customer_service", "price"], 10) == "custom… +1"

    text = "Giao hàng chậm quá, 5 ngày mới tới, đóng gói thì móp méo hết cả hộp"
    topics = ("delivery", "packaging", "customer_service", "product_quality")
    flags = ("complaint", "churn_risk", "urgent")
    cards = CardList(
        headers=("id", "channel", "topics", "flags"),
        cards=[Card((Text("rv-1-000000001"), Text("shopee"), topics, flags), Text(text))],
        shrink=(2, 3),
    )
    for width in (60, 80, 120):
        console = Console(width=width, record=True, file=__import__("io").StringIO())
        console.print(cards)
        lines = console.export_text().splitlines()
        assert all(len(line.rstrip()) <= width for line in lines), lines
        assert "rv-1-000000001" in lines[1] and "shopee" in lines[1]
        assert visible("\n".join(lines[2:]), text)  # the whole text, below the fields
    narrow = CardList(cards.headers, cards.cards, cards.shrink).widths(60)
    wide = CardList(cards.headers, cards.cards, cards.shrink).widths(200)
    assert narrow[:2] == wide[:2] and narrow[2] < wide[2] and narrow[3] < wide[3]
