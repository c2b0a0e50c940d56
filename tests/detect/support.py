"""Test support for the detectors: synthetic signals, traffic and a keyword enricher.

Every text here is written for these tests (no dataset text).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.detect.phrases import gram_ids, term_ids
from flows.detect.signals import OTHER, Signal
from nlp.types import Enrichment, MessageContext, TopicHit

#: Minute 0 of the synthetic streams.
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
START_MINUTE = int(START.timestamp() // 60)

CHANNELS = ("shopee", "tiki", "facebook")
BRANDS = ("Lumia", "Sao Mai")
PRODUCTS = {"Lumia": ("tai nghe L1", "sạc nhanh L2"), "Sao Mai": ("nồi cơm S1", "quạt S2")}
TEMPLATES = {
    "delivery": (
        "giao hàng nhanh, đóng gói kỹ",
        "shipper giao đúng hẹn",
        "giao hàng hơi chậm một chút",
        "bên vận chuyển giao tới tận nhà",
    ),
    "payment": (
        "thanh toán bằng ví rất tiện",
        "thanh toán qua thẻ nhanh gọn",
        "thanh toán bị lỗi một lần",
    ),
    "product_quality": (
        "chất lượng tốt so với giá",
        "chất lượng ổn, dùng bền",
        "chất lượng kém, dùng mau hỏng",
    ),
}
OPENERS = ("", "trời ơi, ", "lần thứ hai rồi, ", "bực mình ghê, ")
FILLERS = ("", "mình rất hài lòng", "sẽ ủng hộ tiếp", "tạm được", "cũng bình thường")
_NEGATIVE_WORDS = ("chậm", "lỗi", "kém", "hỏng", "kẹt", "tệ")
_FLAG_WORDS = {"gấp": "urgent", "bỏ app": "churn_risk"}
_TOPIC_WORDS = {
    "giao": "delivery",
    "vận chuyển": "delivery",
    "thanh toán": "payment",
    "chất lượng": "product_quality",
}


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; fine for the small means of these tests)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class TopicEnricher:
    """A small real enricher: topics, sentiment and two flags from keywords."""

    version = "test-topics-1"

    def enrich_batch(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> list[Enrichment]:
        """One enrichment per text."""
        out = []
        for text in texts:
            lowered = text.lower()
            negative = any(w in lowered for w in _NEGATIVE_WORDS)
            sentiment = "negative" if negative else "positive"
            topics = tuple(dict.fromkeys(t for word, t in _TOPIC_WORDS.items() if word in lowered))
            hits = tuple(TopicHit(t, 0.9, sentiment) for t in topics)
            flags = tuple(flag for word, flag in _FLAG_WORDS.items() if word in lowered)
            out.append(Enrichment(sentiment, 0.8, hits, (), flags, self.version))
        return out


def make_signal(
    n: int,
    minute: int,
    *,
    topics: Sequence[str] = ("delivery",),
    channel: str = "shopee",
    brand: str = "Lumia",
    product: str = "tai nghe L1",
    negative: bool = False,
    text: str = "giao hàng nhanh",
    second: float = 0.0,
    unit: str | None = None,
    source: str = "review",
    flags: Sequence[str] = (),
) -> Signal:
    """A signal at ``minute`` (relative to START), as the flow would build it."""
    created = START + timedelta(minutes=minute, seconds=second)
    return Signal(
        id=f"m{n}",
        unit=unit or f"m{n}",
        origin="test",
        source=source,
        channel=channel,
        brand=brand,
        product=product,
        topics=tuple(topics),
        negative_topics=tuple(topics) if negative else (),
        negative=negative,
        created_at=created,
        text=text,
        text_normalized=text.lower(),
        grams=gram_ids(text.lower()),
        flags=tuple(flags),
    )


def background_messages(
    rng: random.Random, minute: int, rate: float, *, surge: float = 1.0
) -> Iterator[dict[str, Any]]:
    """Inbound messages of one minute of ordinary traffic (dicts of the message contract)."""
    for _ in range(poisson(rng, rate * surge)):
        topic = rng.choice(tuple(TEMPLATES))
        brand = rng.choice(BRANDS)
        text = rng.choice(TEMPLATES[topic])
        filler = rng.choice(FILLERS)
        yield {
            "source": "review",
            "channel": rng.choice(CHANNELS),
            "brand": brand,
            "product": rng.choice(PRODUCTS[brand]),
            "text": f"{text}, {filler}" if filler else text,
            "created_at": (START + timedelta(minutes=minute, seconds=rng.random() * 59.9)),
            "rating": 4,
        }


def incident_messages(
    rng: random.Random, minute: int, rate: float, text: str, channel: str = "shopee"
) -> Iterator[dict[str, Any]]:
    """Extra complaints of one incident minute on one channel."""
    for _ in range(poisson(rng, rate)):
        brand = rng.choice(BRANDS)
        yield {
            "source": "review",
            "channel": channel,
            "brand": brand,
            "product": rng.choice(PRODUCTS[brand]),
            "text": f"{rng.choice(OPENERS)}{text}",
            "created_at": (START + timedelta(minutes=minute, seconds=rng.random() * 59.9)),
            "rating": 1,
        }


def signals_from(messages: Sequence[dict[str, Any]], enricher: TopicEnricher) -> list[Signal]:
    """Signals of inbound message dicts, enriched by ``enricher`` (no flow involved)."""
    results = enricher.enrich_batch([m["text"] for m in messages])
    out = []
    for n, (message, result) in enumerate(zip(messages, results, strict=True)):
        topics = tuple(t.topic for t in result.topics) or (OTHER,)
        negative = result.sentiment == "negative"
        flags = tuple(message.get("flags", ()))
        normalized = message["text"].lower()
        out.append(
            Signal(
                id=message.get("id", f"s{n}"),
                unit=message.get("conversation_id") or message.get("id", f"s{n}"),
                origin="test",
                source=message["source"],
                channel=message["channel"],
                brand=message["brand"],
                product=message["product"],
                topics=topics,
                negative_topics=topics if negative or "complaint" in flags else (),
                negative=negative,
                created_at=message["created_at"],
                text=message["text"],
                text_normalized=normalized,
                grams=gram_ids(normalized),
                terms=term_ids(normalized) if negative or "complaint" in flags else (),
                flags=flags,
            )
        )
    return out
