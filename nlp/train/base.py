"""What every trainer shares: phases, labelled rows, fitting helpers, the data record.

The rows are labelled texts with their context; the record says what data and code trained
an artifact.

A :class:`Trainer` reads as its phases, like setfit's trainer::

    data = trainer.load()                      # read the splits into labelled rows
    candidates = trainer.fit(data)             # one fitted candidate per hyperparameter choice
    choice = trainer.select(data, candidates)  # dev picks one
    final = trainer.refit(data, choice)        # the shipped heads, thresholds, calibration
    result = trainer.write(data, final)        # artifact, manifest and model card

Test splits are never read here. scikit-learn fits the linear heads; artifacts hold plain
arrays and inference needs only numpy and scipy.
"""

from __future__ import annotations

import random
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from nlp.artifacts import Arrays, Manifest, pack_matrix, save_artifact, unpack_matrix
from nlp.cues import Reader, default_reader
from nlp.datasets import DatasetInfo, Example, discover, model_text, open_dataset
from nlp.features import Featurizer, tokenize
from nlp.normalize import strip_diacritics
from nlp.sentiment import Platt
from nlp.train.settings import TrainSettings
from nlp.types import MessageContext
from schemas.errors import ConfigError

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called as training advances."""

Float64 = npt.NDArray[np.float64]
Float32 = npt.NDArray[np.float32]

PREPROCESSING = "nlp.datasets.model_text(raw): the text the flow gives the enricher"
REPOSITORY = Path(__file__).resolve().parents[2]


def noop(step: str, done: int, total: int) -> None:
    """A progress callback that reports nothing."""
    return None


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    path: Path
    manifest: Manifest
    dev_scores: dict[str, Any]
    warnings: tuple[str, ...] = ()
    """Things the user should know about the artifact (e.g. a gate without negatives)."""


@dataclass
class Rows:
    """Labelled examples as the models see them: normalized texts with their context."""

    texts: list[str] = field(default_factory=list)
    contexts: list[MessageContext] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    """The data set each row comes from."""

    def __len__(self) -> int:
        return len(self.texts)

    def add(
        self,
        examples: Iterable[Example],
        label: Callable[[Example], Any],
        group: str,
        weight: float = 1.0,
    ) -> None:
        """Append examples with the label ``label(example)`` (None: skip the example)."""
        for ex in examples:
            value = label(ex)
            if value is None:
                continue
            self.texts.append(model_text(ex.text))
            self.contexts.append(ex.context)
            self.labels.append(value)
            self.weights.append(weight)
            self.groups.append(group)

    def take(self, index: Iterable[int]) -> Rows:
        """The rows at ``index``, in that order."""
        index = list(index)
        return Rows(
            [self.texts[i] for i in index],
            [self.contexts[i] for i in index],
            [self.labels[i] for i in index],
            [self.weights[i] for i in index],
            [self.groups[i] for i in index],
        )

    def __add__(self, other: Rows) -> Rows:
        return Rows(
            self.texts + other.texts,
            self.contexts + other.contexts,
            self.labels + other.labels,
            self.weights + other.weights,
            self.groups + other.groups,
        )

    def where(self, group: str) -> list[int]:
        """Positions of the rows of one data set."""
        return [i for i, g in enumerate(self.groups) if g == group]


@dataclass
class Encoded:
    """Tokens and markers of some rows (and their diacritics-free copies), ready to fit."""

    tokens: list[list[str]]
    markers: list[list[str]]
    copies: int
    """How many copies of each row: row i of copy c is at ``c * n + i``."""

    def matrix(self, featurizer: Featurizer) -> sp.csr_matrix:
        """The feature matrix of these rows under ``featurizer``."""
        return featurizer.transform(self.tokens, self.markers if featurizer.markers else None)


def encode(
    rows: Rows, settings: TrainSettings, *, augment: bool, reader: Reader | None = None
) -> Encoded:
    """Tokens and markers of ``rows`` (plus folded copies when ``augment`` and enabled)."""
    reader = reader or default_reader()
    families = settings.spec.markers
    texts = list(rows.texts)
    contexts = list(rows.contexts)
    copies = 1
    if augment and settings.augment_no_diacritics:
        texts += [strip_diacritics(t) for t in rows.texts]
        contexts += contexts
        copies = 2
    tokens = [tokenize(t) for t in texts]
    if families:
        markers = [r.markers(families) for r in reader.read_all(texts, contexts)]
    else:
        markers = [[] for _ in texts]
    return Encoded(tokens, markers, copies)


def fit_featurizer(encoded: Encoded, settings: TrainSettings) -> Featurizer:
    """A featurizer fitted on encoded training rows."""
    return Featurizer.fit(encoded.tokens, settings.spec, encoded.markers)


def logistic(c: float, settings: TrainSettings, *, balanced: bool = False) -> Any:
    """A scikit-learn logistic regression (imported here: training only)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=c,
        max_iter=settings.max_iter,
        tol=1e-4,
        class_weight="balanced" if balanced else None,
    )


def nb_scale(
    x: Any,
    positive: npt.NDArray[np.bool_],
    negative: npt.NDArray[np.bool_],
    weights: Float64,
    strength: float,
) -> Float64:
    """Naive-Bayes scale of each column of ``x`` (NBSVM, Wang and Manning 2012).

    For a head that tells ``positive`` rows from ``negative`` ones, softened by ``strength``:
    ``r`` is the log ratio of the (weighted, add-one smoothed) share of each class's rows
    that have the column; a column's scale is ``(1 - strength) + strength * |r|``, so a
    column that tells the classes apart weighs more before the L2 penalty. Fit the head on
    ``x @ diag(scale)`` and save ``coef * scale``: the same model on the plain features.
    """
    present = (x > 0).astype(np.float64).tocsr()
    pos = 1.0 + np.asarray(present[positive].T @ weights[positive]).ravel()
    neg = 1.0 + np.asarray(present[negative].T @ weights[negative]).ravel()
    ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
    return np.asarray((1.0 - strength) + strength * np.abs(ratio), dtype=np.float64)


def fit_head(
    x: Any,
    used: npt.NDArray[np.bool_],
    target: npt.NDArray[np.bool_],
    weights: Float64,
    c: float,
    settings: TrainSettings,
) -> tuple[Float64, float]:
    """Fit one logistic head on the ``used`` rows of ``x``: its weights and intercept.

    With ``settings.nb_strength`` the features are first scaled by :func:`nb_scale`; the
    returned weights have the scale folded in, so they apply to the plain features.
    """
    x = x.tocsr()
    scale = np.ones(x.shape[1])
    if settings.nb_strength > 0:
        scale = nb_scale(x, used & target, used & ~target, weights, settings.nb_strength)
        x = x @ sp.diags(scale)
    fitted = logistic(c, settings).fit(x[used], target[used], sample_weight=weights[used])
    return np.asarray(fitted.coef_[0] * scale, dtype=np.float64), float(fitted.intercept_[0])


def fit_platt(scores: Float64, target: npt.NDArray[np.bool_]) -> Platt:
    """Platt scaling of raw scores to probabilities, fitted by maximum likelihood."""
    if len(set(target.tolist())) < 2:
        return Platt()
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=1e6, max_iter=1000).fit(scores.reshape(-1, 1), target)
    return Platt(float(fitted.coef_[0, 0]), float(fitted.intercept_[0]))


def as_saved(weights: Float32, below: float) -> Float32:
    """The weights exactly as the artifact holds them (pruned, int8-quantized)."""
    return unpack_matrix("w", pack_matrix("w", weights, prune_below=below)).reshape(weights.shape)


def folds_of(n: int, k: int, seed: int) -> list[list[int]]:
    """A seeded split of ``range(n)`` into ``k`` folds (for cross-fitting)."""
    order = list(range(n))
    random.Random(seed).shuffle(order)  # noqa: S311 - reproducible split
    return [sorted(order[j::k]) for j in range(k)]


def git_commit() -> str:
    """The commit of the repository the code runs from (``+dirty`` with local changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if status else "")


def data_record(used: dict[str, Sequence[DatasetInfo]]) -> dict[str, Any]:
    """The data block of a manifest: data sets per split, their revisions, the code commit."""
    revisions = {info.name: info.revision for infos in used.values() for info in infos}
    return {
        "splits": {split: [i.name for i in infos] for split, infos in used.items()},
        "revisions_sha256": revisions,
        "revision_note": "sha256 of each data set's meta.json, or of its split files",
        "git_commit": git_commit(),
    }


@dataclass
class Sources:
    """The public data sets and the CX corpus a run reads."""

    available: list[DatasetInfo]
    corpus: DatasetInfo | None

    @classmethod
    def open(cls, data_dir: Path | None, settings: TrainSettings) -> Sources:
        """Describe ``data_dir`` (public data sets; may be None) and the corpus folder."""
        available = discover(data_dir) if data_dir is not None else []
        corpus = None
        if settings.corpus is not None:
            corpus = open_dataset(settings.corpus)
            if not corpus.has_cx_labels():
                msg = f"{settings.corpus} is not a CX corpus: its lines lack topics and flags"
                raise ConfigError(msg)
            if "dev" not in corpus.splits:
                msg = f"the corpus {settings.corpus} has no dev.jsonl; dev chooses the settings"
                raise ConfigError(msg)
        available = [d for d in available if corpus is None or d.path != corpus.path]
        return cls(available, corpus)


D = TypeVar("D")
C = TypeVar("C")
S = TypeVar("S")
F = TypeVar("F")


class Trainer(ABC, Generic[D, C, S, F]):
    """The phases of a training run; subclasses fill them in for one kind of model."""

    def __init__(
        self,
        data_dir: Path | None,
        out_dir: Path,
        settings: TrainSettings,
        progress: Progress = noop,
    ) -> None:
        self.data_dir = data_dir
        self.out_dir = out_dir
        self.settings = settings
        self.progress = progress
        self.warnings: list[str] = []

    def run(self) -> TrainResult:
        """Load, fit, select on dev, refit and write the artifact with its card."""
        self.progress("reading data", 0, 1)
        data = self.load()
        self.progress("reading data", 1, 1)
        candidates = self.fit(data)
        choice = self.select(data, candidates)
        final = self.refit(data, choice)
        return self.write(data, final)

    @abstractmethod
    def load(self) -> D:
        """Read the train and dev splits into labelled rows."""

    @abstractmethod
    def fit(self, data: D) -> list[C]:
        """Fit one candidate per hyperparameter choice on the train rows."""

    @abstractmethod
    def select(self, data: D, candidates: list[C]) -> S:
        """Score the candidates on dev and return the best."""

    @abstractmethod
    def refit(self, data: D, choice: S) -> F:
        """Build the shipped model from the chosen candidate (train, or train + dev)."""

    @abstractmethod
    def write(self, data: D, final: F) -> TrainResult:
        """Save the artifact, its manifest and its model card."""

    def save(
        self, manifest: Manifest, arrays: Arrays, card: str, dev_scores: dict[str, Any]
    ) -> TrainResult:
        """Write the artifact under the output folder, with progress; what ``write`` returns."""
        self.progress("saving", 0, 1)
        path = save_artifact(self.out_dir, manifest, arrays, card)
        self.progress("saving", 1, 1)
        return TrainResult(path, manifest, dev_scores, tuple(self.warnings))
