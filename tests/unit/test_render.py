"""Terminal renderings show message text literally: no markup read, no escape obeyed.

Payloads that carry rich markup, ANSI and OSC-8 sequences, C1 controls and bidi overrides
are rendered through every rendering function of flows/render.py, on a plain console and
on a colour terminal.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from flows.render import dead_letter_list, dead_letter_table, print_report, report_renderables
from flows.report import Filters, Report, TimeRange
from flows.terminal import literal, printable

HOSTILE = [
    "giao chậm [/] quá",
    "[link=https://evil.example]bấm vào đây[/link]",
    "[bold red]hàng giả[/bold red] [/]",
    "\x1b[31mđỏ\x1b[0m \x1b[2J\x1b[H",
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "\x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
    "\x1b]0;window title\x07",
    "\x9b31m c1 \x9d8;;https://evil.example\x9c",
    "abc\u202edcba \u2066x\u2069",
    "over\rwrite\x08\x07 :smile: [dim]",
    "surrogate \udfff",
]
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 20, 7, tzinfo=UTC)


def render(*renderables: object, terminal: bool) -> str:
    out = io.StringIO()
    console = Console(
        file=out,
        width=400,
        force_terminal=terminal,
        color_system="truecolor" if terminal else None,
        legacy_windows=False,
    )
    for renderable in renderables:
        console.print(renderable)
    return out.getvalue()


def report(text: str) -> Report:
    return Report(
        range=TimeRange(NOW - timedelta(hours=1), NOW),
        filters=Filters(brand=text, channel="shopee"),
        volume=[("review", text, 3, 0.5)],
        sentiment=[("negative", 2, 0.66), (text, 1, 0.33)],
        topics=[(text, 2, 0.5, 0.0)],
        negatives=[(NOW, "review", "shopee", text, [text, "delivery"], 0.9, text, "r1")],
        dead_letters=[("parse", text, 4, NOW, text)],
        alerts=[
            (
                "a1",
                "volume_spike",
                "open",
                "critical",
                "topic",
                text,
                "shopee",
                text,
                text,
                NOW,
                12.0,
                2.0,
                9.5,
                [text, text],
            ),
        ],
    )


def assert_literal(output: str, text: str, *, terminal: bool) -> None:
    shown = " ".join(printable(text).split())
    if not terminal:
        assert "\x1b" not in output
    for marker in ("\x1b]", "\x9b", "\x9d", "\x07", "\x08", "\r", "\u202e", "\u2066", "\udfff"):
        assert marker not in output, (marker, output)
    assert "evil.example\x1b" not in output  # (rich's own colour codes are fine)
    assert "\x1b[2J" not in output and "\x1b[H" not in output
    if "[" in text:  # markup is shown as written, not read
        assert shown[:40] in " ".join(output.split()) or shown[:20] in output, output


@pytest.mark.parametrize("terminal", [False, True])
@pytest.mark.parametrize("text", HOSTILE)
def test_the_report_shows_hostile_text_literally(text: str, terminal: bool) -> None:
    output = render(*report_renderables(report(text), ZONE), terminal=terminal)
    assert_literal(output, text, terminal=terminal)
    out = io.StringIO()
    print_report(Console(file=out, width=400, color_system=None), report(text), ZONE)
    assert "[/]" in out.getvalue() if "[/]" in text else True


@pytest.mark.parametrize("terminal", [False, True])
@pytest.mark.parametrize("text", HOSTILE)
def test_dead_letters_show_hostile_reasons_and_payloads_literally(
    text: str, terminal: bool
) -> None:
    rows = [(NOW, "parse", "invalid_json", f"/data/{text}.jsonl", 3, text, text)]
    output = render(dead_letter_list(rows), terminal=terminal)
    assert_literal(output, text, terminal=terminal)
    output = render(dead_letter_table([("parse", text, 2, NOW, text)]), terminal=terminal)
    assert_literal(output, text, terminal=terminal)


def test_markup_is_shown_as_typed() -> None:
    output = render(literal("[bold]đậm[/bold] [/] [link=https://x.vn]x[/link]"), terminal=False)
    assert output.strip() == "[bold]đậm[/bold] [/] [link=https://x.vn]x[/link]"


def test_printable_removes_whole_sequences_and_keeps_text() -> None:
    assert printable("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\") == "link"
    assert printable("\x1b[1;31mđỏ\x1b[0m") == "đỏ"
    assert printable("a\tb\nc\rd\u202ee") == "a b\ncde"
    assert printable("Đẹp quá 😍 [/]") == "Đẹp quá 😍 [/]"
    assert printable(42) == "42"


def test_voc_query_shows_hostile_messages_literally(tmp_path: Path) -> None:
    """Through the real command: stored rows with markup and escapes, printed as tables."""
    from tests.cli.test_cli import voc
    from tests.conftest import message

    dsn = f"chdb://{tmp_path / 'chdb'}"
    texts = [f"hàng lỗi, tệ quá, thất vọng {t}" for t in HOSTILE]
    path = tmp_path / "in.jsonl"
    lines = [json.dumps(message(i * 2, text=t, brand="[/]")) for i, t in enumerate(texts)]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")  # "\udfff" stays escaped
    assert voc("migrate", "--dsn", dsn, "--quiet").returncode == 0
    ran = voc("run", "--dsn", dsn, "--input", str(path), "--quiet")
    assert ran.returncode == 0, ran.stderr.decode()
    window = ("--from", "2026-11-20T00:00:00+00:00", "--to", "2026-11-21T00:00:00+00:00")
    shown = voc(
        "query", "--dsn", dsn, *window, "--negatives", "20", "--brand", "[/]",
        env={"COLUMNS": "300"},
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr.decode()
    output = shown.stdout.decode()
    assert "brand=[/]" in output
    assert "tệ quá, thất vọng giao chậm [/] quá" in output
    assert "[link=https://evil.example]bấm vào đây[/link]" in output
    assert "[bold red]hàng giả[/bold red] [/]" in output
    for marker in ("\x1b", "\x9b", "\x07", "\u202e"):
        assert marker not in output
