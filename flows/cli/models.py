"""``voc train`` and ``voc eval``: train the fast models and score models on labelled data.

Thin click commands over :mod:`nlp.train` and :mod:`nlp.evaluate`; library errors become
one line and exit code 1. Long runs show a progress bar; ``--quiet`` hides it and the
tables.
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
    """Train a fast model on labelled JSONL data (train split fits, dev selects).

    \b
    Example:
      voc train sentiment --data ../shared/data --out nlp/models
      voc train aspects --data ../shared/data --dataset uit_visfd --domain smartphone
    """


def _common_train_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--data",
            "data_dir",
            required=True,
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            help="Directory of data set folders, each with train/dev(/test).jsonl.",
        ),
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
            "thresholds/calibration then come from 2-fold cross-fitting over dev).",
        ),
        click.option("--seed", default=13, show_default=True, type=int),
        click.option("--quiet", is_flag=True, help="No progress bar and no summary table."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _settings(task: str, kwargs: dict[str, Any]) -> Any:
    from nlp.features import FeatureSpec
    from nlp.train import TrainSettings

    names = ("binary_weight", "weak_polarity", "weak_weight", "domain", "gate_negatives")
    extra = {k: kwargs[k] for k in names if k in kwargs}
    return TrainSettings(
        task=task,  # type: ignore[arg-type]
        datasets=_names(kwargs["datasets"]) or (),
        name=kwargs["name"],
        version=kwargs["version"],
        features=FeatureSpec(ngram_max=kwargs["ngram_max"], min_df=kwargs["min_df"]),
        c_grid=_floats(kwargs["c_grid"]),
        augment_no_diacritics=kwargs["augment"],
        prune_below=kwargs["prune_below"],
        refit_on_dev=kwargs["refit_on_dev"],
        seed=kwargs["seed"],
        **extra,
    )


@train.command("sentiment")
@_common_train_options
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
def train_sentiment_command(**kwargs: Any) -> None:
    """Train the negative/neutral/positive model with calibrated probabilities.

    \b
    Example:
      voc train sentiment --data ../shared/data --dataset vlsp2016_sa,aivivn2019_sa
    """
    from nlp.train import train_sentiment

    console = Console(stderr=True)
    try:
        settings = _settings("sentiment", kwargs)
        with _progress(kwargs["quiet"], console) as report:
            result = train_sentiment(kwargs["data_dir"], kwargs["out_dir"], settings, report)
    except VocError as exc:
        raise _fail(exc) from exc
    if not kwargs["quiet"]:
        table = Table(title=f"{result.manifest.versioned_name}: dev scores")
        for column in ("data set", "F1", "definition", "accuracy", "ECE"):
            table.add_column(column)
        for name, scores in result.dev_scores.items():
            table.add_row(
                name,
                f"{scores['f1']:.4f}",
                scores["f1_definition"],
                f"{scores['accuracy']:.4f}",
                f"{scores['calibration']['ece']:.4f}",
            )
        console.print(table)
    click.echo(str(result.path))


@train.command("aspects")
@_common_train_options
@click.option("--domain", default=None, help="Domain name of the aspect set (e.g. smartphone).")
@click.option(
    "--gate-negatives",
    default=None,
    help="Comma-separated out-of-domain data sets for the domain gate "
    "(default: the other data sets with aspects; '' for no gate).",
)
def train_aspects_command(**kwargs: Any) -> None:
    """Train aspect detection with per-aspect polarity for one domain.

    \b
    Example:
      voc train aspects --data ../shared/data --dataset vlsp2018_absa_hotel --domain hotel
    """
    from nlp.train import train_aspects

    kwargs["gate_negatives"] = _names(kwargs["gate_negatives"])
    console = Console(stderr=True)
    try:
        settings = _settings("aspects", kwargs)
        with _progress(kwargs["quiet"], console) as report:
            result = train_aspects(kwargs["data_dir"], kwargs["out_dir"], settings, report)
    except VocError as exc:
        raise _fail(exc) from exc
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
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of data set folders with test.jsonl (or --split).",
)
@click.option(
    "--dataset", "datasets", default=None, help="Comma-separated data sets (default: all)."
)
@click.option("--split", default="test", show_default=True, help="Split to score.")
@click.option(
    "--models",
    "models_dir",
    default=None,
    type=click.Path(exists=True, path_type=Path),
    help="Directory of fast artifacts (default: the packaged ones in nlp/models).",
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
    """Score the models on labelled data, also on perturbed copies.

    Sentiment: per-class precision/recall/F1, macro-F1, calibration (ECE). Aspects: micro
    P/R/F1 of detection and of detection + polarity. Each test set is also scored with
    diacritics removed and with teencode spellings (seeded).

    \b
    Example:
      voc eval --data ../shared/data --out results.json
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
    from nlp.aspects import AspectModel
    from nlp.datasets import discover, select
    from nlp.evaluate import EvalConfig, evaluate_dataset

    available = discover(kwargs["data_dir"])
    names = _names(kwargs["datasets"])
    infos = select(available, names) if names else available
    perturbations = () if kwargs["no_perturb"] else ("no_diacritics", "teencode")
    config = EvalConfig(
        split=kwargs["split"], perturbations=perturbations, gate=not kwargs["no_gate"]
    )

    sentiment: Any
    if kwargs["transformer"]:
        from nlp.transformer import TransformerSentiment, parse_label_map

        sentiment = TransformerSentiment.load(
            kwargs["transformer"],
            label_map=parse_label_map(kwargs["label_map"]) if kwargs["label_map"] else None,
            device=kwargs["device"],
        )
        aspect_models: list[AspectModel] = []
    else:
        sentiment, aspect_models = _fast_models(kwargs["models_dir"])
    console = Console(stderr=True)
    results: dict[str, Any] = {
        "split": config.split,
        "sentiment_model": sentiment.version,
        "aspect_models": [m.version for m in aspect_models],
        "perturbations": list(perturbations),
        "seed": config.seed,
        "datasets": {},
    }
    total = _count(infos, config)
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
        report("scoring", total, total)
    return results


def _record(results: dict[str, Any], models_dir: Path | None) -> None:
    """Write each fast model's figures into its manifest and card (``--record``)."""
    from datetime import UTC, datetime

    from nlp.artifacts import MODELS_DIR, read_manifest, record_scores
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
    date = datetime.now(UTC).date().isoformat()
    split = results["split"]
    for version, datasets in per_model.items():
        path = directory / version if (directory / version).is_dir() else directory
        recorded = dict(read_manifest(path).scores.get("eval", {}))
        recorded[split] = {"date": date, "datasets": datasets}
        record_scores(path, "eval", recorded)
        write_card(path)


def _count(infos: Sequence[Any], config: Any) -> int:
    """Texts to score: per data set, its split size x variants x labelled tasks."""
    total = 0
    for info in infos:
        if config.split not in info.splits:
            continue
        with info.split_path(config.split).open(encoding="utf-8") as handle:
            n = sum(1 for line in handle if line.strip())
        tasks = int(info.has_sentiment()) + int(info.has_aspects())
        total += n * (1 + len(config.perturbations)) * tasks
    return total


def _fast_models(models_dir: Path | None) -> tuple[Any, list[Any]]:
    from nlp.artifacts import MODELS_DIR, find_artifacts, read_manifest, version_key
    from nlp.aspects import AspectModel
    from nlp.sentiment import SentimentModel

    directory = models_dir or MODELS_DIR
    sentiment_paths = find_artifacts(directory, "sentiment")
    if not sentiment_paths:
        msg = f"no sentiment artifact in {directory}; train one with `voc train sentiment`"
        raise click.ClickException(msg)
    newest = max(sentiment_paths, key=lambda p: version_key(read_manifest(p)))
    aspects = [AspectModel.load(p) for p in find_artifacts(directory, "aspects")]
    return SentimentModel.load(newest), aspects


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def print_results(results: dict[str, Any], console: Console) -> None:
    """Print the sentiment, per-class and aspect tables of an evaluation."""
    variants = ["original", *results["perturbations"]]
    split = results["split"]
    sentiment = Table(title=f"sentiment ({results['sentiment_model']}) on {split}, %")
    for column in ("data set", "task", "variant", "F1", "macro-F1", "acc", "ECE"):
        sentiment.add_column(column)
    per_class = Table(title=f"sentiment per class on {split} (original), %")
    for column in ("data set", "class", "precision", "recall", "F1", "support"):
        per_class.add_column(column)
    aspects = Table(title=f"aspects on {split}, micro, %")
    for column in ("data set", "variant", "det P", "det R", "det F1", "pol P", "pol R", "pol F1"):
        aspects.add_column(column)
    models: list[str] = []
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
            for variant in variants:
                s = block["variants"][variant]
                det, pol = s["detection"], s["detection_polarity"]
                aspects.add_row(
                    name,
                    variant,
                    *(_pct(det[k]) for k in ("precision", "recall", "f1")),
                    *(_pct(pol[k]) for k in ("precision", "recall", "f1")),
                )
    console.print(sentiment)
    console.print(per_class)
    if models:
        aspects.caption = "; ".join(models)
        console.print(aspects)
