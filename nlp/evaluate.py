"""Evaluation: the metrics, and the evaluation of models on labelled data sets.

Sentiment
    per-class precision / recall / F1, macro-F1 and accuracy. On a data set that labels only
    negative and positive, the three-class output is mapped to two classes by
    ``positive iff P(positive) >= P(negative)`` (neutral probability ignored); its headline
    ``f1`` is the F1 of the ``negative`` class (the AIVIVN 2019 convention, where label 1
    marks negative comments), with macro-F1 beside it. Calibration: expected calibration
    error (ECE, 10 equal-width confidence bins) and the reliability table.

Aspects
    micro-averaged over (text, aspect) pairs for *detection* and over (text, aspect,
    polarity) triples for *detection + polarity*, as in the VLSP 2018 ABSA shared task and
    the UIT-ViSFD paper. Aspects labelled without a polarity (UIT-ViSFD's ``OTHERS``) are
    left out of both.

The CX corpus (:func:`evaluate_cx`)
    the whole enricher, as the flow runs it (each message with its source and category):
    sentiment per class and macro-F1 overall, per source and per style tag, and the share of
    filler turns called neutral; topics per topic with micro and macro F1, and how often a
    found topic has its gold sentiment; flags per flag (``rating_mismatch`` against the
    gold sentiment of rated reviews); and, for each aspect model, the share of messages
    outside its categories that got its aspects, with their category known and unknown.

Every test set is also scored on two seeded perturbed copies (:mod:`nlp.perturb`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from nlp.aspects import AspectModel
from nlp.datasets import DatasetInfo, Example, model_text
from nlp.features import tokenize
from nlp.flags import rating_mismatch
from nlp.perturb import PERTURBATIONS, Perturbation, perturb_all
from nlp.types import SENTIMENTS, SOURCES, Enricher, Enrichment, MessageContext

Float64 = npt.NDArray[np.float64]
Progress = Callable[[str, int], None]
"""``progress(description, advance)``: called as work is done (advance in texts)."""


class SentimentPredictor(Protocol):
    """Anything that gives (negative, neutral, positive) probabilities for normalized texts."""

    @property
    def version(self) -> str:
        """Versioned model name."""
        ...

    def predict_proba(self, texts: Sequence[str]) -> Float64:
        """(n, 3) probabilities in :data:`nlp.types.SENTIMENTS` order."""
        ...


CX_FLAGS = ("complaint", "question", "praise", "churn_risk", "urgent", "rating_mismatch")
"""Flags scored on the corpus (``rating_mismatch`` against rated reviews' gold sentiment)."""


# -- metrics --------------------------------------------------------------------------------


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def classification_scores(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Per-class precision, recall, F1 and support; macro-F1 and accuracy."""
    if len(gold) != len(pred):
        msg = f"gold has {len(gold)} labels but pred has {len(pred)}"
        raise ValueError(msg)
    per_class: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p == label)
        n_pred = sum(1 for p in pred if p == label)
        n_gold = sum(1 for g in gold if g == label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        per_class[label] = {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "support": n_gold,
        }
    correct = sum(1 for g, p in zip(gold, pred, strict=True) if g == p)
    return {
        "per_class": per_class,
        "macro_f1": float(np.mean([c["f1"] for c in per_class.values()])) if labels else 0.0,
        "accuracy": correct / len(gold) if gold else 0.0,
        "n": len(gold),
    }


def set_scores(gold: Iterable[set[Any]], pred: Iterable[set[Any]]) -> dict[str, float]:
    """Micro precision, recall and F1 over the items of paired gold / predicted sets."""
    tp = fp = fn = 0
    for g, p in zip(gold, pred, strict=True):
        tp += len(g & p)
        fp += len(p - g)
        fn += len(g - p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def calibration(
    confidence: Sequence[float] | Float64,
    correct: Sequence[bool] | npt.NDArray[np.bool_],
    n_bins: int = 10,
) -> dict[str, Any]:
    """Compute the expected calibration error and the reliability table (equal-width bins)."""
    conf = np.asarray(confidence, dtype=np.float64)
    hit = np.asarray(correct, dtype=np.float64)
    if conf.shape != hit.shape:
        msg = f"confidence has shape {conf.shape} but correct has {hit.shape}"
        raise ValueError(msg)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    bins = []
    ece = 0.0
    for b in range(n_bins):
        mask = which == b
        count = int(mask.sum())
        if count:
            mean_conf = float(conf[mask].mean())
            accuracy = float(hit[mask].mean())
            ece += count / len(conf) * abs(mean_conf - accuracy)
            bins.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "count": count,
                    "confidence": mean_conf,
                    "accuracy": accuracy,
                }
            )
    return {"ece": ece, "bins": bins}


# -- sentiment ------------------------------------------------------------------------------


def is_binary(examples: Sequence[Example]) -> bool:
    """Whether a sentiment data set labels only negative and positive."""
    return not any(ex.sentiment == "neutral" for ex in examples)


def binary_positive(proba: Float64) -> npt.NDArray[np.bool_]:
    """Return the two-class decision: positive iff P(positive) >= P(negative)."""
    result: npt.NDArray[np.bool_] = proba[:, 2] >= proba[:, 0]
    return result


def sentiment_scores(gold: Sequence[str], proba: Float64, *, binary: bool) -> dict[str, Any]:
    """Classification and calibration scores of (n, 3) probabilities against gold labels."""
    if binary:
        positive = binary_positive(proba)
        pred = ["positive" if p else "negative" for p in positive]
        scores = classification_scores(gold, pred, ("negative", "positive"))
        scores["f1"] = scores["per_class"]["negative"]["f1"]
        scores["f1_definition"] = "F1 of the negative class; positive iff P(pos) >= P(neg)"
        p_pos = proba[:, 2] / np.maximum(proba[:, 0] + proba[:, 2], 1e-12)
        confidence = np.maximum(p_pos, 1.0 - p_pos)
    else:
        best = proba.argmax(axis=1)
        pred = [SENTIMENTS[int(k)] for k in best]
        scores = classification_scores(gold, pred, SENTIMENTS)
        scores["f1"] = scores["macro_f1"]
        scores["f1_definition"] = "macro-F1 over negative, neutral, positive"
        confidence = proba.max(axis=1)
    correct = np.array([g == p for g, p in zip(gold, pred, strict=True)])
    scores["calibration"] = calibration(confidence, correct)
    scores["predicted_neutral_share"] = (
        float(np.mean(proba.argmax(axis=1) == 1)) if len(proba) else 0.0
    )
    return scores


# -- aspects --------------------------------------------------------------------------------


def gold_aspects(ex: Example) -> tuple[set[str], set[tuple[str, str]]]:
    """Return the gold aspects and (aspect, polarity) pairs of one example (with polarity)."""
    pairs = {(a.aspect, str(a.sentiment)) for a in ex.aspects if a.sentiment is not None}
    return {a for a, _ in pairs}, pairs


def aspect_scores(
    examples: Sequence[Example], predicted: Sequence[Sequence[tuple[str, str]]]
) -> dict[str, Any]:
    """Micro P/R/F1 of detection and of detection + polarity."""
    gold = [gold_aspects(ex) for ex in examples]
    pred_pairs = [set(p) for p in predicted]
    detection = set_scores([g for g, _ in gold], [{a for a, _ in p} for p in pred_pairs])
    with_polarity = set_scores([g for _, g in gold], pred_pairs)
    return {
        "detection": detection,
        "detection_polarity": with_polarity,
        "averaging": "micro over (text, aspect) pairs / (text, aspect, polarity) triples",
        "n": len(examples),
    }


# -- data sets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalConfig:
    """What ``voc eval`` evaluates."""

    split: str = "test"
    perturbations: tuple[str, ...] = ("no_diacritics", "teencode")
    seed: int = 13
    batch_size: int = 512
    gate: bool = True
    """Apply each aspect model's domain gate, as the enricher does."""


def _batched_proba(
    model: SentimentPredictor,
    texts: Sequence[str],
    batch: int,
    progress: Progress | None,
    label: str,
) -> Float64:
    parts = []
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        parts.append(model.predict_proba(chunk))
        if progress is not None:
            progress(label, len(chunk))
    return np.concatenate(parts) if parts else np.zeros((0, 3))


def _batched_aspects(
    model: AspectModel,
    texts: Sequence[str],
    batch: int,
    gate: bool,
    progress: Progress | None,
    label: str,
) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        hits = model.predict_tokens([tokenize(t) for t in chunk], gate=gate)
        out.extend([[(h.aspect, h.sentiment) for h in row] for row in hits])
        if progress is not None:
            progress(label, len(chunk))
    return out


def variants(texts: Sequence[str], config: EvalConfig) -> dict[str, list[str]]:
    """Return the model texts of the original and of each perturbed copy of a split."""
    out = {"original": [model_text(t) for t in texts]}
    for name in config.perturbations:
        perturbation: Perturbation = PERTURBATIONS[name]
        out[name] = [model_text(t) for t in perturb_all(texts, perturbation, config.seed)]
    return out


def aspect_model_for(
    info: DatasetInfo, examples: Sequence[Example], models: Sequence[AspectModel]
) -> AspectModel | None:
    """Return the aspect model trained on this data set, or the one sharing most aspects."""
    for model in models:
        if info.name in model.manifest.labels.get("datasets", []):
            return model
    used = {a.aspect for ex in examples for a in ex.aspects}
    best = max(models, key=lambda m: len(used & set(m.aspects)), default=None)
    if best is not None and used and len(used & set(best.aspects)) >= 0.5 * len(used):
        return best
    return None


def evaluate_dataset(
    info: DatasetInfo,
    sentiment: SentimentPredictor | None,
    aspect_models: Sequence[AspectModel],
    config: EvalConfig,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Scores of the models on one data set split and its perturbed copies."""
    examples = info.load(config.split)
    texts = variants([ex.text for ex in examples], config)
    result: dict[str, Any] = {
        "dataset": info.name,
        "split": config.split,
        "n": len(examples),
        "revision": info.revision,
        "notes": [],
    }
    labelled = [i for i, ex in enumerate(examples) if ex.sentiment is not None]
    if labelled and sentiment is None:
        result["notes"].append("has sentiment labels, but no sentiment model was given")
    if sentiment is not None and labelled:
        gold = [examples[i].sentiment or "" for i in labelled]
        binary = is_binary([examples[i] for i in labelled])
        per_variant = {}
        for name, variant_texts in texts.items():
            chosen = [variant_texts[i] for i in labelled]
            proba = _batched_proba(
                sentiment, chosen, config.batch_size, progress, f"{info.name} sentiment {name}"
            )
            per_variant[name] = sentiment_scores(gold, proba, binary=binary)
        result["sentiment"] = {
            "model": sentiment.version,
            "task": "binary" if binary else "3-class",
            "variants": per_variant,
            "drop": {
                name: per_variant["original"]["f1"] - s["f1"]
                for name, s in per_variant.items()
                if name != "original"
            },
        }
    with_aspects = [ex for ex in examples if ex.aspects]
    model = aspect_model_for(info, with_aspects, aspect_models) if with_aspects else None
    if with_aspects and model is None:
        names = sorted({a.aspect for ex in with_aspects for a in ex.aspects})
        shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        result["notes"].append(
            f"has aspect labels ({shown}), but no aspect model covers them: "
            "train one with `voc train aspects`"
        )
    if not labelled and not with_aspects:
        result["notes"].append(f"no sentiment or aspect labels in its {config.split} split")
    if model is not None:
        # a model's own data set is of its category: scored as the enricher scores messages
        # whose category is known (no gate), and once more by the gate alone
        own = info.name in model.manifest.labels.get("datasets", [])
        gate = config.gate and not own
        index = [i for i, ex in enumerate(examples) if ex.aspects]
        per_variant = {}
        for name, variant_texts in texts.items():
            chosen = [variant_texts[i] for i in index]
            predicted = _batched_aspects(
                model,
                chosen,
                config.batch_size,
                gate,
                progress,
                f"{info.name} aspects {name}",
            )
            per_variant[name] = aspect_scores(with_aspects, predicted)
        gate_only = None
        if own and config.gate and model.has_gate:
            chosen = [texts["original"][i] for i in index]
            gated = _batched_aspects(model, chosen, config.batch_size, True, None, "")
            gate_only = aspect_scores(with_aspects, gated)
        result["aspects"] = {
            "model": model.version,
            "category": model.domain if own else None,
            "gate": gate and model.has_gate,
            "gate_only": gate_only,
            "variants": per_variant,
            "drop": {
                name: {
                    "detection": per_variant["original"]["detection"]["f1"] - s["detection"]["f1"],
                    "detection_polarity": per_variant["original"]["detection_polarity"]["f1"]
                    - s["detection_polarity"]["f1"],
                }
                for name, s in per_variant.items()
                if name != "original"
            },
        }
    return result


# -- the CX corpus ----------------------------------------------------------------------------


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "support": tp + fn,
        "predicted": tp + fp,
    }


def gold_mismatch(ex: Example) -> bool:
    """A review's stars contradict its gold sentiment (4-5 negative, 1-2 positive)."""
    if ex.rating is None or ex.source not in (None, "review"):
        return False
    return (ex.rating >= 4 and ex.sentiment == "negative") or (
        ex.rating <= 2 and ex.sentiment == "positive"
    )


def predicted_flags(ex: Example, result: Enrichment) -> set[str]:
    """The flags of one enrichment, with ``rating_mismatch`` as the flow adds it."""
    flags: set[str] = set(result.flags)
    review = ex.source in (None, "review")
    if review and rating_mismatch(ex.rating, result.sentiment, sorted(flags)):
        flags.add("rating_mismatch")
    return flags


def cx_scores(
    examples: Sequence[Example], results: Sequence[Enrichment], topic_ids: Sequence[str]
) -> dict[str, Any]:
    """Every figure of the enricher's output on labelled CX messages."""
    gold = [ex.sentiment or "" for ex in examples]
    pred = [r.sentiment for r in results]
    sentiment = classification_scores(gold, pred, SENTIMENTS)
    by_source = {}
    for source in SOURCES:
        index = [i for i, ex in enumerate(examples) if ex.source == source]
        if index:
            by_source[source] = classification_scores(
                [gold[i] for i in index], [pred[i] for i in index], SENTIMENTS
            )
    tags = sorted({t for ex in examples for t in ex.tags})
    by_tag = {}
    for tag in tags:
        index = [i for i, ex in enumerate(examples) if tag in ex.tags]
        by_tag[tag] = classification_scores(
            [gold[i] for i in index], [pred[i] for i in index], SENTIMENTS
        )
    filler = [i for i, ex in enumerate(examples) if "filler" in ex.tags]

    labels = list(dict.fromkeys([*topic_ids, *(t for ex in examples for t in ex.topics or ())]))
    counts = {t: [0, 0, 0] for t in labels}
    agree = total = 0
    for ex, result in zip(examples, results, strict=True):
        g = set(ex.topics or ())
        p = {h.topic: h for h in result.topics}
        for t in g | set(p):
            counts.setdefault(t, [0, 0, 0])
            if t in g and t in p:
                counts[t][0] += 1
            elif t in p:
                counts[t][1] += 1
            else:
                counts[t][2] += 1
        wanted = dict(ex.topic_sentiments)
        for t in g & set(p):
            if t in wanted:
                total += 1
                agree += int(p[t].sentiment == wanted[t])
    per_topic = {t: _prf(*c) for t, c in counts.items()}
    tp, fp, fn = (sum(c[k] for c in counts.values()) for k in range(3))
    supported = [r["f1"] for r in per_topic.values() if r["support"]]

    flag_counts = {f: [0, 0, 0] for f in CX_FLAGS}
    for ex, result in zip(examples, results, strict=True):
        expected = set(ex.flags or ()) | ({"rating_mismatch"} if gold_mismatch(ex) else set())
        found = predicted_flags(ex, result) & set(CX_FLAGS)
        for f in CX_FLAGS:
            if f in expected and f in found:
                flag_counts[f][0] += 1
            elif f in found:
                flag_counts[f][1] += 1
            elif f in expected:
                flag_counts[f][2] += 1
    per_flag = {f: _prf(*c) for f, c in flag_counts.items()}
    return {
        "n": len(examples),
        "sentiment": sentiment | {"by_source": by_source, "by_tag": by_tag},
        "filler_neutral_share": (
            sum(pred[i] == "neutral" for i in filler) / len(filler) if filler else float("nan")
        ),
        "filler_n": len(filler),
        "topics": {
            "per_topic": per_topic,
            "micro_f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
            "macro_f1": float(np.mean(supported)) if supported else 0.0,
            "sentiment_agreement": agree / total if total else float("nan"),
            "sentiment_pairs": total,
        },
        "flags": {
            "per_flag": per_flag,
            "macro_f1": float(
                np.mean([r["f1"] for f, r in per_flag.items() if r["support"] and f in CX_FLAGS])
            ),
        },
    }


def out_of_domain_aspects(
    examples: Sequence[Example],
    texts: Sequence[str],
    results: Sequence[Enrichment],
    models: Sequence[AspectModel],
) -> dict[str, Any]:
    """Per aspect model: how many messages outside its categories got its aspects.

    Counted as the enricher ran (category known) and by the gate alone (category unknown).
    """
    out: dict[str, Any] = {}
    tokens = [tokenize(t) for t in texts]
    for model in models:
        outside = [
            i
            for i, ex in enumerate(examples)
            if ex.category and ex.category not in model.categories
        ]
        inside = [i for i, ex in enumerate(examples) if ex.category in model.categories]
        names = set(model.aspects)
        with_context = sum(1 for i in outside if names & {a.aspect for a in results[i].aspects})
        gated = model.predict_tokens([tokens[i] for i in outside], gate=True)
        without = sum(1 for hits in gated if hits)
        out[model.version] = {
            "categories": sorted(model.categories),
            "outside": len(outside),
            "inside": len(inside),
            "share_with_category": with_context / len(outside) if outside else 0.0,
            "share_without_category": without / len(outside) if outside else 0.0,
            "inside_with_aspects": (
                sum(1 for i in inside if names & {a.aspect for a in results[i].aspects})
                / len(inside)
                if inside
                else float("nan")
            ),
        }
    return out


def evaluate_cx(
    info: DatasetInfo,
    enricher: Enricher,
    aspect_models: Sequence[AspectModel],
    topic_ids: Sequence[str],
    config: EvalConfig,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score the whole enricher on a CX-labelled split and its perturbed copies."""
    examples = info.load(config.split)
    contexts = [MessageContext(ex.source, ex.category, ex.rating) for ex in examples]
    per_variant: dict[str, Any] = {}
    ood: dict[str, Any] = {}
    for name, texts in variants([ex.text for ex in examples], config).items():
        results: list[Enrichment] = []
        for start in range(0, len(texts), config.batch_size):
            chunk = texts[start : start + config.batch_size]
            results += enricher.enrich_batch(chunk, contexts[start : start + config.batch_size])
            if progress is not None:
                progress(f"{info.name} {name}", len(chunk))
        per_variant[name] = cx_scores(examples, results, topic_ids)
        ood[name] = out_of_domain_aspects(examples, texts, results, aspect_models)
    original = per_variant["original"]

    def drops(key: Callable[[dict[str, Any]], float]) -> dict[str, float]:
        return {n: key(original) - key(v) for n, v in per_variant.items() if n != "original"}

    return {
        "dataset": info.name,
        "split": config.split,
        "n": len(examples),
        "revision": info.revision,
        "enricher": enricher.version,
        "variants": per_variant,
        "aspects_out_of_domain": ood,
        "drop": {
            "sentiment_macro_f1": drops(lambda v: v["sentiment"]["macro_f1"]),
            "topics_micro_f1": drops(lambda v: v["topics"]["micro_f1"]),
            "flags_macro_f1": drops(lambda v: v["flags"]["macro_f1"]),
        },
    }
