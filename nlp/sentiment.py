"""The fast sentiment model: negative / neutral / positive with a calibrated probability.

Two linear heads over :mod:`nlp.features` n-grams and :mod:`nlp.cues` markers, composed as
a small hierarchy:

- the *polarity* head scores positive against negative; it learns from every polar
  example, including data sets that only label two classes (e.g. product reviews);
- the *neutrality* head scores neutral against polar; it learns only from data sets that
  label neutral (the CX corpus, VLSP 2016).

With calibrated head probabilities ``p_pos`` and ``p_neu``::

    P(neutral) = p_neu
    P(positive) = (1 - p_neu) * p_pos
    P(negative) = (1 - p_neu) * (1 - p_pos)

so binary data sharpens polarity without teaching the model that neutral never happens.
A binary decision (for two-class data) is ``positive`` iff ``P(positive) >= P(negative)``,
i.e. ``p_pos >= 0.5``, whatever the neutral probability.

Calibration is per source: a review, a chat turn and a social post do not carry feeling
alike ("ok shop" in a chat is an acknowledgement), so each source the corpus labels gets its
own Platt scaling of both heads, fitted out of fold; a message of unknown source gets the
calibration fitted on every source together. Filler (:attr:`nlp.cues.Reading.filler`:
"dạ vâng", "alo", "ok shop") is neutral whatever the heads say, and praise that the cues
read as sarcasm (:attr:`nlp.cues.Reading.sarcastic`: praise in quotes or a closing 🙂
beside a complaint, "cảm ơn shop vì trải nghiệm 'mượt' nhé, 10 ngày mới nhận được hàng 🙂")
is negative.

Inference is numpy plus one sparse-dense product per batch; the model loads from an
artifact directory (:mod:`nlp.artifacts`) and never at import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from nlp.artifacts import (
    Arrays,
    Manifest,
    default_artifact,
    load_artifact,
    pack_matrix,
    unpack_matrix,
)
from nlp.cues import Batch, default_reader
from nlp.features import FeatureSpec, Featurizer
from nlp.types import SENTIMENTS, MessageContext, Sentiment
from schemas.errors import ModelError

KIND = "sentiment"
DEFAULT_NAME = "sentiment-fast"
DEFAULT_CALIBRATION = "default"
"""Key of the calibration used for messages of unknown source."""
FILLER_PROBABILITY = 0.95
"""P(neutral) of a filler message."""

FloatMatrix = npt.NDArray[np.float32]
Float64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SentimentResult:
    """The predicted class of one text and its calibrated probability."""

    label: Sentiment
    score: float


@dataclass(frozen=True, slots=True)
class Platt:
    """Platt scaling of a raw linear score: ``sigmoid(scale * z + shift)``."""

    scale: float = 1.0
    shift: float = 0.0

    def __call__(self, z: Float64) -> Float64:
        """Return the calibrated probability of each raw score."""
        out: Float64 = expit(self.scale * z + self.shift)
        return out


@dataclass(frozen=True, slots=True)
class Calibration:
    """Platt scaling of the polarity and neutrality heads for one source."""

    polarity: Platt = Platt()
    neutrality: Platt = Platt()

    def to_row(self) -> list[float]:
        """The four numbers, as stored."""
        p, n = self.polarity, self.neutrality
        return [p.scale, p.shift, n.scale, n.shift]

    @classmethod
    def from_row(cls, row: Sequence[float]) -> Calibration:
        """Rebuild from :meth:`to_row`."""
        return cls(Platt(float(row[0]), float(row[1])), Platt(float(row[2]), float(row[3])))


class SentimentModel:
    """Three-class sentiment from a polarity head and a neutrality head.

    ``weights`` has two columns (polarity, neutrality) over the featurizer's columns; a model
    trained without neutral examples has ``has_neutral`` False and never predicts neutral.
    ``calibrations`` maps a source (and ``"default"``, required) to its :class:`Calibration`.
    """

    def __init__(
        self,
        manifest: Manifest,
        featurizer: Featurizer,
        weights: FloatMatrix,
        bias: Float64,
        calibrations: Mapping[str, Calibration],
        *,
        has_neutral: bool,
        filler_neutral: bool = True,
        sarcasm_rule: bool = True,
    ) -> None:
        if weights.shape != (featurizer.n_features, 2):
            msg = f"sentiment weights must be ({featurizer.n_features}, 2), got {weights.shape}"
            raise ModelError(msg)
        if DEFAULT_CALIBRATION not in calibrations:
            msg = f"sentiment calibrations need a {DEFAULT_CALIBRATION!r} entry"
            raise ModelError(msg)
        self.manifest = manifest
        self.featurizer = featurizer
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float64)
        self.calibrations = dict(calibrations)
        self.has_neutral = has_neutral
        self.filler_neutral = filler_neutral
        self.sarcasm_rule = sarcasm_rule

    @property
    def version(self) -> str:
        """Versioned name, e.g. ``sentiment-fast-2.0.0``."""
        return self.manifest.versioned_name

    @property
    def families(self) -> tuple[str, ...]:
        """The marker families the model reads."""
        return self.featurizer.spec.markers

    # -- inference --------------------------------------------------------------------------

    def raw_scores(self, batch: Batch) -> Float64:
        """Uncalibrated head scores, shape (n, 2): polarity, neutrality."""
        if not len(batch):
            return np.zeros((0, 2))
        markers = batch.markers(self.families) if self.families else None
        features = self.featurizer.transform(batch.tokens, markers)
        scores = np.asarray(features @ self.weights, dtype=np.float64)
        return scores + self.bias

    def head_probabilities(self, batch: Batch) -> tuple[Float64, Float64]:
        """Calibrated ``p_pos`` (positive vs negative) and ``p_neu`` (neutral vs polar)."""
        return self.calibrate(self.raw_scores(batch), batch.sources())

    def calibrate(self, scores: Float64, sources: Sequence[str | None]) -> tuple[Float64, Float64]:
        """``p_pos`` and ``p_neu`` of raw head scores, each row by its source's calibration."""
        p_pos = np.empty(len(scores))
        p_neu = np.zeros(len(scores))
        keys = np.array(
            [s if s in self.calibrations else DEFAULT_CALIBRATION for s in sources], dtype=object
        )
        for key in set(keys.tolist()):
            rows = keys == key
            cal = self.calibrations[key]
            p_pos[rows] = cal.polarity(scores[rows, 0])
            if self.has_neutral:
                p_neu[rows] = cal.neutrality(scores[rows, 1])
        return p_pos, p_neu

    def proba_batch(self, batch: Batch) -> Float64:
        """Probabilities of (negative, neutral, positive) per row; rows sum to 1."""
        p_pos, p_neu = self.head_probabilities(batch)
        proba = compose(p_pos, p_neu)
        if self.sarcasm_rule and len(proba):
            sarcastic = np.array(batch.sarcastic(), dtype=bool) & (proba.argmax(axis=1) == 2)
            if sarcastic.any():  # praise that means its opposite: swap its poles
                proba[sarcastic] = proba[sarcastic][:, ::-1]
        if self.filler_neutral and len(proba):
            filler = np.array(batch.fillers(), dtype=bool)
            if filler.any():
                proba[filler] = filler_proba()
        return proba

    def predict_proba(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> Float64:
        """Probabilities of (negative, neutral, positive) per normalized text."""
        return self.proba_batch(default_reader().batch(texts, contexts))

    def predict(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> list[SentimentResult]:
        """Return the most probable class of each normalized text, with its probability."""
        return results_from_proba(self.predict_proba(texts, contexts))

    # -- storage ----------------------------------------------------------------------------

    def to_arrays(self, *, prune_below: float = 0.0) -> Arrays:
        """Weights and tables as named arrays for :func:`nlp.artifacts.save_artifact`.

        The calibration rows follow ``manifest.labels["calibrations"]``.
        """
        arrays = self.featurizer.to_arrays()
        arrays.update(pack_matrix("heads", self.weights, prune_below=prune_below))
        arrays["heads_bias"] = self.bias.astype(np.float64)
        order = calibration_order(self.calibrations)
        arrays["calibration"] = np.array(
            [self.calibrations[k].to_row() for k in order], dtype=np.float64
        )
        arrays["has_neutral"] = np.array([int(self.has_neutral)], dtype=np.int8)
        return arrays

    @classmethod
    def from_arrays(cls, manifest: Manifest, arrays: Arrays) -> SentimentModel:
        """Rebuild a model from its manifest and arrays."""
        spec = FeatureSpec.from_dict(manifest.features)
        featurizer = Featurizer.from_arrays(spec, arrays)
        try:
            rows = np.atleast_2d(arrays["calibration"].astype(np.float64))
            bias = arrays["heads_bias"].astype(np.float64)
            has_neutral = bool(arrays["has_neutral"][0])
        except KeyError as exc:
            msg = f"sentiment weights of {manifest.versioned_name} lack {exc}"
            raise ModelError(msg) from exc
        order = manifest.labels.get("calibrations", [DEFAULT_CALIBRATION])
        if len(order) != len(rows):
            msg = (
                f"{manifest.versioned_name}: {len(rows)} calibration rows for "
                f"{len(order)} calibrations {order}"
            )
            raise ModelError(msg)
        return cls(
            manifest,
            featurizer,
            unpack_matrix("heads", arrays),
            bias,
            {k: Calibration.from_row(r) for k, r in zip(order, rows, strict=True)},
            has_neutral=has_neutral,
            filler_neutral=bool(manifest.labels.get("filler_neutral", False)),
            sarcasm_rule=bool(manifest.labels.get("sarcasm_rule", False)),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> SentimentModel:
        """Load an artifact directory, or the newest packaged default when ``path`` is None."""
        target = path if path is not None else default_artifact(KIND)
        manifest, arrays = load_artifact(target, kind=KIND)
        return cls.from_arrays(manifest, arrays)


def calibration_order(calibrations: Mapping[str, Calibration]) -> list[str]:
    """``default`` first, then the sources in sorted order: the stored row order."""
    return [DEFAULT_CALIBRATION, *sorted(k for k in calibrations if k != DEFAULT_CALIBRATION)]


def filler_proba() -> Float64:
    """(negative, neutral, positive) of a filler message."""
    rest = (1.0 - FILLER_PROBABILITY) / 2
    return np.array([rest, FILLER_PROBABILITY, rest])


def compose(p_pos: Float64, p_neu: Float64) -> Float64:
    """Three-class probabilities (negative, neutral, positive) from the two head outputs."""
    polar = 1.0 - p_neu
    return np.stack([polar * (1.0 - p_pos), p_neu, polar * p_pos], axis=1)


def results_from_proba(proba: Float64) -> list[SentimentResult]:
    """Argmax class and its probability for each row of a (n, 3) probability matrix."""
    best = proba.argmax(axis=1)
    return [SentimentResult(SENTIMENTS[int(k)], float(proba[i, k])) for i, k in enumerate(best)]
