"""Fast multi-label models: the CX topics of a message, and its flags.

One artifact holds one-vs-rest logistic heads over :mod:`nlp.features` n-grams and
:mod:`nlp.cues` markers, one head per label, each with its own decision threshold (chosen
out of fold on the training data and dev, never on test):

- ``topics-fast``: the packaged topics of ``nlp/resources/taxonomy.yaml``. The markers
  include which topics' keywords matched (``topics:<id>``), so the model learns how far each
  keyword list is evidence and finds the topics their keywords miss ("áo mặc chật" is
  product_quality without any keyword); the enricher adds the topics of a user's taxonomy
  the model does not know by their keywords alone.
- ``flags-fast``: complaint, question, praise, churn_risk and urgent, each decided on its own
  evidence (the words, the cues of ``flags.yaml``, the lexicon's reading), not on how sure
  the sentiment model is: a calm complaint is a complaint.

Inference is one sparse-dense product per batch; the model loads from an artifact
directory (:mod:`nlp.artifacts`) and never at import.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from nlp.cues import Batch, default_reader
from nlp.features import FeatureSpec, Featurizer
from nlp.types import MessageContext
from schemas.errors import ModelError

KIND = "labels"
TASKS = ("topics", "flags")

FloatMatrix = npt.NDArray[np.float32]
Float64 = npt.NDArray[np.float64]


def _sigmoid(z: Float64) -> Float64:
    out: Float64 = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


class LabelModel:
    """One-vs-rest heads over a fixed label set (``manifest.labels["labels"]``)."""

    def __init__(
        self,
        manifest: Manifest,
        featurizer: Featurizer,
        weights: FloatMatrix,
        bias: Float64,
        thresholds: Float64,
    ) -> None:
        labels = manifest.labels.get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            msg = f"manifest of {manifest.versioned_name} lacks labels.labels"
            raise ModelError(msg)
        n = len(labels)
        expected = {
            "weights": ((featurizer.n_features, n), weights.shape),
            "bias": ((n,), bias.shape),
            "thresholds": ((n,), thresholds.shape),
        }
        for what, (want, got) in expected.items():
            if want != got:
                msg = f"{manifest.versioned_name}: {what} must have shape {want}, got {got}"
                raise ModelError(msg)
        self.manifest = manifest
        self.featurizer = featurizer
        self.labels: tuple[str, ...] = tuple(labels)
        self.task = str(manifest.labels.get("task", ""))
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float64)
        self.thresholds = np.asarray(thresholds, dtype=np.float64)

    @property
    def version(self) -> str:
        """Versioned name, e.g. ``topics-fast-1.0.0``."""
        return self.manifest.versioned_name

    # -- inference --------------------------------------------------------------------------

    def proba_batch(self, batch: Batch) -> Float64:
        """(n, L) probability of each label."""
        if not len(batch):
            return np.zeros((0, len(self.labels)))
        families = self.featurizer.spec.markers
        markers = batch.markers(families) if families else None
        features = self.featurizer.transform(batch.tokens, markers)
        raw = np.asarray(features @ self.weights, dtype=np.float64) + self.bias
        return _sigmoid(raw)

    def decide(self, proba: Float64) -> npt.NDArray[np.bool_]:
        """(n, L) decisions: each label at or above its threshold."""
        decided: npt.NDArray[np.bool_] = proba >= self.thresholds
        return decided

    def predict(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> list[tuple[str, ...]]:
        """The labels of each normalized text."""
        decided = self.decide(self.proba_batch(default_reader().batch(texts, contexts)))
        return [tuple(self.labels[k] for k in np.flatnonzero(row)) for row in decided]

    # -- storage ----------------------------------------------------------------------------

    def to_arrays(self, *, prune_below: float = 0.0) -> Arrays:
        """Weights and tables as named arrays for :func:`nlp.artifacts.save_artifact`."""
        arrays = self.featurizer.to_arrays()
        arrays.update(pack_matrix("heads", self.weights, prune_below=prune_below))
        arrays["heads_bias"] = self.bias.copy()
        arrays["thresholds"] = self.thresholds.copy()
        return arrays

    @classmethod
    def from_arrays(cls, manifest: Manifest, arrays: Arrays) -> LabelModel:
        """Rebuild a model from its manifest and arrays."""
        spec = FeatureSpec.from_dict(manifest.features)
        featurizer = Featurizer.from_arrays(spec, arrays)
        try:
            bias = arrays["heads_bias"].astype(np.float64)
            thresholds = arrays["thresholds"].astype(np.float64)
        except KeyError as exc:
            msg = f"label weights of {manifest.versioned_name} lack {exc}"
            raise ModelError(msg) from exc
        return cls(manifest, featurizer, unpack_matrix("heads", arrays), bias, thresholds)

    @classmethod
    def load(cls, path: Path | None = None, *, task: str | None = None) -> LabelModel:
        """Load an artifact directory, or the newest packaged one of ``task``."""
        if path is None:
            if task not in TASKS:
                msg = f"name the task of the packaged label model: one of {TASKS}, got {task!r}"
                raise ModelError(msg)
            path = default_artifact(KIND, f"{task}-fast")
        manifest, arrays = load_artifact(path, kind=KIND)
        model = cls.from_arrays(manifest, arrays)
        if task is not None and model.task != task:
            msg = f"{path} holds a {model.task} model, expected {task}"
            raise ModelError(msg)
        return model
