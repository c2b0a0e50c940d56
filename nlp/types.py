"""Small typed results of the NLP stage and the protocol every enricher implements.

The flow only knows :class:`Enricher`: ``enrich_batch(texts, contexts) -> list[Enrichment]``.
The rule-and-lexicon baseline, the trained fast model and the transformer backend all sit
behind it, and every stored row records the ``model_version`` of the enricher that produced
it. A :class:`MessageContext` tells an enricher what the flow knows about a text besides its
words: the source (a review, a chat turn, a social post), the product category, the stars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Sentiment = Literal["negative", "neutral", "positive"]
SENTIMENTS: tuple[Sentiment, ...] = ("negative", "neutral", "positive")

Flag = Literal["complaint", "question", "praise", "churn_risk", "urgent", "rating_mismatch"]
FLAGS: tuple[Flag, ...] = (
    "complaint",
    "question",
    "praise",
    "churn_risk",
    "urgent",
    "rating_mismatch",
)


Source = Literal["review", "chat", "social", "survey"]
SOURCES: tuple[Source, ...] = ("review", "chat", "social", "survey")
"""Kinds of feedback a model may calibrate for (``survey``: free-text answers to a survey)."""


@dataclass(frozen=True, slots=True)
class MessageContext:
    """What is known about a message besides its text; every field may be unknown."""

    source: str | None = None
    """``review``, ``chat``, ``social`` or ``survey``; other values count as unknown."""
    category: str | None = None
    """The product kind the message is about (``fashion``, ``smartphone``, ``travel_hotel``,
    ...: see ``docs/labelling.md``), from the message's ``category`` attribute or from the
    brand or product configured to a domain."""
    rating: int | None = None
    """Stars of a review, 1-5."""


NO_CONTEXT = MessageContext()


@dataclass(frozen=True, slots=True)
class TopicHit:
    """A CX topic found in a message, with its score and the sentiment towards it."""

    topic: str
    score: float
    sentiment: Sentiment


@dataclass(frozen=True, slots=True)
class AspectHit:
    """A product aspect (e.g. BATTERY, ROOMS#CLEANLINESS) with its polarity."""

    aspect: str
    score: float
    sentiment: Sentiment


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What the NLP stage adds to one message."""

    sentiment: Sentiment
    sentiment_score: float
    """Calibrated probability of ``sentiment``, in [0, 1]."""
    topics: tuple[TopicHit, ...]
    aspects: tuple[AspectHit, ...]
    flags: tuple[Flag, ...]
    model_version: str


@runtime_checkable
class Enricher(Protocol):
    """Anything that enriches a batch of normalized, PII-redacted texts."""

    @property
    def version(self) -> str:
        """Versioned name of the model(s) behind this enricher, stored on every row."""
        ...

    def enrich_batch(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> list[Enrichment]:
        """Return one :class:`Enrichment` per text, in order.

        ``contexts``, when given, holds one :class:`MessageContext` per text; an enricher
        may ignore it, and must work without it.
        """
        ...
