"""Hostile input through the whole flow: a long hypothesis fuzz, and real texts replayed.

Streams through the real flow (``build_flow``, the file source, the ``fast`` enricher, the
real ClickHouse sinks on one embedded chDB directory, emptied between runs):

1. ``replay``: every text of ``/work/shared/data/*/test.jsonl`` (or ``--data``) wrapped as
   an inbound message at run time, as written and with hostile edits (zero-width and bidi
   characters, fullwidth letters, a byte-order mark, a lone surrogate, numeric ids, string
   counts, an event time a day ahead): every plain copy must be stored, every edit stored
   or dead-lettered as the contract says;
2. ``fuzz``: ``--examples`` hypothesis examples of ``--min-payloads`` to ``--payloads``
   hostile lines each (``tests/hostile.py``: arbitrary bytes, JSON of any shape and depth,
   huge numbers, every type in every field, event times across and beyond the
   representable range, unicode edge cases), on 1 and 2 workers; every run must finish
   with stored rows + dead letters = payloads.

Prints what was stored and dead-lettered (by step and error type), the time per run and
whether every check held; exits 1 on the first failing example (hypothesis shows it).

    PYTHONPATH=. python bench/fuzz.py --examples 300
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("VOC_DATA_DIR", REPO.parent / "shared" / "data"))
TABLES = ("messages", "dead_letters", "alerts", "late_items", "pipeline_events")


class Bench:
    """One embedded database and the loaded enricher, reused by every run."""

    def __init__(self, tmp: Path, enricher_name: str) -> None:
        from flows.clickhouse import connect
        from flows.settings import load_settings
        from nlp.enrichers import load_enricher
        from schemas.migrate import migrate

        self.tmp = tmp
        self.settings = load_settings(
            clickhouse_dsn=f"chdb://{tmp / 'chdb'}", batch_size=256, batch_timeout_s=0.2
        )
        self.client = connect(self.settings, create_database=True)
        migrate(self.client)
        self.enricher = load_enricher(enricher_name)
        self.enricher.enrich_batch(["khởi động"])
        self.letters: Counter[tuple[str, str]] = Counter()
        self.totals: Counter[str] = Counter()
        self.times: list[float] = []

    def run(self, lines: list[bytes], workers: int) -> tuple[int, int]:
        """Stream ``lines``; return (stored, dead letters) as the sinks counted them."""
        from flows.dataflow import build_flow, default_io
        from flows.execution import WriteCounter, run_flow
        from flows.settings import load_settings

        for table in TABLES:
            self.client.command(f"TRUNCATE TABLE {table}")
        path = self.tmp / "in.jsonl"
        path.write_bytes(b"".join(raw + b"\n" for raw in lines))
        settings = load_settings(
            **{**self.settings.model_dump(), "source": "file", "input_path": str(path)}
        )
        counter = WriteCounter()
        flow = build_flow(settings, default_io(settings, counter), enricher=lambda: self.enricher)
        began = time.perf_counter()
        run_flow(flow, counter, workers=workers, quiet=True)
        self.times.append(time.perf_counter() - began)
        counts = counter.snapshot()
        stored, dead = counts.get("messages", 0), counts.get("dead_letters", 0)
        for step, error_type, n in self.client.query(
            "SELECT step, error_type, count() FROM dead_letters FINAL GROUP BY ALL"
        ).result_rows:
            self.letters[(step, error_type)] += n
        from tests.hostile import expected_payloads  # blank lines are no payload

        self.totals.update(
            runs=1, payloads=expected_payloads(lines), stored=stored, dead_letters=dead
        )
        return stored, dead

    def close(self) -> None:
        """Close the client (and the embedded engine's deferred ones)."""
        from flows.clickhouse import close_deferred

        self.client.close()
        close_deferred()


def real_texts(data: Path) -> list[str]:
    return [
        json.loads(line)["text"]
        for path in sorted(data.glob("*/test.jsonl"))
        for line in path.open(encoding="utf-8")
        if line.strip()
    ]


def wrap(i: int, text: str, at: datetime, **fields: Any) -> dict[str, Any]:
    message = {
        "id": f"real-{i}",
        "source": "review",
        "channel": ("shopee", "tiki", "lazada")[i % 3],
        "text": text,
        "created_at": at.isoformat(),
    }
    message.update(fields)
    return message


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def edits(rng: random.Random) -> list[tuple[str, Any, str]]:
    """Hostile edits of a real message: (name, edit, what the contract says it becomes)."""
    ahead = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    return [
        ("zero-width inside", lambda m: {**m, "text": "\u200b".join(m["text"].split())}, "stored"),
        ("bidi marks", lambda m: {**m, "text": f"\u202e{m['text']}\u202c\u200f"}, "stored"),
        ("fullwidth letters", lambda m: {**m, "text": _fullwidth(m["text"])}, "stored"),
        ("combining marks", lambda m: {**m, "text": m["text"] + "\u0301\u0323"}, "stored"),
        (
            "numeric ids",
            lambda m: {**m, "author": rng.randrange(10**12), "id": rng.randrange(10**15)},
            "stored",
        ),
        (
            "string counts",
            lambda m: {**m, "source": "social", "reach": "1200", "likes": 3.0},
            "stored",
        ),
        ("zero-width only", lambda m: {**m, "text": "\u200b\u200d\ufeff"}, "empty_text"),
        ("lone surrogate", lambda m: {**m, "text": m["text"] + "\udfff"}, "invalid_unicode"),
        ("a day ahead", lambda m: {**m, "created_at": ahead}, "bad_event_time"),
        ("reach of 2**64", lambda m: {**m, "reach": 2**64}, "out_of_range"),
    ]


def replay(bench: Bench, texts: list[str], seed: int) -> bool:
    """Real texts, plain and edited, through the flow; print what became of them."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=1)
    step = timedelta(days=1) / max(1, len(texts))
    plain = [wrap(i, t, start + step * i) for i, t in enumerate(texts)]
    lines = [json.dumps(m, ensure_ascii=False).encode() for m in plain]
    stored, dead = bench.run(lines, workers=1)
    ok = stored == len(plain) and dead == 0
    print(
        f"replay, plain: {len(plain):,} real texts -> {stored:,} stored, {dead:,} dead letters "
        f"({'ok' if ok else 'FAILED'}) in {bench.times[-1]:.1f} s"
    )
    bom = b"\xef\xbb\xbf"
    for name, edit, expected in [*edits(rng), ("byte-order mark", None, "stored")]:
        sample = rng.sample(plain, min(500, len(plain)))
        edited = [edit(dict(m, id=f"{m['id']}-e")) if edit else m for m in sample]
        lines = [json.dumps(m, ensure_ascii=True).encode() for m in edited]
        if edit is None:  # a byte-order mark before every line, as a Windows editor writes one
            lines = [bom + raw for raw in lines]
        stored, dead = bench.run(lines, workers=1)
        kinds = Counter(
            r[0]
            for r in bench.client.query("SELECT error_type FROM dead_letters FINAL").result_rows
        )
        if expected == "stored":
            good = (stored, dead) == (len(edited), 0)
        else:
            good = stored == 0 and kinds == Counter({expected: len(edited)})
        ok &= good
        verdict = "ok" if good else "FAILED"
        print(
            f"replay, {name}: {len(edited)} -> {stored} stored, {dead} dead letters "
            f"{dict(kinds) if kinds else ''} (expected {expected}: {verdict})"
        )
    return ok


def fuzz(bench: Bench, examples: int, payloads_min: int, payloads_max: int, workers: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.hostile import expected_payloads, payloads

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(payloads(), min_size=payloads_min, max_size=payloads_max))
    def one(lines: list[bytes]) -> None:
        stored, dead = bench.run(lines, workers)
        assert stored + dead == expected_payloads(lines), (stored, dead, len(lines))

    one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="hypothesis examples per run")
    parser.add_argument("--payloads", type=int, default=80, help="most lines per example")
    parser.add_argument("--min-payloads", type=int, default=20, help="fewest lines per example")
    parser.add_argument("--enricher", default="fast")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--skip-replay", action="store_true")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="voc-fuzz-") as tmp:
        bench = Bench(Path(tmp), args.enricher)
        try:
            texts = [] if args.skip_replay else real_texts(Path(args.data))
            if texts:
                ok &= replay(bench, texts, args.seed)
            elif not args.skip_replay:
                print(f"replay skipped: no */test.jsonl under {args.data}")
            for workers in (1, 2):
                before = dict(bench.totals)
                began = time.perf_counter()
                fuzz(bench, args.examples, args.min_payloads, args.payloads, workers)
                runs = bench.totals["runs"] - before.get("runs", 0)
                payloads = bench.totals["payloads"] - before.get("payloads", 0)
                stored = bench.totals["stored"] - before.get("stored", 0)
                dead = bench.totals["dead_letters"] - before.get("dead_letters", 0)
                print(
                    f"fuzz, {workers} worker(s): {runs} runs, {payloads:,} payloads -> "
                    f"{stored:,} stored + {dead:,} dead letters (every run: stored + dead "
                    f"letters = payloads), {time.perf_counter() - began:.0f} s"
                )
        finally:
            bench.close()
    times = sorted(bench.times)
    print(f"runs: {len(times)}, median {times[len(times) // 2]:.2f} s, longest {times[-1]:.2f} s")
    print("dead letters by step and error type (all runs):")
    for (step, error_type), n in sorted(bench.letters.items(), key=lambda kv: -kv[1]):
        print(f"  {step:>8} {error_type:<22} {n:>7,}")
    print("every check held" if ok else "SOME CHECK FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
