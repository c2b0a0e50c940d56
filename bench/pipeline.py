"""End to end: simulated messages through the real flow into embedded ClickHouse.

Every measurement runs in a fresh child process on a fresh, migrated chDB directory, with
the flow as ``build_flow`` builds it (detection on, the real ClickHouse sinks with
``async_insert=0``); only the source is the bench's: it hands over pre-serialized JSON
lines (as a file or Kafka would) and notes when each message entered. The sinks' client is
wrapped to note when each insert returned, so for every stored row

    latency to queryable = insert returned - message entered the source

(an insert is synchronous, so its rows are visible when it returns; the bench checks this by
querying a sample of ids right after their insert). Prints:

1. ``throughput``: messages per second end to end, one process, as fast as the source can
   hand them over (the enricher is loaded and warmed before the clock starts), with the time
   of each stage (parse, prepare, enrich, detect, insert; ``StageTimer`` accumulators that
   ``build_flow(timer=...)`` wraps around the steps) and peak RSS;
2. ``baseline``: the same work the obvious way on the first ``--baseline`` messages (a
   Python loop: per message JSON parse + validate, redact, normalize, language id, one
   enricher call, one INSERT), and the ratio;
3. ``latency``: p50/p95/p99 latency to queryable at a steady offered rate;
4. ``cluster``: the throughput run with 2 processes (a Bytewax cluster on 127.0.0.1, the
   messages split between them, process 0 the only chDB writer) and the speed-up;
5. ``soak`` (its own command): RSS sampled every ``--sample-s`` at a steady rate, with
   first/last/max and the growth after warm-up;
6. ``cardinality`` (its own command): the throughput run on ordinary traffic and on the same
   messages where every one names a brand and a product never seen before (the detector
   meets two new keys per topic with every message), each in a fresh process with RSS
   sampled: the ratio of the two rates (target >= 0.80) and the RSS growth of the second.

Results are also written as JSON under ``bench/results/`` (git-ignored).

    PYTHONPATH=. python bench/pipeline.py run --messages 20000 --repeat 3
    PYTHONPATH=. python bench/pipeline.py soak --rate 1000 --minutes 20
    PYTHONPATH=. python bench/pipeline.py cardinality --messages 200000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import throughput  # bench/throughput.py, beside this script: fresh_db, free_ports
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.records import RawRecord

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
PER_POLL = 500
"""Messages the bench source hands over per poll when running flat out."""


# -- messages ----------------------------------------------------------------------------------


def simulated(n: int, seed: int, hours: float, start: datetime) -> Iterator[dict[str, Any]]:
    """``n`` simulated inbound messages (the ``voc simulate`` stream) from ``start``, lazily."""
    from simulator import SimulationConfig, Simulator

    return Simulator(SimulationConfig(seed=seed, start=start, hours=hours, messages=n)).messages()


def spread_products(
    messages: Iterator[dict[str, Any]], products: int, seed: int
) -> Iterator[dict[str, Any]]:
    """With ``products`` > 0, give each message one of that many product names, at random.

    The simulator's catalogue is small; this makes the detector meet a new topic / brand /
    product key with most messages, to show that its key table (``max_keys``) bounds memory.
    """
    import random

    rng = random.Random(seed)
    for message in messages:
        if products and message.get("brand"):
            message["product"] = f"{message['brand']} P{rng.randrange(products)}"
        yield message


def new_keys(messages: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Give every message a brand and a product never seen before (unbounded cardinality)."""
    for n, message in enumerate(messages):
        message["brand"] = f"Hãng {n}"
        message["product"] = f"Mẫu {n}-X"
        yield message


def serialized(
    n: int, seed: int, hours: float, start: datetime, unique_keys: bool = False
) -> list[tuple[str, bytes]]:
    """``(id, JSON line)`` of ``n`` simulated messages (each with new keys if asked)."""
    messages = simulated(n, seed, hours, start)
    if unique_keys:
        messages = new_keys(messages)
    return [(m["id"], json.dumps(m, ensure_ascii=False).encode()) for m in messages]


def rss_kib() -> int:
    """The current resident set size of this process, in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process so far, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    """The peak resident set size of this process, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the probe: when messages entered, when their rows became queryable -------------------------


class Probe:
    """Entry times of messages and latencies of their rows (thread-safe)."""

    def __init__(self, verify_every: int = 50, keep: bool = True):
        self.entered: dict[str, float] = {}
        self.latencies: list[float] = []
        self.keep = keep
        self.lock = threading.Lock()
        self.insert_s: dict[str, float] = {}
        self.inserts: dict[str, int] = {}
        self.rows: dict[str, int] = {}
        self.verify_every = verify_every
        self.verified = 0
        self.missing = 0
        self.verify_s = 0.0
        self.first_entry: float | None = None
        self.last_insert = 0.0

    def enter(self, ids: Sequence[str], at: Sequence[float]) -> None:
        """Note when messages entered the source."""
        with self.lock:
            if self.first_entry is None and at:
                self.first_entry = time.time()
            self.entered.update(zip(ids, at, strict=True))

    def inserted(
        self, client: Any, table: str, rows: Sequence[Sequence[Any]], began: float
    ) -> None:
        """Note an insert that returned: latencies of its rows; check a sample now and then."""
        done = time.perf_counter()
        with self.lock:
            self.insert_s[table] = self.insert_s.get(table, 0.0) + done - began
            self.inserts[table] = self.inserts.get(table, 0) + 1
            self.rows[table] = self.rows.get(table, 0) + len(rows)
            self.last_insert = time.time()
            if table != "messages":
                return
            pop = self.entered.pop
            lat = [done - t for t in (pop(r[0], None) for r in rows) if t is not None]
            if self.keep:
                self.latencies += lat
            n = self.inserts[table]
        if n <= 3 or n % self.verify_every == 0:
            self._verify(client, [r[0] for r in rows[:: max(len(rows) // 10, 1)]])

    def _verify(self, client: Any, ids: list[str]) -> None:
        """Query a sample of ids right after their insert returned: all must be there."""
        began = time.perf_counter()
        found = client.query(
            "SELECT uniqExact(id) FROM messages WHERE id IN {ids:Array(String)}",
            parameters={"ids": ids},
        ).result_rows[0][0]
        with self.lock:
            self.verified += int(found)
            self.missing += len(ids) - int(found)
            self.verify_s += time.perf_counter() - began


class ProbedClient:
    """A clickhouse-connect client whose inserts report to a :class:`Probe`."""

    def __init__(self, client: Any, probe: Probe, opened: list[Any]):
        self._client = client
        self._probe = probe
        self._opened = opened
        opened.append(client)

    def insert(self, table: str, data: Any, **kwargs: Any) -> Any:
        """Insert through the real client, noting when it returned."""
        began = time.perf_counter()
        result = self._client.insert(table, data, **kwargs)
        self._probe.inserted(self._client, table, data, began)
        return result

    def close(self) -> None:
        """Closed by the bench after the flow returned (chDB must not close in a worker)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


# -- the source ------------------------------------------------------------------------------


class _Partition(StatefulSourcePartition[RawRecord, None]):
    def __init__(
        self,
        name: str,
        items: Iterator[tuple[str, bytes]],
        rate: float | None,
        probe: Probe,
        seconds: float | None,
    ):
        self._name = name
        self._seconds = seconds
        self._items = items
        self._rate = rate
        self._probe = probe
        self._began: float | None = None
        self._sent = 0
        self._awake: datetime | None = None

    def next_batch(self) -> list[RawRecord]:
        now = time.perf_counter()
        if self._began is None:
            self._began = now
        if self._seconds is not None and now - self._began >= self._seconds:
            raise StopIteration  # a soak ends on time, even if the flow fell behind
        limit = PER_POLL
        if self._rate is not None:
            due = int((now - self._began) * self._rate) + 1
            limit = min(limit, due - self._sent)
            if limit <= 0:
                wait = self._sent / self._rate - (now - self._began)
                self._awake = datetime.now(UTC) + timedelta(seconds=max(wait, 0.0005))
                return []
        self._awake = None
        out, ids, at = [], [], []
        for key, line in _take(self._items, limit):
            # at a steady rate a message enters when it is due, not when the flow polls
            entered = now if self._rate is None else self._began + self._sent / self._rate
            self._sent += 1
            out.append(RawRecord(self._name, self._sent, line))
            ids.append(key)
            at.append(entered)
        if not out:
            raise StopIteration
        self._probe.enter(ids, at)
        return out

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> None:
        return None


def _take(items: Iterator[tuple[str, bytes]], n: int) -> Iterator[tuple[str, bytes]]:
    for _ in range(n):
        try:
            yield next(items)
        except StopIteration:
            return


class BenchSource(FixedPartitionedSource[RawRecord, None]):
    """The messages, one partition per process of the run, at a rate or flat out.

    Every process lists every partition, as a Kafka or file source does (so the detector
    waits for all of them from the start); Bytewax has each process read its own.
    """

    def __init__(
        self,
        parts: dict[str, Iterator[tuple[str, bytes]]],
        rate: float | None,
        probe: Probe,
        seconds: float | None = None,
    ):
        self._parts = parts
        self._seconds = seconds
        self._rate = rate
        self._probe = probe

    def list_parts(self) -> list[str]:
        """``bench/0`` .. ``bench/<processes - 1>``."""
        return list(self._parts)

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _Partition:
        """Open the partition."""
        items = self._parts[for_part]
        return _Partition(for_part, items, self._rate, self._probe, self._seconds)


# -- child: one measurement in a fresh process ----------------------------------------------------


def child(args: argparse.Namespace) -> dict[str, Any]:
    """Run one measurement in this process; return its figures."""
    from flows.settings import load_settings
    from nlp.enrichers import load_enricher

    overrides: dict[str, Any] = {"clickhouse_dsn": args.dsn, "enricher": args.enricher}
    if args.batch_size:
        overrides["batch_size"] = args.batch_size
    if args.addresses:
        overrides |= {"process_id": args.process_id, "addresses": args.addresses}
    settings = load_settings(**overrides)
    keep = args.mode != "soak"
    # event time advances like the wall clock at the offered (or assumed) rate
    hours = args.messages / args.event_rate / 3600
    now = datetime.now(UTC)
    start = now if args.rate else now - timedelta(hours=hours)
    parts: dict[str, Iterator[tuple[str, bytes]]]
    if args.mode == "soak":
        parts = {
            "bench/0": (
                (m["id"], json.dumps(m, ensure_ascii=False).encode())
                for m in spread_products(
                    simulated(args.messages, args.seed, hours, start), args.products, args.seed
                )
            )
        }
        warm_texts = [m["text"] for m in simulated(64, args.seed + 1, 0.1, start)]
    else:
        every = serialized(args.messages, args.seed, hours, start, args.unique_keys)
        shares = [every[i :: args.processes] for i in range(args.processes)]
        parts = {f"bench/{i}": iter(share) for i, share in enumerate(shares)}
        mine = shares[args.process_id]
        warm_texts = [json.loads(line)["text"] for _, line in mine[:64]]
    enricher = load_enricher(settings.enricher)
    enricher.enrich_batch(warm_texts)  # load lazy resources before the clock starts
    if args.mode == "baseline":
        return baseline(settings, enricher, [line for _, line in mine])
    return flow_run(args, settings, enricher, parts, keep)


def flow_run(
    args: argparse.Namespace,
    settings: Any,
    enricher: Any,
    parts: dict[str, Iterator[tuple[str, bytes]]],
    keep: bool,
) -> dict[str, Any]:
    from flows.clickhouse import connect
    from flows.dataflow import FlowIO, build_flow
    from flows.execution import Execution, WriteCounter, run_flow
    from flows.sinks.clickhouse import clickhouse_sink
    from flows.timing import StageTimer
    from schemas.rows import AlertRow, DeadLetter, LateItem, StoredMessage

    probe = Probe(keep=keep)
    opened: list[Any] = []
    counter = WriteCounter()

    def connector(s: Any) -> ProbedClient:
        return ProbedClient(connect(s, writer=True), probe, opened)

    def sink(table: str, columns: tuple[str, ...]) -> Any:
        return clickhouse_sink(settings, table, columns, counter, connector=connector)

    io = FlowIO(
        source=BenchSource(
            parts,
            args.rate,
            probe,
            args.messages / args.rate if args.mode == "soak" and args.rate else None,
        ),
        messages=sink("messages", StoredMessage.COLUMNS),
        dead_letters=sink("dead_letters", DeadLetter.COLUMNS),
        alerts=sink("alerts", AlertRow.COLUMNS),
        late_items=sink("late_items", LateItem.COLUMNS),
    )
    timer = StageTimer() if args.stages else None
    detect_config = None
    if args.history_minutes:
        from flows.detect.config import DetectConfig

        detect_config = DetectConfig(history_minutes=args.history_minutes)
    detector_seen: dict[str, int] = {}

    def detector_probe(detector: Any) -> None:
        detector_seen.update(
            keys=len(detector.keys),
            candidates=len(detector.table.candidates),
            promoted=detector.table.promoted,
            dropped=detector.stats.dropped,
            evicted=detector.stats.evicted,
            history_records=sum(len(d.records) for d in detector.history),
        )

    if settings.is_writer_process:  # as `voc run` does: check the schema before the workers
        from schemas.migrate import require_current

        check = connect(settings)
        try:
            require_current(check, "bench")
        finally:
            check.close()
    flow = build_flow(
        settings,
        io,
        enricher=lambda: enricher,
        timer=timer,
        detect_config=detect_config,
        detect_probe=detector_probe,
    )
    samples: list[dict[str, Any]] = []
    stop = threading.Event()

    def sample() -> None:
        began = time.perf_counter()
        while not stop.wait(args.sample_s):
            with probe.lock:
                lat = sorted(probe.latencies)
                probe.latencies.clear()
                stored = probe.rows.get("messages", 0)
                pending = len(probe.entered)
            row = {
                "t_s": round(time.perf_counter() - began, 1),
                "rss_mib": round(rss_kib() / 1024, 1),
                "py_blocks": sys.getallocatedblocks(),
                "stored": stored,
                "pending": pending,
                "p95_s": round(_pct(lat, 95), 3) if lat else None,
            }
            samples.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)

    sampler = threading.Thread(target=sample, daemon=True)
    if args.mode == "soak":
        probe.keep = True  # the sampler drains the list every sample
    if args.mode == "soak" or args.sample_rss:
        sampler.start()
    began, cpu_began = time.time(), _cpu_s()
    run_flow(flow, counter, execution=Execution.from_settings(settings), quiet=True)
    ended, cpu = time.time(), _cpu_s() - cpu_began
    stop.set()
    for client in opened:
        client.close()
    stages = timer.snapshot() if timer else {}
    stages |= {f"insert {t}": (s, probe.inserts[t]) for t, s in probe.insert_s.items()}
    first = probe.first_entry
    return {
        "mode": args.mode,
        "process_id": args.process_id,
        "stored": counter.snapshot().get("messages", 0),
        "dead_letters": counter.snapshot().get("dead_letters", 0),
        "first_entry_wall": first or began,
        "started_wall": began,
        "ended_wall": ended,
        "last_insert_wall": probe.last_insert,
        "stages": {k: {"seconds": v[0], "calls": v[1]} for k, v in stages.items()},
        "rows": probe.rows,
        "latencies": probe.latencies if args.mode == "latency" else [],
        "verified": probe.verified,
        "missing": probe.missing,
        "verify_s": probe.verify_s,
        "peak_rss_mib": peak_rss_mib(),
        "cpu_s": cpu,
        "samples": samples,
        "pending_at_end": len(probe.entered),
        "detector": detector_seen,
    }


def baseline(settings: Any, enricher: Any, lines: list[bytes]) -> dict[str, Any]:
    """The obvious loop: parse, validate, prepare, enrich and insert one message at a time."""
    from flows.clickhouse import connect
    from flows.records import Parsed
    from flows.steps import Preparer, stored_message, utc_now
    from schemas.message import InboundMessage
    from schemas.rows import StoredMessage

    client = connect(settings, writer=True)
    preparer = Preparer(settings.author_salt.get_secret_value())
    began = time.perf_counter()
    for position, line in enumerate(lines):
        message = InboundMessage.model_validate(json.loads(line))
        prepared = preparer(Parsed(message, "baseline", position))
        assert not isinstance(prepared, Exception)
        enrichment = enricher.enrich_batch([prepared.text_normalized])[0]  # type: ignore[union-attr]
        row = stored_message(prepared, enrichment, utc_now())  # type: ignore[arg-type]
        client.insert("messages", [row.as_row()], column_names=StoredMessage.COLUMNS)
    seconds = time.perf_counter() - began
    stored = client.query("SELECT uniqExact(id) FROM messages").result_rows[0][0]
    client.close()
    return {"mode": "baseline", "messages": len(lines), "seconds": seconds, "stored": stored,
            "peak_rss_mib": peak_rss_mib()}  # fmt: skip


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# -- parent: fresh databases, child processes, the report -------------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    return env | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def fresh_db(tmp: Path) -> str:
    return throughput.fresh_db(tmp, _env())


def spawn(args: argparse.Namespace, tmp: Path, mode: str, processes: int = 1,
          messages: int | None = None, rate: float | None = None,
          stages: bool = True) -> list[dict[str, Any]]:  # fmt: skip
    """Run one measurement in ``processes`` fresh child processes; their results."""
    dsn = fresh_db(tmp)
    base = [sys.executable, str(Path(__file__).resolve()), "_child", "--mode", mode,
            "--dsn", dsn, "--messages", str(messages or args.messages), "--seed", str(args.seed),
            "--enricher", args.enricher, "--processes", str(processes),
            "--sample-s", str(getattr(args, "sample_s", 30.0)),
            "--event-rate", str(rate or args.event_rate),
            "--batch-size", str(args.batch_size),
            "--history-minutes", str(getattr(args, "history_minutes", 0)),
            "--products", str(getattr(args, "products", 0))]  # fmt: skip
    if getattr(args, "unique_keys", False):
        base.append("--unique-keys")
    if getattr(args, "sample_rss", False):
        base.append("--sample-rss")
    if rate:
        base += ["--rate", str(rate / processes)]
    if stages:
        base.append("--stages")
    addresses = (
        ";".join(f"127.0.0.1:{p}" for p in throughput.free_ports(processes))
        if processes > 1
        else ""
    )
    procs = []
    for i in range(processes):
        extra = ["--process-id", str(i)] + (["--addresses", addresses] if addresses else [])
        procs.append(subprocess.Popen([*base, *extra], cwd=REPO, env=_env(), text=True,
                                      stdout=subprocess.PIPE))  # fmt: skip
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            msg = f"bench child failed ({proc.returncode})"
            raise SystemExit(msg)
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def flow_rate(results: list[dict[str, Any]]) -> float:
    """Stored messages per second from the first message entering to the last insert."""
    stored = sum(r["stored"] for r in results)
    began = min(r["first_entry_wall"] for r in results)
    ended = max(r["last_insert_wall"] for r in results)
    return stored / (ended - began)


def _other_rows(results: list[dict[str, Any]]) -> str:
    """Dead letters, late items (0 expected) and alert revisions (customer cases) written."""
    total = {t: sum(r["rows"].get(t, 0) for r in results)
             for t in ("dead_letters", "late_items", "alerts")}  # fmt: skip
    return ", ".join(f"{t} {n}" for t, n in total.items())


def _spread(values: list[float]) -> str:
    med = statistics.median(values)
    return f"{med:>9,.0f}  (min {min(values):,.0f}, max {max(values):,.0f}, n={len(values)})"


def run(args: argparse.Namespace) -> None:
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.messages:,} simulated messages "
          f"(seed {args.seed}), enricher {args.enricher}, detection on")  # fmt: skip
    report: dict[str, Any] = {"started": datetime.now(UTC).isoformat(), "load_before": load,
                              "args": vars(args) | {"func": None}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="voc-bench-") as tmp_name:
        tmp = Path(tmp_name)
        one = [spawn(args, tmp, "throughput") for _ in range(args.repeat)]
        rates1 = [flow_rate(r) for r in one]
        report["throughput_1p"] = {"rates": rates1, "runs": one}
        print(f"end to end, 1 process (msg/s)   {_spread(rates1)}")
        median_run = one[sorted(range(len(rates1)), key=lambda i: rates1[i])[len(rates1) // 2]][0]
        wall = median_run["last_insert_wall"] - median_run["first_entry_wall"]
        print(f"  per stage (median run, {wall:.2f} s wall, share of wall):")
        for name, st in sorted(median_run["stages"].items(), key=lambda kv: -kv[1]["seconds"]):
            print(f"    {name:<22}{st['seconds']:>8.2f} s {st['seconds'] / wall:>6.1%}"
                  f"  {st['calls']:>7,} calls")  # fmt: skip
        cpu_rates = [sum(x["stored"] for x in r) / sum(x["cpu_s"] for x in r) for r in one]
        report["throughput_1p"]["per_cpu_s"] = cpu_rates
        print(f"  per CPU-second of the process (load-robust) {_spread(cpu_rates)}")
        print(f"  other rows of the median run: {_other_rows([median_run])}")
        print(f"  peak RSS {median_run['peak_rss_mib']:.0f} MiB; queryable check: "
              f"{median_run['verified']} sampled ids found right after their insert, "
              f"{median_run['missing']} missing")  # fmt: skip
        if args.baseline:
            base = spawn(args, tmp, "baseline", messages=args.baseline)[0]
            base_rate = base["messages"] / base["seconds"]
            ratio = statistics.median(rates1) / base_rate
            report["baseline"] = base | {"rate": base_rate, "ratio": ratio}
            print(f"naive baseline ({base['messages']:,} msgs, one INSERT each) "
                  f"{base_rate:>9,.0f} msg/s; voc-stream / baseline = {ratio:.1f}x")  # fmt: skip
        if args.latency_rate:
            n = int(args.latency_rate * args.latency_s)
            lat = spawn(args, tmp, "latency", messages=n, rate=args.latency_rate, stages=False)[0]
            values = lat["latencies"]
            figures = {f"p{q}": _pct(values, q) for q in (50, 95, 99)}
            report["latency"] = {
                "rate": args.latency_rate, "messages": n, **figures, "max": max(values),
                "stored": lat["stored"], "verified": lat["verified"], "missing": lat["missing"],
            }  # fmt: skip
            print(f"latency to queryable at {args.latency_rate:,.0f} msg/s offered for "
                  f"{args.latency_s:.0f} s: p50 {figures['p50']:.3f} s, p95 "
                  f"{figures['p95']:.3f} s, p99 {figures['p99']:.3f} s, max "
                  f"{max(values):.3f} s ({len(values):,} rows)")  # fmt: skip
        if args.cluster:
            two = [spawn(args, tmp, "throughput", processes=2) for _ in range(args.repeat)]
            rates2 = [flow_rate(r) for r in two]
            report["throughput_2p"] = {"rates": rates2, "runs": two}
            speedup = statistics.median(rates2) / statistics.median(rates1)
            report["speedup_2p"] = speedup
            print(f"end to end, 2 processes (msg/s) {_spread(rates2)}")
            print(f"  other rows, every run: {'; '.join(_other_rows(r) for r in two)}")
            print(f"  speed-up over 1 process: {speedup:.2f}x")
            one_cpu = statistics.median(sum(x["cpu_s"] for x in r) for r in one)
            for r in two:
                cpus = [x["cpu_s"] for x in r]
                bound = one_cpu / max(cpus)
                print(
                    f"  CPU seconds per process {', '.join(f'{c:.1f}' for c in cpus)} (1 process: "
                    f"{one_cpu:.1f}); speed-up bound with a free core per process: {bound:.2f}x"
                )
                report.setdefault("speedup_bound_2p", []).append(bound)
    report["load_after"] = os.getloadavg()
    print(f"load average after: {report['load_after'][0]:.2f}")
    _save(report, "pipeline")


def soak(args: argparse.Namespace) -> None:
    n = int(args.rate * args.minutes * 60)
    if args.warmup_s is None:
        from flows.detect.config import DetectConfig

        history = args.history_minutes or DetectConfig().history_minutes
        args.warmup_s = history * 60 + 120.0
    print(f"soak: {n:,} messages at {args.rate:,.0f} msg/s ({args.minutes:g} min), RSS every "
          f"{args.sample_s:g} s, load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="voc-soak-") as tmp_name:
        result = spawn(args, Path(tmp_name), "soak", messages=n, rate=args.rate, stages=False)[0]
    samples = result["samples"]
    rss = [s["rss_mib"] for s in samples]
    warm = [s["rss_mib"] for s in samples if s["t_s"] >= args.warmup_s] or rss
    growth = (warm[-1] - warm[0]) / warm[0]
    spread = (max(warm) - min(warm)) / min(warm)
    summary = {"pending_at_end": result["pending_at_end"], "first_mib": rss[0],
               "last_mib": rss[-1], "max_mib": max(rss),
               "after_warmup_first_mib": warm[0], "growth_after_warmup": growth,
               "spread_after_warmup": spread,
               "stored": result["stored"], "detector": result["detector"],
               "samples": samples}  # fmt: skip
    for s in samples:
        print(f"  t={s['t_s']:>7.1f} s  rss {s['rss_mib']:>7.1f} MiB  stored {s['stored']:>9,}"
              f"  pending {s['pending']:>6,}  p95 {s['p95_s']}")  # fmt: skip
    print(
        f"RSS first {rss[0]:.1f} MiB, last {rss[-1]:.1f}, max {max(rss):.1f}; growth after "
        f"{args.warmup_s:g} s warm-up: {growth:+.1%} (max/min spread {spread:.1%}); stored "
        f"{result['stored']:,}, pending at the end {result['pending_at_end']:,}"
    )
    seen = result["detector"]
    if seen:
        print(f"detector at the end: {seen['keys']:,} keys ({seen['dropped']:,} dropped over "
              f"max_keys, {seen['evicted']:,} evicted idle), {seen['history_records']:,} "
              "messages of evidence")  # fmt: skip  # fmt: skip
    _save({"soak": summary, "args": vars(args) | {"func": None}}, "soak")


def cardinality(args: argparse.Namespace) -> None:
    """Ordinary traffic, then the same messages each naming a new brand and product."""
    load = os.getloadavg()
    print(f"cardinality: {args.messages:,} simulated messages (seed {args.seed}) per run, "
          f"{args.repeat} run(s) each, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}", flush=True)  # fmt: skip
    report: dict[str, Any] = {"load_before": load, "args": vars(args) | {"func": None}}
    with tempfile.TemporaryDirectory(prefix="voc-cardinality-") as tmp_name:
        tmp = Path(tmp_name)
        for name, unique in (("ordinary", False), ("new_keys", True)):
            args.unique_keys = unique
            runs = [spawn(args, tmp, "throughput")[0] for _ in range(args.repeat)]
            rates = [flow_rate([r]) for r in runs]
            middle = runs[sorted(range(len(rates)), key=lambda i: rates[i])[len(rates) // 2]]
            rss = [s["rss_mib"] for s in middle["samples"]]
            later = rss[len(rss) // 4 :] or rss
            growth = (later[-1] - later[0]) / later[0] if later else float("nan")
            report[name] = {"rates": rates, "peak_rss_mib": middle["peak_rss_mib"],
                            "rss_samples": rss, "growth_after_first_quarter": growth,
                            "detector": middle["detector"], "stages": middle["stages"]}  # fmt: skip
            detect_s = middle["stages"].get("detect", {}).get("seconds", 0.0)
            print(f"{name:<9} (msg/s) {_spread(rates)}; peak RSS {middle['peak_rss_mib']:.0f} "
                  f"MiB, RSS {rss[0] if rss else 0:.0f} -> {rss[-1] if rss else 0:.0f} MiB "
                  f"(after the first quarter {growth:+.1%}); detect stage {detect_s:.1f} s; "
                  f"detector {middle['detector']}", flush=True)  # fmt: skip
    ratio = statistics.median(report["new_keys"]["rates"]) / statistics.median(
        report["ordinary"]["rates"]
    )
    report["ratio"] = ratio
    report["load_after"] = os.getloadavg()
    print(f"new keys / ordinary throughput: {ratio:.2f} (target >= 0.80); load average "
          f"after: {report['load_after'][0]:.2f}")  # fmt: skip
    _save(report, "cardinality")


def _save(report: dict[str, Any], kind: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"results: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="throughput, stages, baseline, latency, 2 processes")
    r.add_argument("--messages", type=int, default=100_000)
    r.add_argument("--repeat", type=int, default=3)
    r.add_argument(
        "--baseline", type=int, default=2_000, help="messages for the baseline (0: none)"
    )
    r.add_argument("--latency-rate", type=float, default=500.0)
    r.add_argument("--latency-s", type=float, default=60.0)
    r.add_argument("--no-cluster", dest="cluster", action="store_false")
    r.add_argument(
        "--event-rate",
        type=float,
        default=2_000.0,
        help="flat-out runs: messages per second of event time (created_at spacing)",
    )
    s = sub.add_parser("soak", help="RSS at a steady rate")
    s.add_argument("--rate", type=float, default=1_000.0)
    s.add_argument("--minutes", type=float, default=20.0)
    s.add_argument("--sample-s", type=float, default=30.0)
    s.add_argument(
        "--warmup-s",
        type=float,
        help="growth is measured after this (default: the detector's history window + 120 s: "
        "its evidence minutes hold every customer message of the window)",
    )
    s.set_defaults(event_rate=None)
    s.add_argument(
        "--products",
        type=int,
        default=0,
        help="spread messages over this many distinct product names (0: the simulator's own); "
        "with 1000000 most messages bring a new detector key",
    )
    s.add_argument(
        "--history-minutes",
        type=int,
        default=0,
        help="DetectConfig.history_minutes (0: the default, 5)",
    )
    k = sub.add_parser("cardinality", help="ordinary traffic vs every message a new key")
    k.add_argument("--messages", type=int, default=200_000)
    k.add_argument("--repeat", type=int, default=1)
    k.add_argument("--sample-s", type=float, default=5.0)
    k.add_argument("--event-rate", type=float, default=2_000.0)
    k.set_defaults(sample_rss=True)
    c = sub.add_parser("_child")
    c.add_argument("--unique-keys", action="store_true")
    c.add_argument("--sample-rss", action="store_true")
    c.add_argument("--history-minutes", type=int, default=0)
    c.add_argument("--products", type=int, default=0)
    c.add_argument("--mode", required=True)
    c.add_argument("--dsn", required=True)
    c.add_argument("--messages", type=int, required=True)
    c.add_argument("--rate", type=float)
    c.add_argument("--stages", action="store_true")
    c.add_argument("--processes", type=int, default=1)
    c.add_argument("--process-id", type=int, default=0)
    c.add_argument("--addresses", default="")
    c.add_argument("--sample-s", type=float, default=30.0)
    c.add_argument("--event-rate", type=float, required=True)
    for p in (r, s, k, c):
        p.add_argument("--batch-size", type=int, default=0, help="VOC_BATCH_SIZE (0: default)")
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--enricher", default="fast")
    args = parser.parse_args()
    if args.command == "_child":
        print(json.dumps(child(args), default=str))
    elif args.command == "run":
        run(args)
    elif args.command == "cardinality":
        cardinality(args)
    else:
        soak(args)


if __name__ == "__main__":
    main()
