"""Running the dataflow in this process, with a live progress display."""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from bytewax.dataflow import Dataflow
from bytewax.run import cli_main
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from flows.clickhouse import close_deferred
from flows.recovery import Execution


@dataclass
class WriteCounter:
    """Rows written per table, updated by the sinks from any worker thread."""

    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, table: str, rows: int) -> None:
        """Record ``rows`` written to ``table``."""
        with self._lock:
            self.counts[table] += rows

    def snapshot(self) -> dict[str, int]:
        """A copy of the counts."""
        with self._lock:
            return dict(self.counts)


@dataclass(frozen=True)
class RunStats:
    """What a run wrote and how long it took."""

    messages: int
    dead_letters: int
    seconds: float

    @property
    def rate(self) -> float:
        """Payloads (stored or dead-lettered) per second of wall time."""
        return (self.messages + self.dead_letters) / self.seconds if self.seconds else 0.0


def run_flow(
    flow: Dataflow,
    counter: WriteCounter,
    *,
    workers: int = 1,
    expected: int | None = None,
    console: Console | None = None,
    quiet: bool = False,
    execution: Execution | None = None,
) -> RunStats:
    """Run ``flow`` to completion in this process with ``workers`` worker threads.

    ``execution`` (which overrides ``workers``) makes this process one of a cluster and
    turns on recovery. Unless ``quiet``, a progress bar on stderr follows the rows the
    sinks of this process have written; ``expected`` (when known) gives it a total.
    """
    console = console or Console(stderr=True)
    execution = execution or Execution(workers=workers)
    execution.prepare()
    started = time.perf_counter()
    try:
        with streaming_gc():
            _run(flow, counter, execution, expected, console, quiet, started)
    finally:
        close_deferred()
    counts = counter.snapshot()
    return RunStats(
        counts.get("messages", 0), counts.get("dead_letters", 0), time.perf_counter() - started
    )


#: Allocations between two young-generation collections while a flow runs (Python: 700).
STREAMING_GC_THRESHOLD = 50_000


@contextmanager
def streaming_gc() -> Iterator[None]:
    """Collect cyclic garbage less often while a flow runs (the previous thresholds after).

    Every micro-batch allocates tens of thousands of short-lived objects (rows, signals,
    tokens), nearly all freed by reference counting. At Python's default threshold the
    cyclic collector runs every 700 allocations and, through the older generations, keeps
    rescanning what the detector holds: a tenth of the CPU of a busy worker
    (``bench/pipeline.py``). The cost is cyclic garbage living a few batches longer.
    """
    previous = gc.get_threshold()
    gc.set_threshold(STREAMING_GC_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def _run(
    flow: Dataflow,
    counter: WriteCounter,
    execution: Execution,
    expected: int | None,
    console: Console,
    quiet: bool,
    started: float,
) -> None:
    if quiet:
        cli_main(flow, **execution.cli_main_kwargs())
    else:
        columns = [
            SpinnerColumn(),
            TextColumn("[bold]streaming"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>6} msg/s"),
            TextColumn("dead letters: {task.fields[dead]}"),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("flow", total=expected, rate="-", dead=0)
            done = threading.Event()

            def follow() -> None:
                while not done.wait(0.25):
                    counts = counter.snapshot()
                    elapsed = time.perf_counter() - started
                    n = counts.get("messages", 0) + counts.get("dead_letters", 0)
                    progress.update(
                        task,
                        completed=n,
                        rate=f"{n / elapsed:,.0f}" if elapsed > 0 else "-",
                        dead=counts.get("dead_letters", 0),
                    )

            watcher = threading.Thread(target=follow, name="voc-progress", daemon=True)
            watcher.start()
            try:
                cli_main(flow, **execution.cli_main_kwargs())
            finally:
                done.set()
                watcher.join()
                counts = counter.snapshot()
                n = counts.get("messages", 0) + counts.get("dead_letters", 0)
                progress.update(
                    task, completed=n, total=n if expected is None else max(n, expected)
                )
