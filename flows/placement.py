"""Which worker a keyed step's state lives on, and a key that lands on a chosen worker.

Bytewax 0.21 routes the items of a stateful step by their key: the worker is the key's
SipHash-1-3 (Rust's ``DefaultHasher``, zero keys, over the string's UTF-8 bytes and a
``0xff`` terminator) modulo the number of workers in the cluster, numbered process by
process (process ``p`` of ``w`` workers each holds workers ``p*w`` to ``p*w + w - 1``).
``tests/flow/test_placement.py`` checks this model against a real cluster of workers.

The flow uses it for load, never for results: the detector is one keyed step, and on
embedded storage process 0 already inserts every process's rows, so a cluster places the
detector on its last process (:func:`key_for_process`). Were Bytewax to route otherwise,
the detector would run on some other worker, with the same alerts.
"""

from __future__ import annotations

_MASK = (1 << 64) - 1


def _rotl(x: int, bits: int) -> int:
    return ((x << bits) | (x >> (64 - bits))) & _MASK


def siphash13(data: bytes, k0: int = 0, k1: int = 0) -> int:
    """SipHash-1-3 of ``data`` (one compression round, three finalization rounds)."""
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573

    def sip_round() -> None:
        nonlocal v0, v1, v2, v3
        v0 = (v0 + v1) & _MASK
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = (v2 + v3) & _MASK
        v3 = _rotl(v3, 16) ^ v2
        v0 = (v0 + v3) & _MASK
        v3 = _rotl(v3, 21) ^ v0
        v2 = (v2 + v1) & _MASK
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)

    whole = len(data) - len(data) % 8
    for i in range(0, whole, 8):
        m = int.from_bytes(data[i : i + 8], "little")
        v3 ^= m
        sip_round()
        v0 ^= m
    last = ((len(data) & 0xFF) << 56) | int.from_bytes(data[whole:], "little")
    v3 ^= last
    sip_round()
    v0 ^= last
    v2 ^= 0xFF
    for _ in range(3):
        sip_round()
    return v0 ^ v1 ^ v2 ^ v3


def worker_of(key: str, worker_count: int) -> int:
    """The worker (0-based, cluster-wide) Bytewax routes ``key``'s state to."""
    return siphash13(key.encode("utf-8") + b"\xff") % worker_count


def key_for_process(base: str, process: int, processes: int, workers_per_process: int) -> str:
    """``base``, or ``base-1``, ``base-2``...: the first that routes to a worker of ``process``."""
    total = processes * workers_per_process
    first = process * workers_per_process
    for n in range(1_000):
        key = base if n == 0 else f"{base}-{n}"
        if first <= worker_of(key, total) < first + workers_per_process:
            return key
    return base  # unreachable in practice: each candidate has a 1/processes chance
