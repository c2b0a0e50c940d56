"""Recovery: SIGKILL or SIGTERM the flow at random points, restart it, and store exactly what one run does.

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


TERMS = 4


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_the_next_run_resumes_exactly(
    uninterrupted: Uninterrupted, tmp_path: Path
) -> None:
    """SIGTERM (what `docker stop` sends) at random points, then a run to the end.

    Each stopped execution writes its batches in flight, says so in one line and exits 143;
    the runs together store exactly what one uninterrupted run stores.
    """
    env = uninterrupted.env
    stopped = migrated(f"chdb://{tmp_path / 'stopped'}")
    messages_dir = table_dir(stopped, "messages")
    recovery = tmp_path / "recovery"
    run = ("run", "--dsn", stopped, "--quiet", "-r", str(recovery), "-s", "0.2", "-b", "0")
    rng = random.Random(SEED + 1)
    stored_at_stop: list[int] = []
    for term in range(1, TERMS + 1):
        target = rows_inserted(messages_dir) + int(rng.uniform(0.06, 0.2) * uninterrupted.messages)
        log = tmp_path / f"run-{term}.log"
        proc = start_voc(*run, env=env, log=log)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if rows_inserted(messages_dir) >= target:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"execution {term} ended early:\n{log.read_text()[-3000:]}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 128 + signal.SIGTERM
        output = log.read_text(errors="replace")
        assert "Traceback" not in output and "panicked" not in output, output
        lines = output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("stopped by SIGTERM: wrote "), output
        assert lines[0].endswith("resumes where this one stopped"), output
        stored_at_stop.append(message_count(stopped))
    run_voc(*run, env=env)

    assert without_raw(stored(stopped)) == without_raw(uninterrupted.stored)
    assert stored_at_stop == sorted(stored_at_stop), stored_at_stop
    assert stored_at_stop[0] > 0 and stored_at_stop[-1] < uninterrupted.messages, stored_at_stop
