"""Training of the multi-label topic and flag models on the CX corpus.

- **load**: the corpus train and dev splits, each message with its topics (the packaged
  taxonomy's) or its flags;
- **fit**: one-vs-rest heads per value of ``c_grid``, on train;
- **select**: dev picks the C with the best micro-F1;
- **refit**: ``folds``-fold cross-fitting over the fitted rows (train, or train + dev)
  gives out-of-fold probabilities, on which each label's two thresholds are chosen, one for
  messages with the label's rule evidence (keywords, cues) and one for those without (a
  label with fewer than ``min_dev_support`` examples takes the global one); the shipped
  heads are fitted on all those rows;
- **write**: the artifact, its manifest and card.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from nlp.artifacts import Manifest
from nlp.cues import default_reader
from nlp.datasets import DatasetInfo
from nlp.features import Featurizer
from nlp.labels import KIND, LabelModel, evidence
from nlp.taxonomy import load_taxonomy
from nlp.train.base import (
    PREPROCESSING,
    Rows,
    Sources,
    Trainer,
    TrainResult,
    as_saved,
    data_record,
    encode,
    fit_featurizer,
    fit_head,
    folds_of,
)
from nlp.train.cards import labels_card
from schemas.errors import ConfigError, ModelError

Float64 = npt.NDArray[np.float64]
Float32 = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]

FLAG_LABELS = ("complaint", "question", "praise", "churn_risk", "urgent")
THRESHOLD_GRID = np.round(np.arange(0.05, 0.91, 0.025), 3)


@dataclass
class LabelData:
    """The rows of one topics or flags training run."""

    corpus: DatasetInfo
    labels: tuple[str, ...]
    train: Rows
    dev: Rows
    y_train: Bool
    y_dev: Bool
    e_train: Bool
    """Where the rule tables found each label's evidence (see :func:`nlp.labels.evidence`)."""
    e_dev: Bool


@dataclass
class Heads:
    """One-vs-rest heads fitted with one C."""

    c: float
    featurizer: Featurizer
    weights: Float32
    bias: Float64
    dev_f1: float = float("nan")


@dataclass
class Final:
    """The shipped model and its dev figures."""

    model: LabelModel
    dev_scores: dict[str, Any]


def multilabel_scores(pred: Bool, gold: Bool, labels: tuple[str, ...]) -> dict[str, Any]:
    """Micro and macro F1 and per-label precision, recall, F1 and support."""
    per_label = {}
    for k, label in enumerate(labels):
        tp = int((pred[:, k] & gold[:, k]).sum())
        fp = int((pred[:, k] & ~gold[:, k]).sum())
        fn = int((~pred[:, k] & gold[:, k]).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        per_label[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": int(gold[:, k].sum()),
        }
    tp = int((pred & gold).sum())
    fp = int((pred & ~gold).sum())
    fn = int((~pred & gold).sum())
    supported = [r["f1"] for r in per_label.values() if r["support"]]
    return {
        "micro_f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "macro_f1": float(np.mean(supported)) if supported else 0.0,
        "per_label": per_label,
        "n": len(gold),
    }


def tune_thresholds(
    proba: Float64, gold: Bool, min_support: int, seeded: Bool | None = None
) -> tuple[Float64, Float64]:
    """Thresholds without and with rule evidence (``seeded``), best F1 per label.

    One global threshold (best micro-F1) for every label; a label with at least
    ``min_support`` examples gets its own pair, chosen together for its F1 over the grid.
    Without ``seeded`` both thresholds of a label are the same.
    """

    def f1(pred: Bool, truth: Bool) -> float:
        tp = float((pred & truth).sum())
        return 2 * tp / (2 * tp + float((pred & ~truth).sum()) + float((~pred & truth).sum()) or 1)

    global_t = max(THRESHOLD_GRID, key=lambda t: f1(proba >= t, gold))
    plain = np.full(proba.shape[1], float(global_t))
    with_seed = plain.copy()
    for k in range(proba.shape[1]):
        if gold[:, k].sum() < min_support:
            continue
        if seeded is None:
            plain[k] = with_seed[k] = float(
                max(THRESHOLD_GRID, key=lambda t: f1(proba[:, k] >= t, gold[:, k]))
            )
            continue
        counts = []  # per part (no evidence, evidence): tp and fp at each grid threshold
        for part in (~seeded[:, k], seeded[:, k]):
            p, g = proba[part, k], gold[part, k]
            above = p[None, :] >= THRESHOLD_GRID[:, None]
            counts.append(((above & g).sum(axis=1), (above & ~g).sum(axis=1)))
        (tp0, fp0), (tp1, fp1) = counts
        tp = tp0[:, None] + tp1[None, :]
        fp = fp0[:, None] + fp1[None, :]
        fn = int(gold[:, k].sum()) - tp
        score = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        plain[k], with_seed[k] = float(THRESHOLD_GRID[i]), float(THRESHOLD_GRID[j])
    return plain, with_seed


C_TIE = 0.002
"""Dev micro-F1 differences smaller than this do not choose C (about one message in 500 of
the dev split's labels): flags with naive-Bayes scaling scored 0.8990, 0.8985 and 0.8995 at
C 16, 64 and 256, and with C 256, refitted on train + dev, "đơn báo giao thành công mà em chưa
nhận được hàng" was no complaint (0.24; fitted on train, 0.71 with C 256 and 0.85 with C 16)."""


def _decide(proba: Float64, thresholds: tuple[Float64, Float64], seeded: Bool) -> Bool:
    decided: Bool = proba >= np.where(seeded, thresholds[1], thresholds[0])
    return decided


class LabelTrainer(Trainer[LabelData, Heads, Heads, Final]):
    """Trains ``topics-fast`` or ``flags-fast`` (``settings.task``)."""

    def load(self) -> LabelData:
        """Read the splits into labelled rows and their features."""
        settings = self.settings
        sources = Sources.open(None, settings)
        if sources.corpus is None:
            msg = f"the {settings.task} model learns from the CX corpus: give --corpus DIR"
            raise ConfigError(msg)
        corpus = sources.corpus
        if settings.task == "topics":
            labels = load_taxonomy().ids
            field = "topics"
        else:
            labels = FLAG_LABELS
            field = "flags"
        train, dev = Rows(), Rows()
        train.add(corpus.load("train"), lambda ex: set(getattr(ex, field) or ()), corpus.name)
        dev.add(corpus.load("dev"), lambda ex: set(getattr(ex, field) or ()), corpus.name)
        reader = default_reader()

        def found(rows: Rows) -> Bool:
            return evidence(reader.read_all(rows.texts, rows.contexts), labels, settings.task)

        return LabelData(
            corpus,
            tuple(labels),
            train,
            dev,
            _matrix(train, labels),
            _matrix(dev, labels),
            found(train),
            found(dev),
        )

    # -- fit and select ---------------------------------------------------------------------

    def fit(self, data: LabelData) -> list[Heads]:
        """Fit one candidate per value of the C grid on train."""
        out = []
        for step, c in enumerate(self.settings.c_grid, start=1):
            out.append(self._heads(data.train, data.y_train, c))
            self.progress(f"fitting {self.settings.task} heads", step, len(self.settings.c_grid))
        return out

    def _heads(self, rows: Rows, y: Bool, c: float) -> Heads:
        encoded = encode(rows, self.settings, augment=True)
        featurizer = fit_featurizer(encoded, self.settings)
        x = encoded.matrix(featurizer).tocsr()
        y = np.tile(y, (encoded.copies, 1))
        weights = np.zeros((featurizer.n_features, y.shape[1]), dtype=np.float32)
        bias = np.full(y.shape[1], -30.0)
        every = np.ones(x.shape[0], dtype=bool)
        ones = np.ones(x.shape[0])
        for k in range(y.shape[1]):
            if y[:, k].all():
                bias[k] = 30.0
            elif y[:, k].any():
                weights[:, k], bias[k] = fit_head(x, every, y[:, k], ones, c, self.settings)
        return Heads(c, featurizer, weights, bias)

    def _proba(self, heads: Heads, rows: Rows) -> Float64:
        x = encode(rows, self.settings, augment=False).matrix(heads.featurizer)
        raw = np.asarray(x @ heads.weights, dtype=np.float64) + heads.bias
        return 1.0 / (1.0 + np.exp(-raw))

    def select(self, data: LabelData, candidates: list[Heads]) -> Heads:
        """Score the candidates on dev and return the best.

        Candidates within :data:`C_TIE` of the best dev micro-F1 count as tied, and the most
        regularized of them (the smallest C) wins: it changes least when refitted on more data.
        """
        for heads in candidates:
            proba = self._proba(heads, data.dev)
            thresholds = tune_thresholds(
                proba, data.y_dev, self.settings.min_dev_support, data.e_dev
            )
            pred = _decide(proba, thresholds, data.e_dev)
            heads.dev_f1 = multilabel_scores(pred, data.y_dev, data.labels)["micro_f1"]
        self.grid = [{"c": h.c, "dev_micro_f1_dev_thresholds": h.dev_f1} for h in candidates]
        if not candidates:
            msg = f"no {self.settings.task} model was fitted"
            raise ModelError(msg)
        top = max(h.dev_f1 for h in candidates)
        return min((h for h in candidates if h.dev_f1 >= top - C_TIE), key=lambda h: h.c)

    # -- refit ------------------------------------------------------------------------------

    def refit(self, data: LabelData, choice: Heads) -> Final:
        """Build the shipped model from the chosen candidate."""
        settings = self.settings
        rows, y, seeded = data.train, data.y_train, data.e_train
        if settings.refit_on_dev:
            rows, y = data.train + data.dev, np.vstack([data.y_train, data.y_dev])
            seeded = np.vstack([data.e_train, data.e_dev])
        oof = np.zeros(y.shape)
        folds = folds_of(len(rows), settings.folds, settings.seed)
        for step, held in enumerate(folds, start=1):
            used = sorted(set(range(len(rows))) - set(held))
            heads = self._heads(rows.take(used), y[used], choice.c)
            oof[held] = self._proba(heads, rows.take(held))
            self.progress("cross-fitting thresholds", step, len(folds) + 1)
        thresholds = tune_thresholds(oof, y, settings.min_dev_support, seeded)
        final = choice if not settings.refit_on_dev else self._heads(rows, y, choice.c)
        self.progress("cross-fitting thresholds", len(folds) + 1, len(folds) + 1)
        weights = as_saved(final.weights, settings.prune_below)
        if settings.refit_on_dev:
            dev_proba = oof[len(data.train) :]
        else:
            dev_proba = self._proba(replace(final, weights=weights), data.dev)
        dev_scores = multilabel_scores(
            _decide(dev_proba, thresholds, data.e_dev), data.y_dev, data.labels
        )
        manifest = Manifest(
            name=settings.name or f"{settings.task}-fast",
            version=settings.version,
            kind=KIND,
            labels={"task": settings.task, "labels": list(data.labels)},
            features=settings.spec.to_dict(),
            hyperparameters=settings.to_dict()
            | {
                "chosen": {"c": choice.c},
                "label_grid": getattr(self, "grid", []),
                "thresholds": {
                    label: round(float(t), 4)
                    for label, t in zip(data.labels, thresholds[0], strict=True)
                },
                "seeded_thresholds": {
                    label: round(float(t), 4)
                    for label, t in zip(data.labels, thresholds[1], strict=True)
                },
            },
            data=data_record({"train": [data.corpus], "dev": [data.corpus]}),
            scores={},
            preprocessing=PREPROCESSING,
        )
        model = LabelModel(manifest, final.featurizer, weights, final.bias, *thresholds)
        return Final(model, dev_scores)

    def write(self, data: LabelData, final: Final) -> TrainResult:
        """Save the artifact, its manifest and its card."""
        settings = self.settings
        note = "dev chose C; thresholds from cross-fitting over the fitted rows"
        if settings.refit_on_dev:
            note += "; heads refitted on train + dev, dev figures out of fold"
        manifest = replace(
            final.model.manifest, scores={"split": "dev", "note": note, "dev": final.dev_scores}
        )
        final.model.manifest = manifest
        arrays = final.model.to_arrays(prune_below=settings.prune_below)
        return self.save(manifest, arrays, labels_card(manifest), final.dev_scores)


def _matrix(rows: Rows, labels: tuple[str, ...]) -> Bool:
    return np.array(
        [[label in found for label in labels] for found in rows.labels], dtype=bool
    ).reshape(len(rows), len(labels))
