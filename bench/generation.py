"""Throughput and variety of the feedback simulator (``voc simulate``), on one core.

Prints messages per second for generating the whole stream (dicts), for generating and
serializing it to JSON lines, and for one partition of several; then the distinct-text
ratio of the first N messages (raw, and with digits, emoji and punctuation removed and
diacritics stripped, which is a harder test of variety).

    PYTHONPATH=. python bench/generation.py --messages 200000 --variety 100000
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from simulator import SimulationConfig, Simulator
from simulator.noise import strip_diacritics

_SKELETON_DROP = re.compile(r"[\d\W_]+", re.UNICODE)


def _rate(count: int, seconds: float, cpu: float) -> str:
    return (
        f"{count:>9,} msgs in {seconds:6.2f} s = {count / seconds:>9,.0f} msgs/s wall, "
        f"{count / cpu:>9,.0f} msgs/s of CPU time"
    )


def _timed(repeat: int, run: Callable[[], int]) -> tuple[int, float, float]:
    """Best wall and CPU time of ``repeat`` runs (the machine may be shared)."""
    best_wall = best_cpu = float("inf")
    count = 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        count = run()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return count, best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--variety", type=int, default=100_000, help="messages for the ratio")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each timing (best kept)")
    args = parser.parse_args()

    config = SimulationConfig(
        seed=args.seed,
        start=datetime(2026, 11, 20, tzinfo=UTC),
        hours=args.hours,
        messages=args.messages,
        random_incidents=6,
    )
    print(
        f"python {sys.version.split()[0]}; {args.messages:,} baseline messages over "
        f"{args.hours:g} h, 6 random incidents, seed {args.seed}"
    )

    build = time.perf_counter()
    sim = Simulator(config)
    print(f"simulator set-up: {time.perf_counter() - build:.3f} s")

    count, wall, cpu = _timed(args.repeat, lambda: sum(1 for _ in sim.messages()))
    print("generate (dicts)      ", _rate(count, wall, cpu))

    def to_json() -> int:
        n = 0
        for message in sim.messages():
            json.dumps(message, ensure_ascii=False)
            n += 1
        return n

    count, wall, cpu = _timed(args.repeat, to_json)
    print("generate + JSON lines ", _rate(count, wall, cpu))

    part, wall, cpu = _timed(
        args.repeat, lambda: sum(1 for _ in sim.messages(partition=0, partitions=args.partitions))
    )
    print(f"partition 0 of {args.partitions}       ", _rate(part, wall, cpu))

    texts = []
    for message in sim.messages():
        texts.append(message["text"])
        if len(texts) >= args.variety:
            break
    raw = len(set(texts)) / len(texts)
    skeletons = {_SKELETON_DROP.sub(" ", strip_diacritics(t).lower()).strip() for t in texts}
    print(
        f"distinct texts in the first {len(texts):,}: {raw:.3f} raw, "
        f"{len(skeletons) / len(texts):.3f} after lower-casing and dropping digits, "
        f"punctuation, emoji and diacritics"
    )


if __name__ == "__main__":
    main()
