"""The fast sentiment model: negative / neutral / positive with a calibrated probability.

Two linear heads over :mod:`nlp.features` n-grams, composed as a small hierarchy:

- the *polarity* head scores positive against negative; it learns from every polar
  example, including data sets that only label two classes (e.g. product reviews);
- the *neutrality* head scores neutral against polar; it learns only from data sets that
  label neutral.

With calibrated head probabilities ``p_pos`` and ``p_neu`` (Platt scaling fitted on dev)::

    P(neutral) = p_neu
    P(positive) = (1 - p_neu) * p_pos
    P(negative) = (1 - p_neu) * (1 - p_pos)

so binary data sharpens polarity without teaching the model that neutral never happens.
A binary decision (for two-class data) is ``positive`` iff ``P(positive) >= P(negative)``,
i.e. ``p_pos >= 0.5``, whatever the neutral probability.

Inference is numpy plus one sparse-dense product per batch; the model loads from an
artifact directory (:mod:`nlp.artifacts`) and never at import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from nlp.artifacts import (
    Arrays,
    Manifest,
    default_artifact,
    load_artifact,
    pack_matrix,
    unpack_matrix,
)
from nlp.features import FeatureSpec, Featurizer, tokenize
from nlp.types import SENTIMENTS, Sentiment
from schemas.errors import ModelError

KIND = "sentiment"
DEFAULT_NAME = "sentiment-fast"

FloatMatrix = npt.NDArray[np.float32]


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

    def __call__(self, z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Return the calibrated probability of each raw score."""
        return _sigmoid(self.scale * z + self.shift)


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


class SentimentModel:
    """Three-class sentiment from a polarity head and a neutrality head.

    ``weights`` has two columns (polarity, neutrality) over the featurizer's columns; a model
    trained without neutral examples has ``has_neutral`` False and never predicts neutral.
    """

    def __init__(
        self,
        manifest: Manifest,
        featurizer: Featurizer,
        weights: FloatMatrix,
        bias: npt.NDArray[np.float64],
        polarity_calibration: Platt,
        neutral_calibration: Platt,
        *,
        has_neutral: bool,
    ) -> None:
        if weights.shape != (featurizer.n_features, 2):
            msg = f"sentiment weights must be ({featurizer.n_features}, 2), got {weights.shape}"
            raise ModelError(msg)
        self.manifest = manifest
        self.featurizer = featurizer
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float64)
        self.polarity_calibration = polarity_calibration
        self.neutral_calibration = neutral_calibration
        self.has_neutral = has_neutral

    @property
    def version(self) -> str:
        """Versioned name, e.g. ``sentiment-fast-1.0.0``."""
        return self.manifest.versioned_name

    # -- inference --------------------------------------------------------------------------

    def raw_scores(self, token_lists: Sequence[Sequence[str]]) -> npt.NDArray[np.float64]:
        """Uncalibrated head scores, shape (n, 2): polarity, neutrality."""
        if not token_lists:
            return np.zeros((0, 2))
        features = self.featurizer.transform(token_lists)
        scores = np.asarray(features @ self.weights, dtype=np.float64)
        return scores + self.bias

    def head_probabilities(
        self, token_lists: Sequence[Sequence[str]]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Calibrated ``p_pos`` (positive vs negative) and ``p_neu`` (neutral vs polar)."""
        scores = self.raw_scores(token_lists)
        p_pos = self.polarity_calibration(scores[:, 0])
        if self.has_neutral:
            p_neu = self.neutral_calibration(scores[:, 1])
        else:
            p_neu = np.zeros(len(scores))
        return p_pos, p_neu

    def proba_tokens(self, token_lists: Sequence[Sequence[str]]) -> npt.NDArray[np.float64]:
        """Probabilities of (negative, neutral, positive) per token list; rows sum to 1."""
        p_pos, p_neu = self.head_probabilities(token_lists)
        return compose(p_pos, p_neu)

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Probabilities of (negative, neutral, positive) per normalized text."""
        return self.proba_tokens([tokenize(t) for t in texts])

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Return the most probable class of each normalized text, with its probability."""
        return results_from_proba(self.predict_proba(texts))

    # -- storage ----------------------------------------------------------------------------

    def to_arrays(self, *, prune_below: float = 0.0) -> Arrays:
        """Weights and tables as named arrays for :func:`nlp.artifacts.save_artifact`."""
        arrays = self.featurizer.to_arrays()
        arrays.update(pack_matrix("heads", self.weights, prune_below=prune_below))
        arrays["heads_bias"] = self.bias.astype(np.float64)
        arrays["calibration"] = np.array(
            [
                self.polarity_calibration.scale,
                self.polarity_calibration.shift,
                self.neutral_calibration.scale,
                self.neutral_calibration.shift,
            ],
            dtype=np.float64,
        )
        arrays["has_neutral"] = np.array([int(self.has_neutral)], dtype=np.int8)
        return arrays

    @classmethod
    def from_arrays(cls, manifest: Manifest, arrays: Arrays) -> SentimentModel:
        """Rebuild a model from its manifest and arrays."""
        spec = FeatureSpec.from_dict(manifest.features)
        featurizer = Featurizer.from_arrays(spec, arrays)
        try:
            calibration = arrays["calibration"].astype(np.float64)
            bias = arrays["heads_bias"].astype(np.float64)
            has_neutral = bool(arrays["has_neutral"][0])
        except KeyError as exc:
            msg = f"sentiment weights of {manifest.versioned_name} lack {exc}"
            raise ModelError(msg) from exc
        return cls(
            manifest,
            featurizer,
            unpack_matrix("heads", arrays),
            bias,
            Platt(float(calibration[0]), float(calibration[1])),
            Platt(float(calibration[2]), float(calibration[3])),
            has_neutral=has_neutral,
        )

    @classmethod
    def load(cls, path: Path | None = None) -> SentimentModel:
        """Load an artifact directory, or the newest packaged default when ``path`` is None."""
        target = path if path is not None else default_artifact(KIND)
        manifest, arrays = load_artifact(target, kind=KIND)
        return cls.from_arrays(manifest, arrays)


def compose(
    p_pos: npt.NDArray[np.float64], p_neu: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Three-class probabilities (negative, neutral, positive) from the two head outputs."""
    polar = 1.0 - p_neu
    return np.stack([polar * (1.0 - p_pos), p_neu, polar * p_pos], axis=1)


def results_from_proba(proba: npt.NDArray[np.float64]) -> list[SentimentResult]:
    """Argmax class and its probability for each row of a (n, 3) probability matrix."""
    best = proba.argmax(axis=1)
    return [SentimentResult(SENTIMENTS[int(k)], float(proba[i, k])) for i, k in enumerate(best)]
