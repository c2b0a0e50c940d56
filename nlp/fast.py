"""The ``fast`` enricher: trained sentiment and aspect models, taxonomy topics and flag rules.

:class:`FastEnricher` implements :class:`nlp.types.Enricher` on whole batches:

1. every text is tokenized once; the sentiment model (:mod:`nlp.sentiment`) gives the
   message's label and calibrated probability, and each aspect model (:mod:`nlp.aspects`,
   one per domain, behind its domain gate) its aspects with their polarity;
2. the topic taxonomy (:mod:`nlp.taxonomy`) finds topics; the text is cut into clauses (at
   punctuation and at the contrast words of ``sentiment_rules.yaml``: "nhưng", "tuy
   nhiên"...), and each topic takes the sentiment of the clauses its keywords sit in, read
   by the same sentiment model in one more batched call (75% clause, 25% whole message);
3. the flag rules (:mod:`nlp.flags`) add complaint, question, praise, churn_risk and
   urgent, using the model's sentiment. ``rating_mismatch`` is left to the flow, which has
   the star rating.

The ``version`` names every model and the taxonomy's hash, e.g.
``fast:sentiment-fast-1.0.0+aspects-smartphone-fast-1.0.0+tax.1a2b3c4d``. Models load in
:func:`build_fast` (called by ``load_enricher("fast")`` at worker start), never at import.
The ``transformer`` enricher is the same class with a
:class:`nlp.transformer.TransformerSentiment` in place of the fast sentiment model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from nlp._tables import resource_path
from nlp.artifacts import MODELS_DIR, find_artifacts, read_manifest, version_key
from nlp.aspects import AspectModel
from nlp.evaluate import SentimentPredictor
from nlp.features import tokenize
from nlp.flags import FlagRules, detect_flags, load_flag_rules
from nlp.rules import PhraseIndex, TextView, read_view
from nlp.sentiment import SentimentModel
from nlp.taxonomy import Taxonomy, load_taxonomy
from nlp.types import SENTIMENTS, AspectHit, Enrichment, TopicHit
from schemas.errors import ConfigError, ModelError

Float64 = npt.NDArray[np.float64]

CLAUSE_WEIGHT = 0.75
"""Share of the clause's own sentiment in a topic's sentiment (the rest: the message's)."""

_TOPIC, _FLAG, _CONTRAST = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Pending:
    """A topic of one message waiting for the sentiment of its clauses."""

    message: int
    topic: str
    clauses: tuple[int, ...]
    """Indexes into the batch's list of clause texts."""
    count: int
    """Keyword matches of the topic in the message."""


def _clause_rules(path: Path | None = None) -> tuple[list[str], frozenset[str]]:
    """Read the contrast words and question words of ``sentiment_rules.yaml``."""
    source = path or resource_path("sentiment_rules.yaml")
    try:
        rules = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        msg = f"cannot read clause rules from {source}: {exc}"
        raise ConfigError(msg) from exc
    contrast = rules.get("contrast", [])
    questions = rules.get("question_words", [])
    if not isinstance(contrast, list) or not isinstance(questions, list):
        msg = f"{source}: contrast and question_words must be lists of words"
        raise ConfigError(msg)
    return [str(w) for w in contrast], frozenset(str(w) for w in questions)


class FastEnricher:
    """Sentiment and aspects from trained models, topics and flags from the tables."""

    def __init__(
        self,
        sentiment: SentimentPredictor,
        aspects: Sequence[AspectModel] = (),
        taxonomy: Taxonomy | None = None,
        flag_rules: FlagRules | None = None,
        *,
        prefix: str = "fast",
    ) -> None:
        self.sentiment = sentiment
        self.aspects = tuple(aspects)
        self.taxonomy = taxonomy or load_taxonomy()
        self.flag_rules = flag_rules or load_flag_rules()
        contrast, self._questions = _clause_rules()
        entries: list[tuple[str, tuple[int, Any]]] = []
        entries += [(p, (_TOPIC, v)) for p, v in self.taxonomy.entries]
        entries += [(p, (_FLAG, v)) for p, v in self.flag_rules.entries]
        entries += [(w, (_CONTRAST, None)) for w in contrast]
        self._index: PhraseIndex[tuple[int, Any]] = PhraseIndex(entries)
        models = "+".join([sentiment.version, *(m.version for m in self.aspects)])
        self._version = f"{prefix}:{models}+tax.{self.taxonomy.short_hash}"

    @property
    def version(self) -> str:
        """``fast:<sentiment>+<aspect models>+tax.<taxonomy hash>``."""
        return self._version

    def _message_proba(self, texts: Sequence[str], tokens: list[list[str]]) -> Float64:
        if isinstance(self.sentiment, SentimentModel):
            return self.sentiment.proba_tokens(tokens)
        return self.sentiment.predict_proba(texts)

    def enrich_batch(self, texts: Sequence[str]) -> list[Enrichment]:
        """Return one :class:`Enrichment` per normalized, PII-redacted text, in order."""
        if not texts:
            return []
        tokens = [tokenize(t) for t in texts]
        proba = self._message_proba(texts, tokens)
        if proba.shape != (len(texts), 3):
            msg = f"sentiment model {self.sentiment.version} returned shape {proba.shape}"
            raise ModelError(msg)
        aspects: list[list[AspectHit]] = [[] for _ in texts]
        for model in self.aspects:
            for i, hits in enumerate(model.predict_tokens(tokens)):
                aspects[i].extend(hits)

        best = proba.argmax(axis=1)
        labels = [SENTIMENTS[int(k)] for k in best]
        scores = [float(proba[i, k]) for i, k in enumerate(best)]
        views: list[TextView] = []
        flag_matches: list[list[Any]] = []
        clause_texts: list[str] = []
        pending: list[_Pending] = []
        for i, text in enumerate(texts):
            view = read_view(text)
            views.append(view)
            topic_found, flags_found, contrast = [], [], []
            for first, last, (table, value) in self._index.find_tuples(view):
                if table == _TOPIC:
                    topic_found.append((first, last, value))
                elif table == _FLAG:
                    flags_found.append((first, last, value))
                else:
                    contrast.append(first)
            flag_matches.append(flags_found)
            if not topic_found:
                continue
            matches = self.taxonomy.match_view(view, topic_found)
            if not matches:
                continue
            view.split(contrast, self._questions)
            own: dict[int, int] = {}
            by_topic: dict[str, list[int]] = {}
            counts: dict[str, int] = {}
            for match in matches:
                clause = view.clause_of[match.first] if match.first < len(view.clause_of) else 0
                if clause not in own:
                    piece = view.clauses[clause] if clause < len(view.clauses) else None
                    start, end = view.span(piece.first, piece.last) if piece else (0, len(text))
                    own[clause] = len(clause_texts)
                    clause_texts.append(text[start:end])
                by_topic.setdefault(match.topic, [])
                if own[clause] not in by_topic[match.topic]:
                    by_topic[match.topic].append(own[clause])
                counts[match.topic] = counts.get(match.topic, 0) + 1
            pending += [_Pending(i, t, tuple(c), counts[t]) for t, c in by_topic.items()]

        topics: list[list[TopicHit]] = [[] for _ in texts]
        if pending:
            clause_proba = self._message_proba(clause_texts, [tokenize(t) for t in clause_texts])
            owner = np.repeat(np.arange(len(pending)), [len(p.clauses) for p in pending])
            clause_ids = np.fromiter((c for p in pending for c in p.clauses), dtype=np.int64)
            summed = np.zeros((len(pending), 3))
            np.add.at(summed, owner, clause_proba[clause_ids])
            summed /= np.bincount(owner, minlength=len(pending))[:, None]
            messages = np.fromiter((p.message for p in pending), dtype=np.int64)
            mixed = CLAUSE_WEIGHT * summed + (1.0 - CLAUSE_WEIGHT) * proba[messages]
            for item, k in zip(pending, mixed.argmax(axis=1).tolist(), strict=True):
                topics[item.message].append(
                    TopicHit(
                        topic=item.topic,
                        score=round(1 - 0.3**item.count, 4),
                        sentiment=SENTIMENTS[k],
                    )
                )

        out = []
        for i, view in enumerate(views):
            flags = detect_flags(view, labels[i], scores[i], self.flag_rules, flag_matches[i])
            out.append(
                Enrichment(
                    sentiment=labels[i],
                    sentiment_score=round(scores[i], 4),
                    topics=tuple(topics[i]),
                    aspects=tuple(aspects[i]),
                    flags=flags,
                    model_version=self._version,
                )
            )
        return out


# -- factories for nlp.enrichers -------------------------------------------------------------


def resolve_models(model_path: str | None) -> tuple[Path, list[Path]]:
    """Pick the sentiment artifact and the aspect artifacts for ``model_path``.

    ``model_path`` is a directory of artifacts (the ``--out`` of ``voc train``; default the
    packaged ``nlp/models``) whose newest sentiment artifact and newest artifact of each
    aspect model name are used; or a single sentiment artifact directory, used with the
    packaged aspect models.
    """
    directory = Path(model_path) if model_path else MODELS_DIR
    found = find_artifacts(directory)
    manifests = [(read_manifest(p), p) for p in found]
    sentiment = [(m, p) for m, p in manifests if m.kind == "sentiment"]
    if not sentiment:
        msg = f"no sentiment artifact in {directory}; train one with `voc train sentiment`"
        raise ModelError(msg)
    chosen = max(sentiment, key=lambda mp: version_key(mp[0]))[1]
    if found == [directory]:  # one artifact directory: add the packaged aspect models
        return chosen, packaged_aspects()
    return chosen, _newest_aspects([p for m, p in manifests if m.kind == "aspects"])


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


def build_fast(*, model_path: str | None, taxonomy_path: Path | None) -> FastEnricher:
    """Load the fast models (see :func:`resolve_models`) and the taxonomy; used at worker start."""
    sentiment_path, aspect_paths = resolve_models(model_path)
    return FastEnricher(
        SentimentModel.load(sentiment_path),
        [AspectModel.load(p) for p in aspect_paths],
        load_taxonomy(taxonomy_path),
    )


def build_transformer(*, model_path: str | None, taxonomy_path: Path | None) -> FastEnricher:
    """Load a Hugging Face sentiment model plus the packaged aspect models and the taxonomy.

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
    return FastEnricher(
        sentiment,
        [AspectModel.load(p) for p in packaged_aspects()],
        load_taxonomy(taxonomy_path),
        prefix="transformer",
    )
