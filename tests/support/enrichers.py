"""Small real enrichers for tests that need exact, known figures: no model, cue words only."""

from __future__ import annotations

from collections.abc import Sequence

from nlp.types import AspectHit, Enrichment, Flag, MessageContext, Sentiment, TopicHit

NEGATIVE = ("chậm", "móp", "hỏng", "yếu", "đắt", "tệ", "không mua nữa")
POSITIVE = ("nhanh", "cẩn thận", "tốt", "khỏe", "rẻ", "cảm ơn")
TOPICS = {"delivery": ("giao",), "packaging": ("đóng gói",), "price": ("giá",)}
ASPECTS = {"BATTERY": ("pin",), "CAMERA": ("camera",), "SCREEN": ("màn hình",)}


def polarity(text: str) -> Sentiment:
    """Negative if a negative cue is in ``text``, else positive if a positive one is."""
    if any(cue in text for cue in NEGATIVE):
        return "negative"
    if any(cue in text for cue in POSITIVE):
        return "positive"
    return "neutral"


class CueEnricher:
    """Sentiment, topics, aspects and flags from cue words, clause by clause.

    A message is negative when any clause holds a negative cue; a topic or an aspect takes
    the polarity of the clauses (split on commas) that mention it. Flags: ``complaint`` on a
    negative message, ``praise`` on a positive one, ``question`` on ``?``, ``churn_risk`` on
    "không mua nữa". The text it sees is the flow's normalized text.
    """

    version = "test-cues-1"

    def enrich_batch(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> list[Enrichment]:
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> Enrichment:
        clauses = [c.strip() for c in text.split(",")]
        sentiment = polarity(text)
        topics = tuple(
            TopicHit(name, 1.0, polarity(" ".join(c for c in clauses if _mentions(c, cues))))
            for name, cues in TOPICS.items()
            if _mentions(text, cues)
        )
        aspects = tuple(
            AspectHit(name, 1.0, polarity(" ".join(c for c in clauses if _mentions(c, cues))))
            for name, cues in ASPECTS.items()
            if _mentions(text, cues)
        )
        flags: list[Flag] = []
        if sentiment == "negative":
            flags.append("complaint")
        if sentiment == "positive":
            flags.append("praise")
        if "?" in text:
            flags.append("question")
        if "không mua nữa" in text:
            flags.append("churn_risk")
        return Enrichment(sentiment, 0.9, topics, aspects, tuple(flags), self.version)


def _mentions(text: str, cues: tuple[str, ...]) -> bool:
    return any(cue in text for cue in cues)
