"""The shipped ``fast`` enricher on 28 messages written for this test and never trained on.

Filler chat turns, calm complaints, sarcasm, a product-safety hazard (an air fryer that
shocks, a power bank that smokes), a hacked account, fake goods given five stars, and a
few plain reviews: ``tests/support/adversarial_cx.jsonl``, labelled by the guide of
``docs/labelling.md``. None of them is in the corpus (checked below), so this is a look at
how the models hold on messages nobody tuned them for. The floors are the counts measured
when the packaged models were trained, so a change that loses one of them fails here; the
misses are listed by the assertion message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from nlp.datasets import default_corpus, model_text
from nlp.enrichers import load_enricher
from nlp.flags import rating_mismatch
from nlp.types import MessageContext

CASES = Path(__file__).parents[1] / "support" / "adversarial_cx.jsonl"

# measured with the packaged models (see the README's score table): right out of 28.
# sentiment-fast-2.0.0 / topics-fast-1.0.0 got 27 / 22; the models retrained with the
# corpus supplements get 26 / 21 (a calm wrong-colour report read neutral, the sarcastic
# "giao hàng 'nhanh' thật, có 3 tuần thôi à" read positive) while the 1,045-message corpus
# test split rose (topics micro-F1 0.830 -> 0.843); topics-fast-1.2.0 (no length markers)
# gets 23 topic sets right; flags-fast-1.3.0 gets all 28 flag sets (1.2.0: 24). With naive-Bayes
# scaling (sentiment-fast-2.2.0, topics-fast-1.5.0, flags-fast-1.4.0): 26 / 23 / 26 (the flag
# model misses the complaint of the sarcastic "giao hàng 'nhanh'" and reads a question in a
# hacked-account report; on the corpus test split churn_risk rose 0.821 -> 0.848).
FLOORS = {"sentiment": 26, "topics": 23, "flags": 26}


@dataclass(frozen=True)
class Case:
    text: str
    source: str
    rating: int | None
    sentiment: str
    topics: frozenset[str]
    flags: frozenset[str]


def _cases() -> list[Case]:
    rows = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines()]
    return [
        Case(
            r["text"],
            r["source"],
            r["rating"],
            r["sentiment"],
            frozenset(r["topics"]),
            frozenset(r["flags"]),
        )
        for r in rows
    ]


@pytest.fixture(scope="module")
def misses() -> dict[str, list[str]]:
    cases = _cases()
    enricher = load_enricher("fast")
    results = enricher.enrich_batch(
        [model_text(c.text) for c in cases],
        [MessageContext(c.source, None, c.rating) for c in cases],
    )
    out: dict[str, list[str]] = {"sentiment": [], "topics": [], "flags": []}
    for case, result in zip(cases, results, strict=True):
        flags = set(result.flags)
        if case.rating is not None and rating_mismatch(case.rating, result.sentiment, flags):
            flags.add("rating_mismatch")
        topics = {t.topic for t in result.topics}
        if result.sentiment != case.sentiment:
            out["sentiment"].append(f"{case.text}: {result.sentiment}")
        if topics != case.topics:
            out["topics"].append(f"{case.text}: {sorted(topics)}")
        if flags != case.flags:
            out["flags"].append(f"{case.text}: {sorted(flags)}")
    return out


def test_the_cases_are_new() -> None:
    corpus = default_corpus()
    if corpus is None:
        pytest.skip("the CX corpus is not in this checkout")
    texts = {c.text.lower() for c in _cases()}
    assert len(texts) == 28
    for split in ("train", "dev", "test"):
        path = corpus / f"{split}.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines()
        seen = {json.loads(line)["text"].lower() for line in lines}
        assert not texts & seen, split


@pytest.mark.parametrize("what", sorted(FLOORS))
def test_the_enricher_keeps_its_count_on_new_messages(
    misses: dict[str, list[str]], what: str
) -> None:
    right = len(_cases()) - len(misses[what])
    assert right >= FLOORS[what], misses[what]
