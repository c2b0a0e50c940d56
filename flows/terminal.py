"""Values from data, shown literally on a terminal.

Two things can make a terminal show something other than the text a customer wrote:

- rich reads markup in every ``str`` it renders: ``[/]`` raises ``MarkupError`` (the whole
  command fails), ``[link=https://...]`` makes a hyperlink, ``[bold red]`` styles the rest;
- the terminal obeys the escape sequences that reach it: ANSI colours and cursor moves
  (``ESC [``), OSC-8 hyperlinks and window titles (``ESC ]``), C1 controls, backspaces and
  carriage returns that overwrite what was printed, bidi overrides that reorder it.

Every value that comes from data (message text, brand, product, topic, term, reason,
payload, id, filter) is rendered through :func:`literal` (a rich ``Text``, never read as
markup, with control and escape sequences removed) or :func:`printable` (the same as a
``str``, for ``Text.assemble`` parts and JSON-free plain output). JSON output goes through
:func:`json_text`: ``json.dumps`` escapes C0 controls but writes C1 controls, bidi
overrides and lone surrogates as they are; ``json_text`` escapes those too (the same JSON).

Stored text is already canonical (``nlp.normalize.canonical`` removes control characters),
but rows written before, dead-letter origins and CLI arguments are not: the renderers do
not rely on it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from rich.text import Text

__all__ = ["json_text", "literal", "printable"]

_ESCAPES: Final = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI: colours, cursor moves, erase
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC (OSC-8 links, titles), DCS...
    r"|\x1b[ -/]*[0-~]?"  # other escapes: ESC 7, ESC c (reset), ESC ( B...
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|[\x90\x9d\x98\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # 8-bit OSC, DCS...
)
"""Whole escape sequences, so an OSC-8 link leaves its text and not its address."""
_INVISIBLE: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""Controls but tab and line feed, bidi marks and overrides, lone surrogates."""


def printable(value: object) -> str:
    """``value`` as text a terminal shows as it is: escape sequences and controls removed.

    Tabs become spaces; line breaks stay (table cells fold them). A lone surrogate, which
    no terminal encoding can write, becomes U+FFFD.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable():
        return text
    text = _ESCAPES.sub("", text)
    text = _INVISIBLE.sub(_replacement, text)
    return text.replace("\t", " ")


def _replacement(match: re.Match[str]) -> str:
    return "\ufffd" if "\ud800" <= match.group() <= "\udfff" else ""


def literal(value: object, style: str = "") -> Text:
    """``value`` as a rich ``Text``: shown literally (``[/]`` is two brackets and a slash)."""
    return Text(printable(value), style=style)


_JSON_UNSAFE: Final = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def json_text(value: Any, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, **options)``, safe to print on a terminal.

    C1 controls, bidi marks and overrides, line and paragraph separators and lone
    surrogates are written as JSON unicode escapes: the same value, nothing a terminal
    would obey or fail to encode.
    """
    text = json.dumps(value, ensure_ascii=False, **options)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
