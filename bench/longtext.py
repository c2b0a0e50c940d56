"""Long messages: the flow's cost per message must be linear in its size.

Streams two workloads through the real flow (``build_flow``: file source, detection on,
the real ClickHouse sinks on a fresh embedded chDB), each in a fresh child process:

1. ``ordinary``: real review texts as they are (``/work/shared/data/*/test.jsonl``, or
   ``--data``; the simulator's texts without it), one message each;
2. ``long``: the same texts joined into messages of exactly ``--chars`` characters.

Both are wrapped as inbound messages at run time (nothing is copied into the repository),
spread over ``--hours`` of event time ending now. Prints, per workload, messages and
characters per second of wall time, peak RSS and the time of each stage, then the ratio of
characters per second (long / ordinary, of wall time and of CPU time: the second is the
figure to trust on a shared machine; target >= 0.70) and whether peak RSS stayed under
``--max-rss-mib`` (1,536).

    PYTHONPATH=. python bench/longtext.py --messages 20000 --chars 10000
    PYTHONPATH=. python bench/longtext.py --messages 2000 --chars 10000 --profile
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("VOC_DATA_DIR", REPO.parent / "shared" / "data"))


def real_texts(data: Path) -> list[str]:
    """Texts of every ``*/test.jsonl`` under ``data`` (the simulator's if there are none)."""
    texts = [
        json.loads(line)["text"]
        for path in sorted(data.glob("*/test.jsonl"))
        for line in path.open(encoding="utf-8")
        if line.strip()
    ]
    if texts:
        return texts
    from simulator import SimulationConfig, Simulator

    config = SimulationConfig(seed=3, start=datetime(2026, 11, 20, tzinfo=UTC), messages=5_000)
    return [m["text"] for m in Simulator(config).messages()]


def workload(texts: list[str], messages: int, chars: int, hours: float, seed: int) -> list[bytes]:
    """``messages`` inbound messages as JSON lines: real texts, or joined to ``chars``."""
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    channels = ("shopee", "tiki", "lazada", "app_store")
    end = datetime.now(UTC) - timedelta(seconds=1)
    step = timedelta(hours=hours) / messages
    start = end - step * messages
    lines: list[bytes] = []
    at = 0
    for i in range(messages):
        if chars:
            parts: list[str] = []
            size = 0
            while size < chars:
                piece = texts[order[at % len(order)]]
                at += 1
                parts.append(piece)
                size += len(piece) + 1
            text = " ".join(parts)[:chars]
        else:
            text = texts[order[i % len(order)]]
        message = {
            "id": f"lt-{i}",
            "source": "review",
            "channel": channels[i % len(channels)],
            "brand": ("Lumia", "Zenta", "Kiwa")[i % 3],
            "rating": 1 + i % 5,
            "text": text,
            "created_at": (start + step * i).isoformat(),
        }
        lines.append(json.dumps(message, ensure_ascii=False).encode() + b"\n")
    return lines


def child(args: argparse.Namespace) -> dict[str, Any]:
    """Run one workload in this process through the real flow; return its figures."""
    from flows.clickhouse import connect
    from flows.dataflow import build_flow, default_io
    from flows.execution import WriteCounter, run_flow
    from flows.settings import load_settings
    from flows.timing import StageTimer
    from nlp.enrichers import load_enricher
    from schemas.migrate import migrate

    texts = real_texts(Path(args.data))
    lines = workload(texts, args.messages, args.chars, args.hours, args.seed)
    tmp = Path(args.tmp)
    path = tmp / "in.jsonl"
    path.write_bytes(b"".join(lines))
    chars = sum(len(json.loads(line)["text"]) for line in lines)
    payload_bytes = sum(map(len, lines))
    del lines
    settings = load_settings(
        clickhouse_dsn=f"chdb://{tmp / 'chdb'}", source="file", input_path=str(path)
    )
    client = connect(settings, create_database=True)
    migrate(client)
    client.close()
    enricher = load_enricher(settings.enricher)
    enricher.enrich_batch(texts[:64])  # load lazy resources before the clock starts
    counter = WriteCounter()
    timer = StageTimer()
    flow = build_flow(
        settings, default_io(settings, counter), enricher=lambda: enricher, timer=timer
    )
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    began, cpu_began = time.perf_counter(), _cpu_s()
    run_flow(flow, counter, quiet=True)
    wall, cpu = time.perf_counter() - began, _cpu_s() - cpu_began
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    counts = counter.snapshot()
    return {
        "workload": args.workload,
        "messages": args.messages,
        "stored": counts.get("messages", 0),
        "dead_letters": counts.get("dead_letters", 0),
        "chars": chars,
        "payload_bytes": payload_bytes,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "stages": {k: v[0] for k, v in timer.snapshot().items()},
    }


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process so far, every thread (the engine's too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def spawn(args: argparse.Namespace, name: str, chars: int) -> dict[str, Any]:
    """Run one workload in a fresh child process on a fresh database."""
    with tempfile.TemporaryDirectory(prefix="voc-longtext-") as tmp:
        command = [
            sys.executable, __file__, "_child", "--workload", name, "--tmp", tmp,
            "--messages", str(args.messages), "--chars", str(chars), "--hours", str(args.hours),
            "--seed", str(args.seed), "--data", str(args.data),
        ]  # fmt: skip
        if args.profile:
            command.append("--profile")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if args.profile or done.returncode:
            print(done.stderr[-20_000:], file=sys.stderr)
        if done.returncode:
            sys.exit(f"the {name} run failed (exit {done.returncode})")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


def show(result: dict[str, Any]) -> None:
    wall = result["wall_s"]
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(result["stages"].items()))
    print(
        f"{result['workload']:>8}: {result['messages']:,} messages "
        f"({result['chars'] / result['messages']:,.0f} chars, "
        f"{result['payload_bytes'] / result['messages']:,.0f} bytes each): "
        f"{wall:.1f} s, {result['messages'] / wall:,.0f} msg/s, "
        f"{result['chars'] / wall / 1000:,.0f} kchars/s; CPU {result['cpu_s']:.1f} s, "
        f"{result['chars'] / result['cpu_s'] / 1000:,.0f} kchars per CPU-second; "
        f"peak RSS {result['peak_rss_mib']:,.0f} MiB; "
        f"stored {result['stored']:,}, dead letters {result['dead_letters']:,}"
    )
    print(f"          stages: {stages}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="run", choices=["run", "_child"])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--chars", type=int, default=10_000)
    parser.add_argument("--hours", type=float, default=2.0, help="event time the run spans")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--max-rss-mib", type=float, default=1536.0)
    parser.add_argument("--profile", action="store_true", help="cProfile each run (stderr)")
    parser.add_argument("--workload", default="long", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.command == "_child":
        print(json.dumps(child(args)))
        return
    print(f"texts from {args.data if any(Path(args.data).glob('*/test.jsonl')) else 'simulator'}")
    ordinary = spawn(args, "ordinary", 0)
    show(ordinary)
    long = spawn(args, "long", args.chars)
    show(long)
    ratio = (long["chars"] / long["wall_s"]) / (ordinary["chars"] / ordinary["wall_s"])
    cpu_ratio = (long["chars"] / long["cpu_s"]) / (ordinary["chars"] / ordinary["cpu_s"])
    print(
        f"characters per second, long / ordinary: {ratio:.2f} of wall time, {cpu_ratio:.2f} "
        "of CPU time (target >= 0.70); "
        f"peak RSS of the long run {long['peak_rss_mib']:,.0f} MiB "
        f"({'under' if long['peak_rss_mib'] < args.max_rss_mib else 'OVER'} "
        f"{args.max_rss_mib:,.0f})"
    )


if __name__ == "__main__":
    main()
