import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from flows.cli.models import eval_command, train
from nlp.datasets import AspectLabel, Example, write_jsonl
from nlp.evaluate import (
    aspect_scores,
    calibration,
    classification_scores,
    sentiment_scores,
    set_scores,
)
from nlp.sentiment import SentimentModel
from tests.support.cx_synth import write_cx_corpus


def test_classification_scores_on_a_hand_made_example() -> None:
    gold = ["negative", "negative", "neutral", "positive", "positive", "positive"]
    pred = ["negative", "positive", "neutral", "positive", "positive", "neutral"]
    scores = classification_scores(gold, pred, ("negative", "neutral", "positive"))
    neg, neu, pos = (scores["per_class"][k] for k in ("negative", "neutral", "positive"))
    assert (neg["precision"], neg["recall"]) == (1.0, 0.5)
    assert (neu["precision"], neu["recall"]) == (0.5, 1.0)
    assert pos["precision"] == pytest.approx(2 / 3)
    assert pos["recall"] == pytest.approx(2 / 3)
    assert neg["f1"] == pytest.approx(2 / 3)
    assert scores["macro_f1"] == pytest.approx(2 / 3)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert neg["support"] == 2


def test_set_scores_are_micro_averaged() -> None:
    scores = set_scores([{"A", "B"}, {"C"}, set()], [{"A"}, {"C", "D"}, {"E"}])
    assert (scores["tp"], scores["fp"], scores["fn"]) == (2, 2, 1)
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_aspect_scores_need_the_right_polarity_for_the_second_task() -> None:
    examples = [
        Example("x", None, (AspectLabel("BATTERY", "positive"), AspectLabel("OTHERS", None)), None),
        Example("y", None, (AspectLabel("CAMERA", "negative"),), None),
    ]
    scores = aspect_scores(examples, [[("BATTERY", "positive")], [("CAMERA", "positive")]])
    assert scores["detection"]["f1"] == 1.0  # OTHERS has no polarity: left out
    assert scores["detection_polarity"]["precision"] == 0.5
    assert scores["detection_polarity"]["recall"] == 0.5


def test_expected_calibration_error_on_known_bins() -> None:
    result = calibration([0.95, 0.95, 0.15, 0.15], [True, False, False, False])
    assert result["ece"] == pytest.approx(0.5 * 0.45 + 0.5 * 0.15)
    assert [b["count"] for b in result["bins"]] == [2, 2]
    perfect = calibration([1.0, 1.0], [True, True])
    assert perfect["ece"] == 0.0


def test_binary_data_maps_three_classes_by_comparing_positive_and_negative() -> None:
    proba = np.array([[0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.05, 0.9, 0.05 + 1e-9], [0.6, 0.1, 0.3]])
    scores = sentiment_scores(["negative", "positive", "positive", "negative"], proba, binary=True)
    # row 1 ties (0.1 vs 0.1) -> positive; neutral mass is ignored
    assert scores["accuracy"] == 1.0
    assert scores["f1"] == scores["per_class"]["negative"]["f1"] == 1.0
    assert scores["predicted_neutral_share"] == 0.75


# -- the CLI end to end on data written here ---------------------------------------------------

PHRASES = {
    "positive": ["rất hài lòng", "giao hàng nhanh", "chất lượng tuyệt vời", "đóng gói cẩn thận"],
    "negative": ["rất thất vọng", "giao hàng quá chậm", "sản phẩm bị lỗi", "hàng kém chất lượng"],
    "neutral": ["cho mình hỏi giá", "shop ở đâu vậy", "bao giờ có hàng", "mình đặt hôm qua"],
}
ASPECTS = {
    "BATTERY": {"positive": "pin trâu", "negative": "pin tụt nhanh"},
    "CAMERA": {"positive": "camera chụp đẹp", "negative": "camera bị mờ"},
}


def _write_data(root: Path) -> Path:
    rng = random.Random(11)
    for split, n in (("train", 48), ("dev", 24), ("test", 24)):
        rows = []
        for i in range(n):
            label = ("negative", "neutral", "positive")[i % 3]
            rows.append(Example(", ".join(rng.sample(PHRASES[label], 2)), label, (), None))  # type: ignore[arg-type]
        write_jsonl(root / "tiny_sa" / f"{split}.jsonl", rows)
        rows = []
        for i in range(n):
            aspect = ("BATTERY", "CAMERA")[i % 2]
            polarity = rng.choice(["positive", "negative"])
            label = AspectLabel(aspect, polarity)  # type: ignore[arg-type]
            rows.append(Example(ASPECTS[aspect][polarity], None, (label,), 5))
        write_jsonl(root / "tiny_phone" / f"{split}.jsonl", rows)
    return root


@pytest.fixture(scope="module")
def trained_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    data = _write_data(root / "data")
    models = root / "models"
    runner = CliRunner()
    sentiment = runner.invoke(
        train,
        [
            "sentiment",
            "--data",
            str(data),
            "--dataset",
            "tiny_sa",
            "--out",
            str(models),
            "--c",
            "4",
            "--no-corpus",
            "--quiet",
        ],
    )
    assert sentiment.exit_code == 0, sentiment.output
    aspects = runner.invoke(
        train,
        [
            "aspects",
            "--data",
            str(data),
            "--dataset",
            "tiny_phone",
            "--out",
            str(models),
            "--c",
            "4",
            "--no-corpus",
            "--quiet",
        ],
    )
    assert aspects.exit_code == 0, aspects.output
    assert (models / "sentiment-fast-1.0.0" / "MODEL_CARD.md").is_file()
    return data, models


def test_eval_writes_every_figure_as_json(trained_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    data, models = trained_dirs
    out = tmp_path / "results.json"
    result = CliRunner().invoke(
        eval_command,
        ["--data", str(data), "--models", str(models), "--out", str(out), "--no-corpus", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["sentiment_model"] == "sentiment-fast-1.0.0"
    sa = results["datasets"]["tiny_sa"]["sentiment"]
    assert sa["task"] == "3-class"
    assert set(sa["variants"]) == {"original", "no_diacritics", "teencode"}
    assert sa["variants"]["original"]["macro_f1"] > 0.9
    assert set(sa["variants"]["original"]["per_class"]) == {"negative", "neutral", "positive"}
    phone = results["datasets"]["tiny_phone"]["aspects"]
    assert phone["model"] == "aspects-tiny-phone-fast-1.0.0"
    assert phone["variants"]["original"]["detection"]["f1"] > 0.9
    assert "detection_polarity" in phone["variants"]["no_diacritics"]
    assert "sentiment" not in results["datasets"]["tiny_phone"]


def test_eval_prints_tables_unless_quiet(trained_dirs: tuple[Path, Path]) -> None:
    data, models = trained_dirs
    result = CliRunner().invoke(
        eval_command,
        [
            "--data",
            str(data),
            "--models",
            str(models),
            "--dataset",
            "tiny_sa",
            "--no-perturb",
            "--no-corpus",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "sentiment (sentiment-fast-1.0.0) on test" in result.output
    assert "tiny_sa" in result.output


def test_record_stores_the_figures_in_manifest_and_card(trained_dirs: tuple[Path, Path]) -> None:
    data, models = trained_dirs
    result = CliRunner().invoke(
        eval_command,
        [
            "--data",
            str(data),
            "--models",
            str(models),
            "--no-perturb",
            "--no-corpus",
            "--record",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(
        (models / "sentiment-fast-1.0.0" / "manifest.json").read_text(encoding="utf-8")
    )
    recorded = manifest["scores"]["eval"]["test"]["datasets"]["tiny_sa"]["original"]
    assert recorded["macro_f1"] > 0.9
    assert manifest["scores"]["split"] == "dev"  # the training-time dev figures stay
    card = (models / "aspects-tiny-phone-fast-1.0.0" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Scores on test" in card
    assert "det_f1" in card
    with_transformer = CliRunner().invoke(
        eval_command, ["--data", str(data), "--transformer", "x", "--record"]
    )
    assert with_transformer.exit_code == 2


def test_cli_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(eval_command, ["--data", str(tmp_path), "--no-corpus", "--quiet"])
    assert result.exit_code == 1
    assert "no dataset folders" in result.output


@pytest.mark.parametrize("args", [["sentiment", "--help"], ["aspects", "--help"]])
def test_train_help_has_an_example(args: list[str]) -> None:
    result = CliRunner().invoke(train, args)
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_eval_help_has_an_example() -> None:
    result = CliRunner().invoke(eval_command, ["--help"])
    assert "voc eval --data" in result.output


def test_eval_says_so_when_no_model_covers_a_data_set(
    trained_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    data, models = trained_dirs
    odd = tmp_path / "data"
    shutil.copytree(data / "tiny_sa", odd / "tiny_sa")
    rows = [Example("phòng sạch", None, (AspectLabel("ROOMS#CLEANLINESS", "positive"),), None)]
    for split in ("train", "test"):
        write_jsonl(odd / "tiny_hotel" / f"{split}.jsonl", rows * 4)
    result = CliRunner().invoke(
        eval_command,
        ["--data", str(odd), "--models", str(models), "--no-perturb", "--no-corpus"],
    )
    assert result.exit_code == 0, result.output
    assert "tiny_hotel: has aspect labels (ROOMS#CLEANLINESS), but no aspect model" in (
        " ".join(result.output.split())
    )
    assert "aspects on test" not in result.output  # no empty table


def test_only_an_aspect_model_is_scored_with_the_packaged_sentiment(
    trained_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    data, models = trained_dirs
    only = tmp_path / "only"
    shutil.copytree(
        models / "aspects-tiny-phone-fast-1.0.0", only / "aspects-tiny-phone-fast-1.0.0"
    )
    out = tmp_path / "results.json"
    result = CliRunner().invoke(
        eval_command,
        [
            *("--data", str(data), "--models", str(only), "--no-perturb", "--no-corpus"),
            *("--out", str(out), "--quiet"),
        ],
    )
    assert result.exit_code == 0, result.output
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["sentiment_model"] == SentimentModel.load().version  # the packaged one
    assert results["aspect_models"] == ["aspects-tiny-phone-fast-1.0.0"]


def test_eval_scores_the_corpus_with_the_whole_enricher(
    trained_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    _, models = trained_dirs
    corpus = write_cx_corpus(tmp_path / "corpus" / "cx", n=300)
    for task in ("topics", "flags"):
        options = ["--corpus", str(corpus), "--out", str(models), "--c", "4", "--folds", "3"]
        result = CliRunner().invoke(train, [task, *options, "--quiet"])
        assert result.exit_code == 0, result.output
    out = tmp_path / "results.json"
    result = CliRunner().invoke(
        eval_command, ["--corpus", str(corpus), "--models", str(models), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    cx = json.loads(out.read_text(encoding="utf-8"))["cx"]
    original = cx["variants"]["original"]
    assert set(original["sentiment"]["by_source"]) == {"review", "chat", "social"}
    assert "filler" in original["sentiment"]["by_tag"]
    assert original["filler_neutral_share"] == 1.0
    assert set(original["topics"]["per_topic"]) >= {"delivery", "product_safety"}
    assert original["topics"]["micro_f1"] > 0.6
    assert set(original["flags"]["per_flag"]) == {
        "complaint",
        "question",
        "praise",
        "churn_risk",
        "urgent",
        "rating_mismatch",
    }
    ood = cx["aspects_out_of_domain"]["original"]["aspects-tiny-phone-fast-1.0.0"]
    assert ood["share_with_category"] == 0.0
    assert set(cx["drop"]["sentiment_macro_f1"]) == {"no_diacritics", "teencode"}
    assert "CX corpus test" in result.output
    assert "filler turns called neutral" in result.output


def test_a_data_set_no_model_covers_gets_a_clear_note(tmp_path: Path) -> None:
    from nlp.datasets import open_dataset
    from nlp.evaluate import EvalConfig, evaluate_dataset

    examples = [
        Example("pin trâu", "positive", (AspectLabel("BATTERY", "positive"),), None),
        Example("giao chậm", "negative", (AspectLabel("DELIVERY", "negative"),), None),
    ]
    for split in ("train", "test"):
        write_jsonl(tmp_path / "phones" / f"{split}.jsonl", examples)
    result = evaluate_dataset(open_dataset(tmp_path / "phones"), None, [], EvalConfig())
    assert "sentiment" not in result and "aspects" not in result
    assert result["notes"] == [
        "has sentiment labels, but no sentiment model was given",
        "has aspect labels (BATTERY, DELIVERY), but no aspect model covers them: "
        "train one with `voc train aspects`",
    ]
