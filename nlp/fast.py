"""The ``fast`` enricher: trained sentiment, topic, flag and aspect models over rule evidence.

:class:`FastEnricher` implements :class:`nlp.types.Enricher` on whole batches:

1. every text is tokenized and read once by the rule tables (:class:`nlp.cues.Reader`:
   lexicon, taxonomy keywords, flag cues, filler), with its context (source, category);
2. the sentiment model (:mod:`nlp.sentiment`) gives the label and a probability calibrated
   for the message's source; filler is neutral;
3. the topic model (:mod:`nlp.labels`, ``topics-fast``) decides the packaged topics the
   taxonomy still lists, from the words and the keyword evidence; topics of a user's
   taxonomy the model does not know come from their keywords alone. A topic whose keywords
   sit in some clauses of a longer message takes their sentiment, read by the sentiment
   model in one more batched call, half and half with the message's: "giao nhanh nhưng áo
   xấu" is delivery positive, product_quality negative; any other topic takes the
   message's sentiment;
4. the flag model (``flags-fast``) decides complaint, question, praise, churn_risk and
   urgent on their own evidence; a complaint about a topic marked ``urgent`` in the
   taxonomy (product_safety, account_security) is urgent. ``rating_mismatch`` is left to
   the flow, which has the stars;
5. each aspect model (:mod:`nlp.aspects`) speaks only on messages of its own category, or,
   when the category is unknown, on those its domain gate passes.

The ``version`` names every model and the taxonomy's hash, e.g.
``fast:sentiment-fast-2.2.0+topics-fast-1.5.0+flags-fast-1.4.0+aspects-...+tax.1a2b3c4d``.
Models load in :func:`build_fast` (called by ``load_enricher("fast")`` at worker start),
never at import. The ``transformer`` enricher is the same class with a
:class:`nlp.transformer.TransformerSentiment` in place of the fast sentiment model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlp.artifacts import MODELS_DIR, find_artifacts, read_manifest, version_key
from nlp.aspects import AspectModel
from nlp.cues import Batch, Reader, Reading
from nlp.evaluate import SentimentPredictor
from nlp.features import tokenize
from nlp.flags import detect_flags
from nlp.labels import LabelModel
from nlp.sentiment import SentimentModel
from nlp.taxonomy import Taxonomy, load_taxonomy
from nlp.types import (
    FLAGS,
    SENTIMENTS,
    AspectHit,
    Enrichment,
    Flag,
    MessageContext,
    TopicHit,
)
from schemas.errors import ConfigError, ModelError

Float64 = npt.NDArray[np.float64]

CLAUSE_WEIGHT = 0.5
"""Share of the clauses' own sentiment in a topic's sentiment (the rest: the message's).

Chosen on the corpus dev split: 0.5 keeps the message's verdict for most topics and gives
each side of a mixed message its own ("giao nhanh nhưng áo xấu")."""

POLAR_CLAUSE: float | None = 0.6
"""A topic's clauses read positive or negative with at least this probability keep their
own verdict, whatever the message says (None: always blend)."""


@dataclass(frozen=True, slots=True)
class _Pending:
    """A topic of one message waiting for the sentiment of its clauses."""

    message: int
    topic: str
    score: float
    clauses: tuple[int, ...]
    """Indexes into the batch's clause rows."""


#: The lowest probability at which the topic model alone (no keyword of the topic in the
#: message) may tag a topic marked ``urgent`` in the taxonomy. The thresholds chosen on the
#: corpus (where such messages are common) were as low as 0.075 and tagged 9.3% of the
#: public review texts of the train splits (every 4th) product_safety or account_security.
#: With topics-fast-1.1.0 (trained with hard negatives: "cháy hàng", "giật lag", ...) and
#: the taxonomy's excludes, measured on the dev split with the model fitted on train only
#: and on 7,063 public review texts: bar 0.9 -> product_safety F1 0.803, 0.96% of the
#: public texts; 0.7 -> 0.831, one more public text ("k dám đổ thức ăn vào"); 0.4 -> 0.866
#: but 18 more public texts, nearly all plain quality complaints ("nứt", "bong chỉ").
#: topics-fast-1.2.0 (no length markers) at 0.7: 1.18% of those public texts.
URGENT_UNSEEDED_BAR = 0.7

#: The highest bar for the same topics where one of their keywords is in the message (the
#: corpus chose 0.875 for product_safety: "bị dị ứng, nổi mẩn khắp mặt" was missed).
URGENT_SEEDED_BAR = 0.5

#: The lowest probability at which the flag model alone (no cue of ``flags.yaml``) may flag
#: a message ``urgent``; an urgent flag opens a case. The threshold chosen on the corpus,
#: where one message in nine is urgent, was 0.275: on 7,063 public review texts (train
#: splits, every 4th) it flagged 0.79% urgent without an urgent topic, mostly plain quality
#: complaints. Measured on the dev split (model fitted on train only) and those texts: 0.4
#: -> dev urgent F1 0.863 -> 0.847, public 0.37%; 0.5 -> 0.835, 0.30%; 0.7 -> 0.812, 0.20%.
URGENT_FLAG_BAR = 0.5


class FastEnricher:
    """Sentiment, topics, flags and aspects from trained models and the rule tables."""

    def __init__(
        self,
        sentiment: SentimentPredictor,
        aspects: Sequence[AspectModel] = (),
        taxonomy: Taxonomy | None = None,
        *,
        topics: LabelModel | None = None,
        flags: LabelModel | None = None,
        prefix: str = "fast",
    ) -> None:
        self.sentiment = sentiment
        self.aspects = tuple(aspects)
        self.taxonomy = taxonomy or load_taxonomy()
        self.topic_model = topics
        self.flag_model = flags
        self.reader = Reader(self.taxonomy)
        self._model_topics: list[tuple[int, str]] = []
        if topics is not None:
            known = set(self.taxonomy.ids)
            self._model_topics = [(k, t) for k, t in enumerate(topics.labels) if t in known]
            # An urgent topic opens a case for customer service (flows/detect/cases.py): the
            # model alone, without one of its keywords, must be sure (URGENT_UNSEEDED_BAR);
            # with one, a hazard the customer names is not lost to a high bar.
            bars, seeded = topics.thresholds.copy(), topics.seeded_thresholds.copy()
            for k, topic in self._model_topics:
                if topic in self.taxonomy.urgent:
                    bars[k] = max(bars[k], URGENT_UNSEEDED_BAR)
                    seeded[k] = min(seeded[k], URGENT_SEEDED_BAR)
            topics.thresholds, topics.seeded_thresholds = bars, seeded
        if flags is not None and "urgent" in flags.labels:
            k = flags.labels.index("urgent")
            bars = flags.thresholds.copy()
            bars[k] = max(bars[k], URGENT_FLAG_BAR)
            flags.thresholds = bars
        learnt = {t for _, t in self._model_topics}
        self._seed_topics = frozenset(t for t in self.taxonomy.ids if t not in learnt)
        """Topics found by their keywords alone (all of them without a topic model)."""
        parts = [sentiment.version]
        parts += [m.version for m in (topics, flags) if m is not None]
        parts += [m.version for m in self.aspects]
        self._version = f"{prefix}:{'+'.join(parts)}+tax.{self.taxonomy.short_hash}"

    @property
    def version(self) -> str:
        """``fast:<sentiment>+<topics>+<flags>+<aspect models>+tax.<taxonomy hash>``."""
        return self._version

    def _proba(self, batch: Batch, texts: Sequence[str]) -> Float64:
        if isinstance(self.sentiment, SentimentModel):
            return self.sentiment.proba_batch(batch)
        return self.sentiment.predict_proba(texts)

    def enrich_batch(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> list[Enrichment]:
        """Return one :class:`Enrichment` per normalized, PII-redacted text, in order."""
        if not texts:
            return []
        batch = self.reader.batch(texts, contexts)
        proba = self._proba(batch, texts)
        if proba.shape != (len(texts), 3):
            msg = f"sentiment model {self.sentiment.version} returned shape {proba.shape}"
            raise ModelError(msg)
        best = proba.argmax(axis=1)
        labels = [SENTIMENTS[int(k)] for k in best]
        scores = [float(proba[i, k]) for i, k in enumerate(best)]

        topics = self._topics(batch, texts, proba)
        flags = self._flags(batch, labels, scores, topics)
        aspects: list[list[AspectHit]] = [[] for _ in texts]
        for model in self.aspects:
            for i, hits in enumerate(model.predict_batch(batch)):
                aspects[i].extend(hits)
        return [
            Enrichment(
                sentiment=labels[i],
                sentiment_score=round(scores[i], 4),
                topics=tuple(topics[i]),
                aspects=tuple(aspects[i]),
                flags=flags[i],
                model_version=self._version,
            )
            for i in range(len(texts))
        ]

    # -- topics -----------------------------------------------------------------------------

    def _topics(self, batch: Batch, texts: Sequence[str], proba: Float64) -> list[list[TopicHit]]:
        """Decide the topics of every message and give each the sentiment of its clauses."""
        readings = batch.readings
        chosen: list[dict[str, float]] = [{} for _ in texts]
        if self.topic_model is not None and self._model_topics:
            topic_proba, decided = self.topic_model.decide_batch(batch)
            for k, topic in self._model_topics:
                for i in np.flatnonzero(decided[:, k]).tolist():
                    chosen[i][topic] = float(topic_proba[i, k])
        for i, reading in enumerate(readings):
            counts: dict[str, int] = {}
            for match in reading.topics:
                if match.topic in self._seed_topics:
                    counts[match.topic] = counts.get(match.topic, 0) + 1
            for topic, n in counts.items():
                chosen[i][topic] = 1 - 0.3**n

        rows: list[tuple[int, int]] = []
        row_of: dict[tuple[int, int], int] = {}
        pending: list[_Pending] = []
        for i, found in enumerate(chosen):
            if not found:
                continue
            reading = readings[i]
            n_clauses = len(reading.view.clauses)
            clause_of = reading.view.clause_of
            for topic, score in found.items():
                places: list[int] = []
                if n_clauses > 1:  # else the clause is the message
                    places = sorted(
                        {clause_of[m.first] for m in reading.topics if m.topic == topic}
                    )
                # a topic the model found without a keyword takes the message's sentiment
                pending.append(_Pending(i, topic, score, tuple(_row(rows, row_of, i, places))))

        out: list[list[TopicHit]] = [[] for _ in texts]
        if not pending:
            return out
        messages = np.fromiter((p.message for p in pending), dtype=np.int64, count=len(pending))
        mixed = proba[messages].copy()  # a topic of a one-clause message: the message's
        placed = [k for k, p in enumerate(pending) if p.clauses]
        if placed:
            clause_sentiment = self._clause_proba(batch, rows)
            owner = np.repeat(np.arange(len(placed)), [len(pending[k].clauses) for k in placed])
            ids = np.fromiter((c for k in placed for c in pending[k].clauses), dtype=np.int64)
            own = np.zeros((len(placed), 3))
            np.add.at(own, owner, clause_sentiment[ids])
            own /= np.bincount(owner, minlength=len(placed))[:, None]
            blend = CLAUSE_WEIGHT * own + (1.0 - CLAUSE_WEIGHT) * proba[messages[placed]]
            if POLAR_CLAUSE is not None:
                # a clause that clearly says something keeps its own verdict
                polar = (own.argmax(axis=1) != 1) & (own.max(axis=1) >= POLAR_CLAUSE)
                blend[polar] = own[polar]
            mixed[placed] = blend
        for item, k in zip(pending, mixed.argmax(axis=1).tolist(), strict=True):
            out[item.message].append(TopicHit(item.topic, round(item.score, 4), SENTIMENTS[k]))
        for hits in out:
            hits.sort(key=lambda h: -h.score)
        return out

    def _clause_batch(self, batch: Batch, clauses: Sequence[tuple[int, int]]) -> Batch:
        texts = []
        for i, k in clauses:
            view = batch.readings[i].view
            clause = view.clauses[k]
            start, end = view.span(clause.first, clause.last)
            texts.append(view.text[start:end])
        return Batch([tokenize(t) for t in texts], batch.readings, clauses)

    def _clause_proba(self, batch: Batch, rows: Sequence[tuple[int, int]]) -> Float64:
        clause_batch = self._clause_batch(batch, rows)
        if isinstance(self.sentiment, SentimentModel):
            return self.sentiment.proba_batch(clause_batch)
        texts = [" ".join(tokens) for tokens in clause_batch.tokens]
        return self.sentiment.predict_proba(texts)

    # -- flags ------------------------------------------------------------------------------

    def _flags(
        self,
        batch: Batch,
        labels: Sequence[str],
        scores: Sequence[float],
        topics: Sequence[Sequence[TopicHit]],
    ) -> list[tuple[Flag, ...]]:
        readings: Sequence[Reading] = batch.readings
        found: list[set[str]] = []
        if self.flag_model is not None:
            _, decided = self.flag_model.decide_batch(batch)
            names = self.flag_model.labels
            found = [{names[k] for k in np.flatnonzero(row)} for row in decided]
        else:  # the rule decision of the baseline, on this model's sentiment
            found = [
                set(
                    detect_flags(
                        r.view,
                        labels[i],  # type: ignore[arg-type]
                        scores[i],
                        self.reader.flag_rules,
                    )
                )
                for i, r in enumerate(readings)
            ]
        urgent_topics = self.taxonomy.urgent
        out: list[tuple[Flag, ...]] = []
        for i, flags in enumerate(found):
            if "complaint" in flags and any(t.topic in urgent_topics for t in topics[i]):
                flags.add("urgent")
            out.append(tuple(f for f in FLAGS if f in flags))
        return out


def _row(
    rows: list[tuple[int, int]], row_of: dict[tuple[int, int], int], i: int, places: Sequence[int]
) -> list[int]:
    """The clause rows of message ``i``'s clauses ``places`` (added on first use)."""
    out = []
    for k in places:
        key = (i, k)
        if key not in row_of:
            row_of[key] = len(rows)
            rows.append(key)
        out.append(row_of[key])
    return out


# -- factories for nlp.enrichers -------------------------------------------------------------


@dataclass(frozen=True)
class ModelPaths:
    """The artifacts a fast enricher loads."""

    sentiment: Path
    topics: Path | None
    flags: Path | None
    aspects: tuple[Path, ...]


def resolve_models(model_path: str | None) -> ModelPaths:
    """Pick the artifacts for ``model_path``.

    ``model_path`` is a directory of artifacts (the ``--out`` of ``voc train``; default the
    packaged ``nlp/models``) or one artifact directory. Of each kind (sentiment, topics,
    flags) the newest artifact there is used, else the packaged one; the aspect models are
    the newest of each name there, or the packaged ones when it holds none.
    """
    directory = Path(model_path) if model_path else MODELS_DIR
    found = [(read_manifest(p), p) for p in find_artifacts(directory)]
    if not found:
        msg = f"no model artifact in {directory}; train one with `voc train`"
        raise ModelError(msg)
    packaged = (
        [(read_manifest(p), p) for p in find_artifacts(MODELS_DIR)] if MODELS_DIR.is_dir() else []
    )

    def newest(kind: str, name: str | None = None) -> Path | None:
        for pool in (found, packaged):
            matching = [
                (m, p) for m, p in pool if m.kind == kind and (name is None or m.name == name)
            ]
            if matching:
                return max(matching, key=lambda mp: version_key(mp[0]))[1]
        return None

    sentiment = newest("sentiment")
    if sentiment is None:
        msg = f"no sentiment artifact in {directory}; train one with `voc train sentiment`"
        raise ModelError(msg)
    own_aspects = [p for m, p in found if m.kind == "aspects"]
    aspects = _newest_aspects(own_aspects) if own_aspects else packaged_aspects()
    return ModelPaths(
        sentiment,
        newest("labels", "topics-fast") or _task(found, "topics") or _task(packaged, "topics"),
        newest("labels", "flags-fast") or _task(found, "flags") or _task(packaged, "flags"),
        tuple(aspects),
    )


def _task(pool: Sequence[tuple[Any, Path]], task: str) -> Path | None:
    """The newest label artifact of ``task`` (whatever its name) in ``pool``."""
    matching = [(m, p) for m, p in pool if m.kind == "labels" and m.labels.get("task") == task]
    return max(matching, key=lambda mp: version_key(mp[0]))[1] if matching else None


def _newest_aspects(paths: Sequence[Path]) -> list[Path]:
    """Return the newest version of each aspect model name among ``paths``, sorted by name."""
    newest: dict[str, tuple[Any, Path]] = {}
    for path in paths:
        manifest = read_manifest(path)
        held = newest.get(manifest.name)
        if held is None or version_key(manifest) > version_key(held[0]):
            newest[manifest.name] = (manifest, path)
    return [newest[name][1] for name in sorted(newest)]


def packaged_aspects() -> list[Path]:
    """Return the newest packaged artifact of each aspect model in ``nlp/models``."""
    if not MODELS_DIR.is_dir():
        return []
    return _newest_aspects(find_artifacts(MODELS_DIR, "aspects"))


def packaged_labels(task: str) -> Path | None:
    """The newest packaged label artifact of ``task`` (topics or flags), if any."""
    if not MODELS_DIR.is_dir():
        return None
    return _task([(read_manifest(p), p) for p in find_artifacts(MODELS_DIR, "labels")], task)


def build_fast(*, model_path: str | None, taxonomy_path: Path | None) -> FastEnricher:
    """Load the fast models (see :func:`resolve_models`) and the taxonomy; used at worker start."""
    paths = resolve_models(model_path)
    return FastEnricher(
        SentimentModel.load(paths.sentiment),
        [AspectModel.load(p) for p in paths.aspects],
        load_taxonomy(taxonomy_path),
        topics=LabelModel.load(paths.topics) if paths.topics else None,
        flags=LabelModel.load(paths.flags) if paths.flags else None,
    )


def build_transformer(*, model_path: str | None, taxonomy_path: Path | None) -> FastEnricher:
    """Load a Hugging Face sentiment model plus the packaged fast models and the taxonomy.

    ``model_path`` is a local directory or a hub id, optionally followed by ``|`` and a label
    map: ``"org/model|0:negative,1:neutral,2:positive"``. The device is chosen automatically.
    """
    from nlp.transformer import TransformerSentiment, parse_label_map

    if not model_path:
        msg = "the transformer enricher needs model_path: a model directory or a hub id"
        raise ConfigError(msg)
    name, _, labels = model_path.partition("|")
    label_map = parse_label_map(labels) if labels else None
    sentiment = TransformerSentiment.load(name.strip(), label_map=label_map)
    topics, flags = packaged_labels("topics"), packaged_labels("flags")
    return FastEnricher(
        sentiment,
        [AspectModel.load(p) for p in packaged_aspects()],
        load_taxonomy(taxonomy_path),
        topics=LabelModel.load(topics) if topics else None,
        flags=LabelModel.load(flags) if flags else None,
        prefix="transformer",
    )
