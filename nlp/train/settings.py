"""The one validated dataclass of every training choice, saved in each artifact's manifest."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from nlp.cues import MARKER_FAMILIES
from nlp.features import FeatureSpec
from schemas.errors import ConfigError

Task = Literal["sentiment", "topics", "flags", "aspects"]
TASKS: tuple[Task, ...] = ("sentiment", "topics", "flags", "aspects")

DEFAULT_MARKERS: dict[str, tuple[str, ...]] = {
    "sentiment": ("source", "shape", "lexicon", "sarcasm"),
    "topics": ("source", "shape", "topics"),
    "flags": MARKER_FAMILIES,
    "aspects": (),
}
"""Marker families each task reads by default (:mod:`nlp.cues`)."""


def default_features(task: str) -> FeatureSpec:
    """The feature spec a task trains with unless told otherwise."""
    return FeatureSpec(markers=DEFAULT_MARKERS.get(task, ()))


@dataclass(frozen=True)
class TrainSettings:
    """Every choice of one training run; validated on construction, saved in the manifest."""

    task: Task
    datasets: tuple[str, ...] = ()
    """Public data set folders to train on; empty: every folder with the task's labels."""
    corpus: Path | None = None
    """The CX corpus folder (``corpus/cx``: train/dev/test JSONL labelled per
    ``docs/labelling.md``); the topic and flag models need it, sentiment learns from it,
    aspect gates take their out-of-domain texts from it."""
    name: str | None = None
    """Artifact name; default ``sentiment-fast``, ``topics-fast``, ``flags-fast`` or
    ``aspects-<domain>-fast``."""
    version: str = "1.0.0"
    domain: str | None = None
    """Aspects: the domain the aspect set describes (default: the data set name)."""
    categories: tuple[str, ...] = ()
    """Aspects: the corpus categories that are this domain (default: the domain)."""
    features: FeatureSpec | None = None
    """N-grams and marker families; None: the task's default (:func:`default_features`)."""
    c_grid: tuple[float, ...] = (1.0, 4.0, 16.0)
    """Inverse L2 strengths tried for each head; dev picks one."""
    augment_no_diacritics: bool = True
    """Add a diacritics-free copy of every training text."""
    corpus_weight: float = 3.0
    """Sentiment: weight of a corpus example against one of a public data set."""
    binary_weight: float = 1.0
    """Sentiment: weight of examples from two-class data sets in the polarity head."""
    weak_polarity: bool = True
    """Sentiment: the polarity head also learns from data sets without document labels:
    star rating 1-2 is negative and 5 positive; all aspects negative (positive) is negative
    (positive). Texts with mixed or no such signal are not used."""
    weak_weight: float = 1.0
    """Sentiment: weight of those weakly labelled examples."""
    binary_in_neutral: float = 0.3
    """Sentiment: weight (relative to their own) of two-class examples in the neutrality
    head, as polar examples; 0: that head learns from three-class data only."""
    nb_strength: float = 0.5
    """Naive-Bayes scaling of the features of each linear head (Wang and Manning, 2012):
    a column is multiplied by ``(1 - nb_strength) + nb_strength * |r|``, ``r`` its log-count
    ratio between the head's two classes on train, before the head is fitted (the saved
    weights take the scale in, so inference is unchanged); 0: off. On the dev splits, 0.5
    against 0 raised every data set's sentiment F1 (aivivn2019_sa +0.008, vlsp2016_sa
    +0.017, the corpus +0.011) and their no-diacritics copies alike, topics micro-F1 0.877 ->
    0.881 and flags micro-F1 0.890 -> 0.900. Aspect models do not use it."""
    folds: int = 5
    """Topics and flags: folds of the cross-fitting that chooses the thresholds."""
    gate_negatives: tuple[str, ...] | None = None
    """Aspects: public data sets whose texts are *out* of the domain, for the domain gate;
    None: every other data set with aspect labels; empty: none (the gate then learns from
    the corpus alone, with a stricter threshold, and training warns)."""
    gate_recall: float = 0.99
    """Aspects: share of in-domain dev texts the gate should let through."""
    gate_max_out: float = 0.005
    """Aspects: the largest share of out-of-domain dev texts that may get an aspect past
    the gate (it wins over ``gate_recall``)."""
    min_dev_support: int = 25
    """Aspects, topics, flags: a label gets its own threshold only with this many mentions."""
    prune_below: float = 1e-3
    """Weights smaller than this (absolute) are dropped from the saved artifact."""
    refit_on_dev: bool = False
    """After dev has chosen the hyperparameters, refit on train + dev. The dev-fitted parts
    (thresholds, calibration) then come from cross-fitting, and the dev scores in the
    manifest are out-of-fold scores."""
    max_iter: int = 3000
    seed: int = 13

    def __post_init__(self) -> None:
        problems = []
        if self.task not in TASKS:
            problems.append(f"task must be one of {TASKS}, got {self.task!r}")
        if not self.c_grid or any(c <= 0 for c in self.c_grid):
            problems.append(f"c_grid must hold positive numbers, got {self.c_grid}")
        for name in ("binary_weight", "weak_weight", "corpus_weight", "binary_in_neutral"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.nb_strength <= 1.0:
            problems.append(f"nb_strength must be in [0, 1], got {self.nb_strength}")
        if not 0.5 <= self.gate_recall <= 1.0:
            problems.append(f"gate_recall must be in [0.5, 1], got {self.gate_recall}")
        if not 0.0 <= self.gate_max_out <= 0.5:
            problems.append(f"gate_max_out must be in [0, 0.5], got {self.gate_max_out}")
        if self.folds < 2:
            problems.append(f"folds must be >= 2, got {self.folds}")
        if self.prune_below < 0:
            problems.append(f"prune_below must be >= 0, got {self.prune_below}")
        if self.max_iter < 10:
            problems.append(f"max_iter must be >= 10, got {self.max_iter}")
        markers = self.spec.markers
        unknown = set(markers) - set(MARKER_FAMILIES)
        if unknown:
            problems.append(f"unknown marker families {sorted(unknown)}; known: {MARKER_FAMILIES}")
        if problems:
            raise ConfigError("invalid training settings: " + "; ".join(problems))

    @property
    def spec(self) -> FeatureSpec:
        """The feature spec of this run (the task's default unless given)."""
        return self.features if self.features is not None else default_features(self.task)

    @property
    def copies(self) -> int:
        """How many copies of each training text are fitted (2 with augmentation)."""
        return 2 if self.augment_no_diacritics else 1

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values for the manifest (the corpus as its folder name)."""
        data = asdict(self)
        data["features"] = self.spec.to_dict()
        data["corpus"] = self.corpus.name if self.corpus is not None else None
        return data


__all__ = ["DEFAULT_MARKERS", "TASKS", "Task", "TrainSettings", "default_features"]
