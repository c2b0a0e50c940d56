"""Tests of the lexicon sentiment, the baseline enricher and the enricher registry."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nlp._tables import resource_path
from nlp.baseline import BaselineEnricher
from nlp.enrichers import ENRICHERS, load_enricher
from nlp.lexicon import load_lexicon
from nlp.normalize import normalize
from nlp.taxonomy import load_taxonomy
from nlp.types import FLAGS, SENTIMENTS, Enricher, Enrichment, TopicHit
from schemas.errors import ConfigError


def sentiment(raw: str) -> str:
    return load_lexicon().score(normalize(raw)).sentiment


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # plain polarity
        ("Sản phẩm rất tốt, đóng gói cẩn thận", "positive"),
        ("Hàng kém chất lượng, thất vọng", "negative"),
        ("Mình nhận hàng hôm qua", "neutral"),
        # negation
        ("không tốt", "negative"),
        ("ko hài lòng chút nào", "negative"),
        ("chẳng đẹp như quảng cáo", "negative"),
        ("chưa ưng lắm", "negative"),
        ("không tệ", "positive"),
        ("không những đẹp mà còn rẻ", "positive"),
        ("không thể chê", "positive"),
        # intensity: "hơi" softens below the neutral band, "quá" strengthens
        ("hơi chậm", "neutral"),
        ("chậm quá", "negative"),
        ("đẹp quá trời", "positive"),
        # contrast: the clause after "nhưng" carries the point
        ("giao hàng nhanh nhưng sản phẩm bị lỗi", "negative"),
        ("giá hơi đắt nhưng chất lượng tốt", "positive"),
        ("hàng đẹp, mỗi tội giao quá chậm, chờ mãi", "negative"),
        # emoji and emoticons (normalized into tokens)
        ("nhận hàng rồi 😍😍", "positive"),
        ("nhận hàng rồi 😡", "negative"),
        ("shop trả lời :((", "negative"),
        # questions assert little
        ("sản phẩm này có tốt không shop?", "neutral"),
        # typed without diacritics
        ("hang dep, giao nhanh, rat hai long", "positive"),
        ("hang loi, shop khong tra loi, that vong", "negative"),
        # English mixed in
        ("very good, giao nhanh", "positive"),
        ("terrible, hàng vỡ hết", "negative"),
        # words of app reviews and support chats
        ("app vô dụng, thiết kế rối rắm", "negative"),
        ("nhân viên đùn đẩy, hứa suông", "negative"),
        ("shop tư vấn có tâm", "positive"),
        # unmarked, "deu" is "đều" and "ung" is "ưng", not "đểu" and "úng"
        ("hang deu tot", "positive"),
        ("ung y lam", "positive"),
    ],
)
def test_lexicon_sentiment(raw: str, expected: str) -> None:
    assert sentiment(raw) == expected


def test_probabilities_sum_to_one_and_grow_with_the_score() -> None:
    lexicon = load_lexicon()
    previous = 0.0
    for score in (0.6, 1.0, 2.0, 4.0):
        probs = lexicon.probabilities(score)
        assert abs(sum(probs.values()) - 1) < 1e-9
        assert probs["positive"] > previous
        previous = probs["positive"]
    assert lexicon.label(0.0) == ("neutral", pytest.approx(lexicon.probabilities(0.0)["neutral"]))
    assert lexicon.label(-3.0)[0] == "negative"


def test_bad_lexicon_weight_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "lex.tsv"
    path.write_text("term\tweight\tnote\ntốt\tvery\t\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="weight of 'tốt' must be a number"):
        load_lexicon(path)
    path.write_text("term\tweight\tnote\ntốt\t7\t\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"must be in \[-3, 3\]"):
        load_lexicon(path)


# ------------------------------------------------------------------------------------------
# The enricher


@pytest.fixture(scope="module")
def enricher() -> BaselineEnricher:
    return BaselineEnricher()


def test_is_an_enricher_with_a_versioned_name(enricher: BaselineEnricher) -> None:
    assert isinstance(enricher, Enricher)
    assert re.fullmatch(r"baseline-rules-\d+\.\d+\+tax\.[0-9a-f]{8}", enricher.version)
    assert enricher.version.endswith(load_taxonomy().short_hash)


def test_enrich_batch_keeps_order_and_fills_every_field(enricher: BaselineEnricher) -> None:
    texts = [
        normalize(t)
        for t in (
            "Giao hàng chậm, shipper thái độ, không bao giờ mua nữa!!!",
            "Sản phẩm tốt, đóng gói cẩn thận, cảm ơn shop 😍",
            "shop ơi khi nào có hàng lại?",
            "",
        )
    ]
    out = enricher.enrich_batch(texts)
    assert len(out) == len(texts)
    for item in out:
        assert isinstance(item, Enrichment)
        assert item.sentiment in SENTIMENTS
        assert 0 <= item.sentiment_score <= 1
        assert item.aspects == ()
        assert set(item.flags) <= set(FLAGS)
        assert "rating_mismatch" not in item.flags
        assert all(isinstance(t, TopicHit) for t in item.topics)
        assert item.model_version == enricher.version
    complaint, praise, question, empty = out
    assert complaint.sentiment == "negative"
    assert {t.topic: t.sentiment for t in complaint.topics}["delivery"] == "negative"
    assert {"complaint", "churn_risk", "urgent"} <= set(complaint.flags)
    assert "question" not in complaint.flags  # "không bao giờ" is not "bao giờ?"
    assert praise.sentiment == "positive"
    assert "praise" in praise.flags
    assert "packaging" in {t.topic for t in praise.topics}
    assert question.flags == ("question",)
    assert (empty.sentiment, empty.topics, empty.flags) == ("neutral", (), ())
    assert enricher.enrich_batch([]) == []


def test_enrich_batch_equals_one_by_one(enricher: BaselineEnricher) -> None:
    texts = [normalize(t) for t in ("hàng đẹp", "giao chậm quá", "app lỗi hoài, gỡ app luôn")]
    assert enricher.enrich_batch(texts) == [enricher.enrich(t) for t in texts]


def test_version_follows_the_taxonomy_file(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(
        resource_path("taxonomy.yaml").read_text(encoding="utf-8") + "\n# edited\n",
        encoding="utf-8",
    )
    edited = BaselineEnricher(taxonomy=load_taxonomy(path))
    assert edited.version != BaselineEnricher().version


# ------------------------------------------------------------------------------------------
# The registry


def test_load_enricher_baseline() -> None:
    enricher = load_enricher("baseline")
    assert isinstance(enricher, BaselineEnricher)
    assert "baseline" in ENRICHERS


def test_unknown_enricher_lists_the_known_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown enricher 'bert'; expected one of \['baseline'"):
        load_enricher("bert")


def test_baseline_takes_a_folder_of_replacement_tables(tmp_path: Path) -> None:
    (tmp_path / "sentiment_lexicon.tsv").write_text(
        "term\tweight\tnote\nbình thường\t2\tthis shop's customers mean it as praise\n",
        encoding="utf-8",
    )
    custom = load_enricher("baseline", model_path=str(tmp_path))
    assert custom.enrich_batch(["bình thường"])[0].sentiment == "positive"
    assert load_enricher("baseline").enrich_batch(["bình thường"])[0].sentiment == "neutral"


def test_baseline_model_path_must_hold_tables(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a directory"):
        load_enricher("baseline", model_path=str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="holds none of"):
        load_enricher("baseline", model_path=str(tmp_path))


def test_custom_taxonomy_path_reaches_the_enricher(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "topics:\n  - {id: parking, label_vi: Gửi xe, label_en: Parking, "
        "description: Parking., keywords: [gửi xe, bãi xe]}\n",
        encoding="utf-8",
    )
    enricher = load_enricher("baseline", taxonomy_path=path)
    (item,) = enricher.enrich_batch([normalize("bãi xe chật quá")])
    assert [t.topic for t in item.topics] == ["parking"]


def test_importing_the_text_layer_reads_no_table() -> None:
    code = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda e, a: opened.append(str(a[0])) if e == 'open' else None)\n"
        "import nlp.normalize, nlp.pii, nlp.langid, nlp.taxonomy, nlp.lexicon, nlp.flags\n"
        "import nlp.baseline, nlp.enrichers, nlp.rules\n"
        "print([p for p in opened if 'resources' in p])\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    assert result.stdout.strip() == "[]"


def _data_dir() -> Path:
    import os

    root = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("VOC_DATA_DIR") or root.parent / "shared" / "data")


@pytest.mark.data
def test_baseline_on_vlsp2016_test_split() -> None:
    """Guard the lexicon against regressions on real labelled text (research data)."""
    import json

    path = _data_dir() / "vlsp2016_sa" / "test.jsonl"
    if not path.exists():
        pytest.skip(f"labelled data not found at {path} (set VOC_DATA_DIR)")
    from nlp.langid import detect_language

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    lexicon = load_lexicon()
    gold = [r["sentiment"] for r in rows]
    predicted = [lexicon.score(normalize(r["text"])).sentiment for r in rows]
    f1 = []
    for label in ("negative", "neutral", "positive"):
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        wrong = sum((g == label) != (p == label) for g, p in zip(gold, predicted, strict=True))
        f1.append(2 * tp / (2 * tp + wrong))
    assert sum(f1) / 3 >= 0.53  # 0.563 when written; a lexicon, not a trained model
    vietnamese = sum(detect_language(r["text"]) in ("vi", "vi_nodiac") for r in rows)
    assert vietnamese / len(rows) >= 0.98
