"""Training of an aspect model for one domain, with a conservative domain gate.

- **load**: the train and dev splits of the domain's aspect data set(s); for the gate, the
  texts of other domains: the other aspect data sets (``gate_negatives``) and every corpus
  message whose category is not this domain's, and as extra positives the corpus messages
  of this domain;
- **fit**: detection heads (one-vs-rest) and a polarity head per aspect, per value of
  ``c_grid``;
- **select**: dev picks the detection C (micro-F1 with thresholds tuned on dev) and each
  aspect's polarity C (accuracy on the dev texts that mention it);
- **refit**: optionally on train + dev (2-fold cross-fitting over dev gives the
  thresholds and the dev figures); the gate is fitted and its threshold set so that at
  most ``gate_max_out`` of the out-of-domain dev texts pass (and, within that,
  ``gate_recall`` of the in-domain ones);
- **write**: the artifact, its manifest and card.

Without gate negatives (``gate_negatives=()``) the gate learns from the corpus alone with
a threshold twice as strict, and the run warns; without a corpus either, the model has no
gate and predicts only on messages whose category is known to be its own.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import expit

from nlp.artifacts import Manifest
from nlp.aspects import AspectModel, AspectScores
from nlp.datasets import DatasetInfo, Example, model_text, select
from nlp.evaluate import aspect_scores
from nlp.features import Featurizer, tokenize
from nlp.normalize import strip_diacritics
from nlp.train.base import (
    PREPROCESSING,
    Sources,
    Trainer,
    TrainResult,
    as_saved,
    data_record,
    folds_of,
    logistic,
)
from nlp.train.cards import aspect_card
from nlp.types import SENTIMENTS
from schemas.errors import ConfigError, ModelError

Float64 = npt.NDArray[np.float64]
Float32 = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]
Labels = list[dict[str, Any]]


@dataclass
class AspectData:
    """The rows of one aspect training run."""

    infos: list[DatasetInfo]
    domain: str
    categories: tuple[str, ...]
    aspects: list[str]
    train: list[Example]
    dev: list[Example]
    labels_train: Labels
    labels_dev: Labels
    gold_dev: Bool
    featurizer: Featurizer
    x_train: sp.csr_matrix
    x_dev: sp.csr_matrix
    gate_negatives: list[DatasetInfo]
    corpus: DatasetInfo | None
    gate_texts: dict[str, list[str]] = field(default_factory=dict)
    """``in_train``, ``out_train``, ``in_dev``, ``out_dev``: texts for the gate."""


@dataclass
class Choice:
    """The chosen detection heads, thresholds and polarity heads."""

    c_detection: float
    detection: tuple[Float32, Float64]
    thresholds: Float64
    polarity_c: list[float]
    polarity: tuple[Float32, Float64]
    detection_grid: list[dict[str, Any]]
    polarity_grid: list[dict[str, Any]]


@dataclass
class Final:
    """The shipped model and its dev figures."""

    model: AspectModel
    dev_scores: dict[str, Any]


class AspectTrainer(Trainer[AspectData, dict[str, Any], Choice, Final]):
    """Trains ``aspects-<domain>-fast``."""

    # -- load -------------------------------------------------------------------------------

    def load(self) -> AspectData:
        """Read the splits into labelled rows and their features."""
        settings = self.settings
        sources = Sources.open(self.data_dir, settings)
        available = sources.available
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
        for info in infos:
            if "dev" not in info.splits:
                msg = f"data set {info.name} has no dev.jsonl; dev is needed for model selection"
                raise ConfigError(msg)
        domain = settings.domain or infos[0].name
        categories = settings.categories or (domain,)
        train = [ex for info in infos for ex in info.load("train") if ex.aspects]
        dev = [ex for info in infos for ex in info.load("dev") if ex.aspects]
        aspects = sorted({a.aspect for ex in train for a in ex.aspects if a.sentiment is not None})
        if not aspects:
            msg = f"no aspect with a polarity label in {', '.join(i.name for i in infos)}"
            raise ConfigError(msg)
        self.progress("building features", 0, 1)
        texts = [model_text(ex.text) for ex in train]
        tokens = [tokenize(t) for t in self._augmented(texts)]
        featurizer = Featurizer.fit(tokens, self.settings.spec)
        x_train = featurizer.transform(tokens)
        x_dev = featurizer.transform([tokenize(model_text(ex.text)) for ex in dev])
        self.progress("building features", 1, 1)
        labels_train = [_polarities(ex) for ex in train] * self.settings.copies
        labels_dev = [_polarities(ex) for ex in dev]
        gold_dev = np.array(
            [[a in lbl for a in aspects] for lbl in labels_dev], dtype=bool
        ).reshape(len(dev), len(aspects))
        if settings.gate_negatives is None:
            own = {i.name for i in infos}
            negatives = [d for d in available if d.name not in own and d.has_aspects()]
        else:
            negatives = select(available, settings.gate_negatives)
        data = AspectData(
            infos,
            domain,
            tuple(categories),
            aspects,
            train,
            dev,
            labels_train,
            labels_dev,
            gold_dev,
            featurizer,
            x_train,
            x_dev,
            negatives,
            sources.corpus,
        )
        data.gate_texts = self._gate_texts(data, texts)
        return data

    def _augmented(self, texts: list[str]) -> list[str]:
        if not self.settings.augment_no_diacritics:
            return texts
        return texts + [strip_diacritics(t) for t in texts]

    def _gate_texts(self, data: AspectData, train_texts: list[str]) -> dict[str, list[str]]:
        """In- and out-of-domain texts for the gate, train and dev."""
        rng = random.Random(self.settings.seed)  # noqa: S311 - reproducible sampling
        out: dict[str, list[str]] = {
            "in_train": list(train_texts),
            "in_dev": [model_text(ex.text) for ex in data.dev],
            "out_train": [],
            "out_dev": [],
        }
        for info in data.gate_negatives:
            out["out_train"] += [model_text(ex.text) for ex in info.load("train")]
            if "dev" in info.splits:
                out["out_dev"] += [model_text(ex.text) for ex in info.load("dev")]
        cap = len(train_texts)
        if len(out["out_train"]) > cap:
            out["out_train"] = rng.sample(out["out_train"], cap)
        if data.corpus is not None:
            for split in ("train", "dev"):
                for ex in data.corpus.load(split):
                    side = "in" if ex.category in data.categories else "out"
                    out[f"{side}_{split}"].append(model_text(ex.text))
        return out

    # -- fit --------------------------------------------------------------------------------

    def fit(self, data: AspectData) -> list[dict[str, Any]]:
        """Fit one candidate per value of the C grid on train."""
        grid = self.settings.c_grid
        total = 2 * len(grid)
        out = []
        for step, c in enumerate(grid, start=1):
            det = _fit_detection(data.x_train, data.labels_train, data.aspects, c, self.settings)
            pol = [
                _fit_polarity(data.x_train, data.labels_train, a, c, self.settings)
                for a in data.aspects
            ]
            out.append({"c": c, "detection": det, "polarity": pol})
            self.progress("fitting aspect heads", 2 * step, total)
        return out

    # -- select -----------------------------------------------------------------------------

    def select(self, data: AspectData, candidates: list[dict[str, Any]]) -> Choice:
        """Score the candidates on dev and return the best."""
        settings = self.settings
        best: tuple[float, dict[str, Any], Float64] | None = None
        detection_grid = []
        for candidate in candidates:
            w, b = candidate["detection"]
            proba = expit(np.asarray(data.x_dev @ w, dtype=np.float64) + b)
            thresholds = _tune_thresholds(proba, data.gold_dev, settings.min_dev_support)
            f1 = _micro_f1(proba >= thresholds, data.gold_dev)
            detection_grid.append({"c": candidate["c"], "dev_detection_f1": f1})
            if best is None or f1 > best[0]:
                best = (f1, candidate, thresholds)
        if best is None:
            msg = "no aspect detection head was fitted"
            raise ModelError(msg)
        _, det_choice, thresholds = best
        polarity_c: list[float] = []
        heads: list[tuple[Float32, Float64]] = []
        polarity_grid = []
        for k, aspect in enumerate(data.aspects):
            rows = [i for i, lbl in enumerate(data.labels_dev) if aspect in lbl]
            scored = []
            for candidate in candidates:
                w3, b3 = candidate["polarity"][k]
                accuracy = 0.0
                if rows:
                    pred = (np.asarray(data.x_dev[rows] @ w3, dtype=np.float64) + b3).argmax(1)
                    accuracy = float(
                        np.mean(
                            [
                                SENTIMENTS[int(p)] == data.labels_dev[i][aspect]
                                for p, i in zip(pred, rows, strict=True)
                            ]
                        )
                    )
                scored.append((accuracy, candidate["c"], (w3, b3)))
            accuracy, c, head = max(scored, key=lambda s: s[0])
            polarity_c.append(c)
            heads.append(head)
            polarity_grid.append(
                {"aspect": aspect, "c": c, "dev_accuracy_given_gold_aspect": accuracy}
            )
        return Choice(
            det_choice["c"],
            det_choice["detection"],
            thresholds,
            polarity_c,
            (np.hstack([w for w, _ in heads]), np.concatenate([b for _, b in heads])),
            detection_grid,
            polarity_grid,
        )

    # -- refit ------------------------------------------------------------------------------

    def refit(self, data: AspectData, choice: Choice) -> Final:
        """Build the shipped model from the chosen candidate."""
        settings = self.settings
        featurizer = data.featurizer
        det_w, det_b = choice.detection
        pol_w, pol_b = choice.polarity
        thresholds = choice.thresholds
        x_train = data.x_train
        oof: tuple[Float64, Float64] | None = None
        n_aspects = len(data.aspects)
        if settings.refit_on_dev:
            train_texts = [model_text(ex.text) for ex in data.train]
            dev_texts = [model_text(ex.text) for ex in data.dev]
            base_labels = data.labels_train[: len(data.train)]
            oof_det = np.zeros((len(data.dev), n_aspects))
            oof_pol = np.zeros((len(data.dev), n_aspects, 3))
            for step, held in enumerate(folds_of(len(data.dev), 2, settings.seed), start=1):
                used = sorted(set(range(len(data.dev))) - set(held))
                heads = self._heads(
                    train_texts + [dev_texts[i] for i in used],
                    base_labels + [data.labels_dev[i] for i in used],
                    data.aspects,
                    choice,
                )
                x_held = heads[0].transform([tokenize(dev_texts[i]) for i in held])
                oof_det[held], oof_pol[held] = _aspect_proba(x_held, heads, n_aspects)
                self.progress("refitting on train + dev", step, 3)
            thresholds = _tune_thresholds(oof_det, data.gold_dev, settings.min_dev_support)
            oof = (oof_det, oof_pol)
            featurizer, det_w, det_b, pol_w, pol_b = self._heads(
                train_texts + dev_texts, base_labels + data.labels_dev, data.aspects, choice
            )
            x_train = featurizer.transform([tokenize(t) for t in self._augmented(train_texts)])
            self.progress("refitting on train + dev", 3, 3)
        self.progress("fitting domain gate", 0, 1)
        detection = (as_saved(det_w, settings.prune_below), det_b, thresholds)
        gate, gate_report = self._gate(data, featurizer, x_train, detection)
        self.progress("fitting domain gate", 1, 1)
        manifest = Manifest(
            name=settings.name or f"aspects-{_slug(data.domain)}-fast",
            version=settings.version,
            kind="aspects",
            labels={
                "domain": data.domain,
                "categories": list(data.categories),
                "aspects": data.aspects,
                "polarities": list(SENTIMENTS),
                "datasets": [i.name for i in data.infos],
            },
            features=settings.spec.to_dict(),
            hyperparameters=settings.to_dict()
            | {
                "chosen": {"c_detection": choice.c_detection},
                "detection_grid": choice.detection_grid,
                "polarity": choice.polarity_grid,
                "thresholds": {
                    a: round(float(t), 4) for a, t in zip(data.aspects, thresholds, strict=True)
                },
            },
            data=data_record(
                {
                    "train": data.infos,
                    "dev": data.infos,
                    "gate_negatives": data.gate_negatives,
                    "gate_corpus": [data.corpus] if data.corpus else [],
                }
            ),
            scores={},
            preprocessing=PREPROCESSING,
        )
        model = AspectModel(
            manifest,
            featurizer,
            data.aspects,
            (as_saved(det_w, settings.prune_below), det_b, thresholds),
            (as_saved(pol_w, settings.prune_below), pol_b),
            gate,
        )
        dev_tokens = [tokenize(model_text(ex.text)) for ex in data.dev]
        raw = model.scores_tokens(dev_tokens)
        if oof is not None:  # cross-fitted detection and polarity, the final gate
            raw = AspectScores(oof[0], oof[1], raw.domain)
        hits = model.hits_from_scores(raw, gate=True)
        dev_scores = aspect_scores(data.dev, [[(h.aspect, h.sentiment) for h in r] for r in hits])
        ungated = aspect_scores(
            data.dev,
            [[(h.aspect, h.sentiment) for h in r] for r in model.hits_from_scores(raw, gate=False)],
        )
        dev_scores["ungated"] = {k: ungated[k] for k in ("detection", "detection_polarity")}
        dev_scores["gate"] = gate_report
        return Final(model, dev_scores)

    def _heads(
        self, texts: list[str], labels: Labels, aspects: Sequence[str], choice: Choice
    ) -> tuple[Featurizer, Float32, Float64, Float32, Float64]:
        tokens = [tokenize(t) for t in self._augmented(texts)]
        labels = labels * self.settings.copies
        featurizer = Featurizer.fit(tokens, self.settings.spec)
        x = featurizer.transform(tokens)
        det_w, det_b = _fit_detection(x, labels, aspects, choice.c_detection, self.settings)
        pol = [
            _fit_polarity(x, labels, a, c, self.settings)
            for a, c in zip(aspects, choice.polarity_c, strict=True)
        ]
        return (
            featurizer,
            det_w,
            det_b,
            np.hstack([w for w, _ in pol]),
            np.concatenate([b for _, b in pol]),
        )

    def _gate(
        self,
        data: AspectData,
        featurizer: Featurizer,
        x_train: sp.csr_matrix,
        detection: tuple[Float32, Float64, Float64],
    ) -> tuple[tuple[Float32, float, float] | None, dict[str, Any]]:
        """Fit the in-domain vs out-of-domain head and its conservative threshold.

        The threshold lets at most ``gate_max_out`` of the out-of-domain dev texts get an
        aspect (pass the gate *and* have one detected), and within that ``gate_recall`` of
        the in-domain ones through.
        """
        settings = self.settings
        texts = data.gate_texts
        report: dict[str, Any] = {
            "negatives": [i.name for i in data.gate_negatives],
            "corpus": data.corpus.name if data.corpus else None,
        }
        max_out = settings.gate_max_out
        if not data.gate_negatives:
            if data.corpus is None:
                self.warnings.append(
                    "no gate negatives and no corpus: the model has no domain gate and will "
                    "predict only on messages whose category is known to be "
                    + ", ".join(data.categories)
                )
                report["threshold"] = None
                return None, report
            max_out /= 2
            self.warnings.append(
                "no gate negatives: the domain gate learns from the corpus alone, with a "
                f"stricter threshold (at most {max_out:.2%} of out-of-domain dev texts pass)"
            )
        if not texts["out_train"]:
            msg = "the domain gate has no out-of-domain training text"
            raise ConfigError(msg)
        extra_in = texts["in_train"][len(data.train) :]
        x_in = sp.vstack(
            [x_train, featurizer.transform([tokenize(t) for t in self._augmented(extra_in)])]
        ).tocsr()
        x_out = featurizer.transform([tokenize(t) for t in self._augmented(texts["out_train"])])
        x = sp.vstack([x_in, x_out]).tocsr()
        target = np.concatenate(
            [np.ones(x_in.shape[0], dtype=bool), np.zeros(x_out.shape[0], dtype=bool)]
        )
        c = settings.c_grid[len(settings.c_grid) // 2]
        fitted = logistic(c, settings, balanced=True).fit(x, target)
        w = as_saved(fitted.coef_[0].astype(np.float32).reshape(-1, 1), settings.prune_below)
        b = float(fitted.intercept_[0])

        det_w, det_b, det_t = detection

        def scores(items: list[str]) -> tuple[Float64, Bool]:
            if not items:
                return np.zeros(0), np.zeros(0, dtype=bool)
            m = featurizer.transform([tokenize(t) for t in items])
            gate = expit(np.asarray(m @ w, dtype=np.float64).ravel() + b)
            found = expit(np.asarray(m @ det_w, dtype=np.float64) + det_b) >= det_t
            any_found: Bool = np.asarray(found.any(axis=1), dtype=bool)
            return gate, any_found

        (in_dev, _), (out_dev, out_found) = scores(texts["in_dev"]), scores(texts["out_dev"])
        recall_t = float(np.quantile(in_dev, 1.0 - settings.gate_recall)) if len(in_dev) else 0.5
        # out-of-domain texts with an aspect, highest gate score first: all but the allowed
        # share of them must stay below the threshold
        risky = np.sort(out_dev[out_found])[::-1]
        allowed = int(np.floor(max_out * len(out_dev)))
        out_t = float(np.nextafter(risky[allowed], 1.0)) if len(risky) > allowed else 0.0
        threshold = min(max(recall_t, out_t), 0.999)
        report |= {
            "threshold": threshold,
            "max_out_of_domain_pass": max_out,
            "in_domain_dev_texts": len(in_dev),
            "out_of_domain_dev_texts": len(out_dev),
            "in_domain_dev_pass_rate": float(np.mean(in_dev >= threshold)) if len(in_dev) else None,
            "out_of_domain_dev_pass_rate": float(np.mean(out_dev >= threshold))
            if len(out_dev)
            else None,
            "out_of_domain_dev_aspect_rate": float(np.mean((out_dev >= threshold) & out_found))
            if len(out_dev)
            else None,
        }
        return (w, b, threshold), report

    # -- write ------------------------------------------------------------------------------

    def write(self, data: AspectData, final: Final) -> TrainResult:
        """Save the artifact, its manifest and its card."""
        settings = self.settings
        note = "dev chose C, the thresholds and the gate threshold; `voc eval` gives test"
        if settings.refit_on_dev:
            note += "; heads refitted on train + dev, dev figures are 2-fold out-of-fold"
        manifest = replace(
            final.model.manifest, scores={"split": "dev", "note": note, "dev": final.dev_scores}
        )
        final.model.manifest = manifest
        arrays = final.model.to_arrays(prune_below=settings.prune_below)
        return self.save(manifest, arrays, aspect_card(manifest), final.dev_scores)


# -- helpers ------------------------------------------------------------------------------------


def _polarities(ex: Example) -> dict[str, Any]:
    return {a.aspect: a.sentiment for a in ex.aspects if a.sentiment is not None}


def _fit_detection(
    x: sp.csr_matrix, labels: Labels, aspects: Sequence[str], c: float, settings: Any
) -> tuple[Float32, Float64]:
    """One-vs-rest detection heads, one column per aspect."""
    w = np.zeros((x.shape[1], len(aspects)), dtype=np.float32)
    b = np.full(len(aspects), -30.0)
    for k, aspect in enumerate(aspects):
        target = np.array([aspect in lbl for lbl in labels])
        if target.all():  # mentioned in every training text: always on
            b[k] = 30.0
        elif target.any():
            fitted = logistic(c, settings).fit(x, target)
            w[:, k] = fitted.coef_[0]
            b[k] = float(fitted.intercept_[0])
    return w, b


def _fit_polarity(
    x: sp.csr_matrix, labels: Labels, aspect: str, c: float, settings: Any
) -> tuple[Float32, Float64]:
    """The three-way polarity head of one aspect, fitted on the texts that mention it."""
    rows = [i for i, lbl in enumerate(labels) if aspect in lbl]
    classes = sorted({str(labels[i][aspect]) for i in rows}, key=SENTIMENTS.index)
    w3 = np.zeros((x.shape[1], 3), dtype=np.float32)
    b3 = np.full(3, -30.0)
    if len(classes) == 1:
        b3[SENTIMENTS.index(classes[0])] = 0.0
    elif classes:
        target = np.array([labels[i][aspect] for i in rows])
        fitted = logistic(c, settings).fit(x[rows], target)
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


def _aspect_proba(
    x: sp.csr_matrix, heads: tuple[Featurizer, Float32, Float64, Float32, Float64], n: int
) -> tuple[Float64, Float64]:
    """Detection (n, A) and polarity (n, A, 3) probabilities of ``heads`` on ``x``."""
    _, det_w, det_b, pol_w, pol_b = heads
    det = expit(np.asarray(x @ det_w, dtype=np.float64) + det_b)
    logits = (np.asarray(x @ pol_w, dtype=np.float64) + pol_b).reshape(-1, n, 3)
    logits -= logits.max(axis=2, keepdims=True)
    pol = np.exp(logits)
    pol /= pol.sum(axis=2, keepdims=True)
    return det, pol


def _slug(text: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")
    return "-".join(part for part in slug.split("-") if part) or "domain"


def _micro_f1(pred: Bool, gold: Bool) -> float:
    tp = float((pred & gold).sum())
    fp = float((pred & ~gold).sum())
    fn = float((~pred & gold).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _tune_thresholds(proba: Float64, gold: Bool, min_support: int) -> Float64:
    """One global threshold, then per-aspect thresholds where dev has enough mentions."""
    grid = np.round(np.arange(0.10, 0.71, 0.025), 3)
    global_t = max(grid, key=lambda t: _micro_f1(proba >= t, gold))
    thresholds = np.full(proba.shape[1], float(global_t))
    for k in range(proba.shape[1]):
        if gold[:, k].sum() < min_support:
            continue
        thresholds[k] = float(
            max(grid, key=lambda t: _micro_f1(proba[:, k : k + 1] >= t, gold[:, k : k + 1]))
        )
    return thresholds
