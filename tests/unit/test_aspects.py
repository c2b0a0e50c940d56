import random
from pathlib import Path

import numpy as np
import pytest

from nlp.aspects import AspectModel
from nlp.cues import default_reader
from nlp.datasets import AspectLabel, Example, model_text, write_jsonl
from nlp.train import TrainSettings, train_aspects
from nlp.types import MessageContext
from schemas.errors import ConfigError, ModelError
from tests.support.cx_synth import write_cx_corpus

# Aspect phrases written for these tests (no data set text): aspect -> polarity -> phrases.
PHONE = {
    "BATTERY": {
        "positive": ["pin trâu", "pin dùng cả ngày"],
        "negative": ["pin tụt nhanh", "pin yếu"],
    },
    "CAMERA": {
        "positive": ["camera chụp đẹp", "chụp ảnh nét"],
        "negative": ["camera bị mờ", "chụp ảnh nhòe"],
    },
    "SCREEN": {
        "positive": ["màn hình sắc nét", "màn hình sáng"],
        "negative": ["màn hình bị sọc", "màn hình tối"],
    },
}
HOTEL = {
    "ROOMS#CLEANLINESS": {
        "positive": ["phòng sạch sẽ", "phòng thơm tho"],
        "negative": ["phòng bẩn", "ga giường dơ"],
    },
    "SERVICE#GENERAL": {
        "positive": ["nhân viên thân thiện", "lễ tân nhiệt tình"],
        "negative": ["nhân viên thờ ơ", "lễ tân cáu gắt"],
    },
}


def _examples(rng: random.Random, table: dict[str, dict[str, list[str]]], n: int) -> list[Example]:
    out = []
    names = sorted(table)
    for _ in range(n):
        chosen = rng.sample(names, rng.choice([1, 2]))
        parts, labels = [], []
        for aspect in chosen:
            polarity = rng.choice(["positive", "negative"])
            parts.append(rng.choice(table[aspect][polarity]))
            labels.append(AspectLabel(aspect, polarity))  # type: ignore[arg-type]
        out.append(
            Example(text=", ".join(parts), sentiment=None, aspects=tuple(labels), rating=None)
        )
    return out


def write_aspect_data(root: Path, seed: int = 5) -> Path:
    rng = random.Random(seed)
    for name, table in (("tiny_phone", PHONE), ("tiny_hotel", HOTEL)):
        for split, n in (("train", 80), ("dev", 40), ("test", 40)):
            write_jsonl(root / name / f"{split}.jsonl", _examples(rng, table, n))
    return root


@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> AspectModel:
    root = tmp_path_factory.mktemp("aspects")
    data = write_aspect_data(root / "data")
    settings = TrainSettings(
        task="aspects", datasets=("tiny_phone",), domain="smartphone", c_grid=(8.0,)
    )
    return AspectModel.load(train_aspects(data, root / "models", settings).path)


def _pairs(model: AspectModel, text: str, *, gate: bool = True) -> set[tuple[str, str]]:
    (hits,) = model.predict([model_text(text)], gate=gate)
    return {(h.aspect, h.sentiment) for h in hits}


def test_tiny_model_finds_aspects_and_their_polarity(phone: AspectModel) -> None:
    assert _pairs(phone, "Pin trâu, camera bị mờ") == {
        ("BATTERY", "positive"),
        ("CAMERA", "negative"),
    }
    assert _pairs(phone, "màn hình sắc nét") == {("SCREEN", "positive")}


def test_domain_gate_keeps_phone_aspects_off_hotel_reviews(phone: AspectModel) -> None:
    assert phone.has_gate
    hotel_review = "phòng sạch sẽ, nhân viên thân thiện"
    scores = phone.scores_tokens([model_text(hotel_review).split()])
    assert scores.domain[0] < phone.gate_threshold
    assert _pairs(phone, hotel_review) == set()


def test_scores_shapes_and_probabilities(phone: AspectModel) -> None:
    scores = phone.scores_tokens([["pin", "trâu"], [], ["camera"]])
    assert scores.detection.shape == (3, 3)
    assert scores.polarity.shape == (3, 3, 3)
    np.testing.assert_allclose(scores.polarity.sum(axis=2), 1.0)
    assert ((scores.domain >= 0) & (scores.domain <= 1)).all()
    assert phone.predict([]) == []


def test_manifest_describes_the_aspect_set(phone: AspectModel) -> None:
    labels = phone.manifest.labels
    assert phone.version == "aspects-smartphone-fast-1.0.0"
    assert labels["aspects"] == ["BATTERY", "CAMERA", "SCREEN"]
    assert labels["domain"] == "smartphone"
    assert phone.manifest.data["splits"]["gate_negatives"] == ["tiny_hotel"]
    assert labels["categories"] == ["smartphone"]
    assert phone.manifest.scores["dev"]["detection"]["f1"] > 0.9
    assert set(phone.manifest.hyperparameters["thresholds"]) == set(labels["aspects"])


def test_arrays_round_trip(phone: AspectModel) -> None:
    again = AspectModel.from_arrays(phone.manifest, phone.to_arrays())
    tokens = [model_text("pin yếu, màn hình bị sọc").split()]
    np.testing.assert_allclose(
        again.scores_tokens(tokens).detection, phone.scores_tokens(tokens).detection, atol=1e-3
    )


def test_without_negatives_or_corpus_no_gate_and_a_warning(tmp_path: Path) -> None:
    data = write_aspect_data(tmp_path / "data")
    settings = TrainSettings(
        task="aspects", datasets=("tiny_hotel",), gate_negatives=(), c_grid=(8.0,)
    )
    result = train_aspects(data, tmp_path / "models", settings)
    model = AspectModel.load(result.path)
    assert not model.has_gate
    assert any("no domain gate" in w for w in result.warnings)
    assert model.version == "aspects-tiny-hotel-fast-1.0.0"
    # without a gate the model speaks only on messages of its own, known, category
    batch = default_reader().batch(
        [model_text("phòng bẩn quá")] * 3,
        [
            MessageContext(category="tiny_hotel"),
            MessageContext(category="fashion"),
            MessageContext(),
        ],
    )
    mine, other, unknown = model.predict_batch(batch)
    assert ("ROOMS#CLEANLINESS", "negative") in {(h.aspect, h.sentiment) for h in mine}
    assert other == unknown == ()


def test_without_negatives_the_corpus_makes_a_stricter_gate(tmp_path: Path) -> None:
    data = write_aspect_data(tmp_path / "data")
    corpus = write_cx_corpus(tmp_path / "corpus" / "cx")
    settings = TrainSettings(
        task="aspects",
        datasets=("tiny_phone",),
        domain="smartphone",
        gate_negatives=(),
        corpus=corpus,
        c_grid=(8.0,),
    )
    result = train_aspects(data, tmp_path / "models", settings)
    model = AspectModel.load(result.path)
    assert model.has_gate
    assert any("corpus alone" in w for w in result.warnings)
    gate = result.dev_scores["gate"]
    assert gate["max_out_of_domain_pass"] == pytest.approx(0.0025)
    assert gate["out_of_domain_dev_aspect_rate"] <= 0.0025
    assert model.manifest.data["splits"]["gate_corpus"] == ["cx"]
    # a fashion review never gets phone aspects, whatever the gate says
    batch = default_reader().batch(
        [model_text("pin trâu dùng cả ngày")] * 2,
        [MessageContext(category="fashion"), MessageContext(category="smartphone")],
    )
    fashion, phone = model.predict_batch(batch)
    assert fashion == ()
    assert ("BATTERY", "positive") in {(h.aspect, h.sentiment) for h in phone}


def test_several_aspect_datasets_need_a_choice(tmp_path: Path) -> None:
    data = write_aspect_data(tmp_path / "data")
    with pytest.raises(ConfigError, match="--dataset"):
        train_aspects(data, tmp_path / "models", TrainSettings(task="aspects"))


def test_loading_a_directory_without_manifest_fails(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"has no manifest\.json"):
        AspectModel.load(tmp_path)


def test_refit_on_dev_learns_dev_words_and_keeps_honest_dev_figures(tmp_path: Path) -> None:
    data = write_aspect_data(tmp_path / "data")
    dev_only = [Example("pin siêu khủng", None, (AspectLabel("BATTERY", "positive"),), None)] * 3
    dev_file = data / "tiny_phone" / "dev.jsonl"
    write_jsonl(dev_file, [*_examples(random.Random(9), PHONE, 40), *dev_only])
    common = {"task": "aspects", "datasets": ("tiny_phone",), "gate_negatives": ("tiny_hotel",)}
    plain = train_aspects(
        data,
        tmp_path / "plain",
        TrainSettings(**common, c_grid=(8.0,)),  # type: ignore[arg-type]
    )
    refit = train_aspects(
        data,
        tmp_path / "refit",
        TrainSettings(**common, c_grid=(8.0,), refit_on_dev=True),  # type: ignore[arg-type]
    )
    assert "khủng" not in AspectModel.load(plain.path).featurizer.lexicon
    model = AspectModel.load(refit.path)
    assert "khủng" in model.featurizer.lexicon
    assert model.manifest.hyperparameters["refit_on_dev"] is True
    assert "out-of-fold" in model.manifest.scores["note"]
    assert refit.dev_scores["detection"]["f1"] > 0.9
    assert ("BATTERY", "positive") in _pairs(model, "pin trâu")
