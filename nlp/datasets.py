"""Labelled data in the project's JSON Lines schema, and the text view the models see.

A data directory holds one folder per dataset, each with ``train.jsonl``, ``dev.jsonl`` and
``test.jsonl`` (and optionally ``meta.json``). Every line is one object::

    {"text": "...", "sentiment": "negative|neutral|positive" | null,
     "aspects": [{"aspect": "BATTERY", "sentiment": "negative"}], "topic": null,
     "rating": 1-5 | null}

A *CX-labelled* data set (the project's corpus, ``corpus/cx``, see ``docs/labelling.md``)
also gives each line its ``source`` (review, chat, social, survey), ``category``,
``topics`` with ``topic_sentiments``, ``flags`` and style ``tags``; the topic and flag
models learn from those, and ``voc eval`` scores the whole enricher on them.

Users retrain on their own labelled data by writing the same files. Nothing here reads a
fixed path: the directory is always passed in.

The models are trained and evaluated on exactly what the flow gives the enricher:
:func:`model_text`, ``normalize(redact(raw).text)``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from nlp.normalize import normalize
from nlp.pii import redact
from nlp.types import FLAGS, SENTIMENTS, MessageContext, Sentiment
from schemas.errors import SchemaError

SPLITS = ("train", "dev", "test")

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus" / "cx"
"""The project's CX corpus (``corpus/cx``), in a source checkout."""


def default_corpus() -> Path | None:
    """The CX corpus folder of the checkout, or None where it is not there."""
    return CORPUS_DIR if (CORPUS_DIR / "train.jsonl").is_file() else None


@dataclass(frozen=True, slots=True)
class AspectLabel:
    """One labelled aspect of a text; ``sentiment`` is None for aspects without polarity."""

    aspect: str
    sentiment: Sentiment | None


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text."""

    text: str
    sentiment: Sentiment | None
    aspects: tuple[AspectLabel, ...]
    rating: int | None
    source: str | None = None
    category: str | None = None
    topics: tuple[str, ...] | None = None
    """CX topics; None when the data set does not label topics."""
    topic_sentiments: tuple[tuple[str, Sentiment], ...] = ()
    flags: tuple[str, ...] | None = None
    """CX flags; None when the data set does not label flags."""
    tags: tuple[str, ...] = ()
    id: str | None = None

    @property
    def context(self) -> MessageContext:
        """What the flow would know about this message besides its text."""
        return MessageContext(self.source, self.category, self.rating)


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """A dataset folder: its name, its split files and the revision of its content."""

    name: str
    path: Path
    splits: tuple[str, ...]
    revision: str
    """sha256 of ``meta.json`` when present (it records the file hashes), else of the splits."""

    def split_path(self, split: str) -> Path:
        """Path of ``<split>.jsonl``."""
        return self.path / f"{split}.jsonl"

    def load(self, split: str) -> list[Example]:
        """Read one split."""
        if split not in self.splits:
            msg = f"dataset {self.name} has no {split}.jsonl (found: {', '.join(self.splits)})"
            raise SchemaError(msg)
        return read_jsonl(self.split_path(split))

    def has_sentiment(self) -> bool:
        """Whether the train split carries document sentiment labels (first 200 lines)."""
        head = islice(iter_jsonl(self.split_path("train")), 200)
        return any(ex.sentiment is not None for ex in head)

    def has_aspects(self) -> bool:
        """Whether the train split carries aspect labels (first 200 lines)."""
        return any(ex.aspects for ex in islice(iter_jsonl(self.split_path("train")), 200))

    def has_cx_labels(self) -> bool:
        """Whether the train split carries CX topic and flag labels (first 200 lines)."""
        head = islice(iter_jsonl(self.split_path("train")), 200)
        return any(ex.topics is not None and ex.flags is not None for ex in head)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def open_dataset(path: Path) -> DatasetInfo:
    """Describe the dataset folder at ``path`` (it must hold at least ``train.jsonl``)."""
    if not (path / "train.jsonl").is_file():
        msg = f"dataset folder {path} has no train.jsonl"
        raise SchemaError(msg)
    splits = tuple(s for s in SPLITS if (path / f"{s}.jsonl").is_file())
    meta = path / "meta.json"
    if meta.is_file():
        revision = _sha256(meta)
    else:
        digest = hashlib.sha256()
        for split in splits:
            digest.update(_sha256(path / f"{split}.jsonl").encode())
        revision = digest.hexdigest()
    return DatasetInfo(name=path.name, path=path, splits=splits, revision=revision)


def discover(data_dir: Path) -> list[DatasetInfo]:
    """Every dataset folder directly under ``data_dir``, sorted by name."""
    if not data_dir.is_dir():
        msg = f"data directory {data_dir} does not exist or is not a directory"
        raise SchemaError(msg)
    found = [
        open_dataset(child)
        for child in sorted(data_dir.iterdir())
        if child.is_dir() and (child / "train.jsonl").is_file()
    ]
    if not found:
        msg = f"no dataset folders with a train.jsonl under {data_dir}"
        raise SchemaError(msg)
    return found


def select(datasets: list[DatasetInfo], names: tuple[str, ...]) -> list[DatasetInfo]:
    """Return the datasets named in ``names``, in that order; an unknown name is an error."""
    by_name = {d.name: d for d in datasets}
    missing = [n for n in names if n not in by_name]
    if missing:
        msg = f"dataset(s) {', '.join(missing)} not found; available: {', '.join(by_name)}"
        raise SchemaError(msg)
    return [by_name[n] for n in names]


def _parse_line(obj: object, where: str) -> Example:
    if not isinstance(obj, dict):
        msg = f"{where}: expected a JSON object, got {type(obj).__name__}"
        raise SchemaError(msg)
    text = obj.get("text")
    if not isinstance(text, str):
        msg = f"{where}: expected 'text' to be a string, got {text!r}"
        raise SchemaError(msg)
    sentiment = obj.get("sentiment")
    if sentiment is not None and sentiment not in SENTIMENTS:
        msg = f"{where}: expected 'sentiment' in {SENTIMENTS} or null, got {sentiment!r}"
        raise SchemaError(msg)
    raw_aspects = obj.get("aspects") or []
    if not isinstance(raw_aspects, list):
        msg = f"{where}: expected 'aspects' to be a list, got {raw_aspects!r}"
        raise SchemaError(msg)
    aspects: list[AspectLabel] = []
    for item in raw_aspects:
        if not isinstance(item, dict) or not isinstance(item.get("aspect"), str):
            msg = f"{where}: expected aspects like {{'aspect': str, ...}}, got {item!r}"
            raise SchemaError(msg)
        polarity = item.get("sentiment")
        if polarity is not None and polarity not in SENTIMENTS:
            msg = f"{where}: expected aspect sentiment in {SENTIMENTS} or null, got {polarity!r}"
            raise SchemaError(msg)
        aspects.append(AspectLabel(item["aspect"], polarity))
    rating = obj.get("rating")
    if rating is not None and (not isinstance(rating, int) or not 1 <= rating <= 5):
        msg = f"{where}: expected 'rating' 1-5 or null, got {rating!r}"
        raise SchemaError(msg)
    topics = _names(obj, "topics", where)
    flags = _names(obj, "flags", where)
    if flags is not None and not set(flags) <= set(FLAGS):
        msg = f"{where}: expected 'flags' among {FLAGS}, got {list(flags)}"
        raise SchemaError(msg)
    raw_topic_sentiments = obj.get("topic_sentiments") or {}
    if not isinstance(raw_topic_sentiments, dict) or not all(
        v in SENTIMENTS for v in raw_topic_sentiments.values()
    ):
        msg = (
            f"{where}: expected 'topic_sentiments' as {{topic: sentiment}}, "
            f"got {raw_topic_sentiments!r}"
        )
        raise SchemaError(msg)
    strings = {}
    for key in ("source", "category", "id"):
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            msg = f"{where}: expected {key!r} to be a string or null, got {value!r}"
            raise SchemaError(msg)
        strings[key] = value
    return Example(
        text=text,
        sentiment=sentiment,
        aspects=tuple(aspects),
        rating=rating,
        source=strings["source"],
        category=strings["category"],
        topics=topics,
        topic_sentiments=tuple(sorted(raw_topic_sentiments.items())),
        flags=flags,
        tags=_names(obj, "tags", where) or (),
        id=strings["id"],
    )


def _names(obj: dict[str, object], key: str, where: str) -> tuple[str, ...] | None:
    """A list of strings under ``key`` as a tuple; None when the key is absent."""
    if key not in obj or obj[key] is None:
        return None
    value = obj[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{where}: expected {key!r} to be a list of strings, got {value!r}"
        raise SchemaError(msg)
    return tuple(value)


def iter_jsonl(path: Path) -> Iterator[Example]:
    """Yield the examples of one JSONL file, validating each line."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                msg = f"{where}: expected one JSON object per line ({exc.msg})"
                raise SchemaError(msg) from exc
            yield _parse_line(obj, where)


def read_jsonl(path: Path) -> list[Example]:
    """All examples of one JSONL file."""
    return list(iter_jsonl(path))


def model_text(raw: str) -> str:
    """Return the text the enricher receives for a raw message: normalized, PII redacted.

    Training and evaluation go through this function so that the models see exactly what
    the flow gives them.
    """
    return normalize(redact(raw).text)


def example_to_json(ex: Example) -> dict[str, object]:
    """Return one example as the JSON object of the data schema."""
    out: dict[str, object] = {
        "text": ex.text,
        "sentiment": ex.sentiment,
        "aspects": [{"aspect": a.aspect, "sentiment": a.sentiment} for a in ex.aspects],
        "topic": None,
        "rating": ex.rating,
    }
    if ex.id is not None:
        out["id"] = ex.id
    for key in ("source", "category"):
        if getattr(ex, key) is not None:
            out[key] = getattr(ex, key)
    if ex.topics is not None:
        out["topics"] = list(ex.topics)
        out["topic_sentiments"] = dict(ex.topic_sentiments)
    if ex.flags is not None:
        out["flags"] = list(ex.flags)
    if ex.tags:
        out["tags"] = list(ex.tags)
    return out


def write_jsonl(path: Path, examples: list[Example]) -> None:
    """Write examples in the data schema, one JSON object per line (creates parent dirs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for ex in examples:
            handle.write(json.dumps(example_to_json(ex), ensure_ascii=False) + "\n")
