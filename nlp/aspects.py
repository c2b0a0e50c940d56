"""The fast aspect model: which product aspects a text talks about, and with what polarity.

One artifact covers one domain's aspect set (e.g. ``smartphone``: BATTERY, CAMERA, ...;
``hotel``: ROOMS#CLEANLINESS, ...). Over the same :mod:`nlp.features` n-grams it holds:

- a *detection* head per aspect (one-vs-rest logistic regression) with a decision threshold
  per aspect tuned on dev;
- a *polarity* head per aspect (negative / neutral / positive, softmax), trained on the texts
  that mention that aspect;
- a *domain gate*: the probability that a text belongs to this domain at all, trained
  against texts of many other domains (the other aspect data sets and every category of
  the CX corpus), with a conservative threshold.

A model predicts only where its aspects belong. When the flow knows a message's product
category (a ``category`` attribute, or its brand or product configured to a domain), the
model speaks only on messages of its own categories (``labels.categories``, by default its
``domain``: ``smartphone``, ``travel_hotel``) and never elsewhere; when the category is
unknown, only a message its gate passes gets its aspects. A model without a gate says
nothing on messages of unknown category.

All heads are computed with one sparse-dense product per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from nlp.cues import Batch
from nlp.features import FeatureSpec, Featurizer, tokenize
from nlp.types import SENTIMENTS, AspectHit
from schemas.errors import ModelError

KIND = "aspects"

FloatMatrix = npt.NDArray[np.float32]
Float64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AspectScores:
    """Raw per-batch outputs of an :class:`AspectModel`."""

    detection: Float64
    """(n, A) probability that each aspect is mentioned."""
    polarity: Float64
    """(n, A, 3) probabilities of (negative, neutral, positive) for each aspect."""
    domain: Float64
    """(n,) probability that the text belongs to this model's domain (1.0 without a gate)."""


class AspectModel:
    """Multi-label aspect detection with per-aspect polarity, for one domain."""

    def __init__(
        self,
        manifest: Manifest,
        featurizer: Featurizer,
        aspects: Sequence[str],
        detection: tuple[FloatMatrix, Float64, Float64],
        polarity: tuple[FloatMatrix, Float64],
        gate: tuple[FloatMatrix, float, float] | None,
    ) -> None:
        n_features = featurizer.n_features
        n_aspects = len(aspects)
        det_w, det_b, thresholds = detection
        pol_w, pol_b = polarity
        expected = {
            "detection weights": ((n_features, n_aspects), det_w.shape),
            "detection bias": ((n_aspects,), det_b.shape),
            "thresholds": ((n_aspects,), thresholds.shape),
            "polarity weights": ((n_features, 3 * n_aspects), pol_w.shape),
            "polarity bias": ((3 * n_aspects,), pol_b.shape),
        }
        for what, (want, got) in expected.items():
            if want != got:
                msg = f"aspect model {what} must have shape {want}, got {got}"
                raise ModelError(msg)
        self.manifest = manifest
        self.featurizer = featurizer
        self.aspects = tuple(aspects)
        self.domain = str(manifest.labels.get("domain", manifest.name))
        categories = manifest.labels.get("categories") or [self.domain]
        self.categories = frozenset(str(c) for c in categories)
        """The product categories this model's aspects belong to."""
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self._det_w, self._pol_w = det_w, pol_w
        columns = [det_w, pol_w]
        bias = [det_b, pol_b]
        self.has_gate = gate is not None
        self.gate_threshold = 0.0
        if gate is not None:
            gate_w, gate_b, self.gate_threshold = gate
            if gate_w.shape != (n_features, 1):
                msg = f"domain gate weights must be ({n_features}, 1), got {gate_w.shape}"
                raise ModelError(msg)
            columns.append(gate_w)
            bias.append(np.array([gate_b]))
            self._gate_w: FloatMatrix | None = gate_w
            self._gate_b = float(gate_b)
        else:
            self._gate_w = None
            self._gate_b = 0.0
        self._weights = np.ascontiguousarray(np.hstack(columns), dtype=np.float32)
        self._bias = np.concatenate(bias).astype(np.float64)

    @property
    def version(self) -> str:
        """Versioned name, e.g. ``aspects-phone-fast-1.0.0``."""
        return self.manifest.versioned_name

    # -- inference --------------------------------------------------------------------------

    def scores_tokens(self, token_lists: Sequence[Sequence[str]]) -> AspectScores:
        """Compute detection, polarity and domain probabilities for a batch of token lists."""
        n, n_aspects = len(token_lists), len(self.aspects)
        if n == 0:
            return AspectScores(np.zeros((0, n_aspects)), np.zeros((0, n_aspects, 3)), np.zeros(0))
        features = self.featurizer.transform(token_lists)
        raw = np.asarray(features @ self._weights, dtype=np.float64) + self._bias
        detection = expit(raw[:, :n_aspects])
        logits = raw[:, n_aspects : 4 * n_aspects].reshape(n, n_aspects, 3)
        logits -= logits.max(axis=2, keepdims=True)
        polarity = np.exp(logits)
        polarity /= polarity.sum(axis=2, keepdims=True)
        domain = expit(raw[:, -1]) if self.has_gate else np.ones(n)
        return AspectScores(detection, polarity, domain)

    def in_domain(
        self, scores: AspectScores, categories: Sequence[str | None]
    ) -> npt.NDArray[np.bool_]:
        """Which texts may get this model's aspects.

        A known category must be one of the model's; an unknown one needs the gate (without
        a gate: never).
        """
        if self.has_gate:
            passed = scores.domain >= self.gate_threshold
        else:
            passed = np.zeros(len(scores.domain), dtype=bool)
        known = np.array([c is not None for c in categories], dtype=bool)
        mine = np.array([c in self.categories for c in categories], dtype=bool)
        allowed: npt.NDArray[np.bool_] = np.where(known, mine, passed)
        return allowed

    def hits_from_scores(
        self,
        scores: AspectScores,
        *,
        gate: bool = True,
        categories: Sequence[str | None] | None = None,
    ) -> list[tuple[AspectHit, ...]]:
        """Aspects above their thresholds per text.

        With ``categories`` (one per text, None when unknown), only the texts
        :meth:`in_domain` allows; without, the texts the gate passes (all texts when
        ``gate`` is False or the model has no gate).
        """
        detected = scores.detection >= self.thresholds
        if categories is not None:
            detected &= self.in_domain(scores, categories)[:, None]
        elif gate and self.has_gate:
            detected &= (scores.domain >= self.gate_threshold)[:, None]
        polarity = scores.polarity.argmax(axis=2)
        out: list[tuple[AspectHit, ...]] = []
        for i in range(len(detected)):
            hits = tuple(
                AspectHit(
                    self.aspects[a],
                    float(scores.detection[i, a]),
                    SENTIMENTS[int(polarity[i, a])],
                )
                for a in np.flatnonzero(detected[i]).tolist()
            )
            out.append(hits)
        return out

    def predict_tokens(
        self, token_lists: Sequence[Sequence[str]], *, gate: bool = True
    ) -> list[tuple[AspectHit, ...]]:
        """Return the aspects found in each token list, with their polarity."""
        return self.hits_from_scores(self.scores_tokens(token_lists), gate=gate)

    def predict_batch(self, batch: Batch) -> list[tuple[AspectHit, ...]]:
        """Aspects of each message of a batch, by its known category or by the gate.

        Only the messages that may get aspects are scored.
        """
        categories = batch.categories()
        out: list[tuple[AspectHit, ...]] = [() for _ in categories]
        rows = [i for i, c in enumerate(categories) if c is None or c in self.categories]
        if not rows or (not self.has_gate and all(categories[i] is None for i in rows)):
            return out
        scores = self.scores_tokens([batch.tokens[i] for i in rows])
        hits = self.hits_from_scores(scores, categories=[categories[i] for i in rows])
        for i, found in zip(rows, hits, strict=True):
            out[i] = found
        return out

    def predict(self, texts: Sequence[str], *, gate: bool = True) -> list[tuple[AspectHit, ...]]:
        """Return the aspects found in each normalized text, with their polarity."""
        return self.predict_tokens([tokenize(t) for t in texts], gate=gate)

    # -- storage ----------------------------------------------------------------------------

    def to_arrays(self, *, prune_below: float = 0.0) -> Arrays:
        """Weights and tables as named arrays for :func:`nlp.artifacts.save_artifact`."""
        n_aspects = len(self.aspects)
        arrays = self.featurizer.to_arrays()
        arrays.update(pack_matrix("detection", self._det_w, prune_below=prune_below))
        arrays.update(pack_matrix("polarity", self._pol_w, prune_below=prune_below))
        arrays["detection_bias"] = self._bias[:n_aspects].copy()
        arrays["polarity_bias"] = self._bias[n_aspects : 4 * n_aspects].copy()
        arrays["thresholds"] = self.thresholds.copy()
        if self._gate_w is not None:
            arrays.update(pack_matrix("gate", self._gate_w, prune_below=prune_below))
            arrays["gate_bias_threshold"] = np.array([self._gate_b, self.gate_threshold])
        return arrays

    @classmethod
    def from_arrays(cls, manifest: Manifest, arrays: Arrays) -> AspectModel:
        """Rebuild a model from its manifest and arrays."""
        spec = FeatureSpec.from_dict(manifest.features)
        featurizer = Featurizer.from_arrays(spec, arrays)
        aspects = manifest.labels.get("aspects")
        if not isinstance(aspects, list) or not all(isinstance(a, str) for a in aspects):
            msg = f"manifest of {manifest.versioned_name} lacks labels.aspects"
            raise ModelError(msg)
        try:
            detection = (
                unpack_matrix("detection", arrays),
                arrays["detection_bias"].astype(np.float64),
                arrays["thresholds"].astype(np.float64),
            )
            polarity = (
                unpack_matrix("polarity", arrays),
                arrays["polarity_bias"].astype(np.float64),
            )
            gate = None
            if "gate_bias_threshold" in arrays:
                bias, threshold = arrays["gate_bias_threshold"].astype(np.float64)
                gate = (unpack_matrix("gate", arrays), float(bias), float(threshold))
        except KeyError as exc:
            msg = f"aspect weights of {manifest.versioned_name} lack {exc}"
            raise ModelError(msg) from exc
        return cls(manifest, featurizer, aspects, detection, polarity, gate)

    @classmethod
    def load(cls, path: Path | None = None, *, name: str | None = None) -> AspectModel:
        """Load an artifact directory, or the newest packaged default (of ``name``)."""
        target = path if path is not None else default_artifact(KIND, name)
        manifest, arrays = load_artifact(target, kind=KIND)
        return cls.from_arrays(manifest, arrays)
