"""Rule-and-lexicon sentiment: transparent scores per clause and per message.

Tables: ``nlp/resources/sentiment_lexicon.tsv`` (term -> weight in [-3, 3]) and
``nlp/resources/sentiment_rules.yaml`` (negators, intensifiers, contrast words, question
words and the label/probability settings). For one normalized text:

1. the text is read into a :class:`nlp.rules.TextView` and cut into clauses at
   punctuation and before contrast words ("nhưng", "tuy nhiên", "mỗi tội");
2. lexicon terms are found leftmost-longest ("không đáng tiền" beats "đáng tiền");
3. each term is flipped by a negator up to ``negation_window`` words before it in its
   clause ("không tốt", "chẳng hài lòng", "chưa ưng lắm"; a flipped negative keeps only half
   its strength: "không tệ" is mildly good), multiplied by intensifiers before it ("rất",
   "cực kỳ", "hơi") and right after it ("quá", "lắm", "vãi");
4. a clause's score is the sum of its terms, times ``after_contrast`` after a contrast
   word, ``before_contrast`` before one, and ``question`` for a question;
5. the message score is the sum of its clause scores; the label and the probability come
   from a softmax over the logits ``(s / T, -s / T, neutral_bias)``.

The temperature and the neutral bias were fitted on the dev split of VLSP 2016 (see the
comment in ``sentiment_rules.yaml``): the probability is calibrated for that data (ECE
0.048 on its test split) and only approximately for other domains.

:func:`clause_polarities` turns clause scores into signed polarities in [-1, 1], the scale
:func:`nlp.taxonomy.topic_hits` takes from any scorer (this lexicon or a trained model).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nlp._tables import read_mapping, read_tsv, resource_path
from nlp.rules import PhraseIndex, TextView, leftmost_longest, read_view
from nlp.types import Sentiment
from schemas.errors import ConfigError

__all__ = [
    "Lexicon",
    "LexiconEntry",
    "MessageScore",
    "clause_polarities",
    "load_lexicon",
    "polarity",
]

_TERM, _NEGATOR, _PRE, _POST, _CONTRAST = range(5)


@dataclass(frozen=True, slots=True)
class MessageScore:
    """The lexicon's reading of one message."""

    view: TextView
    clause_scores: tuple[float, ...]
    """Raw score of every clause of ``view.clauses`` (positive = positive sentiment)."""
    score: float
    """Sum of the clause scores."""
    sentiment: Sentiment
    probability: float
    """Softmax probability of ``sentiment`` (calibrated on VLSP 2016, see the module)."""
    terms: int
    """How many lexicon terms with a non-zero weight were found."""


LexiconEntry = tuple[int, float]
"""What a lexicon phrase is: (kind, weight or multiplier)."""


class Lexicon:
    """A loaded sentiment lexicon with its rules; :meth:`score` reads one normalized text."""

    def __init__(self, terms: Mapping[str, float], rules: Mapping[str, Any], source: str) -> None:
        self.source = source
        entries: list[tuple[str, LexiconEntry]] = [(t, (_TERM, w)) for t, w in terms.items()]
        entries += [(w, (_NEGATOR, 0.0)) for w in _words(rules, "negators", source)]
        entries += [(w, (_PRE, m)) for w, m in _weights(rules, "intensifiers", source).items()]
        entries += [
            (w, (_POST, m)) for w, m in _weights(rules, "post_intensifiers", source).items()
        ]
        entries += [(w, (_CONTRAST, 0.0)) for w in _words(rules, "contrast", source)]
        self.entries: tuple[tuple[str, LexiconEntry], ...] = tuple(entries)
        """Every phrase of the lexicon and its rules, for an index shared with other tables."""
        self._index = PhraseIndex(self.entries)
        self._questions = frozenset(_words(rules, "question_words", source))
        self.window = int(_number(rules, "negation_window", source))
        self.cannot = _number(rules, "cannot", source)
        self.cannot_window = int(_number(rules, "cannot_window", source))
        self.negated_positive = _number(rules, "negated_positive", source)
        self.negated_negative = _number(rules, "negated_negative", source)
        self.after_contrast = _number(rules, "after_contrast", source)
        self.before_contrast = _number(rules, "before_contrast", source)
        self.question = _number(rules, "question", source)
        self.temperature = _number(rules, "temperature", source)
        self.neutral_bias = _number(rules, "neutral_bias", source)
        if self.temperature <= 0:
            msg = f"{source}: temperature must be > 0, got {self.temperature}"
            raise ConfigError(msg)

    def score(self, text: str) -> MessageScore:
        """Score one normalized text."""
        view = read_view(text)
        return self.score_view(view, self._index.find_tuples(view))

    def score_view(
        self, view: TextView, matches: Sequence[tuple[int, int, LexiconEntry]]
    ) -> MessageScore:
        """Score a view from the matches of :attr:`entries` in it (``find_all``); splits it."""
        terms: list[tuple[int, int, LexiconEntry]] = []
        modifiers: list[tuple[int, int, LexiconEntry]] = []
        post: dict[int, float] = {}
        for m in matches:
            kind, value = m[2]
            if kind == _TERM:
                terms.append(m)
            elif kind == _POST:
                if value > post.get(m[0], 0.0):
                    post[m[0]] = value
            else:
                modifiers.append(m)
        modifiers = leftmost_longest(modifiers)
        view.split([m[0] for m in modifiers if m[2][0] == _CONTRAST], self._questions)
        by_end = {m[1] - 1: m for m in modifiers}
        clauses = view.clauses
        clause_of = view.clause_of
        clause_scores = [0.0] * len(clauses)
        count = 0
        window = self.window
        chosen = leftmost_longest(terms)
        if self.cannot:
            covered = {k for first, last, _ in chosen for k in range(first, last)}
            raw = view.raw
            for first, last, (kind, _) in modifiers:
                if kind != _NEGATOR or not clauses:
                    continue
                end = min(last + self.cannot_window, clauses[clause_of[first]].last)
                for k in range(last, end):
                    if raw[k] == "được" and k not in covered:
                        clause_scores[clause_of[first]] += self.cannot
                        count += 1
                        break
        for first, last, (_, weight) in chosen:
            if weight == 0:
                continue
            count += 1
            clause = clause_of[first]
            start = clauses[clause].first if clauses else 0
            multiplier = post.get(last, 1.0)
            negated = False
            i = first - 1
            while i >= start and first - i <= window:
                mod = by_end.get(i)
                if mod is None:
                    i -= 1
                    continue
                if mod[2][0] == _NEGATOR:
                    negated = not negated
                elif mod[2][0] == _PRE:
                    multiplier *= mod[2][1]
                i = mod[0] - 1
            if negated:
                weight = -weight * (self.negated_positive if weight > 0 else self.negated_negative)
            if clauses:
                clause_scores[clause] += weight * multiplier
        for k, info in enumerate(clauses):
            if info.after_contrast:
                clause_scores[k] *= self.after_contrast
            if info.before_contrast:
                clause_scores[k] *= self.before_contrast
            if info.question:
                clause_scores[k] *= self.question
        total = sum(clause_scores)
        sentiment, probability = self.label(total)
        return MessageScore(view, tuple(clause_scores), total, sentiment, probability, count)

    def probabilities(self, score: float) -> dict[Sentiment, float]:
        """Softmax over ``(s / T, -s / T, neutral_bias)``: positive, negative, neutral."""
        z = score / self.temperature
        top = max(z, -z, self.neutral_bias)
        pos = math.exp(z - top)
        neg = math.exp(-z - top)
        neu = math.exp(self.neutral_bias - top)
        norm = pos + neg + neu
        return {"negative": neg / norm, "neutral": neu / norm, "positive": pos / norm}

    def label(self, score: float) -> tuple[Sentiment, float]:
        """Return the most probable label of a message score and its probability."""
        probs = self.probabilities(score)
        sentiment = max(probs, key=probs.__getitem__)
        return sentiment, probs[sentiment]


def polarity(score: float) -> float:
    """Signed polarity in [-1, 1] of a raw lexicon score: ``tanh(score / 2)``."""
    return math.tanh(score / 2)


def clause_polarities(result: MessageScore) -> list[float]:
    """Return the polarity of every clause of a scored message."""
    return [polarity(s) for s in result.clause_scores]


# --------------------------------------------------------------------------------------------
# Loading


def _words(rules: Mapping[str, Any], key: str, source: str) -> list[str]:
    value = rules.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{source}: {key} must be a list of words, got {value!r}"
        raise ConfigError(msg)
    return value


def _weights(rules: Mapping[str, Any], key: str, source: str) -> dict[str, float]:
    value = rules.get(key, {})
    if not isinstance(value, Mapping):
        msg = f"{source}: {key} must map words to multipliers, got {value!r}"
        raise ConfigError(msg)
    out: dict[str, float] = {}
    for word, multiplier in value.items():
        if not isinstance(multiplier, int | float):
            msg = f"{source}: {key}.{word} must be a number, got {multiplier!r}"
            raise ConfigError(msg)
        out[str(word)] = float(multiplier)
    return out


def _number(rules: Mapping[str, Any], key: str, source: str) -> float:
    value = rules.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        msg = f"{source}: {key} must be a number, got {value!r}"
        raise ConfigError(msg)
    return float(value)


def load_lexicon(lexicon_path: Path | None = None, rules_path: Path | None = None) -> Lexicon:
    """Load a lexicon and its rules (None: the packaged tables, loaded once and cached)."""
    if lexicon_path is None and rules_path is None:
        return _default_lexicon()
    return _load(
        lexicon_path or resource_path("sentiment_lexicon.tsv"),
        rules_path or resource_path("sentiment_rules.yaml"),
    )


@lru_cache(maxsize=1)
def _default_lexicon() -> Lexicon:
    return _load(resource_path("sentiment_lexicon.tsv"), resource_path("sentiment_rules.yaml"))


def _load(lexicon_path: Path, rules_path: Path) -> Lexicon:
    terms: dict[str, float] = {}
    for term, weight, _note in read_tsv(lexicon_path, ("term", "weight", "note"), required=2):
        try:
            value = float(weight)
        except ValueError as exc:
            msg = f"{lexicon_path}: weight of {term!r} must be a number, got {weight!r}"
            raise ConfigError(msg) from exc
        if not -3 <= value <= 3:
            msg = f"{lexicon_path}: weight of {term!r} must be in [-3, 3], got {value}"
            raise ConfigError(msg)
        if term in terms:
            msg = f"{lexicon_path}: term {term!r} is listed twice"
            raise ConfigError(msg)
        terms[term] = value
    rules = read_mapping(rules_path, "sentiment rules")
    return Lexicon(terms, rules, str(rules_path))


def score_texts(texts: Sequence[str], lexicon: Lexicon | None = None) -> list[MessageScore]:
    """Score a batch of normalized texts with ``lexicon`` (default: the packaged one)."""
    lexicon = lexicon or _default_lexicon()
    return [lexicon.score(t) for t in texts]
