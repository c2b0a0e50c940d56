"""``voc train`` and ``voc eval``: train the fast models and score them on labelled data.

Thin click commands over :mod:`nlp.train` and :mod:`nlp.evaluate`; library errors become
one line and exit code 1. Long runs show a progress bar; ``--quiet`` hides it and the
tables. Both read the project's CX corpus (``corpus/cx``) unless told otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from schemas.errors import VocError


def _floats(value: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError as exc:
        msg = f"expected comma-separated numbers like 1,4,16, got {value!r}"
        raise click.BadParameter(msg) from exc


def _names(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


@contextmanager
def _progress(quiet: bool, console: Console) -> Iterator[Callable[[str, int, int], None]]:
    """Yield ``report(step, done, total)`` that drives one rich progress bar per step."""
    if quiet:
        yield lambda step, done, total: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        yield report


def _fail(exc: VocError) -> click.ClickException:
    return click.ClickException(str(exc))


# -- voc train ----------------------------------------------------------------------------------


@click.group("train")
def train() -> None:
    """Train a fast model on labelled JSONL data (train splits fit, dev splits choose).

    \b
    Example:
      voc train sentiment --data ../shared/data --out nlp/models
      voc train topics --out nlp/models
      voc train aspects --data ../shared/data --dataset uit_visfd --domain smartphone
    """


def _corpus_option(value: Path | None, no_corpus: bool) -> Path | None:
    from nlp.datasets import default_corpus

    if no_corpus:
        return None
    return value if value is not None else default_corpus()


def _common_train_options(*, data_required: bool) -> Callable[[Callable[..., Any]], Any]:
    def apply(func: Callable[..., Any]) -> Any:
        options = [
            click.option(
                "--data",
                "data_dir",
                required=data_required,
                default=None,
                type=click.Path(exists=True, file_okay=False, path_type=Path),
                help="Directory of public data set folders, each with train/dev(/test).jsonl.",
            ),
            click.option(
                "--corpus",
                "corpus",
                default=None,
                type=click.Path(exists=True, file_okay=False, path_type=Path),
                help="The CX corpus folder (default: corpus/cx of this checkout).",
            ),
            click.option("--no-corpus", is_flag=True, help="Do not read the CX corpus."),
            click.option(
                "--dataset",
                "datasets",
                default=None,
                help="Comma-separated data set folders to train on (default: all with labels).",
            ),
            click.option(
                "--out",
                "out_dir",
                default=Path("models"),
                show_default=True,
                type=click.Path(file_okay=False, path_type=Path),
                help="Where <name>-<version>/ is written.",
            ),
            click.option("--name", default=None, help="Artifact name (default per task)."),
            click.option("--version", "version", default="1.0.0", show_default=True),
            click.option(
                "--c",
                "c_grid",
                default="1,4,16",
                show_default=True,
                help="Inverse regularization strengths to try; dev picks one.",
            ),
            click.option("--ngram-max", default=2, show_default=True, type=click.IntRange(1, 3)),
            click.option("--min-df", default=2, show_default=True, type=click.IntRange(1)),
            click.option(
                "--markers",
                default=None,
                help="Comma-separated marker families (source, shape, lexicon, sarcasm, "
                "topics, flags; '' for none); default: the task's.",
            ),
            click.option(
                "--augment/--no-augment",
                default=True,
                show_default=True,
                help="Also train on a diacritics-free copy of every text.",
            ),
            click.option(
                "--prune",
                "prune_below",
                default=1e-3,
                show_default=True,
                type=float,
                help="Drop saved weights smaller than this.",
            ),
            click.option(
                "--refit-on-dev/--no-refit-on-dev",
                "refit_on_dev",
                default=False,
                show_default=True,
                help="After dev has chosen the settings, refit on train + dev (dev-fitted "
                "thresholds/calibration then come from cross-fitting).",
            ),
            click.option("--seed", default=13, show_default=True, type=int),
            click.option("--quiet", is_flag=True, help="No progress bar and no summary table."),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return apply


def _settings(task: str, kwargs: dict[str, Any]) -> Any:
    from nlp.features import FeatureSpec
    from nlp.train import TrainSettings, default_features

    names = (
        "binary_weight",
        "weak_polarity",
        "weak_weight",
        "corpus_weight",
        "binary_in_neutral",
        "nb_strength",
        "domain",
        "gate_negatives",
        "gate_max_out",
        "folds",
    )
    extra = {k: kwargs[k] for k in names if k in kwargs}
    if kwargs.get("categories"):
        extra["categories"] = _names(kwargs["categories"])
    markers = _names(kwargs["markers"])
    return TrainSettings(
        task=task,  # type: ignore[arg-type]
        datasets=_names(kwargs["datasets"]) or (),
        corpus=_corpus_option(kwargs["corpus"], kwargs["no_corpus"]),
        name=kwargs["name"],
        version=kwargs["version"],
        features=FeatureSpec(
            ngram_max=kwargs["ngram_max"],
            min_df=kwargs["min_df"],
            markers=markers if markers is not None else default_features(task).markers,
        ),
        c_grid=_floats(kwargs["c_grid"]),
        augment_no_diacritics=kwargs["augment"],
        prune_below=kwargs["prune_below"],
        refit_on_dev=kwargs["refit_on_dev"],
        seed=kwargs["seed"],
        **extra,
    )


def _run_training(task: str, kwargs: dict[str, Any]) -> Any:
    from nlp.train import train as run

    console = Console(stderr=True)
    try:
        settings = _settings(task, kwargs)
        with _progress(kwargs["quiet"], console) as report:
            result = run(kwargs.get("data_dir"), kwargs["out_dir"], settings, report)
    except VocError as exc:
        raise _fail(exc) from exc
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    return result, console


_NB_STRENGTH = click.option(
    "--nb-strength",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Naive-Bayes scaling of each head's features, 0 (off) to 1 (NBSVM).",
)


@train.command("sentiment")
@_common_train_options(data_required=False)
@click.option(
    "--corpus-weight",
    default=3.0,
    show_default=True,
    type=float,
    help="Weight of a corpus message against one of a public data set.",
)
@click.option(
    "--binary-weight",
    default=1.0,
    show_default=True,
    type=float,
    help="Weight of examples from two-class data sets in the polarity head.",
)
@click.option(
    "--weak/--no-weak",
    "weak_polarity",
    default=True,
    show_default=True,
    help="Let the polarity head also learn from star ratings and one-polarity aspect labels.",
)
@click.option("--weak-weight", default=1.0, show_default=True, type=float)
@click.option(
    "--binary-in-neutral",
    default=0.3,
    show_default=True,
    type=float,
    help="Weight of two-class examples, as polar ones, in the neutrality head (0: none).",
)
@_NB_STRENGTH
def train_sentiment_command(**kwargs: Any) -> None:
    """Train the negative/neutral/positive model, calibrated per source.

    \b
    Example:
      voc train sentiment --data ../shared/data --dataset vlsp2016_sa,aivivn2019_sa
    """
    result, console = _run_training("sentiment", kwargs)
    if not kwargs["quiet"]:
        table = Table(title=f"{result.manifest.versioned_name}: dev scores")
        for column in ("data set", "F1", "definition", "accuracy", "ECE"):
            table.add_column(column)
        for name, scores in result.dev_scores.items():
            if "f1" not in scores:
                continue
            table.add_row(
                name,
                f"{scores['f1']:.4f}",
                scores["f1_definition"],
                f"{scores['accuracy']:.4f}",
                f"{scores['calibration']['ece']:.4f}",
            )
        console.print(table)
    click.echo(str(result.path))


def _label_command(task: str, kwargs: dict[str, Any]) -> None:
    result, console = _run_training(task, kwargs)
    if not kwargs["quiet"]:
        scores = result.dev_scores
        table = Table(
            title=f"{result.manifest.versioned_name}: dev scores (micro-F1 "
            f"{scores['micro_f1']:.4f}, macro-F1 {scores['macro_f1']:.4f})"
        )
        for column in ("label", "precision", "recall", "F1", "support"):
            table.add_column(column)
        for label, s in scores["per_label"].items():
            table.add_row(
                label,
                f"{s['precision']:.4f}",
                f"{s['recall']:.4f}",
                f"{s['f1']:.4f}",
                str(s["support"]),
            )
        console.print(table)
    click.echo(str(result.path))


_FOLDS = click.option(
    "--folds",
    default=5,
    show_default=True,
    type=click.IntRange(2),
    help="Folds of the cross-fitting that chooses each label's threshold.",
)


@train.command("topics")
@_common_train_options(data_required=False)
@_FOLDS
@_NB_STRENGTH
def train_topics_command(**kwargs: Any) -> None:
    """Train the multi-label topic model of the packaged taxonomy on the CX corpus.

    \b
    Example:
      voc train topics --out nlp/models --version 1.0.0
    """
    _label_command("topics", kwargs)


@train.command("flags")
@_common_train_options(data_required=False)
@_FOLDS
@_NB_STRENGTH
def train_flags_command(**kwargs: Any) -> None:
    """Train the flag model (complaint, question, praise, churn_risk, urgent) on the corpus.

    \b
    Example:
      voc train flags --out nlp/models --version 1.0.0
    """
    _label_command("flags", kwargs)


@train.command("aspects")
@_common_train_options(data_required=True)
@click.option("--domain", default=None, help="Domain name of the aspect set (e.g. smartphone).")
@click.option(
    "--categories",
    default=None,
    help="Comma-separated corpus categories that are this domain (default: the domain).",
)
@click.option(
    "--gate-negatives",
    default=None,
    help="Comma-separated out-of-domain data sets for the domain gate "
    "(default: the other data sets with aspects; '' for none: the gate then learns from the "
    "corpus alone, with a stricter threshold).",
)
@click.option(
    "--gate-max-out",
    default=0.005,
    show_default=True,
    type=click.FloatRange(0, 0.5),
    help="Largest share of out-of-domain dev texts that may get an aspect past the gate.",
)
def train_aspects_command(**kwargs: Any) -> None:
    """Train aspect detection with per-aspect polarity for one domain.

    \b
    Example:
      voc train aspects --data ../shared/data --dataset vlsp2018_absa_hotel \
        --domain travel_hotel
    """
    kwargs["gate_negatives"] = _names(kwargs["gate_negatives"])
    result, console = _run_training("aspects", kwargs)
    if not kwargs["quiet"]:
        table = Table(title=f"{result.manifest.versioned_name}: dev scores (micro)")
        for column in ("task", "precision", "recall", "F1"):
            table.add_column(column)
        for task in ("detection", "detection_polarity"):
            s = result.dev_scores[task]
            table.add_row(task, f"{s['precision']:.4f}", f"{s['recall']:.4f}", f"{s['f1']:.4f}")
        console.print(table)
    click.echo(str(result.path))


# -- voc eval -----------------------------------------------------------------------------------


@click.command("eval")
@click.option(
    "--data",
    "data_dir",
    default=None,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of public data set folders with test.jsonl (or --split).",
)
@click.option(
    "--dataset", "datasets", default=None, help="Comma-separated data sets (default: all)."
)
@click.option(
    "--corpus",
    "corpus",
    default=None,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The CX corpus folder (default: corpus/cx of this checkout).",
)
@click.option("--no-corpus", is_flag=True, help="Do not score the CX corpus.")
@click.option("--split", default="test", show_default=True, help="Split to score.")
@click.option(
    "--models",
    "models_dir",
    default=None,
    type=click.Path(exists=True, path_type=Path),
    help="Directory of fast artifacts (default: the packaged ones in nlp/models); kinds it "
    "lacks come from the packaged ones.",
)
@click.option(
    "--transformer",
    "transformer",
    default=None,
    help="Score this Hugging Face model (local path or hub id) for sentiment instead.",
)
@click.option(
    "--label-map",
    default=None,
    help="For --transformer: model label -> negative/neutral/positive, "
    "e.g. 'NEG:negative,POS:positive'.",
)
@click.option(
    "--device", default="auto", show_default=True, help="For --transformer: auto, cpu, cuda."
)
@click.option("--no-perturb", is_flag=True, help="Skip the perturbed copies.")
@click.option("--no-gate", is_flag=True, help="Do not apply the aspect models' domain gates.")
@click.option(
    "--out",
    "out_file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every figure as JSON here.",
)
@click.option(
    "--record",
    is_flag=True,
    help="Store the figures in each fast artifact's manifest and MODEL_CARD.md.",
)
@click.option("--quiet", is_flag=True, help="No progress bar and no tables.")
def eval_command(**kwargs: Any) -> None:
    """Score the models on labelled data and on perturbed copies.

    Public data sets: sentiment per class, macro-F1 and calibration (ECE); aspects, micro
    P/R/F1 of detection and of detection + polarity. The CX corpus: the whole enricher,
    with sentiment overall, per source and per style tag, topics, flags, filler turns and
    the share of messages outside an aspect model's domain that got its aspects. Each test
    set is also scored with diacritics removed and with teencode spellings (seeded).

    \b
    Example:
      voc eval --data ../shared/data --out results.json
      voc eval --no-perturb                  # the CX corpus only
    """
    if kwargs["record"] and kwargs["transformer"]:
        msg = "--record stores figures in fast artifacts: not with --transformer"
        raise click.UsageError(msg)
    try:
        results = _run_eval(kwargs)
        if kwargs["record"]:
            _record(results, kwargs["models_dir"])
    except VocError as exc:
        raise _fail(exc) from exc
    if kwargs["out_file"] is not None:
        kwargs["out_file"].write_text(
            json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    if not kwargs["quiet"]:
        print_results(results, Console())


def _run_eval(kwargs: dict[str, Any]) -> dict[str, Any]:
    from nlp.datasets import discover, open_dataset, select
    from nlp.evaluate import EvalConfig, evaluate_cx, evaluate_dataset

    infos = []
    if kwargs["data_dir"] is not None:
        available = discover(kwargs["data_dir"])
        names = _names(kwargs["datasets"])
        infos = select(available, names) if names else available
    corpus_dir = _corpus_option(kwargs["corpus"], kwargs["no_corpus"])
    corpus = open_dataset(corpus_dir) if corpus_dir is not None else None
    if not infos and corpus is None:
        msg = "nothing to score: give --data DIR or a corpus (--corpus DIR)"
        raise click.UsageError(msg)
    perturbations = () if kwargs["no_perturb"] else ("no_diacritics", "teencode")
    config = EvalConfig(
        split=kwargs["split"], perturbations=perturbations, gate=not kwargs["no_gate"]
    )
    models = _models(kwargs)
    sentiment, aspect_models, enricher = models["sentiment"], models["aspects"], models["enricher"]
    console = Console(stderr=True)
    results: dict[str, Any] = {
        "split": config.split,
        "sentiment_model": sentiment.version,
        "aspect_models": [m.version for m in aspect_models],
        "enricher": enricher.version,
        "perturbations": list(perturbations),
        "seed": config.seed,
        "datasets": {},
    }
    total = _count([*infos, *([corpus] if corpus else [])], config)
    with _progress(kwargs["quiet"], console) as report:
        done = 0

        def advance(label: str, n: int) -> None:
            nonlocal done
            done += n
            report("scoring", done, total)

        for info in infos:
            if config.split not in info.splits:
                continue
            results["datasets"][info.name] = evaluate_dataset(
                info, sentiment, aspect_models, config, advance
            )
        if corpus is not None and config.split in corpus.splits:
            results["cx"] = evaluate_cx(
                corpus, enricher, aspect_models, models["topic_ids"], config, advance
            )
        report("scoring", total, total)
    return results


def _models(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The sentiment model, aspect models and whole enricher ``voc eval`` scores."""
    from nlp.aspects import AspectModel
    from nlp.fast import FastEnricher, build_fast, packaged_labels
    from nlp.labels import LabelModel

    if kwargs["transformer"]:
        from nlp.taxonomy import load_taxonomy
        from nlp.transformer import TransformerSentiment, parse_label_map

        sentiment: Any = TransformerSentiment.load(
            kwargs["transformer"],
            label_map=parse_label_map(kwargs["label_map"]) if kwargs["label_map"] else None,
            device=kwargs["device"],
        )
        topics, flags = packaged_labels("topics"), packaged_labels("flags")
        enricher = FastEnricher(
            sentiment,
            [],
            load_taxonomy(),
            topics=LabelModel.load(topics) if topics else None,
            flags=LabelModel.load(flags) if flags else None,
            prefix="transformer",
        )
        aspect_models: list[AspectModel] = []
    else:
        models_dir = kwargs["models_dir"]
        enricher = build_fast(
            model_path=str(models_dir) if models_dir else None, taxonomy_path=None
        )
        sentiment = enricher.sentiment
        aspect_models = list(enricher.aspects)
    topic_ids = list(enricher.taxonomy.ids)
    return {
        "sentiment": sentiment,
        "aspects": aspect_models,
        "enricher": enricher,
        "topic_ids": topic_ids,
    }


def _record(results: dict[str, Any], models_dir: Path | None) -> None:
    """Write each fast model's figures into its manifest and card (``--record``)."""
    from datetime import UTC, datetime

    from nlp.artifacts import MODELS_DIR, find_artifacts, read_manifest, record_scores
    from nlp.train import write_card

    directory = models_dir or MODELS_DIR
    per_model: dict[str, dict[str, Any]] = {}
    for name, result in results["datasets"].items():
        if "sentiment" in result:
            block = result["sentiment"]
            per_model.setdefault(block["model"], {})[name] = {
                variant: {
                    "f1": s["f1"],
                    "macro_f1": s["macro_f1"],
                    "accuracy": s["accuracy"],
                    "ece": s["calibration"]["ece"],
                }
                for variant, s in block["variants"].items()
            }
        if "aspects" in result:
            block = result["aspects"]
            per_model.setdefault(block["model"], {})[name] = {
                variant: {
                    f"{task}_{k}": s[key][k]
                    for task, key in (("det", "detection"), ("pol", "detection_polarity"))
                    for k in ("precision", "recall", "f1")
                }
                for variant, s in block["variants"].items()
            }
    cx = results.get("cx")
    if cx is not None:
        versions = cx["enricher"].split(":", 1)[1].split("+")
        for version in (v for v in versions if not v.startswith("tax.")):
            per_model.setdefault(version, {})[cx["dataset"]] = _cx_figures(version, cx)
    date = datetime.now(UTC).date().isoformat()
    split = results["split"]
    here = {p.name: p for p in find_artifacts(directory)} if directory.is_dir() else {}
    packaged = {p.name: p for p in find_artifacts(MODELS_DIR)} if MODELS_DIR.is_dir() else {}
    for version, datasets in per_model.items():
        path = here.get(version) or packaged.get(version)
        if path is None and (directory / "manifest.json").is_file():
            path = directory
        if path is None:
            continue
        recorded = dict(read_manifest(path).scores.get("eval", {}))
        recorded[split] = {"date": date, "datasets": datasets}
        record_scores(path, "eval", recorded)
        write_card(path)


def _cx_figures(version: str, cx: dict[str, Any]) -> dict[str, Any]:
    """The corpus figures that belong to one model of the enricher."""
    out: dict[str, Any] = {}
    for variant, s in cx["variants"].items():
        if version.startswith("sentiment"):
            figures = {"macro_f1": s["sentiment"]["macro_f1"]}
            figures |= {
                f"macro_f1_{src}": r["macro_f1"] for src, r in s["sentiment"]["by_source"].items()
            }
            figures["filler_neutral"] = s["filler_neutral_share"]
        elif version.startswith("topics"):
            figures = {"micro_f1": s["topics"]["micro_f1"], "macro_f1": s["topics"]["macro_f1"]}
        elif version.startswith("flags"):
            figures = {f"f1_{f}": r["f1"] for f, r in s["flags"]["per_flag"].items()}
        else:
            block = cx["aspects_out_of_domain"][variant].get(version, {})
            figures = {
                "ood_share_with_category": block.get("share_with_category"),
                "ood_share_without_category": block.get("share_without_category"),
            }
        out[variant] = figures
    return out


def _count(infos: Sequence[Any], config: Any) -> int:
    """Texts to score: per data set, its split size x variants x labelled tasks."""
    total = 0
    for info in infos:
        if config.split not in info.splits:
            continue
        with info.split_path(config.split).open(encoding="utf-8") as handle:
            n = sum(1 for line in handle if line.strip())
        tasks = 1 if info.has_cx_labels() else int(info.has_sentiment()) + int(info.has_aspects())
        total += n * (1 + len(config.perturbations)) * tasks
    return total


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def print_results(results: dict[str, Any], console: Console) -> None:
    """Print the tables of an evaluation: public data sets, then the CX corpus."""
    variants = ["original", *results["perturbations"]]
    split = results["split"]
    sentiment = Table(title=f"sentiment ({results['sentiment_model']}) on {split}, %")
    for column in ("data set", "task", "variant", "F1", "macro-F1", "acc", "ECE", "neutral %"):
        sentiment.add_column(column)
    per_class = Table(title=f"sentiment per class on {split} (original), %")
    for column in ("data set", "class", "precision", "recall", "F1", "support"):
        per_class.add_column(column)
    aspects = Table(title=f"aspects on {split}, micro, %")
    for column in ("data set", "variant", "det P", "det R", "det F1", "pol P", "pol R", "pol F1"):
        aspects.add_column(column)
    models: list[str] = []
    lines: list[str] = []
    for name, result in results["datasets"].items():
        if "sentiment" in result:
            block = result["sentiment"]
            for variant in variants:
                s = block["variants"][variant]
                sentiment.add_row(
                    name,
                    block["task"],
                    variant,
                    _pct(s["f1"]),
                    _pct(s["macro_f1"]),
                    _pct(s["accuracy"]),
                    f"{s['calibration']['ece']:.3f}",
                    _pct(s["predicted_neutral_share"]),
                )
            for label, c in block["variants"]["original"]["per_class"].items():
                per_class.add_row(
                    name,
                    label,
                    _pct(c["precision"]),
                    _pct(c["recall"]),
                    _pct(c["f1"]),
                    str(c["support"]),
                )
        if "aspects" in result:
            block = result["aspects"]
            models.append(f"{name}: {block['model']}")
            if block.get("gate_only"):
                det, pol = block["gate_only"]["detection"], block["gate_only"]["detection_polarity"]
                lines.append(
                    f"{name}: scored as messages of category {block['category']}; with the "
                    f"category unknown (the gate alone) detection F1 {_pct(det['f1'])}, "
                    f"+ polarity F1 {_pct(pol['f1'])}"
                )
            for variant in variants:
                s = block["variants"][variant]
                det, pol = s["detection"], s["detection_polarity"]
                aspects.add_row(
                    name,
                    variant,
                    *(_pct(det[k]) for k in ("precision", "recall", "f1")),
                    *(_pct(pol[k]) for k in ("precision", "recall", "f1")),
                )
        lines += [f"{name}: {note}" for note in result.get("notes", [])]
    if sentiment.row_count:
        console.print(sentiment)
        console.print(per_class)
    if models:
        aspects.caption = "; ".join(models)
        console.print(aspects)
    for line in lines:
        console.print(line)
    if "cx" in results:
        print_cx(results["cx"], variants, console)


def print_cx(cx: dict[str, Any], variants: list[str], console: Console) -> None:
    """Print the CX corpus tables of an evaluation."""
    split = cx["split"]
    title = f"CX corpus {split} ({cx['n']} messages), enricher {cx['enricher']}"
    console.print(f"[bold]{title}[/bold]")
    by_variant = cx["variants"]
    overall = Table(title="sentiment macro-F1 / topics micro-F1 / flags macro-F1, %")
    for column in ("variant", "sentiment", "review", "chat", "social", "survey", "topics", "flags"):
        overall.add_column(column)
    for variant in variants:
        s = by_variant[variant]
        sources = s["sentiment"]["by_source"]
        overall.add_row(
            variant,
            _pct(s["sentiment"]["macro_f1"]),
            *(
                _pct(sources[src]["macro_f1"]) if src in sources else "-"
                for src in ("review", "chat", "social", "survey")
            ),
            _pct(s["topics"]["micro_f1"]),
            _pct(s["flags"]["macro_f1"]),
        )
    console.print(overall)
    original = by_variant["original"]
    classes = Table(title="sentiment per class (original), %")
    for column in ("class", "precision", "recall", "F1", "support"):
        classes.add_column(column)
    for label, c in original["sentiment"]["per_class"].items():
        classes.add_row(
            label, _pct(c["precision"]), _pct(c["recall"]), _pct(c["f1"]), str(c["support"])
        )
    console.print(classes)
    tags = Table(title="sentiment macro-F1 per style tag (original), %")
    for column in ("tag", "macro-F1", "accuracy", "n"):
        tags.add_column(column)
    for tag, r in original["sentiment"]["by_tag"].items():
        tags.add_row(tag, _pct(r["macro_f1"]), _pct(r["accuracy"]), str(r["n"]))
    console.print(tags)
    console.print(
        f"filler turns called neutral: {_pct(original['filler_neutral_share'])}% "
        f"of {original['filler_n']}"
    )
    topics = Table(
        title=f"topics (original): micro-F1 {_pct(original['topics']['micro_f1'])}, macro-F1 "
        f"{_pct(original['topics']['macro_f1'])}, topic sentiment right "
        f"{_pct(original['topics']['sentiment_agreement'])}% of "
        f"{original['topics']['sentiment_pairs']}"
    )
    for column in ("topic", "precision", "recall", "F1", "support", "predicted"):
        topics.add_column(column)
    for topic, r in original["topics"]["per_topic"].items():
        topics.add_row(
            topic,
            _pct(r["precision"]),
            _pct(r["recall"]),
            _pct(r["f1"]),
            str(r["support"]),
            str(r["predicted"]),
        )
    console.print(topics)
    flags = Table(title="flags (original), %")
    for column in ("flag", "precision", "recall", "F1", "support", "predicted"):
        flags.add_column(column)
    for flag, r in original["flags"]["per_flag"].items():
        flags.add_row(
            flag,
            _pct(r["precision"]),
            _pct(r["recall"]),
            _pct(r["f1"]),
            str(r["support"]),
            str(r["predicted"]),
        )
    console.print(flags)
    ood = Table(title="messages outside an aspect model's categories that got its aspects, %")
    for column in ("model", "variant", "outside", "category known", "category unknown (gate)"):
        ood.add_column(column)
    for variant in variants:
        for model, r in cx["aspects_out_of_domain"][variant].items():
            ood.add_row(
                model,
                variant,
                str(r["outside"]),
                _pct(r["share_with_category"]),
                _pct(r["share_without_category"]),
            )
    if ood.row_count:
        console.print(ood)
    else:
        console.print("no aspect model: no aspects to check outside their domains")
    drops = cx["drop"]
    for name in variants[1:]:
        console.print(
            f"drop on {name}: sentiment {100 * drops['sentiment_macro_f1'][name]:.2f}, topics "
            f"{100 * drops['topics_micro_f1'][name]:.2f}, flags "
            f"{100 * drops['flags_macro_f1'][name]:.2f} points"
        )
