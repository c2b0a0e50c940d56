"""The placement model (flows/placement.py) against a real cluster of Bytewax workers."""

from __future__ import annotations

import threading
from pathlib import Path

import bytewax.operators as op
import pytest
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, TestingSource, cluster_main

from flows.placement import key_for_process, worker_of

KEYS = [f"k{i}" for i in range(40)] + ["detector", "bench/0", "kafka:voc.reviews/3", "chữ"]


def _thread_name() -> str:
    return Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads thread names in /proc")
@pytest.mark.parametrize("workers", [2, 3, 4])
def test_every_key_lands_on_the_worker_the_model_names(workers: int) -> None:
    flow = Dataflow("placement")
    keyed = op.key_on("key", op.input("in", flow, TestingSource(KEYS)), lambda k: k)
    seen = op.map("where", keyed, lambda kv: (kv[0], _thread_name()))
    # the map runs wherever the item is; the stateful step runs where its key routes
    placed = op.stateful_map("place", keyed, lambda _s, k: (None, (k, _thread_name())))
    out: list[tuple[str, tuple[str, str]]] = []
    op.output("out", placed, TestingSink(out))
    op.output("ignored", seen, TestingSink([]))
    cluster_main(flow, [], 0, worker_count_per_proc=workers)
    where = {key: name for key, (_k, name) in out}
    assert set(where) == set(KEYS)
    assert all(name.startswith("timely:work-") for name in where.values()), where
    assert {k: int(n.rsplit("-", 1)[1]) for k, n in where.items()} == {
        k: worker_of(k, workers) for k in KEYS
    }


def test_a_key_for_a_process_routes_to_one_of_its_workers() -> None:
    for processes, per in [(2, 1), (3, 1), (2, 4), (5, 2)]:
        for process in range(processes):
            key = key_for_process("detector", process, processes, per)
            assert worker_of(key, processes * per) // per == process
    assert key_for_process("detector", 0, 1, 1) == "detector"
