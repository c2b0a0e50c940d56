"""Running the dataflow: worker threads, cluster processes, Bytewax recovery, progress.

``run_flow`` runs a flow in this process with a live progress display; ``Execution`` says
how (worker threads, the cluster this process belongs to, recovery).

With recovery, Bytewax snapshots every stateful step and every source's position into
SQLite partitions in a directory (``python -m bytewax.recovery DIR N`` creates them) at
each epoch end, and a restarted run resumes from the latest snapshot all partitions share.
Output after that snapshot is produced again; every table is idempotent under replay.

Run as a module, it does the two chores containers need (docker-compose uses both)::

    python -m flows.execution init DIR N        # create N partitions unless DIR has some
    python -m flows.execution check DIR 60      # exit 1 unless a snapshot is < 60 s old
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from flows.stopping import clear_stop, request_stop, stop_reason, stop_requested
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from flows.settings import Settings


def recovery_partitions(path: Path) -> list[Path]:
    """The recovery partition files in ``path``, sorted."""
    return sorted(path.glob("part-*.sqlite3"))


def prepare_recovery_dir(path: Path, partitions: int, *, create: bool) -> int:
    """Check ``path`` holds recovery partitions, or create ``partitions`` of them.

    Returns how many partitions the directory holds. Without ``create`` (several processes
    share the directory, and must not race to create it) a directory without partitions is a
    :class:`ConfigError` saying how to create them.
    """
    found = recovery_partitions(path)
    if found:
        return len(found)
    if not create:
        msg = (
            f"recovery directory {path} has no partitions; create them once with "
            f"`python -m bytewax.recovery {path} N` (N: the most workers the flow will run on)"
        )
        raise ConfigError(msg)
    from bytewax.recovery import init_db_dir

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create recovery directory {path}: {exc.strerror}"
        raise ConfigError(msg) from exc
    init_db_dir(path, partitions)
    return partitions


def snapshot_age(path: Path) -> float:
    """Seconds since any recovery partition of ``path`` was last written (inf if none)."""
    times = [
        f.stat().st_mtime
        for part in recovery_partitions(path)
        for f in (part, part.with_name(part.name + "-wal"))
        if f.exists()
    ]
    return time.time() - max(times) if times else float("inf")


@dataclass(frozen=True)
class Execution:
    """Worker threads, the cluster this process belongs to, and recovery."""

    workers: int = 1
    process_id: int | None = None
    addresses: list[str] | None = None
    recovery_dir: Path | None = None
    snapshot_interval: timedelta = timedelta(seconds=10)
    backup_interval: timedelta = timedelta(0)

    @classmethod
    def from_settings(cls, settings: Settings, workers: int = 1) -> Execution:
        """The execution the cluster and recovery settings describe."""
        addresses = settings.cluster_addresses
        return cls(
            workers=workers,
            process_id=settings.process_id if addresses else None,
            addresses=addresses,
            recovery_dir=settings.recovery_dir,
            snapshot_interval=timedelta(seconds=settings.snapshot_interval_s),
            backup_interval=timedelta(seconds=settings.backup_interval_s),
        )

    @property
    def total_workers(self) -> int:
        """Workers in the whole cluster."""
        return self.workers * len(self.addresses or [""])

    def prepare(self) -> None:
        """Make sure the recovery directory is usable (a single process creates it)."""
        if self.recovery_dir is not None:
            prepare_recovery_dir(
                self.recovery_dir, self.total_workers, create=self.addresses is None
            )

    def cli_main_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``bytewax.run.cli_main`` for this execution."""
        from bytewax.recovery import RecoveryConfig

        kwargs: dict[str, Any] = {
            "workers_per_process": self.workers,
            "epoch_interval": self.snapshot_interval,
        }
        if self.addresses is not None:
            kwargs["process_id"] = self.process_id
            kwargs["addresses"] = self.addresses
        if self.recovery_dir is not None:
            kwargs["recovery_config"] = RecoveryConfig(self.recovery_dir, self.backup_interval)
        return kwargs


# -- running a flow ------------------------------------------------------------------------


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
    stopped_by: str = ""
    """The signal that stopped the run early (``SIGINT``, ``SIGTERM``), or ``""``."""

    @property
    def exit_code(self) -> int:
        """0 for a run that ended with its input; 128 + the signal's number if one stopped it."""
        if not self.stopped_by:
            return 0
        return 128 + int(getattr(signal, self.stopped_by, signal.SIGTERM))

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
        with streaming_gc(), graceful_stop(console, execution.recovery_dir is not None, quiet):
            _run(flow, counter, execution, expected, console, quiet, started)
    finally:
        close_deferred()
    counts = counter.snapshot()
    return RunStats(
        counts.get("messages", 0),
        counts.get("dead_letters", 0),
        time.perf_counter() - started,
        stop_reason(),
    )


@contextmanager
def graceful_stop(console: Console, recovery: bool, quiet: bool = False) -> Iterator[None]:
    """SIGINT and SIGTERM stop the flow gracefully while it runs (the old handlers after).

    The first signal asks the flow to stop (:mod:`flows.stopping`): sources end, the batches
    in flight are written, the run returns with ``stopped_by`` set. A second signal ends the
    process at once (exit code 128 + its number): with recovery the next run resumes from the
    last snapshot, without it the batches in flight are lost. Outside the main thread (tests
    running flows in threads) nothing is installed. Unless ``quiet``, the first signal is
    acknowledged with a line.
    """
    clear_stop()
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(number: int, _frame: Any) -> None:
        name = signal.Signals(number).name
        if stop_requested():
            console.print(
                f"{name} again: stopping at once"
                + ("; the next run resumes from the last snapshot" if recovery else ""),
                highlight=False,
                soft_wrap=True,
            )
            os._exit(128 + number)
        request_stop(name)
        if not quiet:
            console.print(
                f"{name}: stopping after the batches in flight are written "
                "(send it again to stop at once)",
                highlight=False,
                soft_wrap=True,
            )

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


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


# -- the container chores ------------------------------------------------------------------


def main(argv: list[str]) -> int:
    """``init DIR N`` or ``check DIR MAX_AGE_S``; see the module docstring."""
    usage = "usage: python -m flows.execution init DIR PARTITIONS | check DIR MAX_AGE_S"
    if len(argv) != 3 or argv[0] not in ("init", "check"):
        print(usage, file=sys.stderr)
        return 2
    command, path, number = argv[0], Path(argv[1]), argv[2]
    if command == "init":
        try:
            count = prepare_recovery_dir(path, int(number), create=True)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{path} holds {count} recovery partitions", file=sys.stderr)
        return 0
    age = snapshot_age(path)
    if age > float(number):
        print(f"no recovery snapshot in {path} for {age:.0f} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
