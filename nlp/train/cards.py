"""Model cards (``MODEL_CARD.md``) from an artifact's manifest, and its ``voc train`` line."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from nlp.artifacts import CARD_FILE, Manifest, read_manifest

DATA_TERMS = (
    "The public data sets used are research data sets: none is cleared for commercial use "
    "(UIT-ViSFD asks commercial users to contact its authors; the VLSP and AIVIVN copies are "
    "research redistributions). The CX corpus (`corpus/cx`) was written by the project and is "
    "released with it. Retrain on your own labelled data (same JSONL schema) with "
    "`voc train` before commercial use."
)

_HIDDEN = ("grid", "detection_grid", "polarity", "thresholds", "label_grid")


def fmt(value: Any) -> str:
    """A figure as text (``n/a`` when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4f}" if isinstance(value, int | float) else str(value)


def json_dumps(value: Any) -> str:
    """Compact JSON for cards."""
    return json.dumps(value, ensure_ascii=False)


def _header(manifest: Manifest, what: str) -> list[str]:
    data = manifest.data
    lines = [f"# {manifest.versioned_name}", "", what, "", "## Data", ""]
    lines += ["| split | data sets |", "|---|---|"]
    for split, names in data.get("splits", {}).items():
        lines.append(f"| {split} | {', '.join(names) or '-'} |")
    revisions = data.get("revisions_sha256") or data.get("revisions_sha256_of_meta_json", {})
    lines += ["", f"Revisions ({data.get('revision_note', 'sha256')}):", ""]
    lines += [f"- `{ds}`: `{rev}`" for ds, rev in revisions.items()]
    lines += ["", f"Trained from commit `{data.get('git_commit', 'unknown')}`.", ""]
    lines += [f"**Terms.** {DATA_TERMS}", ""]
    lines += [
        "## Intended use",
        "",
        "Real-time enrichment of Vietnamese customer feedback (reviews, chats, social posts, "
        "survey answers) in voc-stream: dashboards and alerts aggregate many messages. Not for "
        "decisions about individual people.",
        "",
        "Input: the text the flow gives the enricher (`nlp.datasets.model_text`: normalized, "
        "PII redacted) and its context (source, category). Inference is numpy + scipy on "
        "batches; no network, no GPU.",
        "",
        "## Hyperparameters",
        "",
        "```json",
    ]
    hyper = {k: v for k, v in manifest.hyperparameters.items() if k not in _HIDDEN}
    lines += [
        json.dumps(hyper | {"features": manifest.features}, ensure_ascii=False, indent=2),
        "```",
        "",
        "## Reproduce",
        "",
        "```",
        train_command(manifest),
        "```",
        "",
    ]
    return lines


def train_command(manifest: Manifest) -> str:
    """The ``voc train`` command line that rebuilds an artifact from its manifest settings."""
    h = manifest.hyperparameters
    task = h.get("task") or manifest.kind
    features = manifest.features
    parts = ["voc train", task, "--data ../shared/data --out nlp/models"]
    if h.get("corpus"):
        parts.append(f"--corpus corpus/{h['corpus']}")
    else:
        parts.append("--no-corpus")
    if h.get("datasets"):
        parts.append("--dataset " + ",".join(h["datasets"]))
    if task == "aspects":
        if h.get("domain"):
            parts.append(f"--domain {h['domain']}")
        if h.get("categories"):
            parts.append("--categories " + ",".join(h["categories"]))
        if h.get("gate_negatives") is not None:
            parts.append("--gate-negatives '" + ",".join(h["gate_negatives"]) + "'")
    elif task == "sentiment":
        parts.append(f"--corpus-weight {h.get('corpus_weight', 3.0):g}")
        parts.append(f"--binary-weight {h.get('binary_weight', 1.0):g}")
        parts.append("--weak" if h.get("weak_polarity", True) else "--no-weak")
        parts.append(f"--weak-weight {h.get('weak_weight', 1.0):g}")
        parts.append(f"--binary-in-neutral {h.get('binary_in_neutral', 0.0):g}")
        parts.append(f"--nb-strength {h.get('nb_strength', 0.0):g}")
    else:
        parts.append(f"--folds {h.get('folds', 5)}")
        parts.append(f"--nb-strength {h.get('nb_strength', 0.0):g}")
    parts += [
        f"--version {manifest.version}",
        "--c " + ",".join(f"{c:g}" for c in h.get("c_grid", ())),
        f"--ngram-max {features.get('ngram_max', 2)}",
        f"--min-df {features.get('min_df', 2)}",
        "--markers '" + ",".join(features.get("markers", [])) + "'",
        "--augment" if h.get("augment_no_diacritics", True) else "--no-augment",
        f"--prune {h.get('prune_below', 1e-3):g}",
        "--refit-on-dev" if h.get("refit_on_dev", False) else "--no-refit-on-dev",
        f"--seed {h.get('seed', 13)}",
    ]
    return " ".join(parts)


def _refit_note(manifest: Manifest) -> list[str]:
    if not manifest.hyperparameters.get("refit_on_dev", False):
        return []
    return [
        "After dev chose the settings, the shipped heads were refitted on train + dev "
        "(`refit_on_dev`). The dev-fitted parts (thresholds, calibration) and the dev figures "
        "below come from cross-fitting: each dev message scored by heads that did not see it.",
        "",
    ]


def _test_section(manifest: Manifest) -> list[str]:
    """Card lines for the figures `voc eval --record` stored in the manifest."""
    recorded = manifest.scores.get("eval", {})
    if not recorded:
        return ["Test figures: run `voc eval --data DIR --record`.", ""]
    lines: list[str] = []
    for split, block in recorded.items():
        lines += [
            f"## Scores on {split} (`voc eval --record`, {block.get('date', '')})",
            "",
            "| data set | variant | figures |",
            "|---|---|---|",
        ]
        for ds, variants in block.get("datasets", {}).items():
            for variant, figures in variants.items():
                text = ", ".join(f"{k} {fmt(v)}" for k, v in figures.items())
                lines.append(f"| {ds} | {variant} | {text} |")
        lines.append("")
    return lines


def sentiment_card(manifest: Manifest) -> str:
    """Return the MODEL_CARD.md text of a sentiment artifact (from its manifest)."""
    lines = _header(
        manifest,
        "Fast Vietnamese sentiment (negative / neutral / positive) with a probability "
        "calibrated per source (review, chat, social, survey; a `default` for unknown "
        "sources): a polarity head and a neutrality head, logistic regressions over syllable "
        "n-grams of the text and of its diacritics-free fold plus rule markers "
        f"({', '.join(manifest.features.get('markers', [])) or 'none'}: see `nlp/cues.py`), "
        "composed as P(neutral) = p_neu, P(positive) = (1 - p_neu) p_pos. Chat filler "
        '("dạ vâng", "alo", "ok shop") is neutral.',
    )
    dev = manifest.scores.get("dev", {})
    before = manifest.scores.get("dev_uncalibrated_ece", {})
    lines += [
        "## Scores on dev (used for selection and calibration)",
        "",
        *_refit_note(manifest),
        "| data set | F1 | definition | accuracy | ECE | ECE before calibration |",
        "|---|---|---|---|---|---|",
    ]
    extra = []
    for ds, r in dev.items():
        if "f1" not in r:
            extra.append(f"{ds}: " + ", ".join(f"{k} {fmt(v)}" for k, v in r.items()))
            continue
        cells = [ds, fmt(r["f1"]), r["f1_definition"], fmt(r["accuracy"]), fmt(r["ece"])]
        cells.append(fmt(before.get(ds)))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *[f"Macro-F1 {e}" for e in extra], ""]
    lines += ["Two-class data sets: positive iff P(positive) >= P(negative).", ""]
    lines += _test_section(manifest)
    lines += [
        "## Limitations",
        "",
        "- A bag of n-grams and rule markers: no long-range structure; sarcasm without a cue, "
        "comparisons and finely balanced opinions are often wrong; one message gets one label.",
        "- The corpus is written by a few writers; real customers write more varied text. "
        "Retrain on your own labelled messages where you can.",
        "- Neutral is learned only from data sets that label it.",
        "- The research-only data terms above apply to this artifact.",
        "",
    ]
    return "\n".join(lines)


def labels_card(manifest: Manifest) -> str:
    """Return the MODEL_CARD.md text of a topics or flags artifact."""
    task = manifest.labels.get("task", "labels")
    what = (
        "the CX topics of `nlp/resources/taxonomy.yaml` (several per message), each decided "
        "from the words and from which topics' keywords matched"
        if task == "topics"
        else "the flags complaint, question, praise, churn_risk and urgent (several per "
        "message), each on its own evidence: the words, the cues of `flags.yaml`, the "
        "lexicon's reading; never a threshold on the sentiment's confidence"
    )
    lines = _header(
        manifest,
        f"Fast multi-label model of {what}: one-vs-rest logistic regressions over syllable "
        "n-grams (text and diacritics-free fold) and rule markers "
        f"({', '.join(manifest.features.get('markers', [])) or 'none'}: see `nlp/cues.py`), "
        "with two decision thresholds per label chosen together out of fold: one for "
        "messages where the rule tables found the label's evidence (the topic's keywords, "
        "the flag's cues), one for messages where they did not.",
    )
    dev = manifest.scores.get("dev", {})
    thresholds = manifest.hyperparameters.get("thresholds", {})
    seeded = manifest.hyperparameters.get("seeded_thresholds", thresholds)
    lines += [
        "## Scores on dev (used for selection)",
        "",
        *_refit_note(manifest),
        f"Micro-F1 {fmt(dev.get('micro_f1'))}, macro-F1 {fmt(dev.get('macro_f1'))}.",
        "",
        "| label | threshold without / with evidence | precision | recall | F1 | support |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in dev.get("per_label", {}).items():
        cells = [label, f"{fmt(thresholds.get(label))} / {fmt(seeded.get(label))}"]
        cells += [fmt(r[k]) for k in ("precision", "recall", "f1")] + [str(r["support"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *_test_section(manifest)]
    lines += [
        "## Limitations",
        "",
        "- Learnt from the CX corpus, a few thousand messages written by a few writers: rare "
        "labels have few examples; the rule markers carry them on unseen wording.",
        "- One decision per message: where in the message a topic sits is found afterwards "
        "(its keywords, else the clause the model scores highest).",
        "",
    ]
    return "\n".join(lines)


def aspect_card(manifest: Manifest) -> str:
    """MODEL_CARD.md text of an aspect artifact."""
    labels = manifest.labels
    lines = _header(
        manifest,
        f"Fast aspect detection with per-aspect polarity for the `{labels['domain']}` domain "
        f"(corpus categories: {', '.join(labels.get('categories', [labels['domain']]))}): "
        "one-vs-rest logistic regressions over syllable n-grams (text and diacritics-free fold), "
        "a threshold per aspect tuned on dev, a three-way polarity head per aspect and a domain "
        "gate. The enricher applies the model only to messages of its categories, or, when the "
        "category is unknown, to messages its gate passes.",
    )
    dev = manifest.scores.get("dev", {})
    det = dev.get("detection", {})
    pol = dev.get("detection_polarity", {})
    lines += [
        "Aspects: " + ", ".join(f"`{a}`" for a in labels["aspects"]),
        "",
        "## Scores on dev (used for selection)",
        "",
        "Micro-averaged over (text, aspect) pairs and (text, aspect, polarity) triples.",
        "",
        *_refit_note(manifest),
        "| task | precision | recall | F1 |",
        "|---|---|---|---|",
        _prf_row("detection", det),
        _prf_row("detection + polarity", pol),
        "",
        f"Domain gate: {json_dumps(dev.get('gate', {}))}",
        "",
        *_test_section(manifest),
        "## Limitations",
        "",
        "- Aspects are detected for the whole text, not located in it; polarity is one per aspect.",
        "- Rare aspects (few training mentions) are rarely detected.",
        "- Aspects labelled without polarity (e.g. UIT-ViSFD `OTHERS`) are not modelled.",
        "- The research-only data terms above apply to this artifact.",
        "",
    ]
    return "\n".join(lines)


def _prf_row(task: str, scores: dict[str, Any]) -> str:
    cells = [fmt(scores.get(k)) for k in ("precision", "recall", "f1")]
    return f"| {task} | " + " | ".join(cells) + " |"


def card_for(manifest: Manifest) -> str:
    """The card text of any artifact."""
    if manifest.kind == "sentiment":
        return sentiment_card(manifest)
    if manifest.kind == "labels":
        return labels_card(manifest)
    return aspect_card(manifest)


def write_card(path: Path) -> None:
    """Rewrite MODEL_CARD.md of the artifact at ``path`` from its manifest."""
    (path / CARD_FILE).write_text(card_for(read_manifest(path)), encoding="utf-8")
