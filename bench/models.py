"""Inference cost of the models: the fast artifacts, and the transformer backend on CPU.

1. The packaged fast models (or ``--models DIR``): microseconds per message for tokenizing,
   the sentiment model and each aspect model, on batches of 512 normalized messages, one
   core, one thread. Their budget in the stream is about 120 µs per message together.
2. The transformer backend on a BERT-base-sized model (12 layers, hidden 768, 12 heads,
   intermediate 3072) built locally with random weights and a vocabulary written from the
   benchmark messages, saved with ``save_pretrained`` and loaded through
   :class:`nlp.transformer.TransformerSentiment`: messages per second on batches of
   ``--tf-batch`` sequences of exactly ``--seq-len`` tokens, with ``--threads`` torch threads.
   On CUDA too when a GPU is present.

Messages come from the templates of ``bench/text.py`` (written for the benchmarks). Other
work on the machine disturbs timings: run it twice.

    PYTHONPATH=. python bench/models.py
    PYTHONPATH=. python bench/models.py --skip-transformer
    PYTHONPATH=. python bench/models.py --tf-batches 3 --threads 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy / torch load their thread pools

from bench.text import messages
from nlp.artifacts import MODELS_DIR, find_artifacts, read_manifest, version_key
from nlp.aspects import AspectModel
from nlp.datasets import model_text
from nlp.features import tokenize
from nlp.sentiment import SentimentModel

BATCH = 512


def _best_us(fn: Callable[[], object], n: int, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return min(runs) / n * 1e6


def _time_batch(
    batch: list[str],
    tokens: list[list[str]],
    sentiment: SentimentModel,
    aspects: list[AspectModel],
    repeat: int,
) -> dict[str, float]:
    timings = {
        "tokenize": _best_us(lambda: [tokenize(t) for t in batch], BATCH, repeat),
        sentiment.version: _best_us(lambda: sentiment.proba_tokens(tokens), BATCH, repeat),
    }
    for model in aspects:
        timings[model.version] = _best_us(partial(model.predict_tokens, tokens), BATCH, repeat)
    timings["total"] = sum(timings.values())
    return timings


def fast_models(models_dir: Path, batches: int, repeat: int, seed: int) -> None:
    """Print µs per message of tokenizing and of each fast model on batches of 512."""
    sentiment_paths = find_artifacts(models_dir, "sentiment")
    newest = max(sentiment_paths, key=lambda p: version_key(read_manifest(p)))
    sentiment = SentimentModel.load(newest)
    aspects = [AspectModel.load(p) for p in find_artifacts(models_dir, "aspects")]
    rows: dict[str, list[float]] = {}
    for b in range(batches):
        batch = [model_text(t) for t in messages(BATCH, seed=seed + b)]
        tokens = [tokenize(t) for t in batch]
        sentiment.proba_tokens(tokens[:16])  # warm the code paths, untimed
        timings = _time_batch(batch, tokens, sentiment, aspects, repeat)
        for name, value in timings.items():
            rows.setdefault(name, []).append(value)
    print(f"fast models, batches of {BATCH}, one core, one thread (median of {batches} batches)")
    print(f"{'step':<40}{'µs/msg':>10}")
    for name, values in rows.items():
        print(f"{name:<40}{statistics.median(values):>10.1f}")
    total = statistics.median(rows["total"])
    print(f"{'=> messages/second (these steps alone)':<40}{1e6 / total:>10.0f}")


def _write_base_model(path: Path, texts: Sequence[str], seq_len: int) -> None:
    import torch
    import transformers

    words = sorted({w for t in texts for w in tokenize(t)})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizer(
        vocab=str(path / "vocab.txt"), do_lower_case=True, strip_accents=False
    )
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=max(len(vocab), 30_000),
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=max(512, seq_len),
        num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    transformers.BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)


def transformer(args: argparse.Namespace) -> None:
    """Print messages/second of the transformer backend on a BERT-base-sized model."""
    import torch

    from nlp.transformer import TransformerSentiment

    torch.set_num_threads(args.threads)
    pool = [model_text(t) for t in messages(4 * args.tf_batch, seed=args.seed)]
    # join messages until each text is longer than seq_len tokens: every sequence is full
    texts, current = [], ""
    for text in pool * 8:
        current = f"{current} {text}".strip()
        if len(tokenize(current)) > args.seq_len:
            texts.append(current)
            current = ""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        _write_base_model(path, pool, args.seq_len)
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for device in devices:
            model = TransformerSentiment.load(
                path, device=device, batch_size=args.tf_batch, max_length=args.seq_len
            )
            params = sum(p.numel() for p in model.model.parameters()) / 1e6
            batch = texts[: args.tf_batch]
            lengths = model.tokenizer(batch, truncation=True, max_length=args.seq_len)["input_ids"]
            model.predict_proba(batch[:2])  # warm-up, untimed
            runs = []
            for _ in range(args.tf_batches):
                start = time.perf_counter()
                model.predict_proba(batch)
                runs.append(time.perf_counter() - start)
            per_second = len(batch) / statistics.median(runs)
            threads = args.threads if device == "cpu" else "-"
            print(
                f"transformer BERT-base shape ({params:.0f}M parameters), {device}, "
                f"threads {threads}, batch {len(batch)} x {min(map(len, lengths))}-"
                f"{max(map(len, lengths))} tokens: {per_second:.1f} messages/second "
                f"(median of {len(runs)} batches)"
            )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print their figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", type=Path, default=MODELS_DIR, help="fast artifacts directory")
    parser.add_argument("--batches", type=int, default=6, help="batches of 512 for fast models")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-transformer", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on CPU")
    parser.add_argument("--tf-batch", type=int, default=32, help="sequences per transformer batch")
    parser.add_argument("--tf-batches", type=int, default=3, help="timed transformer batches")
    parser.add_argument("--seq-len", type=int, default=128)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity") and args.threads == 1:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    print(f"python {sys.version.split()[0]}, cores visible: {len(os.sched_getaffinity(0))}")
    fast_models(args.models, args.batches, args.repeat, args.seed)
    if not args.skip_transformer:
        try:
            transformer(args)
        except ImportError:
            print("transformer: not installed (pip install 'voc-stream[transformer]')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
