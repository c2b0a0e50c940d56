"""Per-stage wall time of the dataflow, for benchmarks (off unless a timer is passed).

``build_flow(..., timer=StageTimer())`` wraps the functions of the parse, prepare, enrich
and detect steps in ``perf_counter`` accumulators; without a timer nothing is wrapped and
the flow pays nothing. Bytewax's own work between steps (routing, batching, windowing) is
not inside any stage: it is the remainder of the wall time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class StageTimer:
    """Seconds and calls per stage name, accumulated from any worker thread."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}
        self._calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float, calls: int = 1) -> None:
        """Record ``seconds`` spent in ``stage``."""
        with self._lock:
            self._seconds[stage] = self._seconds.get(stage, 0.0) + seconds
            self._calls[stage] = self._calls.get(stage, 0) + calls

    def wrap(self, stage: str, fn: Callable[P, R]) -> Callable[P, R]:
        """``fn``, timing every call into ``stage``."""
        clock = time.perf_counter
        add = self.add

        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            began = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                add(stage, clock() - began)

        return timed

    def snapshot(self) -> dict[str, tuple[float, int]]:
        """``{stage: (seconds, calls)}`` so far."""
        with self._lock:
            return {k: (v, self._calls[k]) for k, v in self._seconds.items()}


def timed(timer: StageTimer | None, stage: str, fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` itself without a timer, else ``fn`` timed into ``stage``."""
    return fn if timer is None else timer.wrap(stage, fn)
