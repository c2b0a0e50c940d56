"""Execution settings: cluster addresses, recovery directories, and their validation."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from flows.execution import Execution, main, prepare_recovery_dir, snapshot_age
from flows.settings import load_settings
from schemas.errors import ConfigError


def test_a_cluster_process_gets_its_id_addresses_and_recovery(tmp_path: Path) -> None:
    settings = load_settings(
        process_id=1, addresses="flow-0:2101;flow-1:2101;flow-2:2101", recovery_dir=tmp_path,
        snapshot_interval_s=2.5, backup_interval_s=30,
    )  # fmt: skip
    execution = Execution.from_settings(settings, workers=2)
    assert execution.total_workers == 6
    kwargs = execution.cli_main_kwargs()
    assert kwargs["process_id"] == 1
    assert kwargs["addresses"] == ["flow-0:2101", "flow-1:2101", "flow-2:2101"]
    assert kwargs["workers_per_process"] == 2
    assert kwargs["epoch_interval"] == timedelta(seconds=2.5)
    recovery = kwargs["recovery_config"]
    assert (Path(recovery.db_dir), recovery.backup_interval) == (tmp_path, timedelta(seconds=30))
    single = Execution.from_settings(load_settings(), workers=1).cli_main_kwargs()
    assert set(single) == {"workers_per_process", "epoch_interval"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"process_id": 2, "addresses": "a:1;b:1"}, "process_id must be below"),
        ({"process_id": 1}, "process_id must be below"),
        ({"addresses": "a:1;;b"}, "VOC_ADDRESSES"),
        ({"sink_retry_initial_s": 60.0}, "must not exceed sink_retry_max_s"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_username": "u"}, "kafka_sasl_mechanism"),
        ({"kafka_topic_review": "bad topic"}, "VOC_KAFKA_TOPIC_REVIEW"),
        ({"source": "kafka", "kafka_max_poll_records": 0}, "VOC_KAFKA_MAX_POLL_RECORDS"),
    ],
)
def test_inconsistent_settings_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(**overrides)


def test_a_single_process_creates_its_recovery_partitions_once(tmp_path: Path) -> None:
    path = tmp_path / "recovery"
    assert prepare_recovery_dir(path, 3, create=True) == 3
    assert sorted(p.name for p in path.glob("part-*")) == [f"part-{i}.sqlite3" for i in range(3)]
    assert prepare_recovery_dir(path, 5, create=True) == 3  # existing partitions are kept
    with pytest.raises(ConfigError, match=r"python -m bytewax.recovery .* N"):
        prepare_recovery_dir(tmp_path / "empty", 2, create=False)
    Execution(workers=2, recovery_dir=tmp_path / "solo").prepare()
    assert len(list((tmp_path / "solo").glob("part-*.sqlite3"))) == 2
    cluster = Execution(addresses=["a:1", "b:1"], process_id=1, recovery_dir=tmp_path / "c")
    with pytest.raises(ConfigError, match="has no partitions"):
        cluster.prepare()  # processes of a cluster must not race to create them


def test_the_container_chores_init_and_check(tmp_path: Path) -> None:
    path = tmp_path / "recovery"
    assert main(["check", str(path), "60"]) == 1  # nothing there yet
    assert main(["init", str(path), "4"]) == 0
    assert main(["init", str(path), "4"]) == 0  # idempotent: compose runs it at every start
    assert main(["check", str(path), "60"]) == 0
    old = time.time() - 600
    for part in path.iterdir():
        os.utime(part, (old, old))
    assert snapshot_age(path) == pytest.approx(600, abs=5)
    assert main(["check", str(path), "60"]) == 1
    assert main(["frobnicate", str(path), "1"]) == 2
