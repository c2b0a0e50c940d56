import random
from pathlib import Path

import numpy as np
import pytest

from nlp.datasets import AspectLabel, Example, model_text, write_jsonl
from nlp.sentiment import Platt, SentimentModel, compose, results_from_proba
from nlp.train import TrainSettings, train_sentiment, weak_label
from nlp.types import MessageContext
from schemas.errors import ConfigError, ModelError
from tests.support.cx_synth import write_cx_corpus

# Phrases written for these tests (no data set text).
PHRASES = {
    "positive": [
        "sản phẩm rất tốt",
        "giao hàng nhanh",
        "rất hài lòng",
        "đóng gói cẩn thận",
        "chất lượng tuyệt vời",
        "sẽ ủng hộ shop tiếp",
    ],
    "negative": [
        "hàng kém chất lượng",
        "giao hàng quá chậm",
        "rất thất vọng",
        "shop trả lời thô lỗ",
        "sản phẩm bị lỗi",
        "không bao giờ mua lại",
    ],
    "neutral": [
        "cho mình hỏi giá",
        "shop ở đâu vậy",
        "hàng này có màu đen không",
        "mình đặt hôm qua",
        "bao giờ có hàng",
        "size này là bao nhiêu",
    ],
}


def _examples(rng: random.Random, n: int, classes: tuple[str, ...]) -> list[Example]:
    out = []
    for i in range(n):
        label = classes[i % len(classes)]
        text = ", ".join(rng.sample(PHRASES[label], 2))
        out.append(Example(text=text, sentiment=label, aspects=(), rating=None))  # type: ignore[arg-type]
    return out


def write_sentiment_data(root: Path, seed: int = 3) -> Path:
    rng = random.Random(seed)
    three = ("negative", "neutral", "positive")
    two = ("negative", "positive")
    for name, classes in (("tiny_three", three), ("tiny_two", two)):
        for split, n in (("train", 60), ("dev", 30), ("test", 30)):
            write_jsonl(root / name / f"{split}.jsonl", _examples(rng, n, classes))
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> SentimentModel:
    root = tmp_path_factory.mktemp("sentiment")
    data = write_sentiment_data(root / "data")
    settings = TrainSettings(task="sentiment", c_grid=(4.0,))
    result = train_sentiment(data, root / "models", settings)
    return SentimentModel.load(result.path)


def test_tiny_model_learns_the_obvious(trained: SentimentModel) -> None:
    texts = [
        model_text(t)
        for t in (
            "Rất hài lòng, giao hàng nhanh",
            "Rất thất vọng, sản phẩm bị lỗi",
            "Cho mình hỏi giá",
        )
    ]
    labels = [r.label for r in trained.predict(texts)]
    assert labels == ["positive", "negative", "neutral"]


def test_probabilities_have_the_right_shape_and_sum_to_one(trained: SentimentModel) -> None:
    proba = trained.predict_proba(["rất hài lòng", "", "hoàn toàn không liên quan xyz"])
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert trained.predict_proba([]).shape == (0, 3)


def test_text_typed_without_diacritics_gets_the_same_label(trained: SentimentModel) -> None:
    labels = [
        r.label
        for r in trained.predict(
            ["rat hai long, giao hang nhanh", "rat that vong, san pham bi loi"]
        )
    ]
    assert labels == ["positive", "negative"]


def test_version_and_manifest_name_the_training(trained: SentimentModel) -> None:
    assert trained.version == "sentiment-fast-1.0.0"
    manifest = trained.manifest
    assert manifest.labels["datasets"] == ["tiny_three", "tiny_two"]
    assert set(manifest.data["revisions_sha256"]) == {"tiny_three", "tiny_two"}
    assert manifest.data["git_commit"]
    assert manifest.labels["calibrations"] == ["default"]  # no corpus: no source to calibrate
    assert manifest.scores["split"] == "dev"
    assert manifest.scores["dev"]["tiny_three"]["f1"] > 0.9
    assert manifest.hyperparameters["chosen"]["c_polarity"] == 4.0


def test_compose_and_results() -> None:
    proba = compose(np.array([0.9, 0.2]), np.array([0.0, 0.5]))
    np.testing.assert_allclose(proba, [[0.1, 0.0, 0.9], [0.4, 0.5, 0.1]])
    results = results_from_proba(proba)
    assert [(r.label, round(r.score, 3)) for r in results] == [("positive", 0.9), ("neutral", 0.5)]


def test_platt_is_a_monotone_probability() -> None:
    platt = Platt(2.0, -1.0)
    values = platt(np.array([-5.0, 0.0, 0.5, 5.0]))
    assert values[2] == pytest.approx(0.5)
    assert (np.diff(values) > 0).all()


def test_binary_only_data_gives_a_model_that_never_says_neutral(tmp_path: Path) -> None:
    data = write_sentiment_data(tmp_path / "data")
    result = train_sentiment(
        data,
        tmp_path / "models",
        TrainSettings(task="sentiment", datasets=("tiny_two",), c_grid=(4.0,)),
    )
    model = SentimentModel.load(result.path)
    assert not model.has_neutral
    proba = model.predict_proba(["cho mình hỏi giá", "rất hài lòng"])
    np.testing.assert_allclose(proba[:, 1], 0.0, atol=1e-9)


def test_bad_settings_and_missing_artifacts_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="c_grid"):
        TrainSettings(task="sentiment", c_grid=())
    with pytest.raises(ModelError, match=r"has no manifest\.json"):
        SentimentModel.load(tmp_path)


def test_weak_labels_come_from_ratings_and_one_polarity_aspects() -> None:
    def ex(rating: int | None = None, *polarities: str) -> Example:
        aspects = tuple(AspectLabel("A", p) for p in polarities)  # type: ignore[arg-type]
        return Example("x", None, aspects, rating)

    assert [weak_label(ex(r)) for r in (1, 2, 3, 4, 5)] == [
        "negative",
        "negative",
        None,
        None,
        "positive",
    ]
    assert weak_label(ex(None, "negative", "negative")) == "negative"
    assert weak_label(ex(None, "positive")) == "positive"
    assert weak_label(ex(None, "positive", "negative")) is None
    assert weak_label(ex(None, "neutral")) is None
    assert weak_label(Example("x", "neutral", (), 5)) is None


def test_rated_reviews_feed_the_polarity_head(tmp_path: Path) -> None:
    data = write_sentiment_data(tmp_path / "data")
    rng = random.Random(1)
    rated = [
        Example(", ".join(rng.sample(PHRASES[label], 2)), None, (), rating)
        for label, rating in [("positive", 5), ("negative", 1)] * 20
    ]
    for split in ("train", "dev"):
        write_jsonl(data / "tiny_rated" / f"{split}.jsonl", rated)
    settings = TrainSettings(task="sentiment", datasets=("tiny_three",), c_grid=(4.0,))
    result = train_sentiment(data, tmp_path / "models", settings)
    assert result.manifest.data["splits"]["train_weak_polarity"] == ["tiny_rated"]
    without = TrainSettings(
        task="sentiment", datasets=("tiny_three",), c_grid=(4.0,), weak_polarity=False
    )
    assert (
        train_sentiment(data, tmp_path / "m2", without).manifest.data["splits"][
            "train_weak_polarity"
        ]
        == []
    )


def test_refit_on_dev_learns_dev_words_and_calibrates_out_of_fold(tmp_path: Path) -> None:
    data = write_sentiment_data(tmp_path / "data")
    rng = random.Random(4)
    dev = _examples(rng, 30, ("negative", "neutral", "positive"))
    dev += [Example("máy quá xịn xò", "positive", (), None)] * 3  # type: ignore[arg-type]
    write_jsonl(data / "tiny_three" / "dev.jsonl", dev)
    settings = TrainSettings(
        task="sentiment", datasets=("tiny_three",), c_grid=(4.0,), refit_on_dev=True
    )
    result = train_sentiment(data, tmp_path / "models", settings)
    model = SentimentModel.load(result.path)
    assert "xịn" in model.featurizer.lexicon
    assert "out-of-fold" in result.manifest.scores["note"]
    assert result.dev_scores["tiny_three"]["f1"] > 0.8
    (res,) = model.predict([model_text("sản phẩm rất tốt, rất hài lòng")])
    assert res.label == "positive"


def test_the_corpus_teaches_sources_filler_and_calibration_per_source(tmp_path: Path) -> None:
    data = write_sentiment_data(tmp_path / "data")
    corpus = write_cx_corpus(tmp_path / "corpus" / "cx", n=660)
    settings = TrainSettings(
        task="sentiment", datasets=("tiny_three", "tiny_two"), corpus=corpus, c_grid=(4.0,)
    )
    result = train_sentiment(data, tmp_path / "models", settings)
    model = SentimentModel.load(result.path)
    assert model.manifest.labels["datasets"] == ["tiny_three", "tiny_two", "cx"]
    # a source with enough dev messages gets its own calibration (review here has too few)
    assert set(model.calibrations) == {"default", "chat", "social"}
    assert result.dev_scores["cx by source"]["chat"] > 0.5
    assert "source:chat" in model.featurizer.markers
    # filler is neutral whatever the heads say, with or without a source
    filler = [model_text(t) for t in ("dạ vâng", "da vang", "alo", "ừ", "dạ")]
    assert {r.label for r in model.predict(filler)} == {"neutral"}
    chats = [MessageContext(source="chat")] * len(filler)
    assert {r.label for r in model.predict(filler, chats)} == {"neutral"}
    # one text, two sources: each its own calibration
    text = [model_text("giao hàng quá chậm")]
    as_review = model.predict_proba(text, [MessageContext(source="review")])
    as_chat = model.predict_proba(text, [MessageContext(source="chat")])
    assert not np.allclose(as_review, as_chat)
    assert model.predict(text)[0].label == "negative"


def test_two_class_rows_can_teach_the_neutral_head_what_polar_looks_like(tmp_path: Path) -> None:
    data = write_sentiment_data(tmp_path / "data")
    heads = {}
    for weight in (0.0, 1.0):
        settings = TrainSettings(
            task="sentiment", c_grid=(4.0,), binary_in_neutral=weight, version=f"1.0.{int(weight)}"
        )
        model = SentimentModel.load(train_sentiment(data, tmp_path / "m", settings).path)
        heads[weight] = model.head_probabilities(
            __import__("nlp.cues", fromlist=["default_reader"])
            .default_reader()
            .batch([model_text("rất hài lòng, giao hàng nhanh")])
        )[1][0]
    assert heads[1.0] < heads[0.0]  # polar text looks less neutral with two-class rows


def test_the_c_grid_is_chosen_on_dev_as_written_and_without_diacritics(
    tmp_path: Path,
) -> None:
    data = write_sentiment_data(tmp_path / "data")
    settings = TrainSettings(task="sentiment", c_grid=(0.5, 4.0))
    result = train_sentiment(data, tmp_path / "models", settings)
    grid = SentimentModel.load(result.path).manifest.hyperparameters["grid"]
    assert len(grid) == 4
    for row in grid:
        both = (row["mean_dev_f1"] + row["mean_dev_f1_no_diacritics"]) / 2
        assert row["selection_score"] == pytest.approx(both)
    chosen = SentimentModel.load(result.path).manifest.hyperparameters["chosen"]
    best = max(grid, key=lambda row: row["selection_score"])
    assert (chosen["c_polarity"], chosen["c_neutral"]) == (best["c_polarity"], best["c_neutral"])


def test_nb_scale_weighs_the_columns_that_tell_the_classes_apart() -> None:
    import scipy.sparse as sp

    from nlp.train.base import nb_scale

    # column 0 only in positive rows, column 1 in every row, column 2 only in negative rows
    x = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [0, 1, 1]], dtype=np.float64))
    positive = np.array([True, True, False, False])
    scale = nb_scale(x, positive, ~positive, np.ones(4), 1.0)
    assert scale[0] > 1.0
    assert scale[2] == pytest.approx(scale[0])
    assert scale[1] == pytest.approx(0.0)  # says nothing about the class
    half = nb_scale(x, positive, ~positive, np.ones(4), 0.5)
    assert half == pytest.approx(0.5 + 0.5 * scale)
    assert nb_scale(x, positive, ~positive, np.ones(4), 0.0) == pytest.approx(np.ones(3))


def test_nb_scaled_heads_save_plain_feature_weights_and_a_bad_strength_is_refused(
    tmp_path: Path,
) -> None:
    data = write_sentiment_data(tmp_path / "data")
    probabilities = {}
    for strength in (0.0, 1.0):
        settings = TrainSettings(
            task="sentiment", c_grid=(4.0,), nb_strength=strength, version=f"1.0.{int(strength)}"
        )
        model = SentimentModel.load(train_sentiment(data, tmp_path / "m", settings).path)
        assert model.manifest.hyperparameters["nb_strength"] == strength
        texts = [model_text("rất hài lòng"), model_text("rất thất vọng")]
        labels = [r.label for r in model.predict(texts)]
        assert labels == ["positive", "negative"]
        probabilities[strength] = model.predict_proba(texts)
    assert not np.allclose(probabilities[0.0], probabilities[1.0])
    with pytest.raises(ConfigError, match="nb_strength"):
        TrainSettings(task="sentiment", nb_strength=1.5)
