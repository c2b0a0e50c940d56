"""Flow throughput per process: where the time goes, and what one process sustains.

Prints, for simulated feedback (the ``voc simulate`` stream, seeded):

1. the flow's steps alone, in this process on one core: parse, prepare (PII redaction,
   normalization, language id, author hash) and the enricher's ``enrich_batch``;
2. the whole flow as ``voc run`` subprocesses into a fresh embedded ClickHouse: from a
   JSONL file, and from Kafka (librdkafka's mock cluster, topics of 4 partitions) with one
   process and with a 2-process Bytewax cluster on 127.0.0.1.

Rates are payloads per second of wall time as ``voc run`` reports them (start-up excluded),
best of ``--repeat`` runs: the machine may be shared. Everything is single-threaded per
process (one Bytewax worker).

    PYTHONPATH=. python bench/throughput.py --messages 20000 --repeat 2 --enricher fast
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.records import RawRecord
from flows.settings import load_settings
from flows.steps import Preparer, parse_record
from simulator import SimulationConfig, Simulator

REPO = Path(__file__).resolve().parent.parent
_WROTE = re.compile(r"wrote ([\d,]+) messages and ([\d,]+) dead letters in ([\d.]+) s")


def simulated(n: int, seed: int) -> list[dict[str, Any]]:
    config = SimulationConfig(
        seed=seed, start=datetime(2026, 11, 20, tzinfo=UTC), hours=24.0, messages=n
    )
    return list(Simulator(config).messages())


def best(repeat: int, run: Callable[[], float]) -> float:
    return max(run() for _ in range(repeat))


def steps(
    messages: list[dict[str, Any]], enricher_name: str, model: str | None, repeat: int
) -> None:
    import json

    from nlp.enrichers import load_enricher

    lines = [json.dumps(m, ensure_ascii=False).encode() for m in messages]
    records = [RawRecord("bench", i, line) for i, line in enumerate(lines)]

    def rate(fn: Callable[[], object], count: int) -> float:
        began = time.perf_counter()
        fn()
        return count / (time.perf_counter() - began)

    preparer = Preparer("bench-salt")
    parsed = [parse_record(r, privacy=preparer.privacy) for r in records]
    prepared = [preparer(p) for p in parsed]  # type: ignore[arg-type]
    texts = [p.text_normalized for p in prepared]  # type: ignore[union-attr]
    enricher = load_enricher(enricher_name, model_path=model)
    enricher.enrich_batch(texts[:64])  # warm up lazy resources

    def enrich() -> None:
        for i in range(0, len(texts), 512):
            enricher.enrich_batch(texts[i : i + 512])

    n = len(records)
    timings = {
        "parse": lambda: [parse_record(r, privacy=preparer.privacy) for r in records],
        "prepare": lambda: [preparer(p) for p in parsed],  # type: ignore[arg-type]
        "enrich": enrich,
    }
    for name, fn in timings.items():
        note = f"  ({enricher.version})" if name == "enrich" else ""
        print(f"  {name:<9} {best(repeat, lambda fn=fn: rate(fn, n)):>9,.0f} msg/s{note}")


def voc(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flows", *args], cwd=REPO, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def flow_rate(procs: list[subprocess.Popen[str]]) -> tuple[float, int]:
    """Payloads per second of the whole run: total payloads / the longest process time."""
    payloads, seconds = 0, 0.0
    for proc in procs:
        _out, err = proc.communicate(timeout=1800)
        if proc.returncode:
            msg = f"voc run failed:\n{err[-2000:]}"
            raise SystemExit(msg)
        match = _WROTE.search(err)
        assert match is not None, err
        payloads += int(match[1].replace(",", "")) + int(match[2].replace(",", ""))
        seconds = max(seconds, float(match[3]))
    return payloads / seconds, payloads


def fresh_db(tmp: Path, env: dict[str, str]) -> str:
    dsn = f"chdb://{tempfile.mkdtemp(dir=tmp)}"
    subprocess.run(
        [sys.executable, "-m", "flows", "migrate", "--dsn", dsn, "-q"], cwd=REPO, env=env,
        check=True,
    )  # fmt: skip
    return dsn


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--enricher", default="baseline")
    parser.add_argument("--model", help="model directory or hub id for the enricher")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    messages = simulated(args.messages, args.seed)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, python "
        f"{sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}; "
        f"{len(messages):,} simulated messages (seed {args.seed}), enricher {args.enricher}, "
        f"batch size {args.batch_size}"
    )
    print("steps in this process (one core):")
    steps(messages, args.enricher, args.model, args.repeat)

    from confluent_kafka import Producer

    from flows.kafka.producer import produce

    owner = Producer({"test.mock.num.brokers": 1, "log_level": 0})
    brokers = ",".join(f"{b.host}:{b.port}" for b in owner.list_topics(timeout=10).brokers.values())
    topics = {
        "kafka_topic_review": "bench.reviews", "kafka_topic_chat": "bench.chats",
        "kafka_topic_social": "bench.social", "kafka_topic_dead_letters": "bench.dead-letters",
    }  # fmt: skip
    produce(load_settings(kafka_brokers=brokers, **topics), messages)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    env |= {"PYTHONPATH": str(REPO), "VOC_ENRICHER": args.enricher,
            "VOC_BATCH_SIZE": str(args.batch_size), "VOC_KAFKA_BROKERS": brokers,
            "VOC_KAFKA_TAIL": "false"}  # fmt: skip
    env |= {f"VOC_{k.upper()}": v for k, v in topics.items()}
    if args.model:
        env["VOC_MODEL_PATH"] = args.model

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "in.jsonl"
        import json

        path.write_text(
            "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages), encoding="utf-8"
        )
        print("whole flow, `voc run` into embedded ClickHouse (payloads/s, start-up excluded):")

        def file_run() -> float:
            dsn = fresh_db(tmp, env)
            return flow_rate([voc("run", "--dsn", dsn, "--input", str(path), "-q", env=env)])[0]

        def kafka_run(processes: int) -> Callable[[], float]:
            def run() -> float:
                dsn = fresh_db(tmp, env)
                base = ("run", "--dsn", dsn, "--source", "kafka", "-q")
                if processes == 1:
                    return flow_rate([voc(*base, env=env)])[0]
                addresses = ";".join(f"127.0.0.1:{p}" for p in free_ports(processes))
                procs = [voc(*base, "-i", str(i), "-a", addresses, env=env)
                         for i in range(processes)]  # fmt: skip
                return flow_rate(procs)[0]

            return run

        print(f"  file, 1 process            {best(args.repeat, file_run):>9,.0f}")
        print(f"  kafka, 1 process           {best(args.repeat, kafka_run(1)):>9,.0f}")
        print(f"  kafka, 2-process cluster   {best(args.repeat, kafka_run(2)):>9,.0f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
