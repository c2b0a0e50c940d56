"""Training of the fast models, from JSONL data sets to a saved artifact with its card.

``train_sentiment`` and ``train_aspects`` read the train splits for fitting and the dev
splits for every choice (regularization, decision thresholds, calibration); test splits are
never read here. Settings are one validated dataclass, :class:`TrainSettings`, and end up in
the manifest. scikit-learn fits the linear heads; the saved artifact holds plain arrays and
inference needs only numpy and scipy.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from nlp.artifacts import Manifest, pack_matrix, save_artifact, unpack_matrix
from nlp.aspects import AspectModel, AspectScores
from nlp.datasets import DatasetInfo, Example, discover, model_text, select
from nlp.evaluate import aspect_scores, is_binary, sentiment_scores
from nlp.features import FeatureSpec, Featurizer, fold, tokenize
from nlp.sentiment import Platt, SentimentModel, compose
from nlp.types import SENTIMENTS
from schemas.errors import ConfigError, ModelError

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called as training advances."""

Float64 = npt.NDArray[np.float64]

PREPROCESSING = "nlp.datasets.model_text(raw): the text the flow gives the enricher"

DATA_TERMS = (
    "The public data sets used are research data sets: none is cleared for commercial use "
    "(UIT-ViSFD asks commercial users to contact its authors; the VLSP and AIVIVN copies are "
    "research redistributions). Retrain on your own labelled data (same JSONL schema) with "
    "`voc train` before commercial use."
)


@dataclass(frozen=True)
class TrainSettings:
    """Every choice of one training run; validated on construction, saved in the manifest."""

    task: Literal["sentiment", "aspects"]
    datasets: tuple[str, ...] = ()
    """Data set folders to train on; empty: every folder with the task's labels."""
    name: str | None = None
    """Artifact name; default ``sentiment-fast`` or ``aspects-<domain>-fast``."""
    version: str = "1.0.0"
    domain: str | None = None
    """Aspects: the domain the aspect set describes (default: the data set name)."""
    features: FeatureSpec = field(default_factory=FeatureSpec)
    c_grid: tuple[float, ...] = (1.0, 4.0, 16.0)
    """Inverse L2 strengths tried for each head; dev picks one."""
    augment_no_diacritics: bool = True
    """Add a diacritics-free copy of every training text."""
    binary_weight: float = 1.0
    """Sentiment: weight of examples from two-class data sets in the polarity head."""
    weak_polarity: bool = True
    """Sentiment: the polarity head also learns from data sets without document labels:
    star rating 1-2 is negative and 5 positive; all aspects negative (positive) is negative
    (positive). Texts with mixed or no such signal are not used."""
    weak_weight: float = 1.0
    """Sentiment: weight of those weakly labelled examples."""
    gate_negatives: tuple[str, ...] | None = None
    """Aspects: data sets whose texts are *out* of the domain, for the domain gate; None:
    every other data set with aspect labels; empty: no gate."""
    gate_recall: float = 0.99
    """Aspects: share of in-domain dev texts the gate must let through."""
    min_dev_support: int = 25
    """Aspects: an aspect gets its own threshold only with this many dev mentions."""
    prune_below: float = 1e-3
    """Weights smaller than this (absolute) are dropped from the saved artifact."""
    refit_on_dev: bool = False
    """After dev has chosen the hyperparameters, refit the heads on train + dev. The dev-fitted
    parts (aspect thresholds; sentiment calibration) then come from 2-fold cross-fitting over
    dev: each half is scored by heads fitted on train + the other half, and the dev scores
    in the manifest are those out-of-fold scores."""
    max_iter: int = 3000
    seed: int = 13

    def __post_init__(self) -> None:
        problems = []
        if self.task not in ("sentiment", "aspects"):
            problems.append(f"task must be sentiment or aspects, got {self.task!r}")
        if not self.c_grid or any(c <= 0 for c in self.c_grid):
            problems.append(f"c_grid must hold positive numbers, got {self.c_grid}")
        if self.binary_weight < 0:
            problems.append(f"binary_weight must be >= 0, got {self.binary_weight}")
        if self.weak_weight < 0:
            problems.append(f"weak_weight must be >= 0, got {self.weak_weight}")
        if not 0.5 <= self.gate_recall <= 1.0:
            problems.append(f"gate_recall must be in [0.5, 1], got {self.gate_recall}")
        if self.prune_below < 0:
            problems.append(f"prune_below must be >= 0, got {self.prune_below}")
        if self.max_iter < 10:
            problems.append(f"max_iter must be >= 10, got {self.max_iter}")
        if problems:
            raise ConfigError("invalid training settings: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values for the manifest."""
        data = asdict(self)
        data["features"] = self.features.to_dict()
        return data


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    path: Path
    manifest: Manifest
    dev_scores: dict[str, Any]


def _noop(step: str, done: int, total: int) -> None:
    return None


# -- shared helpers ---------------------------------------------------------------------------


def _texts(examples: Sequence[Example]) -> list[str]:
    return [model_text(ex.text) for ex in examples]


def _augmented(texts: list[str], settings: TrainSettings) -> list[str]:
    """Training texts plus, when enabled, their diacritics-free copies."""
    if not settings.augment_no_diacritics:
        return texts
    return texts + [fold(t) for t in texts]


def _copies(settings: TrainSettings) -> int:
    return 2 if settings.augment_no_diacritics else 1


def _logistic(c: float, settings: TrainSettings) -> Any:
    """Return a scikit-learn logistic regression (imported here: training only)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=settings.max_iter, tol=1e-4)


def _fit_platt(scores: Float64, target: npt.NDArray[np.bool_]) -> Platt:
    """Platt scaling of raw scores to probabilities, fitted by maximum likelihood."""
    if len(set(target.tolist())) < 2:
        return Platt()
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=1e6, max_iter=1000).fit(scores.reshape(-1, 1), target)
    return Platt(float(fitted.coef_[0, 0]), float(fitted.intercept_[0]))


def _data_record(used: dict[str, list[DatasetInfo]]) -> dict[str, Any]:
    revisions = {info.name: info.revision for infos in used.values() for info in infos}
    return {
        "splits": {split: [i.name for i in infos] for split, infos in used.items()},
        "revisions_sha256_of_meta_json": revisions,
    }


def _as_saved(weights: npt.NDArray[np.float32], below: float) -> npt.NDArray[np.float32]:
    """Return the weights exactly as the artifact holds them (pruned, int8-quantized)."""
    return unpack_matrix("w", pack_matrix("w", weights, prune_below=below)).reshape(weights.shape)


# -- sentiment --------------------------------------------------------------------------------


def train_sentiment(
    data_dir: Path, out_dir: Path, settings: TrainSettings, progress: Progress = _noop
) -> TrainResult:
    """Train, select on dev, calibrate on dev and save a sentiment artifact under ``out_dir``."""
    if settings.task != "sentiment":
        msg = f"train_sentiment needs task='sentiment', got {settings.task!r}"
        raise ConfigError(msg)
    available = discover(data_dir)
    infos = (
        select(available, settings.datasets)
        if settings.datasets
        else [d for d in available if d.has_sentiment()]
    )
    if not infos:
        msg = f"no data set under {data_dir} has document sentiment labels"
        raise ConfigError(msg)
    name = settings.name or "sentiment-fast"

    progress("reading data", 0, 1)
    train: dict[str, list[Example]] = {}
    dev: dict[str, list[Example]] = {}
    for info in infos:
        train[info.name] = [ex for ex in info.load("train") if ex.sentiment is not None]
        if "dev" not in info.splits:
            msg = f"data set {info.name} has no dev.jsonl; dev is needed for model selection"
            raise ConfigError(msg)
        dev[info.name] = [ex for ex in info.load("dev") if ex.sentiment is not None]
    progress("reading data", 1, 1)

    texts: list[str] = []
    labels: list[str] = []
    binary_flags: list[bool] = []
    row_weights: list[float] = []
    for info in infos:
        binary = is_binary(train[info.name])
        texts.extend(_texts(train[info.name]))
        labels.extend(ex.sentiment or "" for ex in train[info.name])
        binary_flags.extend([binary] * len(train[info.name]))
        row_weights.extend([settings.binary_weight if binary else 1.0] * len(train[info.name]))
    weak_infos: list[DatasetInfo] = []
    if settings.weak_polarity:
        for info in available:
            if info in infos:
                continue
            weak = [(ex, label) for ex in info.load("train") if (label := weak_label(ex))]
            if weak:
                weak_infos.append(info)
                texts.extend(_texts([ex for ex, _ in weak]))
                labels.extend(label for _, label in weak)
                binary_flags.extend([True] * len(weak))
                row_weights.extend([settings.weak_weight] * len(weak))
    copies = _copies(settings)
    train_tokens = [tokenize(t) for t in _augmented(texts, settings)]
    y = np.array(labels * copies)
    from_binary = np.array(binary_flags * copies)
    weights_all = np.array(row_weights * copies)
    has_neutral = any(lbl == "neutral" for lbl in labels)

    progress("building features", 0, 1)
    featurizer = Featurizer.fit(train_tokens, settings.features)
    x_train = featurizer.transform(train_tokens)
    progress("building features", 1, 1)

    dev_tokens = {n: [tokenize(t) for t in _texts(exs)] for n, exs in dev.items()}
    x_dev = {n: featurizer.transform(toks) for n, toks in dev_tokens.items()}
    gold_dev = {n: [ex.sentiment or "" for ex in exs] for n, exs in dev.items()}
    binary_dev = {n: is_binary(exs) for n, exs in dev.items()}

    polar = y != "neutral"
    weights_polar = weights_all[polar]
    neutral_rows = ~from_binary
    total = len(settings.c_grid)
    polar_heads: dict[float, tuple[npt.NDArray[np.float32], float]] = {}
    for step, c in enumerate(settings.c_grid, start=1):
        model = _logistic(c, settings).fit(
            x_train[polar], y[polar] == "positive", sample_weight=weights_polar
        )
        polar_heads[c] = (model.coef_[0].astype(np.float32), float(model.intercept_[0]))
        progress("fitting polarity head", step, total)
    neutral_heads: dict[float, tuple[npt.NDArray[np.float32], float]] = {}
    if has_neutral:
        for step, c in enumerate(settings.c_grid, start=1):
            model = _logistic(c, settings).fit(x_train[neutral_rows], y[neutral_rows] == "neutral")
            neutral_heads[c] = (model.coef_[0].astype(np.float32), float(model.intercept_[0]))
            progress("fitting neutrality head", step, total)
    else:
        neutral_heads[settings.c_grid[0]] = (
            np.zeros(featurizer.n_features, dtype=np.float32),
            -30.0,
        )

    def dev_raw(
        pol: tuple[npt.NDArray[np.float32], float], neu: tuple[npt.NDArray[np.float32], float]
    ) -> dict[str, Float64]:
        w = np.stack([pol[0], neu[0]], axis=1)
        return {
            n: np.asarray(x @ w, dtype=np.float64) + np.array([pol[1], neu[1]])
            for n, x in x_dev.items()
        }

    def fit_calibration(raw: dict[str, Float64]) -> tuple[Platt, Platt]:
        pol_scores, pol_target, neu_scores, neu_target = [], [], [], []
        for n, scores in raw.items():
            gold = np.array(gold_dev[n])
            keep = gold != "neutral"
            pol_scores.append(scores[keep, 0])
            pol_target.append(gold[keep] == "positive")
            if not binary_dev[n]:
                neu_scores.append(scores[:, 1])
                neu_target.append(gold == "neutral")
        polarity = _fit_platt(np.concatenate(pol_scores), np.concatenate(pol_target))
        neutral = (
            _fit_platt(np.concatenate(neu_scores), np.concatenate(neu_target))
            if neu_scores
            else Platt(1.0, -30.0)
        )
        return polarity, neutral

    def dev_report(raw: dict[str, Float64], cal: tuple[Platt, Platt]) -> dict[str, Any]:
        report = {}
        for n, scores in raw.items():
            proba = compose(
                cal[0](scores[:, 0]), cal[1](scores[:, 1]) if has_neutral else np.zeros(len(scores))
            )
            report[n] = sentiment_scores(gold_dev[n], proba, binary=binary_dev[n])
        return report

    best: tuple[float, float, float] | None = None
    grid_scores: list[dict[str, Any]] = []
    for c_pol, pol in polar_heads.items():
        for c_neu, neu in neutral_heads.items():
            raw = dev_raw(pol, neu)
            report = dev_report(raw, fit_calibration(raw))
            mean_f1 = float(np.mean([r["f1"] for r in report.values()]))
            grid_scores.append(
                {"c_polarity": c_pol, "c_neutral": c_neu, "mean_dev_f1": mean_f1}
                | {n: r["f1"] for n, r in report.items()}
            )
            if best is None or mean_f1 > best[0]:
                best = (mean_f1, c_pol, c_neu)
    if best is None:
        msg = "no sentiment model was fitted"
        raise ModelError(msg)
    _, c_pol, c_neu = best
    pol_w, pol_b = polar_heads[c_pol]
    neu_w, neu_b = neutral_heads[c_neu]
    weights = _as_saved(np.stack([pol_w, neu_w], axis=1), settings.prune_below)
    bias = np.array([pol_b, neu_b])
    raw = dev_raw((weights[:, 0], pol_b), (weights[:, 1], neu_b))
    uncalibrated = dev_report(
        raw, (Platt(), Platt()) if has_neutral else (Platt(), Platt(1.0, -30.0))
    )
    cal = fit_calibration(raw)
    dev_scores = dev_report(raw, cal)

    if settings.refit_on_dev:
        dev_rows: dict[str, SentimentRows] = {
            n: (
                [model_text(ex.text) for ex in exs],
                [ex.sentiment or "" for ex in exs],
                [binary_dev[n]] * len(exs),
                [settings.binary_weight if binary_dev[n] else 1.0] * len(exs),
            )
            for n, exs in dev.items()
        }
        base_rows: SentimentRows = (texts, labels, binary_flags, row_weights)
        halves = {n: _dev_halves(len(exs), settings.seed) for n, exs in dev.items()}
        oof = {n: np.zeros((len(exs), 2)) for n, exs in dev.items()}
        for step, swap in enumerate((False, True), start=1):
            rows = base_rows
            for n, (held, used) in halves.items():
                rows = _with_rows(rows, dev_rows[n], held if swap else used)
            heads = _fit_sentiment_heads(rows, c_pol, c_neu, has_neutral, settings)
            for n, (held, used) in halves.items():
                if swap:
                    held, used = used, held
                x_held = heads[0].transform([dev_tokens[n][i] for i in held])
                oof[n][held] = np.asarray(x_held @ heads[1], dtype=np.float64) + heads[2]
            progress("refitting on train + dev", step, 3)
        all_rows = base_rows
        for values in dev_rows.values():
            all_rows = _with_rows(all_rows, values, range(len(values[0])))
        featurizer, full_w, bias = _fit_sentiment_heads(
            all_rows, c_pol, c_neu, has_neutral, settings
        )
        weights = _as_saved(full_w, settings.prune_below)
        progress("refitting on train + dev", 3, 3)
        uncalibrated = dev_report(
            oof, (Platt(), Platt()) if has_neutral else (Platt(), Platt(1.0, -30.0))
        )
        cal = fit_calibration(oof)
        dev_scores = dev_report(oof, cal)

    hyper = settings.to_dict() | {
        "chosen": {"c_polarity": c_pol, "c_neutral": c_neu},
        "grid": grid_scores,
    }
    manifest = Manifest(
        name=name,
        version=settings.version,
        kind="sentiment",
        labels={
            "classes": list(SENTIMENTS),
            "has_neutral": has_neutral,
            "datasets": [i.name for i in infos],
        },
        features=settings.features.to_dict(),
        hyperparameters=hyper,
        data=_data_record({"train": infos, "train_weak_polarity": weak_infos, "dev": infos}),
        scores={
            "split": "dev",
            "note": (
                "dev chose C and fitted the Platt calibration; `voc eval` gives test"
                + (
                    "; heads refitted on train + dev, calibration and dev figures from 2-fold "
                    "out-of-fold scores"
                    if settings.refit_on_dev
                    else ""
                )
            ),
            "dev": _compact_sentiment(dev_scores),
            "dev_uncalibrated_ece": {n: r["calibration"]["ece"] for n, r in uncalibrated.items()},
        },
        preprocessing=PREPROCESSING,
    )
    model = SentimentModel(
        manifest, featurizer, weights, bias, cal[0], cal[1], has_neutral=has_neutral
    )
    progress("saving", 0, 1)
    path = save_artifact(
        out_dir,
        manifest,
        model.to_arrays(prune_below=settings.prune_below),
        sentiment_card(manifest),
    )
    progress("saving", 1, 1)
    return TrainResult(path, manifest, dev_scores)


SentimentRows = tuple[list[str], list[str], list[bool], list[float]]
"""Texts, labels, from-a-two-class-data-set flags and row weights."""


def _fit_sentiment_heads(
    rows: SentimentRows, c_pol: float, c_neu: float, has_neutral: bool, settings: TrainSettings
) -> tuple[Featurizer, npt.NDArray[np.float32], Float64]:
    """Featurizer, (n_features, 2) polarity/neutrality weights and bias, with chosen C."""
    texts, labels, binary_flags, row_weights = rows
    copies = _copies(settings)
    tokens = [tokenize(t) for t in _augmented(texts, settings)]
    y = np.array(labels * copies)
    from_binary = np.array(binary_flags * copies)
    weights = np.array(row_weights * copies)
    featurizer = Featurizer.fit(tokens, settings.features)
    x = featurizer.transform(tokens)
    polar = y != "neutral"
    pol = _logistic(c_pol, settings).fit(
        x[polar], y[polar] == "positive", sample_weight=weights[polar]
    )
    w = np.zeros((featurizer.n_features, 2), dtype=np.float32)
    b = np.array([float(pol.intercept_[0]), -30.0])
    w[:, 0] = pol.coef_[0]
    if has_neutral:
        neu = _logistic(c_neu, settings).fit(x[~from_binary], y[~from_binary] == "neutral")
        w[:, 1] = neu.coef_[0]
        b[1] = float(neu.intercept_[0])
    return featurizer, w, b


def _with_rows(rows: SentimentRows, extra: SentimentRows, keep: Iterable[int]) -> SentimentRows:
    """``rows`` followed by the rows of ``extra`` at positions ``keep`` (new lists)."""
    keep = list(keep)
    return (
        rows[0] + [extra[0][i] for i in keep],
        rows[1] + [extra[1][i] for i in keep],
        rows[2] + [extra[2][i] for i in keep],
        rows[3] + [extra[3][i] for i in keep],
    )


def weak_label(ex: Example) -> str | None:
    """Return a weak polarity label for an example without a document label, or None.

    Star rating 1-2 is negative and 5 positive (3-4 are left out: too often mixed); when
    every labelled aspect has the same polarity (negative or positive), that polarity.
    """
    if ex.sentiment is not None:
        return None
    if ex.rating is not None:
        if ex.rating <= 2:
            return "negative"
        return "positive" if ex.rating == 5 else None
    polarities = {a.sentiment for a in ex.aspects}
    if polarities in ({"negative"}, {"positive"}):
        return polarities.pop()
    return None


def _compact_sentiment(report: dict[str, Any]) -> dict[str, Any]:
    return {
        n: {
            "f1": r["f1"],
            "f1_definition": r["f1_definition"],
            "macro_f1": r["macro_f1"],
            "accuracy": r["accuracy"],
            "per_class": r["per_class"],
            "ece": r["calibration"]["ece"],
        }
        for n, r in report.items()
    }


# -- aspects ----------------------------------------------------------------------------------


def train_aspects(
    data_dir: Path, out_dir: Path, settings: TrainSettings, progress: Progress = _noop
) -> TrainResult:
    """Train, select on dev and save an aspect artifact for one domain under ``out_dir``."""
    if settings.task != "aspects":
        msg = f"train_aspects needs task='aspects', got {settings.task!r}"
        raise ConfigError(msg)
    available = discover(data_dir)
    if settings.datasets:
        infos = select(available, settings.datasets)
    else:
        infos = [d for d in available if d.has_aspects()]
        if len(infos) != 1:
            msg = (
                "aspect models cover one domain: name its data set(s) with --dataset "
                f"(data sets with aspects here: {', '.join(d.name for d in infos) or 'none'})"
            )
            raise ConfigError(msg)
    domain = settings.domain or infos[0].name
    name = settings.name or f"aspects-{_slug(domain)}-fast"

    progress("reading data", 0, 1)
    train = [ex for info in infos for ex in info.load("train") if ex.aspects]
    for info in infos:
        if "dev" not in info.splits:
            msg = f"data set {info.name} has no dev.jsonl; dev is needed for model selection"
            raise ConfigError(msg)
    dev = [ex for info in infos for ex in info.load("dev") if ex.aspects]
    aspects = sorted({a.aspect for ex in train for a in ex.aspects if a.sentiment is not None})
    if not aspects:
        msg = f"no aspect with a polarity label in {', '.join(i.name for i in infos)}"
        raise ConfigError(msg)
    progress("reading data", 1, 1)

    copies = _copies(settings)
    train_tokens = [tokenize(t) for t in _augmented(_texts(train), settings)]
    dev_tokens = [tokenize(t) for t in _texts(dev)]
    progress("building features", 0, 1)
    featurizer = Featurizer.fit(train_tokens, settings.features)
    x_train = featurizer.transform(train_tokens)
    x_dev = featurizer.transform(dev_tokens)
    progress("building features", 1, 1)

    labels_train = [
        {a.aspect: a.sentiment for a in ex.aspects if a.sentiment is not None} for ex in train
    ] * copies
    n_aspects = len(aspects)
    total = 2 * n_aspects * len(settings.c_grid)
    done = 0

    # Detection: one-vs-rest per aspect, C chosen on dev micro-F1 with tuned thresholds.
    det_candidates: dict[float, tuple[npt.NDArray[np.float32], Float64, Float64]] = {}
    for c in settings.c_grid:
        w, b = _fit_detection(x_train, labels_train, aspects, c, settings)
        done += n_aspects
        progress("fitting aspect detection", done, total)
        raw = np.asarray(x_dev @ w, dtype=np.float64) + b
        det_candidates[c] = (w, b, 1.0 / (1.0 + np.exp(-raw)))
    gold_dev = [{a.aspect for a in ex.aspects if a.sentiment is not None} for ex in dev]
    gold_matrix = np.array([[a in g for a in aspects] for g in gold_dev], dtype=bool).reshape(
        len(dev), n_aspects
    )
    det_choice: tuple[float, float, Float64] | None = None
    det_grid = []
    for c, (_, _, proba) in det_candidates.items():
        thresholds = _tune_thresholds(proba, gold_matrix, settings.min_dev_support)
        f1 = _micro_f1(proba >= thresholds, gold_matrix)
        det_grid.append({"c": c, "dev_detection_f1": f1})
        if det_choice is None or f1 > det_choice[0]:
            det_choice = (f1, c, thresholds)
    if det_choice is None:
        msg = "no aspect detection head was fitted"
        raise ModelError(msg)
    _, c_det, thresholds = det_choice
    det_w, det_b, _ = det_candidates[c_det]

    # Polarity: per aspect, on the texts that mention it; C chosen on dev with gold aspects.
    pol_choice: dict[int, tuple[float, npt.NDArray[np.float32], Float64]] = {}
    pol_grid: list[dict[str, Any]] = []
    dev_polarity = [
        {a.aspect: a.sentiment for a in ex.aspects if a.sentiment is not None} for ex in dev
    ]
    for k, aspect in enumerate(aspects):
        rows = [i for i, lbl in enumerate(labels_train) if aspect in lbl]
        classes = sorted({str(labels_train[i][aspect]) for i in rows}, key=SENTIMENTS.index)
        dev_rows = [i for i, lbl in enumerate(dev_polarity) if aspect in lbl]
        best_pol: tuple[float, float, npt.NDArray[np.float32], Float64] | None = None
        for c in settings.c_grid:
            w3, b3 = _fit_polarity(x_train, labels_train, aspect, c, settings)
            if dev_rows:
                pred = (np.asarray(x_dev[dev_rows] @ w3, dtype=np.float64) + b3).argmax(axis=1)
                acc = float(
                    np.mean(
                        [
                            SENTIMENTS[int(p)] == dev_polarity[i][aspect]
                            for p, i in zip(pred, dev_rows, strict=True)
                        ]
                    )
                )
            else:
                acc = 0.0
            if best_pol is None or acc > best_pol[0]:
                best_pol = (acc, c, w3, b3)
            done += 1
            progress("fitting aspect polarity", done, total)
            if len(classes) == 1:
                done += len(settings.c_grid) - 1
                progress("fitting aspect polarity", done, total)
                break
        if best_pol is None:
            msg = f"no polarity head was fitted for {aspect}"
            raise ModelError(msg)
        pol_choice[k] = (best_pol[1], best_pol[2], best_pol[3])
        pol_grid.append(
            {
                "aspect": aspect,
                "c": best_pol[1],
                "dev_accuracy_given_gold_aspect": best_pol[0],
                "classes": classes,
            }
        )
    pol_w = np.hstack([pol_choice[k][1] for k in range(n_aspects)])
    pol_b = np.concatenate([pol_choice[k][2] for k in range(n_aspects)])

    # Domain gate: this domain's texts against the texts of the negative data sets.
    negatives = _gate_negatives(available, infos, settings)
    gate: tuple[npt.NDArray[np.float32], float, float] | None = None
    gate_report: dict[str, Any] = {"negatives": [i.name for i in negatives]}
    if negatives:
        progress("fitting domain gate", 0, 1)
        gate, gate_report = _fit_gate(featurizer, x_train, x_dev, negatives, settings, gate_report)
        progress("fitting domain gate", 1, 1)

    oof: tuple[Float64, Float64] | None = None
    if settings.refit_on_dev:
        pol_cs = [pol_choice[k][0] for k in range(n_aspects)]
        labels_dev = [dict(lbl) for lbl in dev_polarity]
        progress("refitting on train + dev", 0, 3)
        halves = _dev_halves(len(dev), settings.seed)
        oof_det = np.zeros((len(dev), n_aspects))
        oof_pol = np.zeros((len(dev), n_aspects, 3))
        for step, (held, used) in enumerate((halves, halves[::-1]), start=1):
            fold_texts = _texts(train) + [_texts(dev)[i] for i in used]
            fold_labels = [
                {a.aspect: a.sentiment for a in ex.aspects if a.sentiment is not None}
                for ex in train
            ] + [labels_dev[i] for i in used]
            heads = _fit_aspect_heads(fold_texts, fold_labels, aspects, c_det, pol_cs, settings)
            x_held = heads[0].transform([dev_tokens[i] for i in held])
            oof_det[held], oof_pol[held] = _aspect_proba(x_held, heads, n_aspects)
            progress("refitting on train + dev", step, 3)
        thresholds = _tune_thresholds(oof_det, gold_matrix, settings.min_dev_support)
        oof = (oof_det, oof_pol)
        all_texts = _texts(train) + _texts(dev)
        all_labels = [
            {a.aspect: a.sentiment for a in ex.aspects if a.sentiment is not None} for ex in train
        ] + labels_dev
        featurizer, det_w, det_b, pol_w, pol_b = _fit_aspect_heads(
            all_texts, all_labels, aspects, c_det, pol_cs, settings
        )
        x_train = featurizer.transform(train_tokens)
        x_dev = featurizer.transform(dev_tokens)
        progress("refitting on train + dev", 3, 3)
        if negatives:
            gate, gate_report = _fit_gate(
                featurizer,
                x_train,
                x_dev,
                negatives,
                settings,
                {"negatives": gate_report["negatives"]},
            )

    det_w = _as_saved(det_w, settings.prune_below)
    pol_w = _as_saved(pol_w, settings.prune_below)
    manifest = Manifest(
        name=name,
        version=settings.version,
        kind="aspects",
        labels={
            "domain": domain,
            "aspects": aspects,
            "polarities": list(SENTIMENTS),
            "datasets": [i.name for i in infos],
        },
        features=settings.features.to_dict(),
        hyperparameters=settings.to_dict()
        | {
            "chosen": {"c_detection": c_det},
            "detection_grid": det_grid,
            "polarity": pol_grid,
            "thresholds": dict(zip(aspects, [round(float(t), 4) for t in thresholds], strict=True)),
        },
        data=_data_record({"train": infos, "dev": infos, "gate_negatives": negatives}),
        scores={},
        preprocessing=PREPROCESSING,
    )
    model = AspectModel(
        manifest, featurizer, aspects, (det_w, det_b, thresholds), (pol_w, pol_b), gate
    )
    dev_raw_scores = model.scores_tokens(dev_tokens)
    if oof is not None:  # cross-fitted detection and polarity, the final gate (train only)
        dev_raw_scores = AspectScores(oof[0], oof[1], dev_raw_scores.domain)
    hits = model.hits_from_scores(dev_raw_scores, gate=True)
    dev_scores = aspect_scores(dev, [[(h.aspect, h.sentiment) for h in row] for row in hits])
    hits_ungated = model.hits_from_scores(dev_raw_scores, gate=False)
    dev_ungated = aspect_scores(
        dev, [[(h.aspect, h.sentiment) for h in row] for row in hits_ungated]
    )
    dev_scores["ungated"] = {k: dev_ungated[k] for k in ("detection", "detection_polarity")}
    dev_scores["gate"] = gate_report
    manifest = replace(
        manifest,
        scores={
            "split": "dev",
            "note": (
                "dev chose C, the thresholds and the gate threshold; `voc eval` gives test"
                + (
                    "; heads refitted on train + dev, dev figures are 2-fold out-of-fold"
                    if settings.refit_on_dev
                    else ""
                )
            ),
            "dev": dev_scores,
        },
    )
    model.manifest = manifest
    progress("saving", 0, 1)
    path = save_artifact(
        out_dir, manifest, model.to_arrays(prune_below=settings.prune_below), aspect_card(manifest)
    )
    progress("saving", 1, 1)
    return TrainResult(path, manifest, dev_scores)


def _fit_detection(
    x: sp.csr_matrix,
    labels: Sequence[dict[str, Any]],
    aspects: Sequence[str],
    c: float,
    settings: TrainSettings,
) -> tuple[npt.NDArray[np.float32], Float64]:
    """One-vs-rest detection heads, one column per aspect."""
    w = np.zeros((x.shape[1], len(aspects)), dtype=np.float32)
    b = np.full(len(aspects), -30.0)
    for k, aspect in enumerate(aspects):
        target = np.array([aspect in lbl for lbl in labels])
        if target.all():  # mentioned in every training text: always on
            b[k] = 30.0
        elif target.any():
            fitted = _logistic(c, settings).fit(x, target)
            w[:, k] = fitted.coef_[0]
            b[k] = float(fitted.intercept_[0])
    return w, b


def _fit_polarity(
    x: sp.csr_matrix,
    labels: Sequence[dict[str, Any]],
    aspect: str,
    c: float,
    settings: TrainSettings,
) -> tuple[npt.NDArray[np.float32], Float64]:
    """The three-way polarity head of one aspect, fitted on the texts that mention it."""
    rows = [i for i, lbl in enumerate(labels) if aspect in lbl]
    classes = sorted({str(labels[i][aspect]) for i in rows}, key=SENTIMENTS.index)
    w3 = np.zeros((x.shape[1], 3), dtype=np.float32)
    b3 = np.full(3, -30.0)
    if len(classes) == 1:
        b3[SENTIMENTS.index(classes[0])] = 0.0
    elif classes:
        target = np.array([labels[i][aspect] for i in rows])
        fitted = _logistic(c, settings).fit(x[rows], target)
        if len(classes) == 2:
            neg, pos = (SENTIMENTS.index(cls) for cls in fitted.classes_)
            w3[:, pos] = fitted.coef_[0]
            b3[pos] = float(fitted.intercept_[0])
            b3[neg] = 0.0
        else:
            for j, cls in enumerate(fitted.classes_):
                w3[:, SENTIMENTS.index(cls)] = fitted.coef_[j]
                b3[SENTIMENTS.index(cls)] = float(fitted.intercept_[j])
    return w3, b3


AspectHeads = tuple[Featurizer, npt.NDArray[np.float32], Float64, npt.NDArray[np.float32], Float64]


def _fit_aspect_heads(
    texts: list[str],
    labels: list[dict[str, Any]],
    aspects: Sequence[str],
    c_det: float,
    pol_cs: Sequence[float],
    settings: TrainSettings,
) -> AspectHeads:
    """Featurizer, detection and polarity heads fitted on ``texts`` with chosen C values."""
    tokens = [tokenize(t) for t in _augmented(texts, settings)]
    labels = labels * _copies(settings)
    featurizer = Featurizer.fit(tokens, settings.features)
    x = featurizer.transform(tokens)
    det_w, det_b = _fit_detection(x, labels, aspects, c_det, settings)
    pol = [_fit_polarity(x, labels, a, c, settings) for a, c in zip(aspects, pol_cs, strict=True)]
    pol_w = np.hstack([w for w, _ in pol])
    pol_b = np.concatenate([b for _, b in pol])
    return featurizer, det_w, det_b, pol_w, pol_b


def _aspect_proba(x: sp.csr_matrix, heads: AspectHeads, n_aspects: int) -> tuple[Float64, Float64]:
    """Detection (n, A) and polarity (n, A, 3) probabilities of ``heads`` on ``x``."""
    _, det_w, det_b, pol_w, pol_b = heads
    det = 1.0 / (1.0 + np.exp(-(np.asarray(x @ det_w, dtype=np.float64) + det_b)))
    logits = (np.asarray(x @ pol_w, dtype=np.float64) + pol_b).reshape(-1, n_aspects, 3)
    logits -= logits.max(axis=2, keepdims=True)
    pol = np.exp(logits)
    pol /= pol.sum(axis=2, keepdims=True)
    return det, pol


def _dev_halves(n: int, seed: int) -> tuple[list[int], list[int]]:
    """A seeded split of ``range(n)`` into two halves (for cross-fitting over dev)."""
    order = list(range(n))
    random.Random(seed).shuffle(order)  # noqa: S311 - reproducible split
    return sorted(order[: n // 2]), sorted(order[n // 2 :])


def _slug(text: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")
    return "-".join(part for part in slug.split("-") if part) or "domain"


def _micro_f1(pred: npt.NDArray[np.bool_], gold: npt.NDArray[np.bool_]) -> float:
    tp = float((pred & gold).sum())
    fp = float((pred & ~gold).sum())
    fn = float((~pred & gold).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _tune_thresholds(proba: Float64, gold: npt.NDArray[np.bool_], min_support: int) -> Float64:
    """One global threshold, then per-aspect thresholds where dev has enough mentions."""
    grid = np.round(np.arange(0.10, 0.71, 0.025), 3)
    global_t = max(grid, key=lambda t: _micro_f1(proba >= t, gold))
    thresholds = np.full(proba.shape[1], float(global_t))
    for k in range(proba.shape[1]):
        if gold[:, k].sum() < min_support:
            continue
        # maximize the micro-F1 contribution: the aspect's own F1 is a fair proxy
        thresholds[k] = float(
            max(grid, key=lambda t: _micro_f1(proba[:, k : k + 1] >= t, gold[:, k : k + 1]))
        )
    return thresholds


def _gate_negatives(
    available: list[DatasetInfo], infos: list[DatasetInfo], settings: TrainSettings
) -> list[DatasetInfo]:
    own = {i.name for i in infos}
    if settings.gate_negatives is None:
        return [d for d in available if d.name not in own and d.has_aspects()]
    return select(available, settings.gate_negatives)


def _fit_gate(
    featurizer: Featurizer,
    x_train: sp.csr_matrix,
    x_dev: sp.csr_matrix,
    negatives: list[DatasetInfo],
    settings: TrainSettings,
    report: dict[str, Any],
) -> tuple[tuple[npt.NDArray[np.float32], float, float], dict[str, Any]]:
    """Fit the in-domain vs out-of-domain head; its threshold keeps ``gate_recall`` of dev."""
    rng = random.Random(settings.seed)  # noqa: S311 - reproducible sampling
    neg_train = [ex for info in negatives for ex in info.load("train")]
    neg_dev = (
        [ex for info in negatives for ex in info.load("dev")]
        if all("dev" in i.splits for i in negatives)
        else []
    )
    cap = x_train.shape[0] // _copies(settings)
    if len(neg_train) > cap:
        neg_train = rng.sample(neg_train, cap)
    x_neg = featurizer.transform([tokenize(t) for t in _augmented(_texts(neg_train), settings)])
    x = sp.vstack([x_train, x_neg]).tocsr()
    target = np.concatenate(
        [np.ones(x_train.shape[0], dtype=bool), np.zeros(x_neg.shape[0], dtype=bool)]
    )
    fitted = _logistic(settings.c_grid[len(settings.c_grid) // 2], settings).fit(x, target)
    w = _as_saved(fitted.coef_[0].astype(np.float32).reshape(-1, 1), settings.prune_below)
    b = float(fitted.intercept_[0])
    in_dev = 1.0 / (1.0 + np.exp(-(np.asarray(x_dev @ w, dtype=np.float64).ravel() + b)))
    threshold = float(min(0.5, np.quantile(in_dev, 1.0 - settings.gate_recall)))
    report = report | {
        "threshold": threshold,
        "in_domain_dev_pass_rate": float(np.mean(in_dev >= threshold)),
    }
    if neg_dev:
        x_nd = featurizer.transform([tokenize(t) for t in _texts(neg_dev)])
        out_dev = 1.0 / (1.0 + np.exp(-(np.asarray(x_nd @ w, dtype=np.float64).ravel() + b)))
        report["out_of_domain_dev_pass_rate"] = float(np.mean(out_dev >= threshold))
    return (w, b, threshold), report


# -- model cards --------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.4f}"
    )


def _card_header(manifest: Manifest, what: str) -> list[str]:
    data = manifest.data
    lines = [
        f"# {manifest.versioned_name}",
        "",
        f"{what}",
        "",
        "## Data",
        "",
        "| split | data sets |",
        "|---|---|",
    ]
    for split, names in data["splits"].items():
        lines.append(f"| {split} | {', '.join(names) or '-'} |")
    lines += ["", "Revisions (sha256 of each data set's meta.json):", ""]
    for ds, rev in data["revisions_sha256_of_meta_json"].items():
        lines.append(f"- `{ds}`: `{rev}`")
    lines += ["", f"**Terms.** {DATA_TERMS}", ""]
    lines += [
        "## Intended use",
        "",
        "Real-time enrichment of Vietnamese customer feedback (reviews, chats, social posts) in "
        "voc-stream: dashboards and alerts aggregate many messages. Not for decisions about "
        "individual people.",
        "",
        "Input: the text the flow gives the enricher (`nlp.datasets.model_text`: normalized, "
        "PII redacted). Inference is numpy + scipy on batches; no network, no GPU.",
        "",
        "## Hyperparameters",
        "",
        "```json",
    ]
    hyper = {
        k: v
        for k, v in manifest.hyperparameters.items()
        if k not in ("grid", "detection_grid", "polarity", "thresholds")
    }
    import json

    lines += [
        json.dumps(hyper | {"features": manifest.features}, ensure_ascii=False, indent=2),
        "```",
        "",
        "## Reproduce",
        "",
        "```",
        train_command(manifest),
        "```",
        "",
    ]
    return lines


def train_command(manifest: Manifest) -> str:
    """The ``voc train`` command line that rebuilds an artifact from its manifest settings."""
    h = manifest.hyperparameters
    task = "sentiment" if manifest.kind == "sentiment" else "aspects"
    features = manifest.features
    parts = ["voc train", task, "--data ../shared/data --out nlp/models"]
    if h.get("datasets"):
        parts.append("--dataset " + ",".join(h["datasets"]))
    if task == "aspects":
        if h.get("domain"):
            parts.append(f"--domain {h['domain']}")
        if h.get("gate_negatives") is not None:
            parts.append("--gate-negatives '" + ",".join(h["gate_negatives"]) + "'")
    else:
        parts.append(f"--binary-weight {h.get('binary_weight', 1.0):g}")
        parts.append("--weak" if h.get("weak_polarity", True) else "--no-weak")
        parts.append(f"--weak-weight {h.get('weak_weight', 1.0):g}")
    parts += [
        f"--version {manifest.version}",
        "--c " + ",".join(f"{c:g}" for c in h.get("c_grid", ())),
        f"--ngram-max {features.get('ngram_max', 2)}",
        f"--min-df {features.get('min_df', 2)}",
        "--augment" if h.get("augment_no_diacritics", True) else "--no-augment",
        f"--prune {h.get('prune_below', 1e-3):g}",
        "--refit-on-dev" if h.get("refit_on_dev", False) else "--no-refit-on-dev",
        f"--seed {h.get('seed', 13)}",
    ]
    return " ".join(parts)


def sentiment_card(manifest: Manifest) -> str:
    """Return the MODEL_CARD.md text of a sentiment artifact (from its manifest)."""
    lines = _card_header(
        manifest,
        "Fast Vietnamese sentiment (negative / neutral / positive) with a calibrated "
        "probability: a polarity head and a neutrality head, logistic regressions over "
        "syllable n-grams of the text and of its diacritics-free fold, composed as "
        "P(neutral) = p_neu, P(positive) = (1 - p_neu) p_pos. Platt scaling of each head is "
        "fitted on dev.",
    )
    dev = manifest.scores.get("dev", {})
    before = manifest.scores.get("dev_uncalibrated_ece", {})
    lines += [
        "## Scores on dev (used for selection and calibration)",
        "",
        *_refit_note(manifest),
        "| data set | F1 | definition | accuracy | ECE | ECE before calibration |",
        "|---|---|---|---|---|---|",
    ]
    for ds, r in dev.items():
        cells = [ds, _fmt(r["f1"]), r["f1_definition"], _fmt(r["accuracy"]), _fmt(r["ece"])]
        cells.append(_fmt(before.get(ds, float("nan"))))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Two-class data sets: positive iff P(positive) >= P(negative).", ""]
    lines += _test_section(manifest)
    lines += [
        "## Limitations",
        "",
        "- A bag of n-grams: no long-range structure; sarcasm, comparisons and mixed opinions "
        "are often wrong, and one message gets one label.",
        "- Trained on product reviews and tech-forum comments; support chats and other domains "
        "are out of distribution: retrain on your own labelled data.",
        "- Neutral is learned only from data sets that label it.",
        "- The research-only data terms above apply to this artifact.",
        "",
    ]
    return "\n".join(lines)


def _refit_note(manifest: Manifest) -> list[str]:
    """Card lines saying how the heads were refitted, when they were."""
    if not manifest.hyperparameters.get("refit_on_dev", False):
        return []
    return [
        "After dev chose the settings, the shipped heads were refitted on train + dev "
        "(`refit_on_dev`). The dev-fitted parts (thresholds, calibration) and the dev figures "
        "below come from 2-fold cross-fitting over dev: each half scored by heads fitted on "
        "train + the other half. The domain gate is fitted on train only.",
        "",
    ]


def _test_section(manifest: Manifest) -> list[str]:
    """Card lines for the figures `voc eval --record` stored in the manifest."""
    recorded = manifest.scores.get("eval", {})
    if not recorded:
        return ["Test figures: run `voc eval --data DIR --record`.", ""]
    lines: list[str] = []
    for split, block in recorded.items():
        lines += [
            f"## Scores on {split} (`voc eval --record`, {block.get('date', '')})",
            "",
            "| data set | variant | figures |",
            "|---|---|---|",
        ]
        for ds, variants in block.get("datasets", {}).items():
            for variant, figures in variants.items():
                text = ", ".join(f"{k} {_fmt(v)}" for k, v in figures.items())
                lines.append(f"| {ds} | {variant} | {text} |")
        lines.append("")
    return lines


def write_card(path: Path) -> None:
    """Rewrite MODEL_CARD.md of the artifact at ``path`` from its manifest."""
    from nlp.artifacts import CARD_FILE, read_manifest

    manifest = read_manifest(path)
    card = sentiment_card(manifest) if manifest.kind == "sentiment" else aspect_card(manifest)
    (path / CARD_FILE).write_text(card, encoding="utf-8")


def aspect_card(manifest: Manifest) -> str:
    """MODEL_CARD.md text of an aspect artifact."""
    labels = manifest.labels
    lines = _card_header(
        manifest,
        f"Fast aspect detection with per-aspect polarity for the `{labels['domain']}` domain: "
        "one-vs-rest logistic regressions over syllable n-grams (text and diacritics-free fold), "
        "a threshold per aspect tuned on dev, a three-way polarity head per aspect and a domain "
        "gate that keeps this domain's aspects off texts of other domains.",
    )
    dev = manifest.scores.get("dev", {})
    det = dev.get("detection", {})
    pol = dev.get("detection_polarity", {})
    lines += [
        "Aspects: " + ", ".join(f"`{a}`" for a in labels["aspects"]),
        "",
        "## Scores on dev (used for selection)",
        "",
        "Micro-averaged over (text, aspect) pairs and (text, aspect, polarity) triples.",
        "",
        *_refit_note(manifest),
        "| task | precision | recall | F1 |",
        "|---|---|---|---|",
        _prf_row("detection", det),
        _prf_row("detection + polarity", pol),
        "",
        f"Domain gate: {json_dumps(dev.get('gate', {}))}",
        "",
        *_test_section(manifest),
        "## Limitations",
        "",
        "- Aspects are detected for the whole text, not located in it; polarity is one per aspect.",
        "- Rare aspects (few training mentions) are rarely detected.",
        "- Aspects labelled without polarity (e.g. UIT-ViSFD `OTHERS`) are not modelled.",
        "- The research-only data terms above apply to this artifact.",
        "",
    ]
    return "\n".join(lines)


def _prf_row(task: str, scores: dict[str, Any]) -> str:
    cells = [_fmt(scores.get(k, float("nan"))) for k in ("precision", "recall", "f1")]
    return f"| {task} | " + " | ".join(cells) + " |"


def json_dumps(value: Any) -> str:
    """Compact JSON for cards."""
    import json

    return json.dumps(value, ensure_ascii=False)
