"""Training of the sentiment model: public data sets and the CX corpus, calibrated per source.

- **load**: the train and dev splits of the public data sets with document labels (two-
  and three-class), weak polarity labels of the others (stars, one-polarity aspects), and
  the corpus (three classes, with each message's source), weighted ``corpus_weight``;
- **fit**: a polarity head and a neutrality head per value of ``c_grid``;
- **select**: dev picks the pair with the best mean F1 over the dev sets (the corpus
  counting as one);
- **refit**: optionally on train + dev (2-fold cross-fitting over dev gives the out-of-fold
  dev scores); Platt scaling per source on the dev scores, the ``default`` on all of them;
- **write**: the artifact, its manifest and card.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from nlp.artifacts import Manifest
from nlp.datasets import DatasetInfo, Example
from nlp.evaluate import classification_scores, is_binary, sentiment_scores
from nlp.features import Featurizer
from nlp.sentiment import (
    DEFAULT_CALIBRATION,
    Calibration,
    Platt,
    SentimentModel,
    calibration_order,
    compose,
)
from nlp.train.base import (
    PREPROCESSING,
    Encoded,
    Rows,
    Sources,
    Trainer,
    TrainResult,
    as_saved,
    data_record,
    encode,
    fit_featurizer,
    fit_head,
    fit_platt,
    folds_of,
)
from nlp.train.cards import sentiment_card
from nlp.types import SENTIMENTS, SOURCES
from schemas.errors import ConfigError, ModelError

Float64 = npt.NDArray[np.float64]
Float32 = npt.NDArray[np.float32]
Head = tuple[Float32, float]

MIN_SOURCE_ROWS = 40
"""A source gets its own calibration with at least this many dev messages."""


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


@dataclass
class SentimentData:
    """The rows of one sentiment training run."""

    infos: list[DatasetInfo]
    """Data sets with document labels (the corpus last, when used)."""
    weak_infos: list[DatasetInfo]
    train: Rows
    dev: Rows
    binary: set[str]
    """Data sets (groups) that label only negative and positive."""
    corpus: str | None
    """Group name of the corpus rows."""
    featurizer: Featurizer
    x_train: Any
    x_dev: Any
    x_dev_folded: Any = None
    """The dev rows typed without diacritics (with augmentation): selection reads both."""


@dataclass
class Candidate:
    """Fitted heads for one (C polarity, C neutrality) pair."""

    c_polarity: float
    c_neutral: float
    polarity: Head
    neutral: Head
    dev_f1: float = float("nan")
    grid_row: dict[str, Any] | None = None


@dataclass
class Final:
    """The shipped sentiment model and its dev figures."""

    model: SentimentModel
    choice: Candidate
    dev_scores: dict[str, Any]
    uncalibrated_ece: dict[str, float]
    grid: list[dict[str, Any]]


class SentimentTrainer(Trainer[SentimentData, Candidate, Candidate, Final]):
    """Trains ``sentiment-fast``."""

    # -- load -------------------------------------------------------------------------------

    def load(self) -> SentimentData:
        """Read the splits into labelled rows and their features."""
        settings = self.settings
        sources = Sources.open(self.data_dir, settings)
        available = sources.available
        if settings.datasets:
            from nlp.datasets import select

            infos = select(available, settings.datasets)
        else:
            infos = [d for d in available if d.has_sentiment()]
        if not infos and sources.corpus is None:
            msg = f"no data set under {self.data_dir} has document sentiment labels"
            raise ConfigError(msg)
        train, dev = Rows(), Rows()
        binary: set[str] = set()
        for info in infos:
            if "dev" not in info.splits:
                msg = f"data set {info.name} has no dev.jsonl; dev is needed for model selection"
                raise ConfigError(msg)
            examples = [ex for ex in info.load("train") if ex.sentiment is not None]
            two = is_binary(examples)
            if two:
                binary.add(info.name)
            weight = settings.binary_weight if two else 1.0
            train.add(examples, lambda ex: ex.sentiment, info.name, weight)
            dev.add(info.load("dev"), lambda ex: ex.sentiment, info.name)
        weak_infos: list[DatasetInfo] = []
        if settings.weak_polarity:
            for info in available:
                if info in infos:
                    continue
                before = len(train)
                train.add(info.load("train"), weak_label, f"{info.name}:weak", settings.weak_weight)
                if len(train) > before:
                    weak_infos.append(info)
                    binary.add(f"{info.name}:weak")
        corpus = None
        if sources.corpus is not None:
            corpus = sources.corpus.name
            weight = settings.corpus_weight
            train.add(sources.corpus.load("train"), lambda ex: ex.sentiment, corpus, weight)
            dev.add(sources.corpus.load("dev"), lambda ex: ex.sentiment, corpus)
            infos = [*infos, sources.corpus]
        self.progress("building features", 0, 1)
        encoded = encode(train, settings, augment=True)
        featurizer = fit_featurizer(encoded, settings)
        x_train = encoded.matrix(featurizer)
        # with augmentation the dev rows come twice: as written, then without diacritics
        x_dev_all = encode(dev, settings, augment=True).matrix(featurizer)
        x_dev = x_dev_all[: len(dev)]
        x_dev_folded = x_dev_all[len(dev) :] if settings.augment_no_diacritics else None
        self.progress("building features", 1, 1)
        return SentimentData(
            infos, weak_infos, train, dev, binary, corpus, featurizer, x_train, x_dev, x_dev_folded
        )

    # -- fit --------------------------------------------------------------------------------

    def fit(self, data: SentimentData) -> list[Candidate]:
        """Fit one candidate per value of the C grid on train."""
        grid = self.settings.c_grid
        polarity = {c: self._polarity_head(data.x_train, data.train, c) for c in grid}
        self.progress("fitting heads", len(grid), 2 * len(grid))
        neutral = {c: self._neutral_head(data.x_train, data.train, data.binary, c) for c in grid}
        self.progress("fitting heads", 2 * len(grid), 2 * len(grid))
        return [Candidate(cp, cn, polarity[cp], neutral[cn]) for cp in polarity for cn in neutral]

    def _labels(self, rows: Rows) -> npt.NDArray[np.str_]:
        return np.array(rows.labels * self.settings.copies)

    def _polarity_head(self, x: Any, rows: Rows, c: float) -> Head:
        y = self._labels(rows)
        weights = np.array(rows.weights * self.settings.copies)
        coef, intercept = fit_head(x, y != "neutral", y == "positive", weights, c, self.settings)
        return coef.astype(np.float32), intercept

    def _neutral_head(self, x: Any, rows: Rows, binary: set[str], c: float) -> Head:
        """The neutrality head: neutral against polar.

        It learns from three-class rows, and from two-class rows as polar examples weighted
        ``binary_in_neutral`` (they show what polar text looks like; they say nothing of how
        common neutral is, which the calibration sets).
        """
        y = self._labels(rows)
        three = np.array([g not in binary for g in rows.groups] * self.settings.copies)
        if not (three & (y == "neutral")).any():
            return np.zeros(x.shape[1], dtype=np.float32), -30.0
        weights = np.array(rows.weights * self.settings.copies)
        weights = np.where(three, weights, weights * self.settings.binary_in_neutral)
        coef, intercept = fit_head(x, weights > 0, y == "neutral", weights, c, self.settings)
        return coef.astype(np.float32), intercept

    # -- select -----------------------------------------------------------------------------

    def select(self, data: SentimentData, candidates: list[Candidate]) -> Candidate:
        """Score the candidates on dev and return the best.

        With augmentation the score is the mean of the dev F1 as written and typed without
        diacritics: a model is kept for how it reads both (a choice on the first alone once
        lost 4 points on a no-diacritics copy of a test set).
        """
        best: Candidate | None = None
        for candidate in candidates:
            report = self._dev_scores(data, data.x_dev, candidate)
            mean = float(np.mean([r["f1"] for r in report.values()]))
            candidate.dev_f1 = mean
            candidate.grid_row = {
                "c_polarity": candidate.c_polarity,
                "c_neutral": candidate.c_neutral,
                "mean_dev_f1": mean,
            } | {name: r["f1"] for name, r in report.items()}
            if data.x_dev_folded is not None:
                folded = self._dev_scores(data, data.x_dev_folded, candidate)
                mean_folded = float(np.mean([r["f1"] for r in folded.values()]))
                candidate.dev_f1 = (mean + mean_folded) / 2
                candidate.grid_row |= {
                    "mean_dev_f1_no_diacritics": mean_folded,
                    "selection_score": candidate.dev_f1,
                }
            if best is None or candidate.dev_f1 > best.dev_f1:
                best = candidate
        self.grid = [c.grid_row for c in candidates if c.grid_row]
        if best is None:
            msg = "no sentiment model was fitted"
            raise ModelError(msg)
        return best

    def _dev_scores(
        self, data: SentimentData, x: Any, candidate: Candidate
    ) -> dict[str, dict[str, Any]]:
        """Dev scores per data set of one candidate on dev features ``x``."""
        raw = _raw(x, candidate.polarity, candidate.neutral)
        calibrations = fit_calibrations(raw, data.dev, data.binary, per_source=False)
        return dev_report(raw, data.dev, data.binary, calibrations, self._has_neutral(data))

    def _has_neutral(self, data: SentimentData) -> bool:
        return any(
            label == "neutral" and group not in data.binary
            for label, group in zip(data.train.labels, data.train.groups, strict=True)
        )

    # -- refit ------------------------------------------------------------------------------

    def refit(self, data: SentimentData, choice: Candidate) -> Final:
        """Build the shipped model from the chosen candidate."""
        settings = self.settings
        has_neutral = self._has_neutral(data)
        featurizer = data.featurizer
        polarity, neutral = choice.polarity, choice.neutral
        raw = _raw(data.x_dev, polarity, neutral)
        if settings.refit_on_dev:
            raw = np.zeros((len(data.dev), 2))
            halves = folds_of(len(data.dev), 2, settings.seed)
            for step, held in enumerate(halves, start=1):
                used = sorted(set(range(len(data.dev))) - set(held))
                rows = data.train + data.dev.take(used)
                heads = self._fit_all(rows, data.binary, choice)
                x_held = encode(data.dev.take(held), settings, augment=False).matrix(heads[0])
                raw[held] = _raw(x_held, heads[1], heads[2])
                self.progress("refitting on train + dev", step, 3)
            featurizer, polarity, neutral = self._fit_all(
                data.train + data.dev, data.binary, choice
            )
            self.progress("refitting on train + dev", 3, 3)
        weights = as_saved(np.stack([polarity[0], neutral[0]], axis=1), settings.prune_below)
        bias = np.array([polarity[1], neutral[1] if has_neutral else -30.0])
        if not settings.refit_on_dev:  # the dev scores of the weights as saved
            raw = _raw(data.x_dev, (weights[:, 0], polarity[1]), (weights[:, 1], neutral[1]))
        identity = {DEFAULT_CALIBRATION: Calibration(Platt(), Platt())}
        uncalibrated = dev_report(raw, data.dev, data.binary, identity, has_neutral)
        calibrations = fit_calibrations(raw, data.dev, data.binary, per_source=True)
        scores = dev_report(raw, data.dev, data.binary, calibrations, has_neutral)
        if data.corpus is not None:
            scores[f"{data.corpus} by source"] = by_source(raw, data.dev, data.corpus, calibrations)
        manifest = self._manifest(data, choice, calibrations, has_neutral)
        model = SentimentModel(
            manifest, featurizer, weights, bias, calibrations, has_neutral=has_neutral
        )
        return Final(
            model,
            choice,
            scores,
            {n: r["calibration"]["ece"] for n, r in uncalibrated.items()},
            getattr(self, "grid", []),
        )

    def _fit_all(
        self, rows: Rows, binary: set[str], choice: Candidate
    ) -> tuple[Featurizer, Head, Head]:
        encoded: Encoded = encode(rows, self.settings, augment=True)
        featurizer = fit_featurizer(encoded, self.settings)
        x = encoded.matrix(featurizer)
        return (
            featurizer,
            self._polarity_head(x, rows, choice.c_polarity),
            self._neutral_head(x, rows, binary, choice.c_neutral),
        )

    def _manifest(
        self,
        data: SentimentData,
        choice: Candidate,
        calibrations: dict[str, Calibration],
        has_neutral: bool,
    ) -> Manifest:
        settings = self.settings
        return Manifest(
            name=settings.name or "sentiment-fast",
            version=settings.version,
            kind="sentiment",
            labels={
                "classes": list(SENTIMENTS),
                "has_neutral": has_neutral,
                "datasets": [i.name for i in data.infos],
                "calibrations": calibration_order(calibrations),
                "filler_neutral": True,
                "sarcasm_rule": True,
            },
            features=settings.spec.to_dict(),
            hyperparameters=settings.to_dict()
            | {"chosen": {"c_polarity": choice.c_polarity, "c_neutral": choice.c_neutral}},
            data=data_record(
                {"train": data.infos, "train_weak_polarity": data.weak_infos, "dev": data.infos}
            ),
            scores={},
            preprocessing=PREPROCESSING,
        )

    # -- write ------------------------------------------------------------------------------

    def write(self, data: SentimentData, final: Final) -> TrainResult:
        """Save the artifact, its manifest and its card."""
        settings = self.settings
        model = final.model
        note = "dev chose C and fitted the per-source Platt calibration; `voc eval` gives test"
        if settings.refit_on_dev:
            note += (
                "; heads refitted on train + dev, calibration and dev figures from 2-fold "
                "out-of-fold scores"
            )
        manifest = replace(
            model.manifest,
            hyperparameters=model.manifest.hyperparameters | {"grid": final.grid},
            scores={
                "split": "dev",
                "note": note,
                "dev": compact(final.dev_scores),
                "dev_uncalibrated_ece": final.uncalibrated_ece,
            },
        )
        model.manifest = manifest
        arrays = model.to_arrays(prune_below=settings.prune_below)
        return self.save(manifest, arrays, sentiment_card(manifest), final.dev_scores)


def _raw(x: Any, polarity: Head, neutral: Head) -> Float64:
    w = np.stack([polarity[0], neutral[0]], axis=1)
    raw: Float64 = np.asarray(x @ w, dtype=np.float64) + np.array([polarity[1], neutral[1]])
    return raw


def fit_calibrations(
    raw: Float64, rows: Rows, binary: set[str], *, per_source: bool
) -> dict[str, Calibration]:
    """Platt scaling of both heads on dev scores, per source.

    ``default`` is fitted on every row; with ``per_source``, each source with at least
    :data:`MIN_SOURCE_ROWS` rows gets its own.
    """
    gold = np.array(rows.labels)
    three = np.array([g not in binary for g in rows.groups])
    sources = np.array([c.source or "" for c in rows.contexts])

    def fit(mask: npt.NDArray[np.bool_], fallback: Calibration | None) -> Calibration:
        polar = mask & (gold != "neutral")
        neutral = mask & three
        pol = _platt_or(raw[polar, 0], gold[polar] == "positive", fallback, "polarity")
        neu = _platt_or(raw[neutral, 1], gold[neutral] == "neutral", fallback, "neutrality")
        return Calibration(pol, neu)

    default = fit(np.ones(len(gold), dtype=bool), None)
    out = {DEFAULT_CALIBRATION: default}
    if per_source:
        for source in SOURCES:
            mask = sources == source
            if mask.sum() >= MIN_SOURCE_ROWS:
                out[source] = fit(mask, default)
    return out


def _platt_or(
    scores: Float64, target: npt.NDArray[np.bool_], fallback: Calibration | None, head: str
) -> Platt:
    if len(scores) >= MIN_SOURCE_ROWS // 2 and 0 < target.sum() < len(target):
        return fit_platt(scores, target)
    if fallback is not None:
        return getattr(fallback, head)  # type: ignore[no-any-return]
    return fit_platt(scores, target) if len(scores) else Platt()


def dev_report(
    raw: Float64,
    rows: Rows,
    binary: set[str],
    calibrations: dict[str, Calibration],
    has_neutral: bool,
) -> dict[str, Any]:
    """Sentiment scores of calibrated dev predictions, per data set."""
    proba = calibrated(raw, rows, calibrations, has_neutral)
    report = {}
    for group in dict.fromkeys(rows.groups):
        index = rows.where(group)
        gold = [rows.labels[i] for i in index]
        report[group] = sentiment_scores(gold, proba[index], binary=group in binary)
    return report


def calibrated(
    raw: Float64, rows: Rows, calibrations: dict[str, Calibration], has_neutral: bool
) -> Float64:
    """(n, 3) probabilities of raw head scores, each row by its source's calibration."""
    p_pos = np.empty(len(raw))
    p_neu = np.zeros(len(raw))
    for i, context in enumerate(rows.contexts):
        cal = calibrations.get(context.source or "", calibrations[DEFAULT_CALIBRATION])
        p_pos[i] = cal.polarity(raw[i : i + 1, 0])[0]
        if has_neutral:
            p_neu[i] = cal.neutrality(raw[i : i + 1, 1])[0]
    return compose(p_pos, p_neu)


def by_source(
    raw: Float64, rows: Rows, group: str, calibrations: dict[str, Calibration]
) -> dict[str, float]:
    """Macro-F1 of the corpus dev rows of each source."""
    proba = calibrated(raw, rows, calibrations, True)
    out: dict[str, float] = {}
    index = rows.where(group)
    for source in SOURCES:
        chosen = [i for i in index if rows.contexts[i].source == source]
        if chosen:
            gold = [rows.labels[i] for i in chosen]
            pred = [SENTIMENTS[int(k)] for k in proba[chosen].argmax(axis=1)]
            out[source] = classification_scores(gold, pred, SENTIMENTS)["macro_f1"]
    return out


def compact(report: dict[str, Any]) -> dict[str, Any]:
    """The figures of a dev report worth keeping in a manifest."""
    out: dict[str, Any] = {}
    for name, r in report.items():
        if "f1" not in r:
            out[name] = r
            continue
        out[name] = {
            "f1": r["f1"],
            "f1_definition": r["f1_definition"],
            "macro_f1": r["macro_f1"],
            "accuracy": r["accuracy"],
            "per_class": r["per_class"],
            "ece": r["calibration"]["ece"],
        }
    return out
