"""Rule flags of a message: complaint, question, praise, churn_risk, urgent, rating_mismatch.

The cues live in ``nlp/resources/flags.yaml`` (phrases matched like taxonomy keywords,
regular expressions tried on the text without diacritics); its header says how each flag is
decided. :func:`cue_flags` gives the flags whose cues a message holds: the trained flag
model (:mod:`nlp.labels`) reads them as evidence beside the words. :func:`detect_flags` is
the rule decision of the ``baseline`` enricher: the cues, plus the message's sentiment from
the lexicon. :func:`rating_mismatch` compares a star rating with what the text says; the
flow calls it because it has the stars.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nlp._tables import read_mapping, resource_path
from nlp.rules import PhraseIndex, TextView, read_view
from nlp.types import FLAGS, Flag, Sentiment
from schemas.errors import ConfigError, SchemaError

__all__ = ["FlagRules", "cue_flags", "detect_flags", "load_flag_rules", "rating_mismatch"]

_RULE_FLAGS: tuple[Flag, ...] = ("complaint", "question", "praise", "churn_risk", "urgent")
_KEYS = frozenset({"phrases", "exclude", "patterns", "min_probability"})


@dataclass(frozen=True)
class FlagRules:
    """Compiled cues of the rule flags."""

    entries: tuple[tuple[str, tuple[Flag, bool]], ...]
    """(phrase, (flag, is an exclusion)) of every cue, for an index shared with other tables."""
    phrases: PhraseIndex[tuple[Flag, bool]]
    """Cue phrases, and exclusions (True) that cancel a cue of the same flag they overlap."""
    patterns: tuple[tuple[Flag, re.Pattern[str], frozenset[str]], ...]
    """(flag, regular expression, words one of which must be present for it to be tried)."""
    complaint_probability: float
    praise_probability: float
    urgent_bangs: bool
    """Whether "!!!" alone makes a message urgent (a pattern of ``urgent`` is "!!!")."""
    source: str


def cue_flags(
    view: TextView,
    rules: FlagRules,
    matches: Sequence[tuple[int, int, tuple[Flag, bool]]] | None = None,
) -> set[Flag]:
    """Flags whose cues a message holds: phrases no exclusion cancels, patterns, "?", "!!!".

    ``matches``: those of :attr:`FlagRules.entries` in the view, if already found.
    """
    if matches is None:
        matches = rules.phrases.find_tuples(view)
    found: set[Flag] = set()
    if matches:
        excluded = [(flag, a, b) for a, b, (flag, exclusion) in matches if exclusion]
        for first, last, (flag, exclusion) in matches:
            if not exclusion and not any(
                f == flag and a < last and first < b for f, a, b in excluded
            ):
                found.add(flag)
    if rules.patterns:
        words = set(view.folded)
        folded = ""
        for flag, pattern, needs in rules.patterns:
            if flag in found or (needs and needs.isdisjoint(words)):
                continue
            folded = folded or " ".join(view.folded)  # tokens without diacritics
            if pattern.search(folded):
                found.add(flag)
    if "?" in view.text:
        found.add("question")
    if "!!!" in view.text and rules.urgent_bangs:
        found.add("urgent")
    return found


def detect_flags(
    text: str | TextView,
    sentiment: Sentiment,
    probability: float,
    rules: FlagRules | None = None,
    matches: Sequence[tuple[int, int, tuple[Flag, bool]]] | None = None,
) -> tuple[Flag, ...]:
    """Return the baseline's rule flags of one normalized message, in ``FLAGS`` order.

    ``rating_mismatch`` is left to :func:`rating_mismatch`.

    ``sentiment`` and ``probability`` are the message's label and its probability from
    the lexicon: a confident negative is a complaint, a confident positive praise.
    """
    rules = rules or load_flag_rules()
    view = text if isinstance(text, TextView) else read_view(text)
    found = cue_flags(view, rules, matches)
    if sentiment == "negative" and probability >= rules.complaint_probability:
        found.add("complaint")
    if "praise" in found and sentiment != "positive":
        found.discard("praise")
    elif sentiment == "positive" and probability >= rules.praise_probability:
        found.add("praise")
    return tuple(f for f in FLAGS if f in found)


def rating_mismatch(rating: int | None, sentiment: str, flags: Sequence[str] = ()) -> bool:
    """Whether a star rating contradicts what the text says.

    4-5 stars on a negative text, 1-2 stars on a positive one, however sure the model is:
    the text's sentiment is read without the stars, so a 5-star complaint and a 1-star
    praise are caught. No rating, 3 stars and a neutral text never mismatch. ``flags`` is
    accepted for callers that have them; the decision does not use them (a mixed review
    with a complaint and praise under 5 stars is not a contradiction).
    """
    if rating is None:
        return False
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        msg = f"rating must be an integer from 1 to 5 or None, got {rating!r}"
        raise SchemaError(msg)
    return (rating >= 4 and sentiment == "negative") or (rating <= 2 and sentiment == "positive")


def load_flag_rules(path: Path | None = None) -> FlagRules:
    """Load the flag cues; ``None`` is the packaged ``flags.yaml`` (loaded once, cached)."""
    if path is None:
        return _default_rules()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _default_rules() -> FlagRules:
    return _load(resource_path("flags.yaml"))


def _load(path: Path) -> FlagRules:
    data = read_mapping(path, "flag rules")
    unknown = set(data) - set(_RULE_FLAGS)
    if unknown:
        msg = f"{path}: unknown flags {sorted(unknown)}; expected some of {list(_RULE_FLAGS)}"
        raise ConfigError(msg)
    phrases: list[tuple[str, tuple[Flag, bool]]] = []
    patterns: list[tuple[Flag, re.Pattern[str], frozenset[str]]] = []
    probabilities: dict[str, float] = {}
    bangs = False
    for flag in _RULE_FLAGS:
        section: Any = data.get(flag) or {}
        if not isinstance(section, Mapping) or set(section) - _KEYS:
            msg = (
                f"{path}: {flag} must be a mapping with keys among {sorted(_KEYS)}, got {section!r}"
            )
            raise ConfigError(msg)
        for phrase in section.get("phrases") or []:
            phrases.append((str(phrase), (flag, False)))
        for phrase in section.get("exclude") or []:
            phrases.append((str(phrase), (flag, True)))
        for entry in section.get("patterns") or []:
            pattern, needs = _pattern_entry(entry, flag, path)
            if flag == "urgent" and pattern == "!!!":
                bangs = True  # looked for in the text itself
                continue
            try:
                patterns.append((flag, re.compile(pattern), needs))
            except re.error as exc:
                msg = f"{path}: {flag} pattern {pattern!r} is not a valid regular expression: {exc}"
                raise ConfigError(msg) from exc
        if "min_probability" in section:
            value = section["min_probability"]
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                msg = f"{path}: {flag}.min_probability must be a number in [0, 1], got {value!r}"
                raise ConfigError(msg)
            probabilities[flag] = float(value)
    return FlagRules(
        entries=tuple(phrases),
        phrases=PhraseIndex(phrases),
        patterns=tuple(patterns),
        complaint_probability=probabilities.get("complaint", 0.6),
        praise_probability=probabilities.get("praise", 0.75),
        urgent_bangs=bangs,
        source=str(path),
    )


def _pattern_entry(entry: Any, flag: str, path: Path) -> tuple[str, frozenset[str]]:
    """Read a pattern given as a string, or as ``{pattern: ..., needs: [words]}``."""
    if isinstance(entry, str):
        return entry, frozenset()
    if isinstance(entry, Mapping) and isinstance(entry.get("pattern"), str):
        needs = entry.get("needs") or []
        if not isinstance(needs, list) or not all(isinstance(w, str) for w in needs):
            msg = f"{path}: {flag} pattern needs must be a list of words, got {needs!r}"
            raise ConfigError(msg)
        return entry["pattern"], frozenset(needs)
    msg = f"{path}: {flag} patterns must be strings or {{pattern, needs}} mappings, got {entry!r}"
    raise ConfigError(msg)
