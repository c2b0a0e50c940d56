"""How a run executes: worker threads, cluster processes and Bytewax recovery.

With recovery, Bytewax snapshots every stateful step and every source's position into
SQLite partitions in a directory (``python -m bytewax.recovery DIR N`` creates them) at
each epoch end, and a restarted run resumes from the latest snapshot all partitions share.
Output after that snapshot is produced again; every table is idempotent under replay.

Run as a module, it does the two chores containers need (docker-compose uses both)::

    python -m flows.recovery init DIR N        # create N partitions unless DIR has some
    python -m flows.recovery check DIR 60      # exit 1 unless a snapshot is < 60 s old
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def main(argv: list[str]) -> int:
    """``init DIR N`` or ``check DIR MAX_AGE_S``; see the module docstring."""
    usage = "usage: python -m flows.recovery init DIR PARTITIONS | check DIR MAX_AGE_S"
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
