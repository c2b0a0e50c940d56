"""Phatic formulae of chat turns and social comments (``resources/phatic.yaml``).

A chat turn made of filler words ("dạ vâng", "ok shop": ``resources/filler.txt``) says
nothing; neither do formulae whose words would evaluate elsewhere: a well-wish ("chúc shop
buôn may bán đắt"), a greeting by the time of day, a goodbye, asking the other side to
wait ("đợi em 5p nha") or to reply, an acknowledgement, following a thread ("hóng review").
A :class:`Formula` is a set of trigger phrases and the words allowed beside them; a clause
is phatic when it holds a trigger and nothing but the formula's words and filler words, and
no negation (``never``: "shop không rep" is a grievance). :mod:`nlp.cues` applies them to
chat and social messages only: a review that ends on a wish is an evaluation.

Words match whole, in the canonical i spelling: a word typed without diacritics matches any
accented form ("doi" is "đợi"), one typed with them must carry the formula's own ("đổi", to
exchange, is not "đợi", to wait).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nlp._tables import read_mapping, resource_path
from nlp.normalize import strip_diacritics
from nlp.rules import canonical
from schemas.errors import ConfigError

__all__ = ["Formula", "Phatic", "WordSet", "load_phatic"]

_REPEATED = re.compile(r"(.)\1+")
_PLACEHOLDERS = {
    "<num>": re.compile(r"(?:[1-9]|10)(?:p|ph|s)?"),
    "<num>p": re.compile(r"(?:[1-9]|10)(?:p|ph)"),
}
"""Words that stand for numbers: "5", "5p", "10s"; "5p", "10ph"."""

Word = tuple[str, str]
"""A token as typed (canonical spelling) and folded (no diacritics)."""


def _squeeze(word: str) -> str:
    return _REPEATED.sub(r"\1", word)


@dataclass(frozen=True, slots=True)
class WordSet:
    """Words matched as typed, or by their folded form when typed without diacritics."""

    marked: frozenset[str]
    folded: frozenset[str]
    numbers: re.Pattern[str] | None = None

    @classmethod
    def of(cls, words: Sequence[str]) -> WordSet:
        """The set of ``words`` as a resource lists them (``<num>``, ``<num>p``: numbers)."""
        plain = {canonical(w.lower()) for w in words}
        numbers = next((_PLACEHOLDERS[w] for w in _PLACEHOLDERS if w in plain), None)
        plain -= set(_PLACEHOLDERS)
        folded = frozenset(_squeeze(strip_diacritics(w)) for w in plain)
        return cls(frozenset(plain), folded, numbers)

    def holds(self, raw: str, folded: str) -> bool:
        """Whether the token is one of the words."""
        if raw in self.marked or (self.numbers is not None and self.numbers.fullmatch(raw)):
            return True
        return raw == folded and _squeeze(folded) in self.folded


@dataclass(frozen=True, slots=True)
class Formula:
    """A clause holding one of ``triggers`` and only ``words`` (and filler words)."""

    name: str
    triggers: tuple[tuple[WordSet, ...], ...]
    """Phrases, word by word (``<num>``, ``<num>p``: numbers)."""
    words: WordSet
    """The words allowed in the clause, the triggers' included."""

    def triggered(self, clause: Sequence[Word]) -> bool:
        """Whether one of the trigger phrases is in the clause, word for word."""
        for trigger in self.triggers:
            n = len(trigger)
            for start in range(len(clause) - n + 1):
                if all(trigger[k].holds(*clause[start + k]) for k in range(n)):
                    return True
        return False


@dataclass(frozen=True, slots=True)
class Phatic:
    """The formulae, and the words that cancel any of them."""

    formulae: tuple[Formula, ...]
    never: WordSet
    anywhere: WordSet
    """The words of every formula: a clause with another word is no formula (looked up
    first, so a message with content is turned down after one set lookup a word)."""

    def clause(self, clause: Sequence[Word], filler_word: Callable[[str, str], bool]) -> bool:
        """Whether a clause is filler words only, or one formula and filler words."""
        rest = [word for word in clause if not filler_word(*word)]
        if not rest:
            return True
        if not all(self.anywhere.holds(*word) for word in rest):
            return False
        if any(self.never.holds(*word) for word in clause):
            return False
        return any(
            all(formula.words.holds(*word) for word in rest) and formula.triggered(clause)
            for formula in self.formulae
        )


@lru_cache(maxsize=1)
def load_phatic() -> Phatic:
    """The packaged formulae of ``resources/phatic.yaml``."""
    return _load(resource_path("phatic.yaml"))


def _load(path: Path) -> Phatic:
    data = read_mapping(path, "phatic formulae")
    formulae = data.get("formulae")
    if not isinstance(formulae, Mapping):
        msg = f"{path}: expected a mapping `formulae` of name -> triggers and words"
        raise ConfigError(msg)
    built = tuple(_formula(str(name), entry, path) for name, entry in formulae.items())
    anywhere = WordSet(
        frozenset().union(*(f.words.marked for f in built)),
        frozenset().union(*(f.words.folded for f in built)),
        _PLACEHOLDERS["<num>"],
    )
    return Phatic(built, WordSet.of([str(w) for w in data.get("never") or ()]), anywhere)


def _formula(name: str, entry: Any, path: Path) -> Formula:
    if not isinstance(entry, Mapping) or not entry.get("triggers"):
        msg = f"{path}: formula {name!r} needs lists `triggers` and `words`"
        raise ConfigError(msg)
    phrases = [str(t).split() for t in entry["triggers"]]
    words = [str(w) for w in entry.get("words") or ()] + [w for t in phrases for w in t]
    triggers = tuple(tuple(WordSet.of([w]) for w in t) for t in phrases)
    return Formula(name, triggers, WordSet.of(words))
