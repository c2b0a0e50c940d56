"""The packaged fast models on the real test splits: the figures the model cards report.

Needs the labelled data sets (``VOC_DATA_DIR``, default ``../shared/data`` beside the
repository); skipped without them. Each bound is the figure measured when the default
artifacts were trained (``voc eval --data ../shared/data``), rounded down, so a change that
makes the shipped models worse fails here.
"""

import os
from pathlib import Path
from typing import Any

import pytest

from nlp.aspects import AspectModel
from nlp.datasets import discover
from nlp.evaluate import EvalConfig, evaluate_dataset
from nlp.fast import packaged_aspects
from nlp.sentiment import SentimentModel

pytestmark = pytest.mark.data

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("VOC_DATA_DIR", ROOT.parent / "shared" / "data"))

# data set -> (task, figure) -> lowest accepted value; measured: see the comment on each line
BOUNDS = {
    ("aivivn2019_sa", "sentiment_f1"): 0.914,  # 0.9147, F1 of the negative class (v1: 0.9151)
    # 0.7134 macro-F1: 0.7203 with sentiment-fast-2.1.0, given up for the CX messages (README)
    ("vlsp2016_sa", "sentiment_f1"): 0.713,
    ("uit_visfd", "detection"): 0.862,  # 0.8671
    ("uit_visfd", "detection_polarity"): 0.740,  # 0.7451
    ("vlsp2018_absa_hotel", "detection"): 0.745,  # 0.7473 (issue target 0.78: not reached)
    ("vlsp2018_absa_hotel", "detection_polarity"): 0.650,  # 0.6545
}
MAX_DROP = 0.03
"""Largest accepted loss on the perturbed copies (the issue's 3 points)."""


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Any]]:
    if not DATA.is_dir():
        pytest.skip(f"labelled data not found at {DATA} (set VOC_DATA_DIR)")
    sentiment = SentimentModel.load()
    aspects = [AspectModel.load(p) for p in packaged_aspects()]
    infos = {info.name: info for info in discover(DATA)}
    missing = {name for name, _ in BOUNDS} - set(infos)
    if missing:
        pytest.skip(f"data sets missing under {DATA}: {sorted(missing)}")
    config = EvalConfig()
    return {
        name: evaluate_dataset(infos[name], sentiment, aspects, config)
        for name in {n for n, _ in BOUNDS}
    }


@pytest.mark.parametrize(("dataset", "figure"), sorted(BOUNDS))
def test_packaged_models_reach_their_test_figures(
    results: dict[str, dict[str, Any]], dataset: str, figure: str
) -> None:
    result = results[dataset]
    if figure == "sentiment_f1":
        value = result["sentiment"]["variants"]["original"]["f1"]
    else:
        value = result["aspects"]["variants"]["original"][figure]["f1"]
    assert value >= BOUNDS[(dataset, figure)]


@pytest.mark.parametrize("dataset", sorted({n for n, _ in BOUNDS}))
def test_perturbed_copies_lose_at_most_three_points(
    results: dict[str, dict[str, Any]], dataset: str
) -> None:
    result = results[dataset]
    drops = []
    if "sentiment" in result:
        drops += list(result["sentiment"]["drop"].values())
    if "aspects" in result:
        drops += [d for per in result["aspects"]["drop"].values() for d in per.values()]
    assert len(drops) >= 2
    assert max(drops) <= MAX_DROP


def test_sentiment_is_calibrated_on_test(results: dict[str, dict[str, Any]]) -> None:
    for dataset in ("aivivn2019_sa", "vlsp2016_sa"):
        assert results[dataset]["sentiment"]["variants"]["original"]["calibration"]["ece"] < 0.07
