"""Alert quality of the emerging-issue detectors on simulated days with known incidents.

Each run simulates ``--days`` days of Vietnamese customer feedback (diurnal traffic, a
daily flash sale at 20:00 that triples all traffic for an hour, ``--incidents`` random
incidents on topics, channels and brands, about one in four a phrase burst) after a
warm-up of ``--warmup`` hours, streams it through the real dataflow (``build_flow``: parse,
prepare, batch, the default enricher, the detection steps) with in-memory sinks, and
scores the alerts against the simulator's ground truth:

- an alert *matches* an incident when its key is compatible (same topic; its channel,
  brand and product, where set, do not contradict the incident's; a phrase alert without
  a topic matches a phrase burst with the same phrase) and it opened within
  ``[start, end + grace]`` of the incident (event time); an alert matches at most one
  incident (the compatible one with the narrowest key, then the latest start);
- *recall*: incidents with at least one matching alert, over incidents;
- *false alarms*: alerts (first revisions, opened in the scored span) matching no
  incident; those opened during a flash sale are counted separately as well;
- *duplicates*: further alerts matching an already matched incident;
- *delay*: from the incident start to the opening of its first matching alert.

The recall target is stated for incidents of at least 3x their key's baseline rate lasting
at least 10 minutes whose key's baseline rate is at least ``--min-rate`` messages per
minute (below that an incident adds fewer messages per minute than the detector's minimum
volume); recall over every incident is printed too, with recall by baseline rate.

    PYTHONPATH=. python bench/alerts.py --days 3 --incidents 36 --seeds 1 2 --out alerts.json
"""

from __future__ import annotations

import argparse
import copy
import json
import pickle
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from flows.detect.phrases import fold
from schemas.errors import ConfigError
from simulator import SimulationConfig, Simulator, parse_surge_spec

FLASH_SALE = "at=20:00,for=60m,x=3,name=flash_sale,daily"
BINS = ((0.0, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 5.0), (5.0, float("inf")))


@dataclass(frozen=True)
class Plan:
    """A simulated run: the simulator, its ground truth and the scored span."""

    simulator: Simulator
    truth: list[dict[str, Any]]
    scored_start: datetime
    end: datetime
    days: float


def plan(seed: int, days: float, per_day: int, incidents: int, warmup_h: float) -> Plan:
    """Simulate ``warmup_h`` hours without incidents, then ``days`` days with them.

    Incidents are drawn by the simulator's own planner over the scored span only (a probe
    simulator of that span draws them), then scheduled in the full stream.
    """
    scored_start = datetime(2026, 11, 16, tzinfo=UTC) + timedelta(days=seed % 7)
    start = scored_start - timedelta(hours=warmup_h)
    end = scored_start + timedelta(days=days)
    try:
        surges = tuple(parse_surge_spec(FLASH_SALE, start=start, end=end, default_id="flash"))
    except ConfigError:  # a span too short to hold 20:00 Vietnam time
        surges = ()
    probe = Simulator(
        SimulationConfig(
            seed=seed,
            start=scored_start,
            hours=days * 24,
            messages=int(per_day * days),
            random_incidents=incidents,
            surges=tuple(s for s in surges if s.start >= scored_start),
        )
    )
    simulator = Simulator(
        SimulationConfig(
            seed=seed,
            start=start,
            hours=days * 24 + warmup_h,
            messages=int(per_day * (days + warmup_h / 24)),
            incidents=probe.incidents,
            surges=surges,
        )
    )
    return Plan(simulator, simulator.ground_truth(), scored_start, end, days)


def _time(text: str | datetime) -> datetime:
    if isinstance(text, datetime):
        return text.astimezone(UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def compatible(alert: dict[str, Any], incident: dict[str, Any]) -> int:
    """0 when the alert's key contradicts the incident's, else 1 + how narrow the alert is.

    An alert naming the incident's phrase (an emerging phrase, or a spike the phrase was
    attached to) is compatible whatever topic the enricher gave its messages.
    """
    phrase, found = fold(incident.get("phrase") or ""), fold(alert["phrase"] or "")
    if phrase and found and (found in phrase or phrase in found):
        return 4
    if alert["kind"] == "emerging_phrase" and not alert["topic"]:
        return 0
    if alert["topic"] != incident["topic"]:
        return 0
    narrow = 1
    for field_name in ("channel", "brand"):
        value = alert[field_name]
        if value:
            if incident.get(field_name) and incident[field_name] != value:
                return 0
            narrow += 1
    return narrow


@dataclass
class Score:
    """Matching of alerts to incidents, and the figures derived from it."""

    incidents: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    matched: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    false_alarms: list[dict[str, Any]] = field(default_factory=list)


def match(
    alerts: Sequence[dict[str, Any]],
    truth: Sequence[dict[str, Any]],
    scored_start: datetime,
    grace: timedelta,
) -> Score:
    """Match first revisions of alerts to incidents (module docstring)."""
    incidents = [t for t in truth if t["kind"] != "surge"]
    score = Score(incidents, list(alerts))
    for alert in sorted(alerts, key=lambda a: (a["opened_at"], a["id"])):
        opened = _time(alert["opened_at"])
        if opened < scored_start:
            score.false_alarms.append(alert)
            continue
        best: tuple[int, datetime, str] | None = None
        for incident in incidents:
            start, end = _time(incident["start"]), _time(incident["end"])
            if not start <= opened <= end + grace:
                continue
            narrow = compatible(alert, incident)
            if narrow and (best is None or (narrow, start) > best[:2]):
                best = (narrow, start, incident["id"])
        if best is None:
            score.false_alarms.append(alert)
        else:
            score.matched.setdefault(best[2], []).append(alert)
    return score


def in_surge(moment: datetime, truth: Sequence[dict[str, Any]]) -> bool:
    """Whether ``moment`` falls in a surge window (or its first 10 minutes after)."""
    return any(
        t["kind"] == "surge"
        and _time(t["start"]) <= moment <= _time(t["end"]) + timedelta(minutes=10)
        for t in truth
    )


def rate_of(incident: dict[str, Any]) -> float:
    """Baseline messages per minute of the incident's key during its window."""
    return float(incident["baseline_messages"]) / (float(incident["duration_s"]) / 60.0)


def figures(
    score: Score, days: float, truth: Sequence[dict[str, Any]], min_rate: float
) -> dict[str, Any]:
    """Recall, false alarms, delays and breakdowns of one run."""
    delays: dict[str, float] = {}
    for incident in score.incidents:
        found = score.matched.get(incident["id"])
        if found:
            first = min(_time(a["opened_at"]) for a in found)
            delays[incident["id"]] = (first - _time(incident["start"])).total_seconds() / 60.0

    def recall(selected: list[dict[str, Any]]) -> dict[str, Any]:
        hit = [i for i in selected if i["id"] in delays]
        values = sorted(delays[i["id"]] for i in hit)
        return {
            "incidents": len(selected),
            "detected": len(hit),
            "recall": round(len(hit) / len(selected), 4) if selected else None,
            "median_delay_min": round(statistics.median(values), 2) if values else None,
            "p95_delay_min": round(_quantile(values, 0.95), 2) if values else None,
        }

    target = [
        i
        for i in score.incidents
        if i["multiplier"] >= 3 and i["duration_s"] >= 600 and rate_of(i) >= min_rate
    ]
    by_rate = {}
    for lo, hi in BINS:
        chosen = [i for i in score.incidents if lo <= rate_of(i) < hi]
        by_rate[f"{lo:g}-{hi:g}/min"] = recall(chosen)
    by_kind = {
        kind: recall([i for i in score.incidents if i["kind"] == kind])
        for kind in sorted({i["kind"] for i in score.incidents})
    }
    surge_fa = [a for a in score.false_alarms if in_surge(_time(a["opened_at"]), truth)]
    duplicates = sum(len(v) - 1 for v in score.matched.values())
    kinds = Counter(a["kind"] for a in score.alerts)
    return {
        "target": recall(target),
        "all": recall(score.incidents),
        "by_baseline_rate": by_rate,
        "by_incident_kind": by_kind,
        "alerts": len(score.alerts),
        "alerts_by_kind": dict(sorted(kinds.items())),
        "false_alarms": len(score.false_alarms),
        "false_alarms_per_day": round(len(score.false_alarms) / days, 3),
        "false_alarms_in_surges": len(surge_fa),
        "duplicates": duplicates,
        "missed": [
            {
                "id": i["id"],
                "kind": i["kind"],
                "key": i["key"],
                "x": i["multiplier"],
                "minutes": i["duration_s"] / 60,
                "rate_per_min": round(rate_of(i), 2),
            }
            for i in target
            if i["id"] not in delays
        ],
        "false_alarm_list": [
            {
                k: a[k]
                for k in ("opened_at", "kind", "key_type", "topic", "channel", "brand", "phrase")
            }
            | {"observed": a["observed"], "expected": a["expected"], "score": a["score"]}
            for a in score.false_alarms
        ],
    }


def _quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile of sorted values."""
    rank = max(1, min(len(values), round(q * len(values) + 0.5)))
    return values[rank - 1]


def first_revisions(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The opening revision of each alert, as JSON-ready dicts."""
    first: dict[str, Any] = {}
    for row in rows:
        if row.id not in first or row.revision < first[row.id].revision:
            first[row.id] = row
    out = []
    for row in first.values():
        out.append(
            {
                "id": row.id,
                "kind": row.kind,
                "key_type": row.key_type,
                "topic": row.topic,
                "channel": row.channel,
                "brand": row.brand,
                "product": row.product,
                "phrase": row.phrase,
                "severity": row.severity,
                "opened_at": row.opened_at.isoformat(),
                "observed": row.observed,
                "expected": row.expected,
                "score": row.score,
            }
        )
    return out


class _Counting(StatelessSinkPartition[Sequence[Any]]):
    def __init__(self, counts: Counter[str], name: str, lock: threading.Lock) -> None:
        self._counts, self._name, self._lock = counts, name, lock

    def write_batch(self, items: list[Sequence[Any]]) -> None:
        with self._lock:
            self._counts[self._name] += sum(len(batch) for batch in items)


class CountingSink(DynamicSink[Sequence[Any]]):
    """An in-memory sink that only counts rows (a benchmark keeps no million-row lists).

    Unit of parallelism: the worker. Delivery: counts every row handed over.
    """

    def __init__(self, counts: Counter[str], name: str) -> None:
        self._counts, self._name, self._lock = counts, name, threading.Lock()

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Counting:
        """A counting partition for one worker."""
        return _Counting(self._counts, self._name, self._lock)


@dataclass
class FlowResult:
    """What one run of the real dataflow produced."""

    alerts: list[Any]
    messages: int
    dead_letters: int
    late_items: int
    keys: int
    warm_keys: int
    detector_minutes: int
    gram_baselines: int
    state_bytes: int
    snapshot_seconds: float


def run_flow_once(run_plan: Plan, *, workers: int, partitions: int) -> FlowResult:
    """Stream the plan's simulated messages through ``build_flow`` with in-memory sinks.

    The enricher is the configured default (``VOC_ENRICHER``, the baseline unless set),
    loaded by the flow itself; nothing is written to ClickHouse.
    """
    from bytewax.testing import TestingSink, cluster_main, run_main

    from flows.dataflow import FlowIO, build_flow
    from flows.settings import load_settings
    from flows.sources.simulator import SimulatorSource

    counts: Counter[str] = Counter()
    alerts: list[list[Any]] = []
    late: list[list[Any]] = []
    probes: list[Any] = []
    source = SimulatorSource(run_plan.simulator.config, partitions)
    io = FlowIO(
        source,
        CountingSink(counts, "messages"),
        CountingSink(counts, "dead_letters"),
        TestingSink(alerts),
        TestingSink(late),
    )
    flow = build_flow(load_settings(), io, detect_probe=probes.append)
    if workers == 1:
        run_main(flow)
    else:
        cluster_main(flow, [], 0, worker_count_per_proc=workers)
    detector = probes[0]
    began = time.perf_counter()
    copied = copy.deepcopy(detector)  # what a recovery snapshot of the detector costs
    snapshot_seconds = time.perf_counter() - began
    state_bytes = len(pickle.dumps(copied, protocol=pickle.HIGHEST_PROTOCOL))  # its stored size
    return FlowResult(
        alerts=[row for batch in alerts for row in batch],
        messages=counts["messages"],
        dead_letters=counts["dead_letters"],
        late_items=sum(len(b) for b in late),
        keys=len(detector.keys),
        warm_keys=detector.warm_keys(),
        detector_minutes=detector.stats.minutes,
        gram_baselines=len(detector.phrases.table),
        state_bytes=state_bytes,
        snapshot_seconds=round(snapshot_seconds, 3),
    )


def phrase_speed(run_plan: Plan, count: int) -> float:
    """Microseconds per message to extract candidate phrases (the hot path of detection).

    Measured on the normalized, redacted text of the first ``count`` simulated messages,
    best of three passes (the machine may be shared).
    """
    from flows.detect.phrases import default_stop_list, gram_ids
    from nlp.normalize import normalize
    from nlp.pii import redact

    texts = []
    for message in run_plan.simulator.messages():
        texts.append(normalize(redact(message["text"]).text))
        if len(texts) == count:
            break
    stops = default_stop_list()
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for text in texts:
            gram_ids(text, stops)
        best = min(best, time.perf_counter() - began)
    return 1e6 * best / len(texts)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print figures and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--per-day", type=int, default=300_000, help="baseline messages a day")
    parser.add_argument("--incidents", type=int, default=36, help="random incidents per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--warmup", type=float, default=4.0, help="hours before the scored span")
    parser.add_argument("--grace", type=float, default=5.0, help="minutes after an incident")
    parser.add_argument("--min-rate", type=float, default=2.0, help="see the module docstring")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="write figures as JSON here")
    args = parser.parse_args(argv)

    runs = []
    for seed in args.seeds:
        run_plan = plan(seed, args.days, args.per_day, args.incidents, args.warmup)
        started = time.perf_counter()
        result = run_flow_once(run_plan, workers=args.workers, partitions=args.partitions)
        seconds = time.perf_counter() - started
        score = match(
            first_revisions(result.alerts),
            run_plan.truth,
            run_plan.scored_start,
            timedelta(minutes=args.grace),
        )
        figs = figures(score, run_plan.days, run_plan.truth, args.min_rate)
        figs |= {
            "seed": seed,
            "days": args.days,
            "messages": result.messages,
            "late_items": result.late_items,
            "keys_monitored": result.keys,
            "keys_warm": result.warm_keys,
            "gram_baselines": result.gram_baselines,
            "detector_state_bytes": result.state_bytes,
            "detector_snapshot_seconds": result.snapshot_seconds,
            "seconds": round(seconds, 1),
            "messages_per_second": round(result.messages / seconds),
        }
        figs["phrase_extraction_us_per_message"] = round(phrase_speed(run_plan, 20_000), 1)
        runs.append(figs)
        _print_run(figs)
    summary = _summary(runs)
    print(json.dumps(summary, indent=2))
    if args.out is not None:
        args.out.write_text(
            json.dumps({"runs": runs, "summary": summary}, indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
    return 0


def _print_run(figs: dict[str, Any]) -> None:
    t, a = figs["target"], figs["all"]
    print(
        f"seed {figs['seed']}: {figs['messages']:,} messages, {figs['keys_monitored']} keys "
        f"({figs['keys_warm']} warm), {figs['late_items']} late items, {figs['seconds']} s "
        f"({figs['messages_per_second']:,} msgs/s)\n"
        f"  detector state {figs['detector_state_bytes'] / 1e6:.1f} MB pickled, deep copy "
        f"{figs['detector_snapshot_seconds']} s, {figs['gram_baselines']:,} phrase baselines, "
        f"phrase extraction {figs['phrase_extraction_us_per_message']} µs/message\n"
        f"  target recall {t['detected']}/{t['incidents']} = {t['recall']}, "
        f"median delay {t['median_delay_min']} min, p95 {t['p95_delay_min']} min\n"
        f"  all incidents {a['detected']}/{a['incidents']} = {a['recall']}; "
        f"alerts {figs['alerts']} {figs['alerts_by_kind']}\n"
        f"  false alarms {figs['false_alarms']} ({figs['false_alarms_per_day']}/day, "
        f"{figs['false_alarms_in_surges']} in flash sales), duplicates {figs['duplicates']}",
        file=sys.stderr,
    )


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    days = sum(r["days"] for r in runs)
    target = sum(r["target"]["incidents"] for r in runs)
    hit = sum(r["target"]["detected"] for r in runs)
    every = sum(r["all"]["incidents"] for r in runs)
    every_hit = sum(r["all"]["detected"] for r in runs)
    fa = sum(r["false_alarms"] for r in runs)
    return {
        "runs": len(runs),
        "simulated_days": days,
        "target_incidents": target,
        "target_recall": round(hit / target, 4) if target else None,
        "all_incidents": every,
        "all_recall": round(every_hit / every, 4) if every else None,
        "false_alarms": fa,
        "false_alarms_per_day": round(fa / days, 3) if days else None,
        "median_delay_min_per_run": [r["target"]["median_delay_min"] for r in runs],
        "p95_delay_min_per_run": [r["target"]["p95_delay_min"] for r in runs],
        "keys_monitored_per_run": [r["keys_monitored"] for r in runs],
    }


if __name__ == "__main__":
    sys.exit(main())
