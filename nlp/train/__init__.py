"""Training of the fast models, from JSONL data sets to a saved artifact with its card.

One trainer per kind of model, each reading as its phases (:class:`nlp.train.base.Trainer`:
load, fit, select on dev, refit, write the card):

=========  =========================================  =====================================
task       trainer                                    artifact
=========  =========================================  =====================================
sentiment  :class:`~nlp.train.sentiment.SentimentTrainer`  ``sentiment-fast``
topics     :class:`~nlp.train.labels.LabelTrainer`          ``topics-fast``
flags      :class:`~nlp.train.labels.LabelTrainer`          ``flags-fast``
aspects    :class:`~nlp.train.aspects.AspectTrainer`        ``aspects-<domain>-fast``
=========  =========================================  =====================================

Train splits fit, dev splits choose (regularization, thresholds, calibration); test splits
are never read here. Settings are one validated dataclass, :class:`TrainSettings`, saved in
the manifest with the data revisions and the git commit.
"""

from __future__ import annotations

from pathlib import Path

from nlp.train.aspects import AspectTrainer
from nlp.train.base import Progress, Trainer, TrainResult, noop
from nlp.train.cards import train_command, write_card
from nlp.train.labels import LabelTrainer
from nlp.train.sentiment import SentimentTrainer, weak_label
from nlp.train.settings import TASKS, TrainSettings, default_features
from schemas.errors import ConfigError

__all__ = [
    "TASKS",
    "TrainResult",
    "TrainSettings",
    "default_features",
    "train",
    "train_aspects",
    "train_command",
    "train_flags",
    "train_sentiment",
    "train_topics",
    "trainer_for",
    "weak_label",
    "write_card",
]

_TRAINERS: dict[str, type[Trainer]] = {  # type: ignore[type-arg]
    "sentiment": SentimentTrainer,
    "topics": LabelTrainer,
    "flags": LabelTrainer,
    "aspects": AspectTrainer,
}


def trainer_for(
    data_dir: Path | None, out_dir: Path, settings: TrainSettings, progress: Progress = noop
) -> Trainer:  # type: ignore[type-arg]
    """The trainer of ``settings.task``."""
    return _TRAINERS[settings.task](data_dir, out_dir, settings, progress)


def train(
    data_dir: Path | None, out_dir: Path, settings: TrainSettings, progress: Progress = noop
) -> TrainResult:
    """Train the model of ``settings.task`` and save it under ``out_dir``."""
    return trainer_for(data_dir, out_dir, settings, progress).run()


def _checked(settings: TrainSettings, task: str) -> TrainSettings:
    if settings.task != task:
        msg = f"train_{task} needs task={task!r}, got {settings.task!r}"
        raise ConfigError(msg)
    return settings


def train_sentiment(
    data_dir: Path | None, out_dir: Path, settings: TrainSettings, progress: Progress = noop
) -> TrainResult:
    """Train, select and calibrate on dev, and save a sentiment artifact under ``out_dir``."""
    return train(data_dir, out_dir, _checked(settings, "sentiment"), progress)


def train_aspects(
    data_dir: Path | None, out_dir: Path, settings: TrainSettings, progress: Progress = noop
) -> TrainResult:
    """Train, select on dev and save an aspect artifact for one domain under ``out_dir``."""
    return train(data_dir, out_dir, _checked(settings, "aspects"), progress)


def train_topics(out_dir: Path, settings: TrainSettings, progress: Progress = noop) -> TrainResult:
    """Train the topic model on the corpus of ``settings.corpus``."""
    return train(None, out_dir, _checked(settings, "topics"), progress)


def train_flags(out_dir: Path, settings: TrainSettings, progress: Progress = noop) -> TrainResult:
    """Train the flag model on the corpus of ``settings.corpus``."""
    return train(None, out_dir, _checked(settings, "flags"), progress)
