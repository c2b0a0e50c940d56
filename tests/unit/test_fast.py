"""FastEnricher on models trained here from sentences written for the tests."""

import random
import shutil
from pathlib import Path

import pytest

from nlp._tables import resource_path
from nlp.aspects import AspectModel
from nlp.datasets import AspectLabel, Example, model_text, write_jsonl
from nlp.enrichers import ENRICHERS, load_enricher
from nlp.fast import FastEnricher, build_fast, resolve_models
from nlp.labels import LabelModel
from nlp.sentiment import SentimentModel
from nlp.taxonomy import load_taxonomy
from nlp.train import TrainSettings, train_aspects, train_flags, train_sentiment, train_topics
from nlp.types import FLAGS, SENTIMENTS, Enricher, MessageContext
from schemas.errors import ConfigError, ModelError
from tests.support.cx_synth import write_cx_corpus

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
    corpus = write_cx_corpus(root / "corpus" / "cx", n=300)
    out = root / "models"
    train_sentiment(
        data,
        out,
        TrainSettings(task="sentiment", datasets=("tiny_sa",), corpus=corpus, c_grid=(4.0,)),
    )
    train_topics(out, TrainSettings(task="topics", corpus=corpus, c_grid=(4.0,), folds=3))
    train_flags(out, TrainSettings(task="flags", corpus=corpus, c_grid=(4.0,), folds=3))
    settings = TrainSettings(
        task="aspects",
        datasets=("tiny_phone",),
        domain="phone",
        categories=("smartphone",),
        corpus=corpus,
        c_grid=(4.0,),
        gate_negatives=(),
    )
    train_aspects(data, out, settings)
    return out


@pytest.fixture(scope="module")
def enricher(models: Path) -> FastEnricher:
    return build_fast(model_path=str(models), taxonomy_path=None)


def _one(enricher: FastEnricher, raw: str, context: MessageContext | None = None):  # type: ignore[no-untyped-def]
    return enricher.enrich_batch([model_text(raw)], [context or MessageContext()])[0]


def test_is_an_enricher_with_a_version_naming_its_models(enricher: FastEnricher) -> None:
    assert isinstance(enricher, Enricher)
    assert enricher.version.startswith(
        "fast:sentiment-fast-1.0.0+topics-fast-1.0.0+flags-fast-1.0.0+aspects-phone-fast-1.0.0+tax."
    )


def test_enrich_batch_fills_every_field(enricher: FastEnricher) -> None:
    texts = [
        model_text(t)
        for t in (
            "Giao hàng quá chậm, sản phẩm bị lỗi!!!",
            "Pin trâu, rất hài lòng",
            "Cho mình hỏi giá?",
        )
    ]
    contexts = [MessageContext("review"), MessageContext("review", "smartphone"), None]
    out = enricher.enrich_batch(texts, [c or MessageContext("chat") for c in contexts])
    assert [e.sentiment for e in out] == ["negative", "positive", "neutral"]
    assert all(0.0 <= e.sentiment_score <= 1.0 for e in out)
    assert {(a.aspect, a.sentiment) for a in out[1].aspects} == {("BATTERY", "positive")}
    assert "question" in out[2].flags
    assert "complaint" in out[0].flags
    assert "delivery" in {t.topic for t in out[0].topics}
    assert all(set(e.flags) <= set(FLAGS) for e in out)
    assert all(e.model_version == enricher.version for e in out)
    assert enricher.enrich_batch([]) == []
    assert len(enricher.enrich_batch(texts)) == 3  # contexts are optional


def test_filler_turns_are_neutral(enricher: FastEnricher) -> None:
    for raw in ("dạ vâng", "da vang", "dạ", "alo", "ừ", "ok shop"):
        for context in (MessageContext("chat"), MessageContext()):
            result = _one(enricher, raw, context)
            assert result.sentiment == "neutral", raw
            assert result.topics == ()


def test_topics_take_the_sentiment_of_their_clause(enricher: FastEnricher) -> None:
    result = _one(enricher, "giao hàng nhanh, vải mỏng quá", MessageContext("review"))
    topics = {t.topic: t for t in result.topics}
    assert topics["delivery"].sentiment == "positive"
    assert topics["product_quality"].sentiment == "negative"
    assert all(0 < t.score <= 1 for t in result.topics)
    assert all(t.sentiment in SENTIMENTS for t in result.topics)


def test_a_safety_complaint_is_urgent(enricher: FastEnricher) -> None:
    result = _one(enricher, "nồi cơm bị giật điện", MessageContext("chat"))
    assert "product_safety" in {t.topic for t in result.topics}
    assert {"complaint", "urgent"} <= set(result.flags)


def test_aspects_only_where_they_belong(enricher: FastEnricher) -> None:
    text = "pin tụt nhanh quá"
    phone = _one(enricher, text, MessageContext("review", "smartphone"))
    fashion = _one(enricher, text, MessageContext("review", "fashion"))
    assert ("BATTERY", "negative") in {(a.aspect, a.sentiment) for a in phone.aspects}
    assert fashion.aspects == ()
    # unknown category: the gate decides, and a fashion message does not pass it
    assert _one(enricher, "áo đẹp lắm, vải mịn mát").aspects == ()


def test_a_users_topic_works_by_its_keywords_alone(models: Path, tmp_path: Path) -> None:
    custom = tmp_path / "taxonomy.yaml"
    shutil.copy(resource_path("taxonomy.yaml"), custom)
    with custom.open("a", encoding="utf-8") as handle:
        handle.write(
            "\n  - id: loyalty\n    label_vi: Khách hàng thân thiết\n    label_en: Loyalty\n"
            "    description: Membership tiers.\n    keywords: [thẻ thành viên, hạng vàng]\n"
        )
    enricher = build_fast(model_path=str(models), taxonomy_path=custom)
    result = _one(enricher, "thẻ thành viên hạng vàng mà không được ưu tiên gì")
    assert "loyalty" in {t.topic for t in result.topics}
    assert enricher.version.endswith(load_taxonomy(custom).short_hash)


def test_removing_a_packaged_topic_from_the_taxonomy_removes_it(
    models: Path, tmp_path: Path
) -> None:
    text = resource_path("taxonomy.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: payment")
    end = text.index("  - id: refund_return")
    custom = tmp_path / "taxonomy.yaml"
    custom.write_text(text[:start] + text[end:], encoding="utf-8")
    enricher = build_fast(model_path=str(models), taxonomy_path=custom)
    result = _one(enricher, "thanh toán bị trừ tiền hai lần")
    assert "payment" not in {t.topic for t in result.topics}


def test_batch_and_single_give_the_same_result(enricher: FastEnricher) -> None:
    texts = [
        model_text(t) for t in ("pin yếu quá", "shop ở đâu vậy", "giao hàng nhanh, pin trâu", "")
    ]
    contexts = [MessageContext("review"), MessageContext("chat"), MessageContext(), None]
    full = [c or MessageContext() for c in contexts]
    assert enricher.enrich_batch(texts, full) == [
        enricher.enrich_batch([t], [c])[0] for t, c in zip(texts, full, strict=True)
    ]


def test_registry_builds_fast_from_a_model_directory(models: Path) -> None:
    assert ENRICHERS["fast"] == "nlp.fast:build_fast"
    built = load_enricher("fast", model_path=str(models))
    assert built.version.startswith("fast:sentiment-fast-1.0.0+topics-fast-1.0.0")
    assert len(built.enrich_batch(["rất hài lòng"])) == 1
    paths = resolve_models(str(models))
    assert LabelModel.load(paths.topics).task == "topics"  # type: ignore[arg-type]
    assert LabelModel.load(paths.flags).task == "flags"  # type: ignore[arg-type]
    assert [AspectModel.load(p).domain for p in paths.aspects] == ["phone"]


def test_a_directory_with_only_an_aspect_model_uses_the_packaged_sentiment(
    models: Path, tmp_path: Path
) -> None:
    only = tmp_path / "only"
    only.mkdir()
    shutil.copytree(models / "aspects-phone-fast-1.0.0", only / "aspects-phone-fast-1.0.0")
    paths = resolve_models(str(only))
    assert paths.sentiment.parent.name == "models"  # nlp/models
    assert SentimentModel.load(paths.sentiment).version.startswith("sentiment-fast-")
    assert [p.name for p in paths.aspects] == ["aspects-phone-fast-1.0.0"]


def test_missing_models_and_transformer_without_path_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no model artifact"):
        load_enricher("fast", model_path=str(tmp_path))
    with pytest.raises(ConfigError, match="needs model_path"):
        load_enricher("transformer")


def test_topic_heads_with_nb_scaling_keep_their_labels(tmp_path: Path) -> None:
    import numpy as np

    corpus = write_cx_corpus(tmp_path / "corpus" / "cx", n=300)
    weights = {}
    for strength in (0.0, 1.0):
        out = tmp_path / f"nb{strength:g}"
        settings = TrainSettings(
            task="topics", corpus=corpus, c_grid=(4.0,), folds=3, nb_strength=strength
        )
        model = LabelModel.load(train_topics(out, settings).path)
        assert model.manifest.hyperparameters["nb_strength"] == strength
        weights[strength] = model.weights
    assert weights[0.0].shape == weights[1.0].shape
    assert not np.allclose(weights[0.0], weights[1.0])
    enricher = build_fast(model_path=str(tmp_path / "nb1"), taxonomy_path=None)
    hits = _one(enricher, "giao hàng chậm quá, shipper giao trễ 5 ngày").topics
    assert "delivery" in {hit.topic for hit in hits}


def test_a_tie_on_dev_chooses_the_smallest_c(tmp_path: Path) -> None:
    corpus = write_cx_corpus(tmp_path / "corpus" / "cx", n=300)
    settings = TrainSettings(task="flags", corpus=corpus, c_grid=(4.000001, 4.0), folds=3)
    model = LabelModel.load(train_flags(tmp_path / "m", settings).path)
    grid = model.manifest.hyperparameters["label_grid"]
    assert (
        abs(grid[0]["dev_micro_f1_dev_thresholds"] - grid[1]["dev_micro_f1_dev_thresholds"]) < 0.002
    )
    assert model.manifest.hyperparameters["chosen"] == {"c": 4.0}
