"""The ``voc`` command line: a thin click layer over the library.

Settings are built once per command from ``VOC_*`` variables plus the command's options.
Library errors (:class:`schemas.errors.VocError`) become one line on stderr and exit code 1.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console

from flows.settings import DEMO_SALT, Settings, load_settings
from schemas.errors import ConfigError, VocError

if TYPE_CHECKING:
    from flows.simulator.incidents import Incident

err_console = Console(stderr=True)
out_console = Console()
log = logging.getLogger("flows.cli")

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """Parse ``90s``, ``30m``, ``6h``, ``2d`` or ``1w`` into a timedelta."""
    match = _DURATION.match(text.strip())
    if match is None:
        msg = f"expected a duration like 30m, 6h or 2d, got {text!r}"
        raise click.BadParameter(msg)
    return timedelta(**{_UNITS[match[2]]: float(match[1])})


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time; a time without offset is read in the display time zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        msg = f"expected an ISO 8601 time, got {text!r}"
        raise click.BadParameter(msg) from None
    return value


_logging_configured = False


def _settings(**overrides: Any) -> Settings:
    """Build the settings once for this command, and configure logging from them."""
    settings = load_settings(**overrides)
    configure_logging(settings.log_level)
    return settings


def configure_logging(level: str) -> None:
    """Log to stderr through rich; quiet the drivers whose errors we translate ourselves."""
    global _logging_configured  # the CLI edge configures logging once per process
    if _logging_configured:
        return
    from rich.logging import RichHandler

    logging.basicConfig(
        level=level,
        format="%(message)s",
        datefmt="%H:%M:%S",
        handlers=[RichHandler(console=err_console, show_path=False, rich_tracebacks=False)],
    )
    # clickhouse-connect sets the "urllib3" level when imported; its children keep ours.
    for noisy in ("clickhouse_connect", "urllib3.connectionpool", "chdb"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    _logging_configured = True


def _dsn_option(func: Any) -> Any:
    func = click.option(
        "--dsn",
        "clickhouse_dsn",
        envvar=None,
        help="ClickHouse DSN (default: VOC_CLICKHOUSE_DSN or chdb://./data/chdb).",
    )(func)
    return click.option(
        "--database",
        "clickhouse_database",
        help="ClickHouse database (default: VOC_CLICKHOUSE_DATABASE or voc).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="voc-stream", prog_name="voc")
def cli() -> None:
    """voc-stream: real-time Voice-of-Customer analytics for Vietnamese feedback.

    \b
    Settings come from VOC_* environment variables (see `voc config`) and options.
    Quick start:
      voc migrate && voc demo
    """


# -- migrate ------------------------------------------------------------------------------------


@cli.command()
@_dsn_option
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def migrate(clickhouse_dsn: str | None, clickhouse_database: str | None, quiet: bool) -> None:
    """Create the database and apply pending migrations from schemas/migrations.

    \b
    Example:
      voc migrate
      voc migrate --dsn http://writer:secret@localhost:8123 --database voc
    """
    from flows.clickhouse import connect
    from schemas.migrate import discover
    from schemas.migrate import migrate as apply

    settings = _settings(clickhouse_dsn=clickhouse_dsn, clickhouse_database=clickhouse_database)
    client = connect(settings, create_database=True)
    try:
        applied = apply(
            client,
            on_applied=None if quiet else lambda m: err_console.print(f"applied {m.label}"),
        )
    finally:
        client.close()
    if not quiet:
        state = f"{len(applied)} applied now" if applied else "nothing to apply"
        err_console.print(
            f"database {settings.clickhouse_database!r} at {settings.redacted_dsn()} is at "
            f"migration {discover()[-1].label} ({state})"
        )


# -- run ----------------------------------------------------------------------------------------


@cli.command()
@_dsn_option
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
    settings = _settings(**options)
    stats = _stream(settings, workers=workers, quiet=quiet)
    err_console.print(
        f"wrote {stats.messages:,} messages and {stats.dead_letters:,} dead letters in "
        f"{stats.seconds:.1f} s ({stats.rate:,.0f} payloads/s)"
    )


def _stream(settings: Settings, *, workers: int, quiet: bool) -> Any:
    from flows.clickhouse import connect
    from flows.dataflow import build_flow, default_io
    from flows.recovery import Execution
    from flows.runner import WriteCounter, run_flow
    from schemas.migrate import require_current

    counter = WriteCounter()
    io = default_io(settings, observer=counter)  # checks the input exists
    if settings.is_writer_process or not settings.is_embedded:
        # Fail before starting workers if the schema is not there. Only the writer process
        # opens embedded storage: chDB allows one process per data directory.
        client = connect(settings)
        try:
            require_current(client, "voc run")
        finally:
            client.close()
    if not settings.is_embedded and settings.author_salt.get_secret_value() == DEMO_SALT:
        log.warning("VOC_AUTHOR_SALT is the demo salt: author hashes can be reversed by guessing")
    count = getattr(io.source, "expected_count", None)
    expected = count() if callable(count) and settings.recovery_dir is None else None
    flow = build_flow(settings, io, workers=workers)
    return run_flow(
        flow, counter, expected=expected, console=err_console, quiet=quiet,
        execution=Execution.from_settings(settings, workers),
    )  # fmt: skip


# -- demo ---------------------------------------------------------------------------------------


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


@cli.command()
@_dsn_option
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
    from flows.clickhouse import connect
    from flows.render import print_report
    from flows.report import TimeRange, build_report
    from flows.simulator.config import SimulationConfig
    from schemas.migrate import migrate as apply

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(hours=hours)
    settings = _settings(
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
            for table in _demo_tables(client):
                client.command("TRUNCATE TABLE {t:Identifier}", parameters={"t": table})
    finally:
        client.close()
    err_console.print(
        f"streaming {messages:,} simulated messages over {hours:g} h of event time into "
        f"{settings.redacted_dsn()} (database {settings.clickhouse_database})"
    )
    for incident in SimulationConfig.from_settings(settings).incidents:
        line = _describe_incident(incident, settings.timezone)
        err_console.print(f"scheduled incident (ground truth): {line}")
    stats = _stream(settings, workers=workers, quiet=quiet)
    err_console.print(
        f"wrote {stats.messages:,} messages and {stats.dead_letters:,} dead letters in "
        f"{stats.seconds:.1f} s ({stats.rate:,.0f} payloads/s)"
    )
    client = connect(settings)
    try:
        report = build_report(client, TimeRange(start, now + timedelta(minutes=1)))
    finally:
        client.close()
    print_report(out_console, report, settings.zone)


def _demo_tables(client: Any) -> list[str]:
    rows = client.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() "
        "AND engine NOT IN ('MaterializedView', 'View') AND name != 'schema_migrations'"
    ).result_rows
    return [str(r[0]) for r in rows]


# -- query --------------------------------------------------------------------------------------


@cli.command()
@_dsn_option
@click.option(
    "--last", "last", default="24h", show_default=True, help="Range ending now: 30m, 6h, 7d."
)
@click.option("--from", "start", help="Range start, ISO 8601 (overrides --last).")
@click.option("--to", "end", help="Range end, ISO 8601 (default: now).")
@click.option("--source", type=click.Choice(["review", "chat", "social"]))
@click.option("--channel")
@click.option("--brand")
@click.option("--product")
@click.option("--topic")
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--negatives", type=click.IntRange(0, 200), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def query(
    clickhouse_dsn: str | None,
    clickhouse_database: str | None,
    last: str,
    start: str | None,
    end: str | None,
    top: int,
    negatives: int,
    as_json: bool,
    **filters: str | None,
) -> None:
    """Volume, sentiment share, top topics and the latest negative messages for a range.

    \b
    Examples:
      voc query --last 6h
      voc query --from 2026-11-20T00:00+07:00 --to 2026-11-21T00:00+07:00 --channel shopee
      voc query --topic delivery --brand Lumia --json
    """
    from flows.clickhouse import connect
    from flows.render import print_report
    from flows.report import Filters, TimeRange, build_report

    settings = _settings(clickhouse_dsn=clickhouse_dsn, clickhouse_database=clickhouse_database)
    zone = settings.zone
    end_at = parse_time(end) if end else datetime.now(UTC)
    if end_at.tzinfo is None:
        end_at = end_at.replace(tzinfo=zone)
    if start:
        start_at = parse_time(start)
        if start_at.tzinfo is None:
            start_at = start_at.replace(tzinfo=zone)
    else:
        start_at = end_at - parse_duration(last)
    if start_at >= end_at:
        msg = "the range start must be before its end"
        raise click.BadParameter(msg, param_hint="--from")
    chosen = Filters(**{k: (v or "") for k, v in filters.items()})
    client = connect(settings)
    try:
        from schemas.migrate import require_current

        require_current(client, "voc query")
        report = build_report(
            client, TimeRange(start_at.astimezone(UTC), end_at.astimezone(UTC)), chosen,
            top_topics=top, latest_negative=negatives,
        )  # fmt: skip
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps(_report_json(report), ensure_ascii=False, indent=2, default=str))
    else:
        print_report(out_console, report, zone)


def _report_json(report: Any) -> dict[str, Any]:
    def records(rows: list[tuple[Any, ...]], names: tuple[str, ...]) -> list[dict[str, Any]]:
        return [dict(zip(names, row, strict=True)) for row in rows]

    return {
        "range": {"start": report.range.start, "end": report.range.end},
        "filters": vars(report.filters),
        "total": report.total,
        "volume": records(report.volume, ("source", "channel", "messages", "negative_share")),
        "sentiment": records(report.sentiment, ("sentiment", "messages", "share")),
        "topics": records(report.topics, ("topic", "messages", "negative_share", "positive_share")),
        "latest_negative": records(
            report.negatives,
            ("created_at", "source", "channel", "brand", "topics", "score", "text", "id"),
        ),
        "dead_letters": records(
            report.dead_letters, ("step", "error_type", "payloads", "latest", "example")
        ),
    }


# -- dead letters -------------------------------------------------------------------------------


@cli.command("dead-letters")
@_dsn_option
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--step", help="Only this step: parse, prepare or enrich.")
def dead_letters(
    clickhouse_dsn: str | None, clickhouse_database: str | None, limit: int, step: str | None
) -> None:
    """List the latest dead letters with their reason and where they came from.

    \b
    Example:
      voc dead-letters --step parse --limit 50
    """
    from rich.table import Table

    from flows.clickhouse import connect

    settings = _settings(clickhouse_dsn=clickhouse_dsn, clickhouse_database=clickhouse_database)
    client = connect(settings)
    try:
        rows = client.query(
            "SELECT received_at, step, error_type, origin, position, reason, payload "
            "FROM dead_letters FINAL WHERE {step:String} = '' OR step = {step:String} "
            "ORDER BY received_at DESC, origin, position LIMIT {limit:UInt32}",
            parameters={"step": step or "", "limit": limit},
        ).result_rows
    finally:
        client.close()
    table = Table(title=f"Latest {len(rows)} dead letters", title_justify="left", expand=True)
    for col in ("received", "step", "error", "origin:line", "reason", "payload"):
        table.add_column(col)
    for received, step_id, error_type, origin, position, reason, payload in rows:
        table.add_row(
            received.strftime("%m-%d %H:%M:%S"), step_id, error_type,
            f"{Path(origin).name}:{position}", reason, payload[:80],
        )  # fmt: skip
    out_console.print(table)


# -- schema and config --------------------------------------------------------------------------

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "message.schema.json"


@cli.command()
@click.option("--write", is_flag=True, help="Write schemas/message.schema.json.")
@click.option("--check", is_flag=True, help="Exit 1 if the committed file is out of date.")
def schema(write: bool, check: bool) -> None:
    """Print the JSON Schema of the inbound message (or write/check the committed copy).

    \b
    Example:
      voc schema > message.schema.json
    """
    from schemas.message import json_schema_text

    text = json_schema_text()
    if check:
        current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
        if current != text:
            msg = f"{SCHEMA_FILE} is out of date; run `voc schema --write`"
            raise ConfigError(msg)
        err_console.print(f"{SCHEMA_FILE.name} is up to date")
    elif write:
        SCHEMA_FILE.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {SCHEMA_FILE}")
    else:
        click.echo(text, nl=False)


@cli.command()
def config() -> None:
    """Print the effective settings, secrets masked.

    \b
    Example:
      VOC_BATCH_SIZE=1000 voc config
    """
    settings = _settings()
    click.echo(json.dumps(settings.describe(), indent=2, ensure_ascii=False, default=str))


def _register() -> None:
    from flows.alerts_cli import alerts
    from flows.commands.models import eval_command, train
    from flows.commands.produce import produce
    from flows.simulator.cli import simulate

    cli.add_command(simulate)
    cli.add_command(produce)
    cli.add_command(alerts)
    cli.add_command(train)
    cli.add_command(eval_command)


_register()


def main() -> None:
    """Console entry point: run the CLI, turning library errors into one line and exit 1."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        cause = voc_cause(exc)
        if cause is None:
            raise
        err_console.print(f"[bold red]error:[/] {cause}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":  # Bytewax's Rust side gave up
            raise
        err_console.print(
            f"[bold red]error:[/] the flow stopped: Bytewax panicked ({exc}); if a process of "
            "the cluster died, restart every process: they resume from the last recovery "
            "snapshot",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


def voc_cause(exc: BaseException) -> VocError | None:
    """The VocError behind ``exc``: itself, or one in its cause chain (Bytewax wraps errors)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, VocError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
