"""``voc run`` and ``voc demo``: stream messages through the flow into ClickHouse."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from flows.cli.common import err_console, out_console, settings_for, store_options
from flows.settings import DEMO_SALT, Settings
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from flows.execution import RunStats
    from simulator.incidents import Incident

log = logging.getLogger("flows.cli")


@click.command()
@store_options
@click.option(
    "--source",
    type=click.Choice(["simulator", "file", "stdin", "kafka"]),
    help="Where messages come from (default: VOC_SOURCE or simulator).",
)
@click.option(
    "--input", "input_path", help="JSONL file, directory or glob (implies --source file)."
)
@click.option("--brokers", "kafka_brokers", help="Kafka bootstrap servers (VOC_KAFKA_BROKERS).")
@click.option(
    "--stop-at-end",
    "kafka_stop_at_end",
    is_flag=True,
    help="Kafka: stop once every partition is read to its current end (a backfill).",
)
@click.option("--workers", "-w", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option(
    "--process-id", "-i", "process_id", type=click.IntRange(0), help="This process in a cluster."
)
@click.option("--addresses", "-a", "addresses", help='Cluster processes, "host:port;host:port".')
@click.option(
    "--recovery-dir",
    "-r",
    "recovery_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Bytewax recovery directory: snapshot state and resume after a crash.",
)
@click.option(
    "--snapshot-interval",
    "-s",
    "snapshot_interval_s",
    type=click.FloatRange(0, min_open=True),
    help="Seconds between recovery snapshots (default 10).",
)
@click.option(
    "--backup-interval",
    "-b",
    "backup_interval_s",
    type=click.FloatRange(0),
    help="Seconds to keep old snapshots for backups (default 0).",
)
@click.option("--batch-size", type=click.IntRange(1, 100_000), help="Messages per micro-batch.")
@click.option("--batch-timeout", "batch_timeout_s", type=float, help="Seconds a batch may wait.")
@click.option("--enricher", help="fast, baseline or transformer (default: VOC_ENRICHER or fast).")
@click.option("--model", "model_path", help="Model directory or hub id for the enricher.")
@click.option(
    "--taxonomy",
    "taxonomy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your CX topic taxonomy YAML (default: VOC_TAXONOMY_PATH or the packaged one).",
)
@click.option("--messages", "simulator_messages", type=int, help="Simulator: messages to send.")
@click.option("--hours", "simulator_hours", type=float, help="Simulator: event-time span.")
@click.option("--seed", "simulator_seed", type=int, help="Simulator: random seed.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def run(workers: int, quiet: bool, kafka_stop_at_end: bool, **options: Any) -> None:
    """Stream messages through the flow into ClickHouse until the input ends.

    \b
    Examples:
      voc run --input 'feedback/*.jsonl'
      voc simulate --messages 1000 | voc run --source stdin
      voc run --source simulator --messages 100000 --workers 2
      voc run --source kafka --brokers kafka:9092 --recovery-dir /var/lib/voc/recovery
    A cluster of processes (each with its own -i, all with the same -a):
      voc run --source kafka -i 0 -a "flow-0:2101;flow-1:2101" -r /recovery
    """
    if options.get("input_path") and not options.get("source"):
        options["source"] = "file"
    if kafka_stop_at_end:
        options["kafka_tail"] = False
    settings = settings_for(**options)
    stats = _stream(settings, workers=workers, quiet=quiet, command="voc run")
    _summary(stats, settings)


def _summary(stats: RunStats, settings: Settings) -> None:
    """One line on what the run wrote; a run stopped by a signal exits 128 + its number."""
    line = (
        f"wrote {stats.messages:,} messages and {stats.dead_letters:,} dead letters in "
        f"{stats.seconds:.1f} s ({stats.rate:,.0f} payloads/s)"
    )
    if not stats.stopped_by:
        err_console.print(line, highlight=False, soft_wrap=True)
        return
    resume = (
        "the next run with the same recovery directory resumes where this one stopped"
        if settings.recovery_dir is not None
        else "without --recovery-dir a new run starts from the beginning of its input"
    )
    err_console.print(
        f"stopped by {stats.stopped_by}: {line}; {resume}", highlight=False, soft_wrap=True
    )
    sys.exit(stats.exit_code)


def _stream(settings: Settings, *, workers: int, quiet: bool, command: str) -> RunStats:
    from bytewax.inputs import FixedPartitionedSource

    from flows.clickhouse import connect
    from flows.dataflow import build_flow, default_enricher, default_io
    from flows.endpoint import serving
    from flows.execution import Execution, WriteCounter, run_flow
    from schemas.migrate import require_current

    counter = WriteCounter()
    io = default_io(settings, observer=counter)  # checks the input exists
    # User errors are found here, as one line, not inside the workers (where Bytewax would
    # print a panic first): the source's partitions (files, the broker and its topics) and
    # the enricher (its name, model path and taxonomy), loaded once and dropped.
    if isinstance(io.source, FixedPartitionedSource):
        io.source.list_parts()
    default_enricher(settings)()
    if settings.is_writer_process or not settings.is_embedded:
        # Fail before starting workers if the schema is not there. Only the writer process
        # opens embedded storage: chDB allows one process per data directory (as a writer:
        # a store another process has open is an error here, not a read through its endpoint).
        client = connect(settings, writer=True)
        try:
            require_current(client, "voc run")
        finally:
            client.close()
    if not settings.is_embedded and settings.author_salt.get_secret_value() == DEMO_SALT:
        log.warning("VOC_AUTHOR_SALT is the demo salt: author hashes can be reversed by guessing")
    count = getattr(io.source, "expected_count", None)
    expected = count() if callable(count) and settings.recovery_dir is None else None
    flow = build_flow(settings, io, workers=workers)
    # The embedded store is this process's while the flow runs: other processes read it
    # through the read endpoint (the voc read commands find its address in the store).
    with serving(settings, command) as endpoint:
        if endpoint is not None and not quiet:
            err_console.print(
                f"serving reads at {endpoint.url} (the voc read commands find it; Grafana and "
                "notebooks connect as to ClickHouse over HTTP)",
                highlight=False,
                soft_wrap=True,
            )
        return run_flow(
            flow, counter, expected=expected, console=err_console, quiet=quiet,
            execution=Execution.from_settings(settings, workers),
        )  # fmt: skip


def _demo_incident(hours: float) -> str:
    """The demo's incident: delivery complaints on Shopee x6 for 30 min, 40% before the end."""
    minutes = max(int(hours * 60 * 0.6), 1)
    return f"topic=delivery,channel=shopee,x=6,at={minutes}m,for=30m"


def _describe_incident(incident: Incident, timezone: str) -> str:
    where = ", ".join(
        f"{name} {value}"
        for name, value in (("channel", incident.channel), ("brand", incident.brand))
        if value
    )
    local = incident.start.astimezone(ZoneInfo(timezone))
    return (
        f"{incident.topic}{' on ' + where if where else ''} x{incident.multiplier:g} "
        f"from {local:%Y-%m-%d %H:%M} ({timezone}) for "
        f"{incident.duration.total_seconds() / 60:.0f} min"
    )


@click.command()
@store_options
@click.option("--messages", type=click.IntRange(1), default=24_000, show_default=True)
@click.option("--hours", type=float, default=6.0, show_default=True, help="Event-time span.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--workers", "-w", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--enricher", help="fast, baseline or transformer (default: VOC_ENRICHER or fast).")
@click.option(
    "--malformed-every",
    type=click.IntRange(0),
    default=3_000,
    show_default=True,
    help="Send every N-th payload malformed, to show the dead-letter path (0: never).",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Keep earlier rows (by default the embedded demo database is emptied first).",
)
@click.option(
    "--incident",
    "incident_specs",
    multiple=True,
    metavar="SPEC",
    help="Schedule an incident (repeatable; the `voc simulate --incident` format). Default: "
    "delivery complaints on Shopee x6 for 30 minutes, 40% before the end.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def demo(
    clickhouse_dsn: str | None,
    clickhouse_database: str | None,
    messages: int,
    hours: float,
    seed: int,
    workers: int,
    enricher: str | None,
    malformed_every: int,
    keep: bool,
    incident_specs: tuple[str, ...],
    quiet: bool,
) -> None:
    """Migrate, stream simulated feedback through the flow, and print what CX ops would see.

    The simulator writes reviews, multi-turn support chats and social mentions over the last
    HOURS of event time, with diurnal traffic and a scheduled incident, as fast as the flow
    takes them; the detectors should open an alert for the incident.

    \b
    Examples:
      voc demo --messages 50000 --hours 12
      voc demo --incident topic=refund_return,channel=tiki,x=8,at=3h,for=20m
    """
    from flows.cli.render import print_report
    from flows.clickhouse import connect
    from flows.queries import TimeRange, build_report, data_tables
    from flows.sources.simulator import simulation_config
    from schemas.migrate import migrate as apply

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(hours=hours)
    settings = settings_for(
        clickhouse_dsn=clickhouse_dsn,
        clickhouse_database=clickhouse_database,
        source="simulator",
        simulator_messages=messages,
        simulator_hours=hours,
        simulator_seed=seed,
        simulator_start=start,
        simulator_malformed_every=malformed_every,
        simulator_incidents=";".join(incident_specs or [_demo_incident(hours)]),
        enricher=enricher,
    )
    client = connect(settings, create_database=True)
    try:
        for migration in apply(client):
            err_console.print(f"applied {migration.label}")
        if not keep:
            if not settings.is_embedded:
                msg = "demo empties its database; on a server pass --keep"
                raise ConfigError(msg)
            for table in data_tables(client):
                client.command("TRUNCATE TABLE {t:Identifier}", parameters={"t": table})
    finally:
        client.close()
    err_console.print(
        f"streaming {messages:,} simulated messages over {hours:g} h of event time into "
        f"{settings.redacted_dsn()} (database {settings.clickhouse_database})"
    )
    for incident in simulation_config(settings).incidents:
        line = _describe_incident(incident, settings.timezone)
        err_console.print(f"scheduled incident (ground truth): {line}")
    stats = _stream(settings, workers=workers, quiet=quiet, command="voc demo")
    _summary(stats, settings)
    client = connect(settings)
    try:
        report = build_report(client, TimeRange(start, now + timedelta(minutes=1)))
    finally:
        client.close()
    print_report(out_console, report, settings.zone)
