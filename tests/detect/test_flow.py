"""The detection steps in the real dataflow, in memory, under 1 and 2 workers."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bytewax.testing import TestingSink, TestingSource, cluster_main, run_main

from flows.dataflow import FlowIO, build_flow
from flows.detect.config import DetectConfig
from flows.detect.detector import Detector
from flows.records import RawRecord
from flows.settings import Settings
from flows.sources.simulator import SimulatorSource
from schemas.errors import ConfigError
from schemas.rows import AlertRow, LateItem, StoredMessage
from simulator import SimulationConfig
from tests.detect.support import (
    START,
    START_MINUTE,
    TopicEnricher,
    background_messages,
    incident_messages,
)

#: Replays end before the merger's grace periods: minutes close on the data alone.
CONFIG = DetectConfig(warmup=30, gram_warmup=40, startup_grace_s=120, idle_grace_s=120)
KEK = "giao hàng chậm quá, đơn kẹt ở kho trung chuyển"


def payloads(minutes: int = 125, partitions: int = 2) -> list[RawRecord]:
    """Background traffic with one incident at minutes 80-92, split into partitions."""
    rng = random.Random(11)
    per_partition: list[list[dict[str, Any]]] = [[] for _ in range(partitions)]
    n = 0
    for minute in range(minutes):
        batch = list(background_messages(rng, minute, 60.0))
        if 80 <= minute < 92:
            batch += list(incident_messages(rng, minute, 15.0, KEK))
        batch.sort(key=lambda m: m["created_at"])
        for message in batch:
            message["id"] = f"m{n}"
            message["created_at"] = message["created_at"].isoformat()
            per_partition[n % partitions].append(message)
            n += 1
    records = []
    for p, messages in enumerate(per_partition):
        records += [RawRecord(f"p{p}", i + 1, m) for i, m in enumerate(messages)]
    rng.shuffle(records)  # partitions interleave arbitrarily; each stays in time order
    records.sort(key=lambda r: (r.origin, r.position))
    return _interleave(records, partitions)


def _interleave(records: list[RawRecord], partitions: int) -> list[RawRecord]:
    queues = [[r for r in records if r.origin == f"p{p}"] for p in range(partitions)]
    out: list[RawRecord] = []
    step = 0
    while any(queues):
        queue = queues[step % partitions]
        take = 50 + 37 * (step % 3)  # uneven chunks: partitions run at different speeds
        out += queue[:take]
        del queue[:take]
        step += 1
    return out


def run(
    settings: Settings,
    records: Sequence[RawRecord],
    workers: int,
    config: DetectConfig = CONFIG,
) -> tuple[list[StoredMessage], list[AlertRow], list[LateItem], Detector]:
    stored: list[list[StoredMessage]] = []
    alerts: list[list[AlertRow]] = []
    late: list[list[LateItem]] = []
    probe: list[Detector] = []
    io = FlowIO(
        TestingSource(records),
        TestingSink(stored),
        TestingSink([]),
        TestingSink(alerts),
        TestingSink(late),
    )
    flow = build_flow(
        settings, io, enricher=TopicEnricher, detect_config=config, detect_probe=probe.append
    )
    if workers == 1:
        run_main(flow)
    else:
        cluster_main(flow, [], 0, worker_count_per_proc=workers)
    rows = [r for batch in alerts for r in batch]
    return (
        [r for b in stored for r in b],
        sorted(rows, key=lambda r: (r.id, r.revision)),
        [x for b in late for x in b],
        probe[0],
    )


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    from flows.settings import load_settings

    settings = load_settings(clickhouse_dsn="chdb://:memory:", batch_size=64, batch_timeout_s=0.2)
    return run(settings, payloads(), 1)


def test_a_seeded_incident_yields_exactly_one_alert_with_samples_and_breakdown(
    one_worker: tuple[Any, ...],
) -> None:
    stored, rows, late, detector = one_worker
    assert late == []
    assert len({r.id for r in rows}) == 1, [(r.kind, r.topic, r.channel, r.phrase) for r in rows]
    first, last = rows[0], rows[-1]
    assert (first.revision, first.status, last.status) == (1, "open", "resolved")
    assert (first.topic, first.channel) == ("delivery", "shopee")
    assert "kẹt ở kho trung chuyển" in last.phrase
    assert START + timedelta(minutes=81) <= first.opened_at <= START + timedelta(minutes=83)
    by_id = {m.id: m for m in stored}
    assert len(first.sample_ids) >= 5
    assert all(
        by_id[i].text == t for i, t in zip(first.sample_ids, first.sample_texts, strict=True)
    )
    assert all("kẹt" in t for t in first.sample_texts)
    assert set(first.channel_breakdown) == {"shopee"}
    assert detector.stats.messages == len(stored)  # every message counted, in one minute


@pytest.mark.parametrize("workers", [2])
def test_two_workers_give_the_same_alerts_as_one(
    settings: Settings, one_worker: tuple[Any, ...], workers: int
) -> None:
    _stored, rows, late, detector = run(settings, payloads(), workers)
    assert late == []
    assert rows == one_worker[1]
    assert detector.stats.messages == one_worker[3].stats.messages


def test_windowed_counts_are_exact_with_two_workers_and_three_simulator_partitions(
    settings: Settings,
) -> None:
    start = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    source = SimulatorSource(SimulationConfig(seed=5, start=start, hours=0.5, messages=2500), 3)
    stored: list[list[StoredMessage]] = []
    probe: list[Detector] = []
    late: list[list[LateItem]] = []
    io = FlowIO(source, TestingSink(stored), TestingSink([]), TestingSink([]), TestingSink(late))
    config = replace(CONFIG, history_minutes=100, startup_grace_s=0.0)  # minutes close mid-run
    flow = build_flow(
        settings, io, enricher=TopicEnricher, detect_config=config, detect_probe=probe.append
    )
    cluster_main(flow, [], 0, worker_count_per_proc=2)
    rows = [r for b in stored for r in b if r.role != "agent"]
    expected: dict[int, int] = {}
    for row in rows:
        minute = int(row.created_at.timestamp() // 60)
        expected[minute] = expected.get(minute, 0) + 1
    counted = {d.minute: len(d.records) for d in probe[0].history if d.records}
    assert late == []
    assert counted == expected
    assert sum(counted.values()) == len(rows) > 2000


def test_messages_behind_their_partition_watermark_are_late_items_and_still_stored(
    settings: Settings,
) -> None:
    def message(i: int, minute: float) -> dict[str, Any]:
        created = START + timedelta(minutes=minute)
        return {"id": f"x{i}", "source": "review", "channel": "tiki", "text": "giao hàng nhanh",
                "created_at": created.isoformat()}  # fmt: skip

    records = [RawRecord("p0", i, message(i, i)) for i in range(10)]
    records.insert(6, RawRecord("p0", 99, message(99, 1.5)))  # 4 minutes behind
    records.append(RawRecord("p1", 1, message(100, 2.0)))  # another partition: not late
    stored, _rows, late, detector = run(settings, records, 1)
    assert [(x.id, x.stage, x.channel) for x in late] == [("x99", "detect-window", "tiki")]
    assert late[0].created_at == START + timedelta(minutes=1.5)
    assert late[0].watermark == START + timedelta(minutes=5) - timedelta(seconds=CONFIG.wait_s)
    assert "x99" in {m.id for m in stored}
    assert detector.stats.messages == len(stored) - 1


def test_detection_needs_both_sinks_or_neither(settings: Settings) -> None:
    io = FlowIO(TestingSource([]), TestingSink([]), TestingSink([]), TestingSink([]))
    with pytest.raises(ConfigError, match="both an alerts and a late_items sink"):
        build_flow(settings, io, enricher=TopicEnricher)


def test_alert_rows_are_json_ready_for_the_sink(one_worker: tuple[Any, ...]) -> None:
    row = one_worker[1][0]
    values = dict(zip(AlertRow.COLUMNS, row.as_row(), strict=True))
    assert values["opened_at"].tzinfo is not None
    json.dumps({k: str(v) for k, v in values.items()}, ensure_ascii=False)
    assert START_MINUTE * 60 < values["window_start"].timestamp() < values["window_end"].timestamp()


def test_a_restart_from_a_snapshot_gives_the_same_alerts_and_ids() -> None:
    import pickle

    from flows.detect.flow import DetectLogic, SignalBatch
    from tests.detect.test_detector import incident, minutes_of

    minutes = minutes_of(130, extra=incident(80, 92))
    batches = [
        SignalBatch("p0", sorted(signals, key=lambda s: s.created_at)) for signals in minutes
    ]
    config = replace(CONFIG, startup_grace_s=0.0)

    def clock() -> datetime:
        return START

    def collect(logic: DetectLogic, batch: list[Any], eof: bool = False) -> list[AlertRow]:
        out, _ = logic.on_eof() if eof else logic.on_batch(batch)
        assert all(found.late == [] for found in out)
        return [row for found in out for row in found.alerts]

    seen: list[Detector] = []
    whole = DetectLogic(config, clock, seen.append, None, None)
    expected = collect(whole, batches) + collect(whole, [], eof=True)
    first = DetectLogic(config, clock, None, None, None)
    rows = collect(first, batches[:85])  # stop during the incident, as a crash would
    snapshot = pickle.loads(pickle.dumps(first.snapshot()))  # noqa: S301 (what Bytewax stores)
    resumed = DetectLogic(config, clock, None, None, snapshot)
    rows += collect(resumed, batches[85:]) + collect(resumed, [], eof=True)
    assert rows == expected and len({r.id for r in rows}) == 1
    assert seen[0].stats.messages == sum(len(m) for m in minutes)  # none late, none lost


def test_the_detector_waits_for_the_origins_a_source_declares_not_its_partition_names(
    settings: Settings,
) -> None:
    asked: list[str] = []

    class NamedElsewhere(TestingSource):  # like Kafka: parts "topic/0", records "kafka:topic/0"
        def origins(self) -> list[str]:
            asked.append("origins")
            return ["p0", "p1"]

    records = payloads(minutes=3)
    stored: list[list[StoredMessage]] = []
    io = FlowIO(
        NamedElsewhere(records), TestingSink(stored), TestingSink([]), TestingSink([]),
        TestingSink([]),
    )  # fmt: skip
    run_main(build_flow(settings, io, enricher=TopicEnricher, detect_config=CONFIG))
    assert asked == ["origins"]
    assert sum(len(b) for b in stored) == len(records)


def test_a_cluster_runs_the_detector_on_its_last_process_and_drops_a_stale_key() -> None:
    import pickle

    from bytewax.operators import StatefulBatchLogic

    from flows.detect.flow import DETECTOR_KEY, _build_logic, detector_key
    from flows.placement import worker_of

    assert detector_key(1, 4) == DETECTOR_KEY
    for processes, per in [(2, 1), (3, 2)]:
        key = detector_key(processes, per)
        assert worker_of(key, processes * per) // per == processes - 1

    def clock() -> datetime:
        return START

    old = _build_logic(CONFIG, clock, None, None, None, DETECTOR_KEY, None)
    snapshot = pickle.loads(pickle.dumps(old.snapshot()))  # noqa: S301 (what Bytewax stores)
    same = _build_logic(CONFIG, clock, None, None, None, DETECTOR_KEY, snapshot)
    assert same.notify_at() is None  # an idle detector sleeps
    retired = _build_logic(CONFIG, clock, None, None, None, "detector-7", snapshot)
    assert retired.notify_at() == START  # wakes at once...
    assert retired.on_notify() == ([], StatefulBatchLogic.DISCARD)  # ...to drop the state


def test_a_row_detection_fails_on_is_a_dead_letter_and_the_batch_goes_on() -> None:
    """A signal that cannot be made (here: text UTF-8 cannot hold) costs that row only."""
    from flows.batching import MicroBatch
    from flows.detect.flow import _signals
    from flows.records import EnrichedBatch
    from flows.steps import Enrich, Preparer, parse_batch
    from tests.conftest import KeywordEnricher, message

    raw = [RawRecord("p0", i, json.dumps(message(i)).encode()) for i in range(3)]
    batch = Preparer("salt").prepare_batch(parse_batch(MicroBatch("p0", raw)))
    rows = Enrich(KeywordEnricher)(batch).rows
    rows[1] = replace(rows[1], text="hỏng \udfff")
    signals, dead = _signals(EnrichedBatch(rows, [], "p0"))
    assert signals is not None and [s.id for s in signals.signals] == [rows[0].id, rows[2].id]
    assert [(d.step, d.error_type, d.origin) for d in dead] == [
        ("detect", "UnicodeEncodeError", "p0")
    ]
    assert json.loads(dead[0].payload)["id"] == rows[1].id
