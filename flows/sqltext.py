"""SQL text as the ``voc sql`` prompt reads it: statements, and reads told from writes.

Pure functions over the text of a script: quotes (``'…'``), quoted identifiers (``"…"``,
```…```), line comments (``--``, ``#``) and block comments are respected, so a ``;`` inside
them does not end a statement and a keyword inside them does not count.
"""

from __future__ import annotations

import re

#: The statements that only read: what the prompt runs without ``--write``.
READ_KEYWORDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN"})

_WORD = re.compile(r"[A-Za-z_]+")


def _scan(text: str) -> list[tuple[int, int, str]]:
    """The spans of ``text`` as (start, end, kind): kind ``code``, ``quoted`` or ``comment``."""
    spans: list[tuple[int, int, str]] = []
    i, n, start = 0, len(text), 0
    while i < n:
        ch = text[i]
        if ch in "'\"`":
            end = i + 1
            while end < n:
                if text[end] == "\\":
                    end += 2
                    continue
                if text[end] == ch:
                    if end + 1 < n and text[end + 1] == ch:  # '' inside a string
                        end += 2
                        continue
                    break
                end += 1
            kind, stop = "quoted", min(end + 1, n)
        elif text.startswith("--", i) or ch == "#":
            newline = text.find("\n", i)
            kind, stop = "comment", n if newline < 0 else newline
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            kind, stop = "comment", n if close < 0 else close + 2
        else:
            i += 1
            continue
        if start < i:
            spans.append((start, i, "code"))
        spans.append((i, stop, kind))
        i = start = stop
    if start < n:
        spans.append((start, n, "code"))
    return spans


def split_statements(text: str) -> list[str]:
    """The statements of a script, each stripped, without its ``;``; empty ones dropped.

    A statement that is only comments is dropped too.
    """
    statements: list[str] = []
    current: list[str] = []
    has_code = False
    for start, end, kind in _scan(text):
        piece = text[start:end]
        if kind != "code":
            current.append(piece)
            has_code = has_code or kind == "quoted"
            continue
        parts = piece.split(";")
        for k, part in enumerate(parts):
            if k > 0:
                if has_code:
                    statements.append("".join(current).strip())
                current, has_code = [], False
            current.append(part)
            has_code = has_code or bool(part.strip())
    if has_code:
        statements.append("".join(current).strip())
    return statements


def is_complete(text: str) -> bool:
    """Whether ``text`` ends a statement: a ``;`` outside quotes and comments, then blanks."""
    spans = _scan(text)
    for start, end, kind in reversed(spans):
        piece = text[start:end]
        if kind == "comment":
            continue
        if kind == "quoted":
            return False
        stripped = piece.rstrip()
        if stripped:
            return stripped.endswith(";")
    return False


def first_keyword(statement: str) -> str:
    """The statement's first word outside comments and parentheses, upper-cased ('' if none)."""
    for start, end, kind in _scan(statement):
        if kind != "code":
            continue
        found = _WORD.search(statement[start:end])
        if found:
            return found.group(0).upper()
    return ""


def is_read(statement: str) -> bool:
    """Whether a statement only reads (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN)."""
    return first_keyword(statement) in READ_KEYWORDS
