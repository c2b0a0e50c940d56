"""Every command shows message text literally: no markup read, no escape sequence obeyed.

A store holds messages, chat turns, alerts and dead letters whose texts carry rich markup
(``[/]``, ``[link=...]``, ``[bold red]``), ANSI and OSC-8 sequences, C1 controls, bidi
overrides, backspaces and carriage returns: some streamed through the real flow (which keeps
the markup and removes the controls), some written straight into the tables as an older
version or another writer might have left them. Every read command and every rendering
function must print them without failing, with the markup as typed and none of the controls.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from rich.console import Console

from flows.cli import cli
from flows.cli.render import dead_letter_list, message_list, render_alerts, sql_table
from flows.clickhouse import close_deferred, connect
from flows.queries import DeadLetterRow, MessageRow, SqlResult
from flows.settings import Settings, load_settings
from flows.terminal import literal, printable
from schemas.migrate import migrate
from schemas.rows import AlertRow, DeadLetter, StoredMessage
from tests.conftest import T0, jsonl
from tests.db.test_flow_clickhouse import stream_file
from tests.grafana.conftest import alert_row, write_rows
from tests.support.enrichers import CueEnricher

MARKUP = [
    "giao chậm [/] quá",
    "[link=https://evil.example]bấm vào đây[/link]",
    "[bold red]hàng giả[/bold red] [/]",
    "hỏng :smile: [dim]",
]
CONTROLS = [
    "\x1b[31mđỏ\x1b[0m \x1b[2J\x1b[H",
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "\x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
    "\x1b]0;window title\x07",
    "\x9b31m c1 \x9d8;;https://evil.example\x9c",
    "abc\u202edcba \u2066x\u2069",
    "over\rwrite\x08\x07",
]
HOSTILE = MARKUP + CONTROLS
#: What must never reach the terminal (rich adds no colour codes without a terminal).
FORBIDDEN = ("\x1b", "\x9b", "\x9d", "\x9c", "\x07", "\x08", "\r", "\u202e", "\u2066")
RANGE = ("--from", T0.isoformat(), "--to", (T0 + timedelta(hours=2)).isoformat())
_BORDERS = re.compile(r"[\s│┃╭╮╰╯─━┏┓┗┛┡┩┠┨╇┯┷┳┻╋┼└┘┌┐…]")


def visible(output: str, text: str) -> bool:
    """Whether ``text`` is in ``output`` once wrapping, borders and clipping are ignored."""
    return _BORDERS.sub("", text)[:24] in _BORDERS.sub("", output)


def stored(i: int, text: str, **fields: Any) -> StoredMessage:
    """A row as an older writer might have stored it: the text exactly as given."""
    values: dict[str, Any] = {
        "id": f"raw-{i}", "source": "review", "channel": "shopee", "brand": text[:20],
        "product": "", "rating": 1, "author_hash": "", "conversation_id": "", "role": "",
        "url": "", "reach": None, "likes": None, "attributes": "{}", "text": text,
        "text_normalized": text, "text_search": text, "pii_kinds": (), "language": "vi",
        "sentiment": "negative", "sentiment_score": 0.9, "topics": ("delivery",),
        "topic_scores": (0.9,), "topic_sentiments": ("negative",), "aspects": (),
        "aspect_scores": (), "aspect_sentiments": (), "flags": ("complaint",),
        "model_version": "raw", "created_at": T0 + timedelta(minutes=30 + i),
        "ingested_at": T0 + timedelta(minutes=31 + i),
    }  # fmt: skip
    values.update(fields)
    return StoredMessage(**values)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    folder = tmp_path_factory.mktemp("hostile")
    settings = load_settings(clickhouse_dsn=f"chdb://{folder / 'chdb'}", batch_size=64)
    client = connect(settings, create_database=True)
    migrate(client)
    client.close()
    streamed = [
        {"id": f"m{i}", "source": "review", "channel": "shopee", "brand": "Lumia",
         "text": f"Giao hàng chậm, hàng tệ {text}", "rating": 1,
         "created_at": (T0 + timedelta(minutes=i)).isoformat()}
        for i, text in enumerate(HOSTILE)
    ] + [
        {"id": f"c{i}", "source": "chat", "channel": "zalo", "conversation_id": "cv-[/]-1",
         "role": "customer", "text": f"Giao chậm quá {text}",
         "created_at": (T0 + timedelta(minutes=20 + i)).isoformat()}
        for i, text in enumerate(HOSTILE)
    ]  # fmt: skip
    path = folder / "in.jsonl"
    path.write_bytes(jsonl(streamed) + b'{"text": "[/] \\u001b[31m", "x": \n')
    stream_file(settings, path, enricher=CueEnricher)
    raw = [stored(i, f"Giao hàng chậm, hàng tệ {t}") for i, t in enumerate(HOSTILE)]
    raw += [
        stored(
            100 + i, f"Giao chậm quá {t}", source="chat", channel="zalo", role="customer",
            conversation_id="cv-[/]-1", id=f"raw-chat-{i}",
        )
        for i, t in enumerate(HOSTILE)
    ]  # fmt: skip
    write_rows(settings, "messages", StoredMessage.COLUMNS, raw)
    now = datetime.now(UTC)
    alerts = [
        alert_row(
            id=f"a-hostile-{i}", kind="volume_spike", severity="critical", topic="delivery",
            channel="shopee", brand=text, phrase=text, opened_at=now - timedelta(minutes=5),
            top_terms=(text, "giao"), channel_breakdown={text: 3}, sample_ids=(text,),
            sample_texts=(f"mẫu {text}",),
        )
        for i, text in enumerate(HOSTILE)
    ]  # fmt: skip
    write_rows(settings, "alerts", AlertRow.COLUMNS, alerts)
    letters = [
        DeadLetter("parse", text, f"reason {text}", f"/in/{text}.jsonl", i, f"payload {text}",
                   1, now)
        for i, text in enumerate(HOSTILE)
    ]  # fmt: skip
    write_rows(settings, "dead_letters", DeadLetter.COLUMNS, letters)
    yield settings
    close_deferred()


def run(settings: Settings, *args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--dsn", settings.clickhouse_dsn.get_secret_value()])
    assert result.exit_code == 0, result.output
    for marker in FORBIDDEN:
        assert marker not in result.output, (args, repr(marker))
    return result.output


COMMANDS = [
    ("query", *RANGE, "--negatives", "50"),
    ("query", *RANGE, "--json"),
    ("messages", *RANGE, "--limit", "100"),
    ("messages", *RANGE, "--json"),
    ("conversation", "cv-[/]-1"),
    ("alerts", "--limit", "100"),
    ("alerts", "--json"),
    ("dead-letters", "--limit", "100"),
    ("sql", "-e", 'SELECT id, text, brand AS "[/]" FROM messages FINAL ORDER BY id'),
]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_every_command_prints_hostile_text_literally(hostile: Settings, args: tuple[str]) -> None:
    output = run(hostile, *args)
    if "--json" in args:
        return  # JSON escapes every control character; the checks above hold for it
    shown = [text for text in MARKUP if visible(output, text)]
    assert shown, f"no hostile text shown by voc {' '.join(args)}"


def test_the_flow_keeps_markup_and_drops_controls(hostile: Settings) -> None:
    output = run(hostile, "messages", *RANGE, "--limit", "100", "--source", "review")
    for text in MARKUP:
        assert visible(output, f"hàng tệ {text}"), text
    assert visible(output, "hàng tệ [31mđỏ[0m [2J[H")  # the ESCs are gone, the rest stays


# -- the rendering functions ----------------------------------------------------------------


def render(renderable: object, *, terminal: bool) -> str:
    out = io.StringIO()
    console = Console(
        file=out, width=160, force_terminal=terminal, color_system="truecolor" if terminal else None
    )
    console.print(renderable)
    return out.getvalue()


def check(output: str, *, terminal: bool) -> None:
    if not terminal:
        assert "\x1b" not in output
    for marker in ("\x1b]", "\x9b", "\x9d", "\x07", "\x08", "\r", "\u202e", "\x1b[2J", "\x1b[H"):
        assert marker not in output, repr(marker)
    assert "evil.example\x1b" not in output


@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "terminal"])
@pytest.mark.parametrize("text", HOSTILE)
def test_rendering_functions_show_hostile_values_literally(text: str, terminal: bool) -> None:
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    row = MessageRow(
        text, T0, "review", text, text, text, 1, "negative", 0.9, [text], ["negative"], [text],
        text, "customer", None, text,
    )  # fmt: skip
    check(render(message_list([row], zone), terminal=terminal), terminal=terminal)
    letter = DeadLetterRow(T0, text, text, f"/in/{text}", 3, text, text)
    check(render(dead_letter_list([letter], zone), terminal=terminal), terminal=terminal)
    result = SqlResult([text], ["String"], [None], [(text,)])
    check(render(sql_table(result, 10), terminal=terminal), terminal=terminal)
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=terminal, color_system=None)
    alert = alert_row(
        id=text, kind="volume_spike", topic=text, brand=text, phrase=text, opened_at=T0,
        top_terms=(text,), channel_breakdown={text: 1}, sample_ids=(text,), sample_texts=(text,),
    )  # fmt: skip
    render_alerts(console, [alert], zone)
    check(out.getvalue(), terminal=terminal)
    if text in MARKUP:
        plain = render(message_list([row], zone), terminal=False)
        assert visible(plain, text)


def test_json_output_escapes_what_a_terminal_would_obey() -> None:
    import json

    from flows.cli.render import alerts_json
    from flows.terminal import json_text

    value = {"text": "x\x9b31m\u202ey\udfff\x1b[/]"}
    text = json_text(value, indent=2)
    assert json.loads(text) == value
    assert not any(c in text for c in ("\x9b", "\u202e", "\udfff", "\x1b"))
    alert = alert_row(id="a", kind="volume_spike", opened_at=T0, sample_texts=(value["text"],))
    assert "\\u009b" in alerts_json([alert]) and "\x9b" not in alerts_json([alert])


def test_markup_is_shown_as_typed_and_sequences_are_removed_whole() -> None:
    output = render(literal("[bold]đậm[/bold] [/] [link=https://x.vn]x[/link]"), terminal=False)
    assert output.strip() == "[bold]đậm[/bold] [/] [link=https://x.vn]x[/link]"
    assert printable("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\") == "link"
    assert printable("\x1b[1;31mđỏ\x1b[0m") == "đỏ"
    assert printable("a\tb\nc\rd\u202ee") == "a b\ncde"
    assert printable("Đẹp quá 😍 [/]") == "Đẹp quá 😍 [/]"
    assert printable("x\udfffy") == "x\ufffdy"
