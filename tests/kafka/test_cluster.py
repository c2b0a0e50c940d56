"""Two flow processes in a Bytewax cluster store exactly what one process stores.

Both processes read the mock Kafka topics (four partitions each) with addresses on
127.0.0.1; on embedded storage only process 0 opens the database and the other routes its
rows there (see flows.sinks.clickhouse). Messages FINAL, the rollups and the dead letters
must equal the uninterrupted single-process run's.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.kafka.conftest import Kafka, Uninterrupted
from tests.kafka.flow_runs import migrated, start_voc, stored, without_raw


def free_ports(n: int) -> list[int]:
    """Ports nothing listens on right now."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.mark.slow
def test_two_processes_store_what_one_process_stores(
    uninterrupted: Uninterrupted, kafka: Kafka, tmp_path: Path
) -> None:
    dsn = migrated(f"chdb://{tmp_path / 'cluster'}")
    addresses = ";".join(f"127.0.0.1:{port}" for port in free_ports(2))
    logs = [tmp_path / f"process-{i}.log" for i in range(2)]
    run = ("run", "--dsn", dsn, "-a", addresses)
    procs = [start_voc(*run, "-i", str(i), env=uninterrupted.env, log=logs[i]) for i in range(2)]
    codes = [proc.wait(180) for proc in procs]
    outputs = [log.read_text(errors="replace") for log in logs]
    assert codes == [0, 0], outputs

    assert without_raw(stored(dsn)) == without_raw(uninterrupted.stored)
    # process 0 wrote every row; process 1 read its share of the partitions and wrote none
    assert f"wrote {uninterrupted.messages:,} messages and 3 dead letters" in outputs[0]
    assert "wrote 0 messages and 0 dead letters" in outputs[1]
    # both runs also published their dead letters, keyed by id, to the dead-letter topic
    ids = {row[0] for row in uninterrupted.stored["dead_letters"]}
    published = kafka.read(uninterrupted.topics["kafka_topic_dead_letters"])
    assert {key.decode() for _p, _o, key, _v in published} == ids
