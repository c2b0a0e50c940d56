"""What a statement sent to the read endpoint is, read the way ClickHouse's lexer reads it.

The endpoint runs read statements only. :func:`inspect` splits the text into tokens
(comments, string literals, quoted identifiers and heredocs are single tokens, so a keyword
inside them counts for nothing) and finds:

- the statement's kind, from its first word (after any opening parentheses);
- whether it is one statement (a ``;`` may only end it);
- the ``FORMAT`` it names at its top level, if any;
- its top-level ``SETTINGS name = value, ...`` clauses, which the endpoint applies to the
  query's connection before it turns ``readonly = 1`` on (a query of a ``readonly = 1``
  session may not carry settings; the Grafana plugin's queries do), and removes from the text.

It refuses what a read statement can still do beyond reading: ``INTO OUTFILE`` (writes a
file) and the ``file()`` function (reads any file the process can). Everything else that
is not a read (writes, DDL, ``SYSTEM``, table functions that reach outside the store) the
engine itself refuses: the endpoint runs every statement with ``readonly = 1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from flows.sqltext import READ_KEYWORDS

#: First words of the statements the endpoint runs: the reads of ``voc sql`` too.
READ_KINDS = READ_KEYWORDS

#: Functions a read statement may not call: they read files the process can read.
FILE_FUNCTIONS = frozenset({"file"})

_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>--[^\n]*|\#[^\n]*)
    | (?P<block>/\*)
    | (?P<string>'(?:[^'\\]|\\.|'')*')
    | (?P<quoted>"(?:[^"\\]|\\.|"")*"|`(?:[^`\\]|\\.|``)*`)
    | (?P<heredoc>\$[A-Za-z0-9_]*\$)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<number>[0-9][0-9A-Za-z_.]*(?:[eEpP][+-][0-9]+)?)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class StatementError(Exception):
    """A statement the endpoint does not run: ClickHouse's error code and name with a message."""

    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.name = name


@dataclass(frozen=True)
class Token:
    """A meaningful piece of the text: where it is, and its depth in parentheses."""

    kind: str  # "word", "quoted", "string", "number", "other"
    text: str
    depth: int
    start: int
    end: int

    @property
    def name(self) -> str:
        """The identifier the token stands for (quotes removed), or its text."""
        if self.kind == "quoted":
            return self.text[1:-1]
        return self.text

    def is_word(self, *words: str) -> bool:
        """Whether the token is one of these keywords (any case)."""
        return self.kind == "word" and self.text.upper() in words

    def is_char(self, char: str) -> bool:
        """Whether the token is this punctuation character."""
        return self.kind == "other" and self.text == char


@dataclass(frozen=True)
class Statement:
    """A read statement: its kind, the text to run, its format and its settings."""

    kind: str
    text: str
    format: str | None = None
    settings: tuple[tuple[str, str], ...] = ()
    """``(name, value as written)`` of its top-level ``SETTINGS`` clauses, in order."""


def tokens(sql: str) -> list[Token]:
    """The tokens of ``sql`` that carry meaning: no spaces or comments.

    Raises :class:`StatementError` (``SYNTAX_ERROR``) for an unterminated comment, string,
    quoted identifier or heredoc.
    """
    out: list[Token] = []
    depth = 0
    pos = 0
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if match is None:  # pragma: no cover - the last alternative matches any character
            break
        kind = match.lastgroup or "other"
        end = match.end()
        if kind == "block":
            end = _block_comment_end(sql, pos)
        elif kind == "heredoc":
            tag = match.group(0)
            close = sql.find(tag, end)
            if close < 0:
                raise StatementError(62, "SYNTAX_ERROR", "Syntax error: unterminated heredoc")
            end = close + len(tag)
            out.append(Token("string", sql[pos:end], depth, pos, end))
        elif kind in ("string", "quoted", "word", "number"):
            out.append(Token(kind, match.group(0), depth, pos, end))
        elif kind == "other":
            char = match.group(0)
            if char in "'\"`":
                raise StatementError(62, "SYNTAX_ERROR", "Syntax error: unterminated quote")
            if char == ")":
                depth = max(depth - 1, 0)
            out.append(Token("other", char, depth, pos, end))
            if char == "(":
                depth += 1
        pos = end
    return out


def _block_comment_end(sql: str, start: int) -> int:
    """The end of the (possibly nested) ``/* */`` comment starting at ``start``."""
    level = 0
    pos = start
    while pos < len(sql) - 1:
        pair = sql[pos : pos + 2]
        if pair == "/*":
            level += 1
            pos += 2
        elif pair == "*/":
            level -= 1
            pos += 2
            if level == 0:
                return pos
        else:
            pos += 1
    raise StatementError(62, "SYNTAX_ERROR", "Syntax error: unterminated comment")


def _readonly(message: str) -> StatementError:
    text = f"voc read endpoint: Cannot execute query in readonly mode: {message}"
    return StatementError(164, "READONLY", text)


def inspect(sql: str) -> Statement:
    """Check that ``sql`` is one read statement; return what the endpoint needs to run it.

    Raises :class:`StatementError` with ClickHouse's code: ``SYNTAX_ERROR`` (62) for an empty
    text or several statements, ``READONLY`` (164) for anything that is not a read.
    """
    found = tokens(sql)
    while found and found[-1].is_char(";"):
        found.pop()
    if not found:
        raise StatementError(62, "SYNTAX_ERROR", "Empty query")
    if any(t.is_char(";") for t in found):
        raise StatementError(62, "SYNTAX_ERROR", "Multi-statements are not allowed")
    first = next((t for t in found if not t.is_char("(")), found[0])
    kind = first.text.upper() if first.kind == "word" else ""
    if kind not in READ_KINDS:
        allowed = ", ".join(sorted(READ_KINDS))
        msg = f"{first.text!r} is not a read statement (allowed: {allowed})"
        raise _readonly(msg)
    for here, after in pairwise(found):
        if here.is_word("INTO") and after.is_word("OUTFILE"):
            msg = "INTO OUTFILE writes a file"
            raise _readonly(msg)
        calls = here.kind in ("word", "quoted") and after.is_char("(")
        if calls and here.name.lower() in FILE_FUNCTIONS:
            msg = f"function {here.name}() reads files outside the store"
            raise _readonly(msg)
    settings, cuts = _settings_clauses(found, sql)
    text = sql[: found[-1].end]
    for start, end in reversed(cuts):
        text = text[:start] + " " + text[end:]
    kept = [t for t in found if not any(start <= t.start < end for start, end in cuts)]
    return Statement("DESCRIBE" if kind == "DESC" else kind, text, _named_format(kept), settings)


def _settings_clauses(
    found: list[Token], sql: str
) -> tuple[tuple[tuple[str, str], ...], list[tuple[int, int]]]:
    """The top-level ``SETTINGS a = 1, b = 'x'`` clauses: their assignments and spans.

    A value is one literal (a number, a string or a word, a number may have a sign); a
    clause with any other value is left in the statement for the engine to judge.
    """
    assignments: list[tuple[str, str]] = []
    spans: list[tuple[int, int]] = []
    for at, token in enumerate(found):
        if token.depth != 0 or not token.is_word("SETTINGS"):
            continue
        clause: list[tuple[str, str]] = []
        pos = at + 1
        end = token.end
        while True:
            value = _assignment(found, pos)
            if value is None:
                break
            name, first, last = value
            clause.append((name, sql[found[first].start : found[last].end]))
            end = found[last].end
            pos = last + 1
            if pos < len(found) and found[pos].is_char(","):
                pos += 1
                continue
            break
        ends_clause = pos >= len(found) or found[pos].is_word("FORMAT", "SETTINGS")
        if clause and ends_clause:
            assignments.extend(clause)
            spans.append((token.start, end))
    return tuple(assignments), spans


def _assignment(found: list[Token], at: int) -> tuple[str, int, int] | None:
    """``name = literal`` at ``found[at]``: the name and the literal's first and last token."""
    if at + 2 >= len(found) or found[at].kind not in ("word", "quoted"):
        return None
    if not found[at + 1].is_char("="):
        return None
    first = at + 2
    last = first
    if found[first].is_char("-") or found[first].is_char("+"):
        last = first + 1
    if last >= len(found) or found[last].kind not in ("number", "string", "word"):
        return None
    return found[at].name, first, last


def _named_format(found: list[Token]) -> str | None:
    """The format of the top-level ``FORMAT name`` clause at the end, if there is one."""
    for at in range(len(found) - 1):
        here, after = found[at], found[at + 1]
        if (
            here.depth == 0
            and here.is_word("FORMAT")
            and after.kind in ("word", "quoted")
            and at + 2 == len(found)
        ):
            return after.name
    return None
