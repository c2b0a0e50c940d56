"""The user-editable taxonomy of customer-experience topics, and the sentiment per topic.

``nlp/resources/taxonomy.yaml`` lists topics (delivery, packaging, product_quality, price,
promotion, customer_service, payment, refund_return, warranty, app_website, authenticity,
account_security, product_safety) with labels, a description, keyword phrases, *generic*
cues and the ``urgent`` mark; its header says how to add a topic.
:func:`load_taxonomy` validates the file (a :class:`ConfigError` names the file, the topic
and the problem) and compiles it; :meth:`Taxonomy.match` finds the topics of a normalized
text with the spans of their keywords. Matching is on whole words, on the normalized text,
and accent-insensitive only for words typed without diacritics (see :mod:`nlp.rules`):
"giao hang" matches "giao hàng", while "lời" in "trả lời" does not match "lỗi".

A generic cue goes to what it is about: it counts for its topic only when no keyword of
another topic sits in the same clause, so "lỗi" is product_quality in "áo bị lỗi" but not
in "thanh toán bị lỗi" (payment) or "app báo lỗi" (app_website).

:func:`topic_hits` gives each matched topic the sentiment of the clauses its keywords sit
in. It takes signed clause polarities in [-1, 1] from any scorer: the lexicon of
:mod:`nlp.lexicon` today, a trained model tomorrow.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from nlp._tables import resource_path
from nlp.rules import PhraseIndex, TextView, clause_words, read_view
from nlp.types import Sentiment, TopicHit
from schemas.errors import ConfigError

__all__ = [
    "Taxonomy",
    "Topic",
    "TopicMatch",
    "load_taxonomy",
    "topic_hits",
]

_ID_RE = re.compile(r"[a-z][a-z0-9_]*")
_TOPIC_KEYS = frozenset(
    {"id", "label_vi", "label_en", "description", "keywords", "generic", "exclude", "urgent"}
)

KEYWORD, EXCLUDE, GENERIC, CONTRAST = 0, 1, 2, 3
"""Kinds of taxonomy phrases in :attr:`Taxonomy.entries` (CONTRAST: a contrast word of
``sentiment_rules.yaml``, in the taxonomy's own index only, to cut clauses)."""


@dataclass(frozen=True)
class Topic:
    """One topic of the taxonomy."""

    id: str
    label_vi: str
    label_en: str
    description: str
    keywords: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    generic: tuple[str, ...] = ()
    """Cues that count only when no keyword of another topic is in the same clause."""
    urgent: bool = False
    """A message reporting a problem about this topic is urgent."""


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """A keyword of ``topic`` at ``text[start:end]`` (tokens ``first``..``last - 1``)."""

    topic: str
    start: int
    end: int
    phrase: str
    first: int
    last: int
    generic: bool = False
    """Found by a generic cue of the topic (no other topic's keyword in its clause)."""


class Taxonomy:
    """A validated, compiled taxonomy."""

    def __init__(self, topics: Sequence[Topic], source: str, digest: str) -> None:
        self.topics = tuple(topics)
        self.source = source
        self.digest = digest
        """SHA-256 of the file's bytes."""
        self._by_id = {t.id: t for t in self.topics}
        entries: list[tuple[str, tuple[str, int]]] = []
        for topic in self.topics:
            entries += [(k, (topic.id, KEYWORD)) for k in topic.keywords]
            entries += [(k, (topic.id, GENERIC)) for k in topic.generic]
            entries += [(k, (topic.id, EXCLUDE)) for k in topic.exclude]
        self.entries: tuple[tuple[str, tuple[str, int]], ...] = tuple(entries)
        """(phrase, (topic id, KEYWORD / GENERIC / EXCLUDE)) of every phrase, for a shared
        index."""
        contrast = [(w, ("", CONTRAST)) for w in clause_words()[0]]
        self._index: PhraseIndex[tuple[str, int]] = PhraseIndex([*self.entries, *contrast])
        self.urgent = frozenset(t.id for t in self.topics if t.urgent)
        """Ids of the topics marked ``urgent``."""

    @property
    def short_hash(self) -> str:
        """The first 8 hex digits of :attr:`digest`, used in enricher versions."""
        return self.digest[:8]

    @property
    def ids(self) -> tuple[str, ...]:
        """Topic ids in file order."""
        return tuple(t.id for t in self.topics)

    def __getitem__(self, topic_id: str) -> Topic:
        return self._by_id[topic_id]

    def match(self, normalized_text: str) -> list[TopicMatch]:
        """Keyword matches of every topic in a normalized text, in text order."""
        return self.match_view(read_view(normalized_text))

    def match_view(
        self,
        view: TextView,
        matches: Sequence[tuple[int, int, tuple[str, int]]] | None = None,
        *,
        spans: bool = True,
    ) -> list[TopicMatch]:
        """:meth:`match` on a view; ``matches`` of :attr:`entries` if already found.

        Generic cues are resolved by clause: ``view.split`` cuts the clauses (at punctuation
        only, if the caller has not split the view yet). Without ``spans`` the matches carry
        their tokens only (``start``, ``end`` -1, ``phrase`` empty): cheaper, for callers
        that do not show them.
        """
        found: Sequence[tuple[int, int, tuple[str, int]]]
        if matches is None:
            found = self._index.find_tuples(view)
            contrast = [first for first, _, (_, kind) in found if kind == CONTRAST]
            if contrast:
                view.split(contrast)
        else:
            found = matches
        if not found:
            return []
        excluded: dict[str, list[tuple[int, int]]] = {}
        keywords: list[tuple[int, int, str, bool]] = []
        for first, last, (topic, kind) in found:
            if kind == EXCLUDE:
                excluded.setdefault(topic, []).append((first, last))
            elif kind != CONTRAST:
                keywords.append((first, -last, topic, kind == GENERIC))
        keywords.sort()
        kept: list[tuple[int, int, str, bool]] = []
        covered: dict[str, int] = {}
        for first, neg_last, topic, generic in keywords:
            last = -neg_last
            if covered.get(topic, -1) >= last:
                continue  # inside a longer match of the same topic
            blocked = excluded.get(topic)
            if blocked and any(first < b and a < last for a, b in blocked):
                continue
            covered[topic] = last
            kept.append((first, last, topic, generic))
        if any(generic for *_, generic in kept):
            kept = _resolve_generic(view, kept)
        out: list[TopicMatch] = []
        for first, last, topic, generic in kept:
            if not spans:
                out.append(TopicMatch(topic, -1, -1, "", first, last, generic))
                continue
            start, end = view.span(first, last)
            out.append(TopicMatch(topic, start, end, view.text[start:end], first, last, generic))
        return out


def _resolve_generic(
    view: TextView, kept: list[tuple[int, int, str, bool]]
) -> list[tuple[int, int, str, bool]]:
    """Drop each generic match whose clause holds a keyword of another topic."""
    if len(view.clause_of) != len(view):
        view.split()
    clause_of = view.clause_of
    topics_in: dict[int, set[str]] = {}
    for first, _, topic, generic in kept:
        if not generic:
            topics_in.setdefault(clause_of[first], set()).add(topic)
    out = []
    for match in kept:
        first, _, topic, generic = match
        if generic and topics_in.get(clause_of[first], set()) - {topic}:
            continue
        out.append(match)
    return out


def topic_hits(
    view: TextView,
    matches: Sequence[TopicMatch],
    clause_polarity: Sequence[float],
    message_polarity: float,
    *,
    threshold: float = 0.2,
) -> tuple[TopicHit, ...]:
    """One :class:`TopicHit` per matched topic, with the sentiment of its clauses.

    ``clause_polarity`` holds a signed polarity in [-1, 1] for every clause of ``view``
    (``view.split`` must have run); a topic takes the mean polarity of the clauses its
    keywords sit in, or half the ``message_polarity`` when those clauses carry none
    ("Shop giao hàng. Tệ quá"). A polarity above ``threshold`` is positive, below
    ``-threshold`` negative. The hit's ``score`` is a keyword-count confidence,
    ``1 - 0.3 ** n`` for n matches (0.7, 0.91, 0.97...), not a probability.
    """
    by_topic: dict[str, list[TopicMatch]] = {}
    for m in matches:
        by_topic.setdefault(m.topic, []).append(m)
    hits: list[TopicHit] = []
    for topic, found in by_topic.items():
        clauses = {view.clause_of[m.first] for m in found if m.first < len(view.clause_of)}
        values = [clause_polarity[c] for c in clauses if c < len(clause_polarity)]
        carried = [v for v in values if v != 0]
        value = sum(carried) / len(carried) if carried else message_polarity / 2
        hits.append(
            TopicHit(
                topic=topic,
                score=round(1 - 0.3 ** len(found), 4),
                sentiment=_label(value, threshold),
            )
        )
    return tuple(hits)


def _label(value: float, threshold: float) -> Sentiment:
    if value > threshold:
        return "positive"
    if value < -threshold:
        return "negative"
    return "neutral"


# --------------------------------------------------------------------------------------------
# Loading and validation


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Load and validate a taxonomy file; ``None`` is the packaged one (loaded once, cached)."""
    if path is None:
        return _default_taxonomy()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _default_taxonomy() -> Taxonomy:
    return _load(resource_path("taxonomy.yaml"))


def _load(path: Path) -> Taxonomy:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read taxonomy {path}: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        msg = f"taxonomy {path} is not UTF-8 text: {exc}"
        raise ConfigError(msg) from exc
    except yaml.YAMLError as exc:
        msg = f"taxonomy {path} is not valid YAML: {exc}"
        raise ConfigError(msg) from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("topics"), list):
        msg = f"taxonomy {path}: expected a mapping with a list under 'topics'"
        raise ConfigError(msg)
    topics: list[Topic] = []
    seen: set[str] = set()
    for number, entry in enumerate(data["topics"], start=1):
        topic = _topic(entry, number, path)
        if topic.id in seen:
            msg = f"taxonomy {path}: topic id {topic.id!r} is used twice"
            raise ConfigError(msg)
        seen.add(topic.id)
        topics.append(topic)
    if not topics:
        msg = f"taxonomy {path}: expected at least one topic, got none"
        raise ConfigError(msg)
    return Taxonomy(topics, str(path), hashlib.sha256(raw).hexdigest())


def _topic(entry: Any, number: int, path: Path) -> Topic:
    where = f"taxonomy {path}, topic #{number}"
    if not isinstance(entry, Mapping):
        msg = f"{where}: expected a mapping with id, labels and keywords, got {entry!r}"
        raise ConfigError(msg)
    topic_id = entry.get("id")
    if isinstance(topic_id, str):
        where = f"taxonomy {path}, topic {topic_id!r}"
    if not isinstance(topic_id, str) or not _ID_RE.fullmatch(topic_id):
        msg = f"{where}: id must be lowercase letters, digits and '_', got {topic_id!r}"
        raise ConfigError(msg)
    unknown = set(entry) - _TOPIC_KEYS
    if unknown:
        msg = f"{where}: unknown keys {sorted(unknown)}; expected some of {sorted(_TOPIC_KEYS)}"
        raise ConfigError(msg)
    texts: dict[str, str] = {}
    for key in ("label_vi", "label_en", "description"):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            msg = f"{where}: {key} must be a non-empty string, got {value!r}"
            raise ConfigError(msg)
        texts[key] = value.strip()
    keywords = _phrases(entry.get("keywords"), "keywords", where, required=True)
    exclude = _phrases(entry.get("exclude", []), "exclude", where, required=False)
    generic = _phrases(entry.get("generic", []), "generic", where, required=False)
    urgent = entry.get("urgent", False)
    if not isinstance(urgent, bool):
        msg = f"{where}: urgent must be true or false, got {urgent!r}"
        raise ConfigError(msg)
    return Topic(
        topic_id,
        texts["label_vi"],
        texts["label_en"],
        texts["description"],
        keywords,
        exclude,
        generic,
        urgent,
    )


def _phrases(value: Any, key: str, where: str, *, required: bool) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        kind = "a non-empty list" if required else "a list"
        msg = f"{where}: {key} must be {kind} of phrases, got {value!r}"
        raise ConfigError(msg)
    out: list[str] = []
    for phrase in value:
        if not isinstance(phrase, str | int) or not str(phrase).strip("=* \t"):
            msg = f"{where}: {key} must hold non-empty phrases, got {phrase!r}"
            raise ConfigError(msg)
        out.append(str(phrase).strip())
    return tuple(out)
