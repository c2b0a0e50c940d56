"""FastEnricher on models trained here from sentences written for the tests."""

import random
from pathlib import Path

import pytest

from nlp.aspects import AspectModel
from nlp.datasets import AspectLabel, Example, model_text, write_jsonl
from nlp.enrichers import ENRICHERS, load_enricher
from nlp.fast import FastEnricher, resolve_models
from nlp.sentiment import SentimentModel
from nlp.train import TrainSettings, train_aspects, train_sentiment
from nlp.types import FLAGS, SENTIMENTS, Enricher
from schemas.errors import ConfigError, ModelError

POSITIVE = [
    "rất hài lòng",
    "giao hàng nhanh",
    "chất lượng tuyệt vời",
    "đóng gói cẩn thận",
    "pin trâu",
]
NEGATIVE = [
    "rất thất vọng",
    "giao hàng quá chậm",
    "sản phẩm bị lỗi",
    "hàng kém chất lượng",
    "pin tụt nhanh",
]
NEUTRAL = ["cho mình hỏi giá", "shop ở đâu vậy", "bao giờ có hàng", "mình đặt hôm qua"]
BATTERY = {"positive": ["pin trâu", "pin dùng cả ngày"], "negative": ["pin tụt nhanh", "pin yếu"]}


def _write(root: Path) -> Path:
    rng = random.Random(2)
    pools = {"positive": POSITIVE, "negative": NEGATIVE, "neutral": NEUTRAL}
    for split, n in (("train", 90), ("dev", 45)):
        rows = []
        for i in range(n):
            label = ("negative", "neutral", "positive")[i % 3]
            rows.append(Example(", ".join(rng.sample(pools[label], 2)), label, (), None))  # type: ignore[arg-type]
        write_jsonl(root / "tiny_sa" / f"{split}.jsonl", rows)
        rows = []
        for k in range(n):
            polarity = rng.choice(["positive", "negative"])
            other = rng.choice(["máy đẹp", "dùng ổn", "mới mua"])
            if k % 3 == 0:  # a text about something else: no BATTERY
                rows.append(Example(other, None, (AspectLabel("GENERAL", "positive"),), None))
                continue
            text = rng.choice(BATTERY[polarity])
            rows.append(Example(text, None, (AspectLabel("BATTERY", polarity),), None))  # type: ignore[arg-type]
        write_jsonl(root / "tiny_phone" / f"{split}.jsonl", rows)
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fast")
    data = _write(root / "data")
    out = root / "models"
    train_sentiment(
        data, out, TrainSettings(task="sentiment", datasets=("tiny_sa",), c_grid=(4.0,))
    )
    settings = TrainSettings(
        task="aspects", datasets=("tiny_phone",), domain="phone", c_grid=(4.0,), gate_negatives=()
    )
    train_aspects(data, out, settings)
    return out


@pytest.fixture(scope="module")
def enricher(models: Path) -> FastEnricher:
    sentiment_path, aspect_paths = resolve_models(str(models))
    return FastEnricher(
        SentimentModel.load(sentiment_path), [AspectModel.load(p) for p in aspect_paths]
    )


def test_is_an_enricher_with_a_version_naming_its_models(enricher: FastEnricher) -> None:
    assert isinstance(enricher, Enricher)
    assert enricher.version.startswith("fast:sentiment-fast-1.0.0+aspects-phone-fast-1.0.0+tax.")


def test_enrich_batch_fills_every_field(enricher: FastEnricher) -> None:
    texts = [
        model_text(t)
        for t in (
            "Giao hàng quá chậm, sản phẩm bị lỗi!!!",
            "Pin trâu, rất hài lòng",
            "Cho mình hỏi giá?",
        )
    ]
    out = enricher.enrich_batch(texts)
    assert [e.sentiment for e in out] == ["negative", "positive", "neutral"]
    assert all(0.0 <= e.sentiment_score <= 1.0 for e in out)
    assert {(a.aspect, a.sentiment) for a in out[1].aspects} == {("BATTERY", "positive")}
    (other,) = enricher.enrich_batch([model_text("Máy đẹp, dùng ổn")])
    assert "BATTERY" not in {a.aspect for a in other.aspects}
    assert "question" in out[2].flags
    assert "complaint" in out[0].flags
    assert all(set(e.flags) <= set(FLAGS) for e in out)
    assert all(e.model_version == enricher.version for e in out)
    assert enricher.enrich_batch([]) == []


def test_topics_take_the_sentiment_of_their_clause(enricher: FastEnricher) -> None:
    # delivery is praised, the product is not: each topic reads its own clause
    (result,) = enricher.enrich_batch([model_text("Giao hàng nhanh, nhưng sản phẩm bị lỗi")])
    topics = {t.topic: t for t in result.topics}
    assert "delivery" in topics
    assert topics["delivery"].sentiment == "positive"
    assert 0 < topics["delivery"].score <= 1
    assert all(t.sentiment in SENTIMENTS for t in result.topics)


def test_batch_and_single_give_the_same_result(enricher: FastEnricher) -> None:
    texts = [
        model_text(t) for t in ("pin yếu quá", "shop ở đâu vậy", "giao hàng nhanh, pin trâu", "")
    ]
    assert enricher.enrich_batch(texts) == [enricher.enrich_batch([t])[0] for t in texts]


def test_registry_builds_fast_from_a_model_directory(models: Path) -> None:
    assert ENRICHERS["fast"] == "nlp.fast:build_fast"
    built = load_enricher("fast", model_path=str(models))
    assert built.version.startswith("fast:sentiment-fast-1.0.0+aspects-phone-fast-1.0.0")
    assert len(built.enrich_batch(["rất hài lòng"])) == 1


def test_missing_models_and_transformer_without_path_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no sentiment artifact"):
        load_enricher("fast", model_path=str(tmp_path))
    with pytest.raises(ConfigError, match="needs model_path"):
        load_enricher("transformer")
