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

Each label has two thresholds: one for messages where the rule tables found its evidence
(the topic's keywords, the flag's cues) and one for messages where they did not, both
chosen out of fold. That is how the keyword seeds and the model combine: a seed lowers the
bar the model must pass, a message without one needs the model's own confidence.

Inference is one sparse-dense product per batch; the model loads from an artifact
directory (:mod:`nlp.artifacts`) and never at import.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from nlp.cues import Batch, Reading, default_reader
from nlp.features import FeatureSpec, Featurizer
from nlp.types import MessageContext
from schemas.errors import ModelError

KIND = "labels"
TASKS = ("topics", "flags")

FloatMatrix = npt.NDArray[np.float32]
Float64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]


def evidence(readings: Sequence[Reading], labels: Sequence[str], task: str) -> Bool:
    """(n, L): whether the rule tables found each label's evidence in each message.

    Topics: the topic's keywords matched; flags: the flag's cues matched.
    """
    out = np.zeros((len(readings), len(labels)), dtype=bool)
    column = {label: k for k, label in enumerate(labels)}
    for i, reading in enumerate(readings):
        found = {m.topic for m in reading.topics} if task == "topics" else reading.flag_cues
        for label in found:
            k = column.get(label)
            if k is not None:
                out[i, k] = True
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
        seeded_thresholds: Float64 | None = None,
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
        if seeded_thresholds is None:
            seeded_thresholds = thresholds
        expected["seeded_thresholds"] = ((n,), seeded_thresholds.shape)
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
        """Per label: the bar for a message without the label's rule evidence."""
        self.seeded_thresholds = np.asarray(seeded_thresholds, dtype=np.float64)
        """Per label: the bar for a message with it (keywords of the topic, cues of the flag)."""

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
        out: Float64 = expit(raw)
        return out

    def decide(self, proba: Float64, seeded: Bool | None = None) -> Bool:
        """(n, L) decisions: each label at or above its threshold.

        ``seeded`` (n, L) says where the rule tables found a label's evidence
        (:func:`evidence`); there the label's seeded threshold applies.
        """
        if seeded is None:
            decided: Bool = proba >= self.thresholds
            return decided
        bars = np.where(seeded, self.seeded_thresholds, self.thresholds)
        out: Bool = proba >= bars
        return out

    def decide_batch(self, batch: Batch) -> tuple[Float64, Bool]:
        """Probabilities and decisions for the messages of ``batch`` (not a clause batch)."""
        proba = self.proba_batch(batch)
        return proba, self.decide(proba, evidence(batch.readings, self.labels, self.task))

    def predict(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> list[tuple[str, ...]]:
        """The labels of each normalized text."""
        _, decided = self.decide_batch(default_reader().batch(texts, contexts))
        return [tuple(self.labels[k] for k in np.flatnonzero(row)) for row in decided]

    # -- storage ----------------------------------------------------------------------------

    def to_arrays(self, *, prune_below: float = 0.0) -> Arrays:
        """Weights and tables as named arrays for :func:`nlp.artifacts.save_artifact`."""
        arrays = self.featurizer.to_arrays()
        arrays.update(pack_matrix("heads", self.weights, prune_below=prune_below))
        arrays["heads_bias"] = self.bias.copy()
        arrays["thresholds"] = self.thresholds.copy()
        arrays["seeded_thresholds"] = self.seeded_thresholds.copy()
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
        seeded = arrays.get("seeded_thresholds")  # absent in artifacts of one threshold
        return cls(
            manifest,
            featurizer,
            unpack_matrix("heads", arrays),
            bias,
            thresholds,
            None if seeded is None else seeded.astype(np.float64),
        )

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
