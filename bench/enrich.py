"""Messages per second of the whole enrichment path on one core, on batches.

The path the flow runs for every message: ``redact`` (nlp.pii), ``detect_language``
(nlp.langid), ``normalize`` (nlp.normalize), then the enricher's ``enrich_batch`` on the
batch (``--enricher fast`` by default: sentiment, topics with their sentiment, flags,
aspects). Batches of ``--batch`` (512) realistic messages from the templates of
``bench/text.py``, each with a context as the flow gives it: its source (reviews, chats and
social posts in turn) and no known category, so every aspect model's gate runs (the most
work). One core (``sched_setaffinity``) and one thread (``OMP_NUM_THREADS=1``).

"warm" is what a running stream sees: the normalizer and language id memoize words, so each
timed batch follows an untimed one of the same kind of text; the figure is the median over
``--batches`` batches of the best of ``--repeat`` runs. Other work on the machine disturbs
timings: run it twice.

    PYTHONPATH=. python bench/enrich.py
    PYTHONPATH=. python bench/enrich.py --enricher baseline --batches 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and scipy start thread pools

from bench.text import messages
from nlp.enrichers import load_enricher
from nlp.langid import detect_language
from nlp.normalize import normalize
from nlp.pii import redact
from nlp.types import Enricher, MessageContext

_SOURCES = ("review", "chat", "social")


def _text_layer(batch: Sequence[str]) -> list[str]:
    out = []
    for raw in batch:
        text = redact(raw).text
        detect_language(text)
        out.append(normalize(text))
    return out


def _best(fn: object, batch: Sequence[str], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(batch)  # type: ignore[operator]
        runs.append(time.perf_counter() - start)
    return min(runs)


def main(argv: list[str] | None = None) -> int:
    """Time the enrichment path and print µs per message and messages per second."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--enricher", default="fast", help="fast, baseline or transformer")
    parser.add_argument("--model-path", default=None, help="model directory or hub id")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    started = time.perf_counter()
    enricher: Enricher = load_enricher(args.enricher, model_path=args.model_path)
    load_s = time.perf_counter() - started
    print(f"enricher {enricher.version} (loaded in {load_s:.2f} s)")
    print(f"batches of {args.batch}, one core, one thread, python {sys.version.split()[0]}")

    contexts = [MessageContext(source=_SOURCES[i % 3]) for i in range(args.batch)]

    def enrich(texts: Sequence[str]) -> object:
        return enricher.enrich_batch(texts, contexts[: len(texts)])

    text_us: list[float] = []
    enrich_us: list[float] = []
    for b in range(args.batches):
        warmup = messages(args.batch, seed=args.seed + 5000 + b)
        enrich(_text_layer(warmup))  # the stream has seen this kind of text
        raw = messages(args.batch, seed=args.seed + b)
        texts = _text_layer(raw)
        text_us.append(_best(_text_layer, raw, args.repeat) / args.batch * 1e6)
        enrich_us.append(_best(enrich, texts, args.repeat) / args.batch * 1e6)
    text = statistics.median(text_us)
    enrich = statistics.median(enrich_us)
    total = text + enrich
    print(f"{'step':<36}{'µs/msg':>10}")
    print(f"{'redact + langid + normalize':<36}{text:>10.1f}")
    print(f"{'enrich_batch (' + args.enricher + ')':<36}{enrich:>10.1f}")
    print(f"{'whole enrichment path':<36}{total:>10.1f}")
    print(f"=> {1e6 / total:,.0f} messages/second on one core (median batch)")
    fastest = min(t + e for t, e in zip(text_us, enrich_us, strict=True))
    print(f"   {1e6 / fastest:,.0f} messages/second in the fastest batch (least disturbed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
