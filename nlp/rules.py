"""The small rule engine shared by topics, the sentiment lexicon and the flags.

A normalized text is read once into a :class:`TextView`: its word tokens with their
character spans, their diacritics-stripped (folded) form, and its clauses. A
:class:`PhraseIndex` then finds phrases of a table in it on whole words:

- a word typed with diacritics must carry the phrase's own ("lỗi" does not match "lời");
- in a text typed without diacritics (fewer than a quarter of its words carry any), a
  plain word matches a phrase word stripped of them ("giao hang" matches "giao hàng"),
  unless the phrase starts with ``=`` ("=đắt": "dat" is "đặt", to order, more often);
- a phrase ending in ``*`` matches any word starting with it ("refund*");
- a phrase never runs across punctuation.

:meth:`TextView.split` cuts clauses at ``. ! ? ; ,`` and before the contrast words the
caller found ("nhưng", "tuy nhiên"...); a clause knows whether it follows or precedes such
a word and whether it is a question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

import yaml

from nlp._tables import resource_path
from nlp.normalize import strip_diacritics
from schemas.errors import ConfigError

__all__ = [
    "Clause",
    "PhraseIndex",
    "PhraseMatch",
    "TextView",
    "canonical",
    "clause_words",
    "leftmost_longest",
    "read_view",
]

T = TypeVar("T")

_TOKEN_RE = re.compile(r"<[a-z_]+>|\d+(?:[.,:/]\d+)*\w*|\w+(?:[-&']\w+)*|[.!?;,]")
_PUNCT = frozenset(".!?;,")
_FOLD_CACHE: dict[str, str] = {}
_CANON_CACHE: dict[str, str] = {}
_CACHE_LIMIT = 200_000


_Y_TO_I = str.maketrans("yýỳỷỹỵ", "iíìỉĩị")
_AFTER_CONSONANT_RE = re.compile(r"(?:^|[bcdđghklmnprstvx]|qu)[yýỳỷỹỵ]$")


def canonical(word: str) -> str:
    """Return the spelling used for matching: a final y after a consonant becomes i.

    Vietnamese writes "lý"/"lí", "kỹ"/"kĩ", "quý"/"quí", "hy vọng"/"hi vọng" both ways;
    phrases and text are compared in the i spelling. "ay", "uy", "ây" keep their y.
    """
    if _AFTER_CONSONANT_RE.search(word) and len(word) > 1:
        return word[:-1] + word[-1].translate(_Y_TO_I)
    return word


def _fold(word: str) -> str:
    """Canonical spelling of ``word`` without diacritics (memoized)."""
    folded = _FOLD_CACHE.get(word)
    if folded is None:
        folded = canonical(word)
        folded = strip_diacritics(folded) if not folded.isascii() else folded
        if len(_FOLD_CACHE) >= _CACHE_LIMIT:
            _FOLD_CACHE.clear()
        _FOLD_CACHE[word] = folded
    return folded


def _canonical(word: str) -> str:
    """:func:`canonical`, memoized."""
    found = _CANON_CACHE.get(word)
    if found is None:
        found = canonical(word)
        if len(_CANON_CACHE) >= _CACHE_LIMIT:
            _CANON_CACHE.clear()
        _CANON_CACHE[word] = found
    return found


class Clause(NamedTuple):
    """Tokens ``first``..``last - 1`` of a view: one clause of the text."""

    first: int
    last: int
    after_contrast: bool
    """The clause follows a contrast word ("nhưng ..."): it usually carries the point."""
    before_contrast: bool
    """A contrast word follows the clause: its point is usually conceded."""
    question: bool


class TextView:
    """A normalized text read into tokens (and, after :meth:`split`, clauses)."""

    __slots__ = (
        "_spans",
        "_tokens",
        "clause_of",
        "clauses",
        "folded",
        "folded_t",
        "loose",
        "raw",
        "raw_t",
        "text",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        tokens = _TOKEN_RE.findall(text)
        canon = _CANON_CACHE
        raw = [canon.get(w) or _canonical(w) for w in tokens]
        self.raw: list[str] = raw
        """Tokens as written, in the canonical i/y spelling (:func:`canonical`)."""
        cache = _FOLD_CACHE
        folded = [cache.get(w) or _fold(w) for w in tokens]
        self.folded: list[str] = folded
        self.raw_t = tuple(raw)
        self.folded_t = tuple(folded)
        marked = sum(map(str.__ne__, raw, folded))
        self.loose = marked * 4 < len(raw) if raw else False
        """Typed without diacritics (under a quarter of the tokens carry any): plain words
        may match accented phrase words."""
        self._tokens: list[str] = tokens
        self._spans: list[int] | None = None
        """Start offsets of the first tokens, filled as far as :meth:`span` needs."""
        self.clauses: list[Clause] = []
        self.clause_of: list[int] = []
        """Index into ``clauses`` of every token."""

    def __len__(self) -> int:
        return len(self.raw)

    def split(
        self,
        contrast_starts: Iterable[int] = (),
        question_words: frozenset[str] = frozenset(),
    ) -> None:
        """Cut the tokens into clauses at punctuation and at the given contrast tokens.

        A clause is a question when a "?" closes it, or when it holds "có" and ends with
        one of ``question_words`` ("có tốt không").
        """
        raw = self.raw
        contrast = set(contrast_starts)
        clauses: list[Clause] = []
        clause_of: list[int] = []
        first = 0
        after = False
        for i, word in enumerate(raw):
            if word in _PUNCT:
                if i > first:
                    question = word == "?" or (
                        raw[i - 1] in question_words and "có" in raw[first:i]
                    )
                    clauses.append(Clause(first, i, after, False, question))
                clause_of.extend([max(len(clauses) - 1, 0)] * (i + 1 - first))
                first, after = i + 1, False
            elif i in contrast:
                if i > first:
                    question = raw[i - 1] in question_words and "có" in raw[first:i]
                    clauses.append(Clause(first, i, after, True, question))
                    clause_of.extend([len(clauses) - 1] * (i - first))
                elif clauses and clauses[-1].last == i - 1:  # ", nhưng": the clause concedes
                    clauses[-1] = clauses[-1]._replace(before_contrast=True)
                first, after = i, True
        if len(raw) > first:
            last = len(raw)
            question = raw[last - 1] in question_words and "có" in raw[first:last]
            clauses.append(Clause(first, last, after, False, question))
            clause_of.extend([len(clauses) - 1] * (last - first))
        self.clauses = clauses
        self.clause_of = clause_of

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Character span of tokens ``first``..``last - 1``."""
        starts = self._spans
        if starts is None:
            starts = self._spans = []
        text, tokens = self.text, self._tokens
        position = starts[-1] + len(tokens[len(starts) - 1]) if starts else 0
        while len(starts) < last:  # find the tokens one after the other, as far as needed
            position = text.find(tokens[len(starts)], position)
            starts.append(position)
            position += len(tokens[len(starts) - 1])
        return starts[first], starts[last - 1] + len(tokens[last - 1])


def clause_words(path: Path | None = None) -> tuple[tuple[str, ...], frozenset[str]]:
    """The contrast words and question words of ``sentiment_rules.yaml`` (packaged: cached)."""
    if path is None:
        return _packaged_clause_words()
    return _read_clause_words(path)


@lru_cache(maxsize=1)
def _packaged_clause_words() -> tuple[tuple[str, ...], frozenset[str]]:
    return _read_clause_words(resource_path("sentiment_rules.yaml"))


def _read_clause_words(source: Path) -> tuple[tuple[str, ...], frozenset[str]]:
    try:
        rules = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        msg = f"cannot read clause rules from {source}: {exc}"
        raise ConfigError(msg) from exc
    contrast = rules.get("contrast", [])
    questions = rules.get("question_words", [])
    if not isinstance(contrast, list) or not isinstance(questions, list):
        msg = f"{source}: contrast and question_words must be lists of words"
        raise ConfigError(msg)
    return tuple(str(w) for w in contrast), frozenset(str(w) for w in questions)


def read_view(text: str) -> TextView:
    """Read ``text`` (already normalized) into a :class:`TextView` of tokens."""
    return TextView(text)


class PhraseMatch(NamedTuple, Generic[T]):
    """Phrase ``value`` found on tokens ``first``..``last - 1``."""

    first: int
    last: int
    value: T


@dataclass(frozen=True, slots=True)
class _Phrase(Generic[T]):
    folded: tuple[str, ...]
    written: tuple[str, ...]
    exact: bool
    prefix: bool
    value: T


class PhraseIndex(Generic[T]):
    """Phrases of a table, each with a value, found on whole words of a :class:`TextView`.

    Phrases are kept in dictionaries keyed by their word tuples, so finding them costs a
    few dictionary lookups per token, whatever the size of the table.
    """

    def __init__(self, phrases: Iterable[tuple[str, T]]) -> None:
        self._exact: dict[tuple[str, ...], list[_Phrase[T]]] = {}
        self._exact_lengths: dict[str, tuple[int, ...]] = {}
        self._folded: dict[tuple[str, ...], list[_Phrase[T]]] = {}
        self._folded_lengths: dict[str, tuple[int, ...]] = {}
        self._prefixes: list[_Phrase[T]] = []
        self.size = 0
        exact_lengths: dict[str, set[int]] = {}
        folded_lengths: dict[str, set[int]] = {}
        for text, value in phrases:
            phrase = _parse(text, value)
            if phrase is None:
                continue
            self.size += 1
            if phrase.prefix:
                self._prefixes.append(phrase)
                continue
            k = len(phrase.written)
            self._exact.setdefault(phrase.written, []).append(phrase)
            exact_lengths.setdefault(phrase.written[0], set()).add(k)
            if not phrase.exact:
                self._folded.setdefault(phrase.folded, []).append(phrase)
                folded_lengths.setdefault(phrase.folded[0], set()).add(k)
        self._exact_lengths = {w: tuple(sorted(v, reverse=True)) for w, v in exact_lengths.items()}
        self._folded_lengths = {
            w: tuple(sorted(v, reverse=True)) for w, v in folded_lengths.items()
        }
        self._prefix_starts = tuple(p.folded[0] for p in self._prefixes)

    def _matches_at(self, view: TextView, i: int) -> list[_Phrase[T]]:
        """Phrases matching at token ``i``, longest first."""
        out: list[_Phrase[T]] = []
        raw = view.raw_t
        lengths = self._exact_lengths.get(raw[i])
        if lengths:
            exact = self._exact
            n = len(raw)
            for k in lengths:
                if i + k > n:
                    continue
                found = exact.get(raw[i : i + k])
                if found:
                    out += found
        if view.loose and raw[i] == view.folded_t[i]:
            lengths = self._folded_lengths.get(raw[i])
            if lengths:
                folded = view.folded_t
                for k in lengths:
                    for phrase in self._folded.get(folded[i : i + k], ()):
                        if phrase not in out and self._loose_match(view, i, phrase):
                            out.append(phrase)
        if self._prefix_starts and view.folded[i].startswith(self._prefix_starts):
            out += [p for p in self._prefixes if self._prefix_match(view, i, p)]
        return out

    @staticmethod
    def _loose_match(view: TextView, i: int, phrase: _Phrase[T]) -> bool:
        """Match on folded words; a word typed with diacritics must carry the phrase's own."""
        raw, folded = view.raw, view.folded
        for m, word in enumerate(phrase.written):
            token = raw[i + m]
            if token != word and (token != folded[i + m] or token != phrase.folded[m]):
                return False
        return True

    @staticmethod
    def _prefix_match(view: TextView, i: int, phrase: _Phrase[T]) -> bool:
        """Like :meth:`_loose_match`, the last word only needing to start the token."""
        raw, folded = view.raw, view.folded
        if i + len(phrase.written) > len(raw):
            return False
        last = len(phrase.written) - 1
        loose = view.loose and not phrase.exact
        for m, word in enumerate(phrase.written):
            token = raw[i + m]
            if m == last:
                return token.startswith(word) or (
                    loose and token == folded[i + m] and token.startswith(phrase.folded[m])
                )
            if token != word and not (loose and token == folded[i + m] == phrase.folded[m]):
                return False
        return False

    def _starts(self, view: TextView) -> list[int]:
        """Token positions where some phrase may start."""
        exact = self._exact_lengths
        if view.loose:
            folded = self._folded_lengths
            starts = [
                i
                for i, (w, f) in enumerate(zip(view.raw, view.folded, strict=True))
                if w in exact or (w == f and w in folded)
            ]
        else:
            starts = [i for i, w in enumerate(view.raw) if w in exact]
        if self._prefix_starts:
            prefixes = self._prefix_starts
            starts = sorted(
                set(starts).union(i for i, f in enumerate(view.folded) if f.startswith(prefixes))
            )
        return starts

    def find_all(self, view: TextView) -> list[PhraseMatch[T]]:
        """Every match at every position (overlapping matches included)."""
        out: list[PhraseMatch[T]] = []
        for i in self._starts(view):
            for phrase in self._matches_at(view, i):
                out.append(PhraseMatch(i, i + len(phrase.written), phrase.value))
        return out

    def find_tuples(self, view: TextView) -> list[tuple[int, int, T]]:
        """:meth:`find_all` as plain ``(first, last, value)`` tuples (cheaper to build).

        The exact-spelling lookups are inlined: this is the hot loop of the baseline.
        """
        out: list[tuple[int, int, T]] = []
        raw = view.raw_t
        exact_lengths = self._exact_lengths
        exact = self._exact
        if view.loose:
            for i in self._starts(view):
                for phrase in self._matches_at(view, i):
                    out.append((i, i + len(phrase.written), phrase.value))
            return out
        prefixes = self._prefix_starts
        folded = view.folded
        n = len(raw)
        for i, word in enumerate(raw):
            lengths = exact_lengths.get(word)
            if lengths is not None:
                for k in lengths:
                    if i + k > n:
                        continue
                    found = exact.get(raw[i : i + k])
                    if found:
                        for phrase in found:
                            out.append((i, i + k, phrase.value))
            if prefixes and folded[i].startswith(prefixes):
                for phrase in self._prefixes:
                    if self._prefix_match(view, i, phrase):
                        out.append((i, i + len(phrase.written), phrase.value))
        return out

    def find_longest(self, view: TextView) -> list[PhraseMatch[T]]:
        """Leftmost-longest matches that do not overlap, in text order."""
        return leftmost_longest(self.find_all(view))


def _parse(text: str, value: T) -> _Phrase[T] | None:
    text = text.strip().lower()
    exact = text.startswith("=")
    text = text.lstrip("=").strip()
    prefix = text.endswith("*")
    text = text.rstrip("*").strip()
    words = tuple(canonical(m.group()) for m in _TOKEN_RE.finditer(text))
    if not words:
        return None
    return _Phrase(
        folded=tuple(_fold(w) for w in words),
        written=words,
        exact=exact,
        prefix=prefix,
        value=value,
    )


M = TypeVar("M", bound=tuple[int, int, Any])


def leftmost_longest(matches: Iterable[M]) -> list[M]:
    """Keep ``(first, last, value)`` matches that do not overlap: leftmost, then longest."""
    out: list[M] = []
    end = -1
    for m in sorted(matches, key=lambda m: (m[0], -m[1])):
        if m[0] >= end:
            out.append(m)
            end = m[1]
    return out
