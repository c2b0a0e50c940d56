"""The transparent rule-and-lexicon baseline enricher.

:class:`BaselineEnricher` implements :class:`nlp.types.Enricher` with nothing but readable
tables: the sentiment lexicon and its rules (:mod:`nlp.lexicon`), the topic taxonomy
(:mod:`nlp.taxonomy`) and the flag cues (:mod:`nlp.flags`). Every decision can be traced to
a line of a table. It needs no model, loads in milliseconds, and is the default enricher.

Per message: the lexicon scores the clauses and the message (label and a softmax
probability calibrated on VLSP 2016, see :mod:`nlp.lexicon`); the taxonomy finds topics,
each taking the sentiment of the clauses its keywords sit in; the flag rules add
complaint, question, praise, churn_risk and urgent. It finds no product aspects
(``aspects`` is empty): those come from trained models. ``rating_mismatch`` is left to the
flow, which has the star rating.

The version is ``baseline-rules-<VERSION>+tax.<first 8 hex digits of the taxonomy's
SHA-256>``, so a changed taxonomy file shows in every stored row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nlp.flags import FlagRules, detect_flags, load_flag_rules
from nlp.lexicon import Lexicon, clause_polarities, load_lexicon, polarity
from nlp.rules import PhraseIndex, read_view
from nlp.taxonomy import Taxonomy, load_taxonomy, topic_hits
from nlp.types import Enrichment, MessageContext

__all__ = ["VERSION", "BaselineEnricher"]

VERSION = "1.0"
"""Version of the rules' code; bump it when the scoring changes."""

_LEXICON, _TAXONOMY, _FLAGS = 0, 1, 2


class BaselineEnricher:
    """Sentiment, topics with their sentiment, and flags from tables; no model."""

    def __init__(
        self,
        taxonomy: Taxonomy | None = None,
        lexicon: Lexicon | None = None,
        flag_rules: FlagRules | None = None,
    ) -> None:
        self.taxonomy = taxonomy or load_taxonomy()
        self.lexicon = lexicon or load_lexicon()
        self.flag_rules = flag_rules or load_flag_rules()
        self._version = f"baseline-rules-{VERSION}+tax.{self.taxonomy.short_hash}"
        # One index over the three tables: each message is scanned once.
        entries: list[tuple[str, tuple[int, Any]]] = []
        entries += [(p, (_LEXICON, v)) for p, v in self.lexicon.entries]
        entries += [(p, (_TAXONOMY, v)) for p, v in self.taxonomy.entries]
        entries += [(p, (_FLAGS, v)) for p, v in self.flag_rules.entries]
        self._index: PhraseIndex[tuple[int, Any]] = PhraseIndex(entries)

    @property
    def version(self) -> str:
        """``baseline-rules-1.0+tax.<taxonomy hash>``."""
        return self._version

    def enrich(self, text: str) -> Enrichment:
        """Enrich one normalized, PII-redacted text."""
        view = read_view(text)
        parts: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
        for first, last, (table, value) in self._index.find_tuples(view):
            parts[table].append((first, last, value))
        scored = self.lexicon.score_view(view, parts[_LEXICON])
        matches = self.taxonomy.match_view(view, parts[_TAXONOMY])
        topics = (
            topic_hits(view, matches, clause_polarities(scored), polarity(scored.score))
            if matches
            else ()
        )
        flags = detect_flags(
            view, scored.sentiment, scored.probability, self.flag_rules, parts[_FLAGS]
        )
        return Enrichment(
            sentiment=scored.sentiment,
            sentiment_score=round(scored.probability, 4),
            topics=topics,
            aspects=(),
            flags=flags,
            model_version=self._version,
        )

    def enrich_batch(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> list[Enrichment]:
        """Return one :class:`Enrichment` per normalized, PII-redacted text, in order.

        The rules read the text alone: ``contexts`` is accepted and not used.
        """
        return [self.enrich(text) for text in texts]
