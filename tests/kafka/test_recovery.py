"""Recovery: SIGKILL the flow at random points, restart it, and store exactly what one run does.

The flow reads the mock Kafka cluster with recovery on (snapshots every 0.2 s). Each of five
executions is killed with SIGKILL at a random point (seeded): once it has written a drawn
number of rows to the messages table (6% to 17% of the stream, its replay included); the
sixth runs to the end of every partition. Everything stored (messages FINAL, every rollup, dead letters, alerts, late
items) must equal an uninterrupted run's, and every kill must have hit a flow that had
stored part, not all, of the stream.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from tests.kafka.conftest import Uninterrupted
from tests.kafka.flow_runs import (
    message_count,
    migrated,
    rows_inserted,
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
    # Kill points: each execution is killed once it has written a random number of rows
    # (6% to 17% of the stream, its replay of what followed the last snapshot included).
    rng = random.Random(SEED)
    shares = [rng.uniform(0.06, 0.17) for _ in range(KILLS)]
    stored_at_kill: list[int] = []
    for kill, share in enumerate(shares, start=1):
        target = rows_inserted(messages_dir) + int(share * uninterrupted.messages)
        proc = start_voc(*run, env=env, log=log)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if rows_inserted(messages_dir) >= target:
                break
            time.sleep(0.02)
        assert proc.poll() is None, (
            f"execution {kill} ended (rc {proc.returncode}) before its kill:\n"
            + log.read_text(errors="replace")[-3000:]
        )
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
        stored_at_kill.append(message_count(crashed))
    print(f"rows per execution {shares}, messages stored at the kills {stored_at_kill}")
    run_voc(*run, env=env)

    assert without_raw(stored(crashed)) == without_raw(uninterrupted.stored)
    # every kill hit a running flow that had stored part, not all, of the stream
    assert stored_at_kill == sorted(stored_at_kill), stored_at_kill
    assert stored_at_kill[0] > 0 and stored_at_kill[-1] < uninterrupted.messages, stored_at_kill
