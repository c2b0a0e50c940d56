"""What the rule tables read in a message, once, as evidence for the trained models.

A :class:`Reader` holds the sentiment lexicon, the topic taxonomy and the flag cues behind
one :class:`nlp.rules.PhraseIndex`, so every message is scanned once. Its
:class:`Reading` of a normalized text gives:

- the :class:`nlp.rules.TextView`, cut into clauses at punctuation and contrast words;
- the lexicon's score of every clause (negation, intensity, contrast: :mod:`nlp.lexicon`);
- the taxonomy's topic matches (keywords, and generic cues resolved by clause);
- the flags whose cues it holds (:func:`nlp.flags.cue_flags`);
- whether it is *filler*: only words of ``resources/filler.txt`` ("dạ vâng", "ok shop"), or,
  in a chat turn or a social comment, phatic formulae (:mod:`nlp.phatic`: "chúc shop ngày
  mới vui vẻ", "đợi em 5p nha").

:meth:`Reading.markers` turns that into named binary features (``family:name``) that the
fast models learn weights for, beside the n-grams of the words (:mod:`nlp.features`).
Rules written for any wording carry over to messages the training data never saw; the
models learn how far to trust each. The families:

=========  ===================================================================================
source     ``source:chat`` ... from the message's context (unknown: none)
shape      length bucket, filler, "?", "!", "!!!", a question at the end
lexicon    the lexicon's verdict: score bins, no term, mixed clauses, the last clause's sign
           (``lexicon~:...`` for a text typed without diacritics, read loosely)
sarcasm    praise in quotes ("trải nghiệm 'mượt'"), thanks beside a complaint, 🙂 after one,
           a delay ("10 ngày mới nhận được hàng")
topics     ``topics:<id>`` for each topic whose keywords match (``topics:<id>:generic``)
flags      ``flags:<flag>`` for each flag whose cues match; ``flags:urgent_topic``
=========  ===================================================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from nlp._tables import read_lines, resource_path
from nlp.flags import FlagRules, cue_flags, load_flag_rules
from nlp.lexicon import Lexicon, MessageScore, load_lexicon
from nlp.normalize import emoji_tokens
from nlp.phatic import load_phatic
from nlp.rules import PhraseIndex, TextView, canonical, read_view
from nlp.taxonomy import Taxonomy, TopicMatch, load_taxonomy
from nlp.types import Flag, MessageContext

__all__ = ["MARKER_FAMILIES", "Batch", "Reader", "Reading", "default_reader", "filler_words"]

MARKER_FAMILIES = ("source", "shape", "lexicon", "sarcasm", "topics", "flags")
"""Every family of markers a model may read (its :class:`nlp.features.FeatureSpec`)."""

FILLER_MAX_WORDS = 10
"""A filler message has at most this many words (emoji tokens are not words)."""

_REPEATED = re.compile(r"(.)\1+")


def squeeze(word: str) -> str:
    """``word`` with every run of one letter written once: "vangg", "daaa" -> "vang", "da"."""
    return _REPEATED.sub(r"\1", word)


_LEXICON, _TAXONOMY, _FLAGS = 0, 1, 2
_KNOWN_SOURCES = frozenset({"review", "chat", "social", "survey"})
_QUOTED_RE = re.compile(r"[\"“”'‘’«»]([^\"“”'‘’«»]{1,60})[\"“”'‘’«»]")
_THANKS = frozenset({"cảm", "cám", "thanks", "thank", "cảm ơn"})
_DELAY_RE = re.compile(
    r"\b(\d+|mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi|may|vai|nua) "
    r"(ngay|tuan|thang|tieng|gio|hom|buoi) (moi|van chua|chua|roi ma chua|roi van)\b"
)
"""A delay, on the folded tokens: "10 ngày mới nhận", "2 tuần vẫn chưa giao"."""
SARCASM = frozenset({"quoted_praise_with_complaint", "smile_after_complaint"})
"""Sarcasm cues strong enough to turn a positive reading negative (see nlp.sentiment)."""
_LENGTH_BUCKETS = ((1, "1"), (2, "2"), (3, "3"), (5, "4-5"), (9, "6-9"), (19, "10-19"))


@lru_cache(maxsize=1)
def filler_words() -> frozenset[str]:
    """The filler words of ``resources/filler.txt``, spelt as texts are read.

    In the canonical i spelling ("sorry" as "sorri"), without diacritics, letters squeezed.
    """
    from nlp.normalize import strip_diacritics

    return frozenset(
        squeeze(strip_diacritics(canonical(word)))
        for word in _filler_lines()
        if not word.startswith("!")
    )


def _filler_lines() -> list[str]:
    return [line.strip().lower() for _, line in read_lines(resource_path("filler.txt"))]


@lru_cache(maxsize=1)
def filler_exclusions() -> frozenset[str]:
    """Words of ``filler.txt`` marked ``!``: typed with these marks, never filler.

    "đổi", to exchange, although "doi" may be "đợi", to wait.
    """
    return frozenset(canonical(word[1:]) for word in _filler_lines() if word.startswith("!"))


_CHATTY = frozenset({"chat", "social"})
"""Sources whose short turns may be phatic formulae (:mod:`nlp.phatic`)."""


@dataclass(slots=True)
class Reading:
    """What the rule tables found in one normalized message."""

    view: TextView
    lexicon: MessageScore
    topics: list[TopicMatch]
    flag_cues: set[Flag]
    filler: bool
    words: int
    """Number of word tokens (punctuation left out)."""
    source: str | None
    category: str | None
    """The product category from the message's context (None: unknown)."""
    sarcasm: tuple[str, ...]
    urgent_topic: bool
    """A topic marked ``urgent`` in the taxonomy matched."""

    @property
    def sarcastic(self) -> bool:
        """Praise beside complaint evidence: quoted, thanks, or a slight smile after it."""
        return not SARCASM.isdisjoint(self.sarcasm)

    _cache: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def markers(self, families: Sequence[str]) -> list[str]:
        """Named binary features of the message, for the given marker families."""
        cache = self._cache
        out: list[str] = []
        for family in families:
            found = cache.get(family)
            if found is None:
                found = cache[family] = getattr(self, f"_{family}")()
            out += found
        return out

    def clause_markers(self, k: int, families: Sequence[str]) -> list[str]:
        """Markers of clause ``k`` alone, for models that read clauses one by one.

        Its words and lexicon score, with the message's source and sarcasm cues.
        """
        clause = self.view.clauses[k]
        score = self.lexicon.clause_scores[k]
        words = sum(1 for w in self.view.raw[clause.first : clause.last] if w not in _PUNCTUATION)
        out: list[str] = []
        for family in families:
            if family == "source":
                out += self._source()
            elif family == "shape":
                out.append(f"shape:words={_bucket(words)}")
                if clause.question:
                    out.append("shape:ends_with_question")
            elif family == "lexicon":
                name = "lexicon~" if self.view.loose else "lexicon"
                if score == 0:
                    out.append(f"{name}:none")
                for level in (0.5, 1.5, 3.0):
                    if score > level:
                        out.append(f"{name}:pos>{level:g}")
                    elif score < -level:
                        out.append(f"{name}:neg>{level:g}")
            elif family == "sarcasm":
                out += self._sarcasm()
            elif family == "topics":
                out += sorted(
                    {
                        f"topics:{m.topic}"
                        for m in self.topics
                        if clause.first <= m.first < clause.last
                    }
                )
        return out

    def _source(self) -> list[str]:
        return [f"source:{self.source}"] if self.source else []

    def _shape(self) -> list[str]:
        out = [f"shape:words={_bucket(self.words)}"]
        if self.filler:
            out.append("shape:filler")
        text = self.view.text
        if "?" in text:
            out.append("shape:qmark")
        if "!" in text:
            out.append("shape:bang")
        if "!!!" in text:
            out.append("shape:bangs")
        clauses = self.view.clauses
        if clauses and clauses[-1].question:
            out.append("shape:ends_with_question")
        return out

    def _lexicon(self) -> list[str]:
        # a text typed without diacritics is read loosely ("tot" may be "tốt"): its verdicts
        # are markers of their own, so a model learns how far to trust each reading
        family = "lexicon~" if self.view.loose else "lexicon"
        score = self.lexicon
        out: list[str] = []
        if score.terms == 0:
            out.append(f"{family}:none")
        for level in (0.5, 1.5, 3.0):
            if score.score > level:
                out.append(f"{family}:pos>{level:g}")
            elif score.score < -level:
                out.append(f"{family}:neg>{level:g}")
        clauses = score.clause_scores
        if any(c > 0.5 for c in clauses) and any(c < -0.5 for c in clauses):
            out.append(f"{family}:mixed")
        if clauses and clauses[-1] > 0.5:
            out.append(f"{family}:last_pos")
        elif clauses and clauses[-1] < -0.5:
            out.append(f"{family}:last_neg")
        return out

    def _sarcasm(self) -> list[str]:
        return [f"sarcasm:{name}" for name in self.sarcasm]

    def _topics(self) -> list[str]:
        return sorted(
            {f"topics:{m.topic}:generic" if m.generic else f"topics:{m.topic}" for m in self.topics}
        )

    def _flags(self) -> list[str]:
        out = [f"flags:{f}" for f in sorted(self.flag_cues)]
        if self.urgent_topic:
            out.append("flags:urgent_topic")
        return out


class Batch:
    """Texts of one model call: their tokens, and the readings their markers come from.

    A batch of clauses (``clauses`` given) holds for each row the message it comes from
    and the clause's index in that message's reading.
    """

    __slots__ = ("clauses", "readings", "tokens")

    def __init__(
        self,
        tokens: Sequence[Sequence[str]],
        readings: Sequence[Reading],
        clauses: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        self.tokens = tokens
        self.readings = readings
        self.clauses = clauses

    def __len__(self) -> int:
        return len(self.tokens)

    def markers(self, families: Sequence[str]) -> list[list[str]]:
        """The markers of every row for the given families."""
        if not families:
            return [[] for _ in self.tokens]
        if self.clauses is None:
            return [r.markers(families) for r in self.readings]
        return [self.readings[i].clause_markers(k, families) for i, k in self.clauses]

    def sources(self) -> list[str | None]:
        """The source of every row (None when unknown)."""
        if self.clauses is None:
            return [r.source for r in self.readings]
        return [self.readings[i].source for i, _ in self.clauses]

    def categories(self) -> list[str | None]:
        """The product category of every row (None when unknown)."""
        if self.clauses is None:
            return [r.category for r in self.readings]
        return [self.readings[i].category for i, _ in self.clauses]

    def sarcastic(self) -> list[bool]:
        """Whether every row reads as sarcasm (its message's cues, for clauses too)."""
        if self.clauses is None:
            return [r.sarcastic for r in self.readings]
        return [self.readings[i].sarcastic for i, _ in self.clauses]

    def fillers(self) -> list[bool]:
        """Whether every row is chat filler (clauses never are)."""
        if self.clauses is None:
            return [r.filler for r in self.readings]
        return [False] * len(self.clauses)


def _clauses(view: TextView) -> list[list[tuple[str, str]]]:
    """The (as typed, folded) words of each clause, cut at punctuation."""
    out: list[list[tuple[str, str]]] = [[]]
    for raw, folded in zip(view.raw, view.folded, strict=True):
        if folded in _PUNCTUATION:
            if out[-1]:
                out.append([])
        else:
            out[-1].append((raw, folded))
    return [c for c in out if c]


def _bucket(words: int) -> str:
    for top, name in _LENGTH_BUCKETS:
        if words <= top:
            return name
    return "20+"


class Reader:
    """Reads normalized messages with the lexicon, the taxonomy and the flag cues at once."""

    def __init__(
        self,
        taxonomy: Taxonomy | None = None,
        lexicon: Lexicon | None = None,
        flag_rules: FlagRules | None = None,
        fillers: frozenset[str] | None = None,
    ) -> None:
        self.taxonomy = taxonomy or load_taxonomy()
        self.lexicon = lexicon or load_lexicon()
        self.flag_rules = flag_rules or load_flag_rules()
        self.fillers = fillers if fillers is not None else filler_words()
        self.phatic = load_phatic()
        self._emoji = emoji_tokens()
        from nlp.normalize import strip_diacritics

        self._filler_clashes = (
            frozenset(
                phrase
                for phrase, (kind, _) in self.lexicon.entries
                if kind == 0 and " " not in phrase and not phrase.isascii()  # one-word terms
                if squeeze(strip_diacritics(phrase)) in self.fillers
            )
            | filler_exclusions()
        )
        """Sentiment words that read as filler words without their diacritics ("tồi" as
        "tôi", "ổn" as "ơn"): typed with their marks, they are not filler."""
        entries: list[tuple[str, tuple[int, Any]]] = []
        entries += [(p, (_LEXICON, v)) for p, v in self.lexicon.entries]
        entries += [(p, (_TAXONOMY, v)) for p, v in self.taxonomy.entries]
        entries += [(p, (_FLAGS, v)) for p, v in self.flag_rules.entries]
        self._index: PhraseIndex[tuple[int, Any]] = PhraseIndex(entries)
        self._term_index = PhraseIndex(
            [(p, v) for p, v in self.lexicon.entries if v[0] == 0 and v[1] > 0]
        )

    def read(self, text: str, context: MessageContext | None = None) -> Reading:
        """Read one normalized, PII-redacted text."""
        view = read_view(text)
        parts: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
        for first, last, (table, value) in self._index.find_tuples(view):
            parts[table].append((first, last, value))
        scored = self.lexicon.score_view(view, parts[_LEXICON])  # also cuts the clauses
        found = parts[_TAXONOMY]
        topics = self.taxonomy.match_view(view, found, spans=False) if found else []
        flags = cue_flags(view, self.flag_rules, parts[_FLAGS])
        words = [w for w in view.folded if w not in _PUNCTUATION]
        source = context.source if context is not None else None
        filler = self._filler(view, len(words), source)
        category = context.category if context is not None else None
        return Reading(
            view=view,
            lexicon=scored,
            topics=topics,
            flag_cues=flags,
            filler=filler,
            words=len(words),
            source=source if source in _KNOWN_SOURCES else None,
            category=category or None,
            sarcasm=self._sarcasm(view, scored, flags),
            urgent_topic=any(m.topic in self.taxonomy.urgent for m in topics),
        )

    def batch(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> Batch:
        """Tokens and readings of normalized texts, ready for the fast models."""
        from nlp.features import tokenize

        return Batch([tokenize(t) for t in texts], self.read_all(texts, contexts))

    def read_all(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> list[Reading]:
        """:meth:`read` every text (``contexts``: one per text, or None)."""
        if contexts is None:
            return [self.read(t) for t in texts]
        return [self.read(t, c) for t, c in zip(texts, contexts, strict=True)]

    def _filler(self, view: TextView, words: int, source: str | None) -> bool:
        """Whether a message is filler.

        Filler words only; in a chat turn or a social comment, clauses each of filler words
        or of one phatic formula (and a chat turn of emoji the normalizer drops, of which
        nothing is left to read).
        """
        if words > FILLER_MAX_WORDS:
            # emoji are not words: "tạm biệt nha shop, chúc shop một ngày vui vẻ ❤️"
            words -= sum(1 for word in view.folded if word in self._emoji)
            if words > FILLER_MAX_WORDS:
                return False
        if source not in _CHATTY:
            return words > 0 and self._all_filler(view)
        if words == 0:
            return True
        return all(self.phatic.clause(c, self._is_filler_word) for c in _clauses(view))

    def _is_filler_word(self, raw: str, folded: str) -> bool:
        return (folded in self.fillers or squeeze(folded) in self.fillers) and (
            raw not in self._filler_clashes
        )

    def _all_filler(self, view: TextView) -> bool:
        """Whether every word of the view is a filler word."""
        return all(
            self._is_filler_word(raw, folded)
            for raw, folded in zip(view.raw, view.folded, strict=True)
            if folded not in _PUNCTUATION
        )

    def _sarcasm(self, view: TextView, scored: MessageScore, flags: set[Flag]) -> tuple[str, ...]:
        """Cues of praise that means its opposite.

        Complaint evidence is a clearly negative clause, a complaint cue of ``flags.yaml``,
        or a delay ("10 ngày mới nhận được hàng", "2 tuần vẫn chưa giao"). Praise in quotes
        ("trải nghiệm 'mượt'"), thanks ("cảm ơn shop vì ...") or a slight smile (🙂) beside
        such evidence reads as sarcasm.
        """
        found: list[str] = []
        text = view.text
        quoted = bool(_QUOTED_RE.search(text)) and self._quoted_praise(text)
        if quoted:
            found.append("quoted_praise")
        folded = " ".join(view.folded)
        delay = bool(_DELAY_RE.search(folded))
        if delay:
            found.append("delay")
        negative = [s for s in scored.clause_scores if s < -0.5]
        if not (negative or delay or "complaint" in flags):
            return tuple(found)
        raw = view.raw
        if quoted:
            found.append("quoted_praise_with_complaint")
        if any(w in _THANKS for w in raw):
            found.append("thanks_with_complaint")
        if "emosmile" in raw:
            found.append("smile_with_complaint")
            words = [w for w in raw if w not in _PUNCTUATION]
            if "emosmile" in words[-2:]:  # the smile closes the message
                found.append("smile_after_complaint")
        if negative and scored.score > 0 and min(negative) < -1.0:
            found.append("praise_over_complaint")
        return tuple(found)

    def _quoted_praise(self, text: str) -> bool:
        """Whether a positive lexicon term stands in quotes ("'mượt'", "“xịn”")."""
        for match in _QUOTED_RE.finditer(text):
            if self._term_index.find_tuples(read_view(match.group(1))):
                return True
        return False


_PUNCTUATION = frozenset(".!?;,")


@lru_cache(maxsize=1)
def default_reader() -> Reader:
    """A reader with the packaged tables (built on first use)."""
    return Reader()
