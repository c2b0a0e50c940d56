"""Recovery: SIGKILL the flow at random points, restart it, and store exactly what one run does.

The flow reads the mock Kafka cluster with recovery on (snapshots every 0.2 s). Each of five
executions is killed with SIGKILL at a random point (seeded): once the messages table has
taken a drawn number of inserts, plus a random delay; the sixth runs to the end of every
partition. Everything stored (messages FINAL, every rollup, dead letters, alerts, late
items) must equal an uninterrupted run's, and every kill must have hit a flow that had
stored part, not all, of the stream.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from tests.kafka.conftest import STREAM_MESSAGES, Uninterrupted
from tests.kafka.flow_runs import (
    inserts_into,
    message_count,
    migrated,
    run_voc,
    start_voc,
    stored,
    table_dir,
    without_raw,
)

KILLS = 5
SEED = 20_261_120


@pytest.mark.slow
def test_sigkill_and_restart_store_exactly_what_an_uninterrupted_run_stores(
    uninterrupted: Uninterrupted, tmp_path: Path
) -> None:
    env = uninterrupted.env
    crashed = migrated(f"chdb://{tmp_path / 'crashed'}")
    messages_dir = table_dir(crashed, "messages")
    recovery = tmp_path / "recovery"
    run = ("run", "--dsn", crashed, "--quiet", "-r", str(recovery), "-s", "0.2", "-b", "0")
    log = tmp_path / "runs.log"
    # Kill points: after a random number of inserts into messages, spread over the stream
    # (replayed inserts count too, so later points fall further along it).
    rng = random.Random(SEED)
    total = inserts_into(table_dir(uninterrupted.dsn, "messages"))
    targets = sorted(rng.sample(range(1, max(total, KILLS + 1)), KILLS))
    stored_at_kill: list[int] = []
    for kill, target in enumerate(targets, start=1):
        proc = start_voc(*run, env=env, log=log)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if inserts_into(messages_dir) >= target:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.1))
        assert proc.poll() is None, (
            f"execution {kill} ended (rc {proc.returncode}) before its kill:\n"
            + log.read_text(errors="replace")[-3000:]
        )
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
        stored_at_kill.append(message_count(crashed))
    print(f"inserts {total}, kill points {targets}, messages stored at the kills {stored_at_kill}")
    run_voc(*run, env=env)

    assert without_raw(stored(crashed)) == without_raw(uninterrupted.stored)
    # every kill hit a running flow that had stored part, not all, of the stream
    assert stored_at_kill == sorted(stored_at_kill), stored_at_kill
    assert stored_at_kill[0] > 0 and stored_at_kill[-1] < STREAM_MESSAGES, stored_at_kill
