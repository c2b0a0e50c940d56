"""The per-stage timer of build_flow (benchmarks only) and rows crossing processes."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime

from bytewax.testing import TestingSink, TestingSource, run_main

from flows.dataflow import FlowIO, build_flow
from flows.records import RawRecord
from flows.settings import Settings
from flows.timing import StageTimer, timed
from schemas.rows import StoredMessage
from tests.conftest import KeywordEnricher, message


def _run(settings: Settings, n: int, timer: StageTimer | None) -> list[StoredMessage]:
    records = [
        RawRecord("t.jsonl", i + 1, json.dumps(message(i), ensure_ascii=False).encode())
        for i in range(n)
    ]
    stored: list[list[StoredMessage]] = []
    io = FlowIO(
        TestingSource(records), TestingSink(stored), TestingSink([]), TestingSink([]),
        TestingSink([]),
    )  # fmt: skip
    run_main(build_flow(settings, io, enricher=KeywordEnricher, timer=timer))
    return [r for batch in stored for r in batch]


def test_the_timer_counts_every_stage_and_changes_no_row(settings: Settings) -> None:
    timer = StageTimer()
    timed_rows = _run(settings, 40, timer)
    plain_rows = _run(settings, 40, None)
    stages = timer.snapshot()
    # one call per micro-batch in each of the three batch steps
    assert stages["parse"][1] == stages["prepare"][1] == stages["enrich"][1] >= 1
    assert stages["detect"][1] >= 1
    assert all(seconds > 0 for seconds, _ in stages.values())
    strip = [(r.id, r.sentiment, r.topics, r.text_normalized) for r in timed_rows]
    assert sorted(strip) == sorted(
        (r.id, r.sentiment, r.topics, r.text_normalized) for r in plain_rows
    )


def test_without_a_timer_nothing_is_wrapped() -> None:
    def step(x: int) -> int:
        return x + 1

    assert timed(None, "parse", step) is step
    timer = StageTimer()
    assert timed(timer, "parse", step)(1) == 2
    assert timer.snapshot()["parse"][1] == 1


def test_a_stored_message_pickles_as_its_values_and_comes_back_equal() -> None:
    now = datetime(2026, 11, 20, 1, tzinfo=UTC)
    row = StoredMessage(
        "m1", "review", "shopee", "Zenta", "S12", 2, "ab", "", "", "", 0, 0, "{}",
        "giao hàng chậm", "giao hàng chậm", "giao hang cham", ("phone",), "vi", "negative",
        0.9, ("delivery",), (0.7,), ("negative",), (), (), (), ("rating_mismatch",), "v1",
        now, now,
    )  # fmt: skip
    assert row.as_row() == tuple(getattr(row, c) for c in StoredMessage.COLUMNS)
    # Bytewax pickles items that cross processes; this is our own object, not a file
    back = pickle.loads(pickle.dumps([row]))  # noqa: S301
    assert back == [row]
    assert back[0].as_row() == row.as_row()
