"""``voc simulate``: write simulated Vietnamese customer feedback as JSON lines.

The command is a thin layer over :class:`simulator.Simulator`; the ``voc`` group
registers it (``voc.add_command(simulate)``). It also runs alone:
``python -m simulator.cli --help``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click

from schemas.errors import ConfigError, VocError
from simulator.config import SimulationConfig, default_start
from simulator.generator import Simulator
from simulator.incidents import (
    INCIDENT_SPEC_HELP,
    SURGE_SPEC_HELP,
    Incident,
    Surge,
    load_incidents_file,
    parse_incident_spec,
    parse_surge_spec,
)

EXAMPLES = f"""
\b
Examples:
  voc simulate --messages 24000 --hours 6 --out data/sim.jsonl
  voc simulate --days 2 --messages 200000 --random-incidents 8 \\
      --surge "at=20:00,for=60m,x=3,name=flash_sale,daily" \\
      --out sim.jsonl --ground-truth truth.json
  voc simulate --incident "topic=delivery,channel=shopee,x=5,at=2h,for=20m" \\
      --incident 'topic=payment,phrase="lỗi thanh toán momo",x=8,at=3h,for=15m'
  voc simulate --realtime --hours 1 --rate-per-minute 300 | your-consumer
  voc simulate --messages 2000000 --rate 1000 --start 2026-11-20T08:00:00+07:00

\b
Incident spec: {INCIDENT_SPEC_HELP}
Surge spec:    {SURGE_SPEC_HELP}
WHEN is an offset from --start (2h, 1h30m), a Vietnam clock time (20:00) or an ISO time.
"""


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        msg = (
            f"expected an ISO 8601 time with an offset, e.g. 2026-11-20T08:00:00+07:00, "
            f"got {value!r}"
        )
        raise click.BadParameter(
            msg,
            param_hint="--start",
        ) from None
    if parsed.tzinfo is None:
        msg = f"expected a UTC offset (+07:00 or Z) in {value!r}, e.g. 2026-11-20T08:00:00+07:00"
        raise click.BadParameter(
            msg,
            param_hint="--start",
        )
    return parsed.astimezone(UTC)


def _progress() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )


@click.command(
    "simulate",
    epilog=EXAMPLES,
    context_settings={"max_content_width": 100},
)
@click.option(
    "--messages",
    "-n",
    type=click.IntRange(min=0),
    default=None,
    help="Baseline messages over the span (default 24000), spread along the "
    "diurnal curve; incidents and surges add theirs.",
)
@click.option(
    "--rate-per-minute",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Instead of --messages: mean baseline messages per minute (Poisson).",
)
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Length of the simulated event-time span (default 6).",
)
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Span in days, instead of --hours.",
)
@click.option(
    "--start",
    "start_text",
    metavar="ISO",
    default=None,
    help="Event time of the span start, with offset. Default: now minus the span "
    "(with --realtime: now).",
)
@click.option(
    "--seed",
    type=int,
    default=7,
    show_default=True,
    help="Same seed and options give byte-identical output.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Pace output to this many messages per second of wall clock (not with --realtime).",
)
@click.option(
    "--realtime", is_flag=True, help="Emit each message when the wall clock reaches its event time."
)
@click.option(
    "--incident",
    "incident_specs",
    metavar="SPEC",
    multiple=True,
    help="Schedule an incident (repeatable); see the spec below.",
)
@click.option(
    "--incidents-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="YAML list of incidents (or a mapping with incidents and surges).",
)
@click.option(
    "--random-incidents",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Draw N incidents for the seed, spread over time and keys.",
)
@click.option(
    "--surge",
    "surge_specs",
    metavar="SPEC",
    multiple=True,
    help="A site-wide surge such as a flash sale (repeatable); not an incident.",
)
@click.option("--flat", is_flag=True, help="Flat traffic instead of the diurnal curve.")
@click.option(
    "--partition",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Emit only this partition of the stream (events with k % partitions == partition).",
)
@click.option(
    "--partitions",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Number of partitions the stream is split into.",
)
@click.option(
    "--out",
    "out_path",
    metavar="PATH",
    default="-",
    show_default=True,
    help="JSON lines output file; - is stdout.",
)
@click.option(
    "--ground-truth",
    "truth_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write incidents and surges (UTC windows, keys) to this JSON file.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary on stderr.")
def simulate(
    messages: int | None,
    rate_per_minute: float | None,
    hours: float | None,
    days: float | None,
    start_text: str | None,
    seed: int,
    rate: float | None,
    realtime: bool,
    incident_specs: tuple[str, ...],
    incidents_file: Path | None,
    random_incidents: int,
    surge_specs: tuple[str, ...],
    flat: bool,
    partition: int,
    partitions: int,
    out_path: str,
    truth_path: Path | None,
    quiet: bool,
) -> None:
    """Write realistic, deterministic Vietnamese customer feedback as JSON lines.

    Reviews, support chats and social posts about fictional brands, with the noise of real
    users (teencode, missing diacritics, emoji, typos), a diurnal traffic curve, site-wide
    surges and scheduled incidents whose ground truth can be written beside the stream.
    """
    if messages is not None and rate_per_minute is not None:
        msg = "give --messages or --rate-per-minute, not both"
        raise click.BadParameter(msg, param_hint="--messages")
    if hours is not None and days is not None:
        msg = "give --hours or --days, not both"
        raise click.BadParameter(msg, param_hint="--days")
    if partition >= partitions:
        msg = f"expected a partition below --partitions {partitions}, got {partition}"
        raise click.BadParameter(
            msg,
            param_hint="--partition",
        )
    span_hours = days * 24 if days is not None else hours if hours is not None else 6.0
    start = _parse_start(start_text)
    if start is None:
        start = datetime.now(UTC).replace(microsecond=0) if realtime else default_start(span_hours)
    end = start + SimulationConfig(hours=span_hours).span

    incidents: list[Incident] = []
    surges: list[Surge] = []
    for n, spec in enumerate(incident_specs, start=1):
        try:
            incidents.append(parse_incident_spec(spec, start=start, default_id=f"inc-{n:02d}"))
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--incident") from exc
    for n, spec in enumerate(surge_specs, start=1):
        try:
            surges += parse_surge_spec(spec, start=start, end=end, default_id=f"surge-{n:02d}")
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--surge") from exc
    if incidents_file is not None:
        try:
            from_file, file_surges = load_incidents_file(incidents_file, start=start, end=end)
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--incidents-file") from exc
        incidents += from_file
        surges += file_surges

    try:
        config = SimulationConfig(
            seed=seed,
            start=start,
            hours=span_hours,
            messages=None
            if rate_per_minute is not None
            else (24_000 if messages is None else messages),
            rate_per_minute=rate_per_minute,
            incidents=tuple(incidents),
            surges=tuple(surges),
            random_incidents=random_incidents,
            diurnal=not flat,
            rate=rate,
            realtime=realtime,
        )
        simulator = Simulator(config)
    except ConfigError as exc:
        problem = str(exc)
        hint = next((f"--{k}" for k in ("incident", "surge") if problem.startswith(k)), None)
        raise click.BadParameter(str(exc), param_hint=hint) from exc
    except VocError as exc:
        raise click.ClickException(str(exc)) from exc

    if truth_path is not None:
        try:
            simulator.write_ground_truth(truth_path)
        except VocError as exc:
            raise click.ClickException(str(exc)) from exc

    to_stdout = out_path == "-"
    show = not quiet and not to_stdout
    stream = simulator.messages(partition, partitions)
    if to_stdout:
        written = _write(stream, sys.stdout, None)
    else:
        try:
            handle = Path(out_path).open("w", encoding="utf-8", newline="\n")  # noqa: SIM115
        except OSError as exc:
            msg = f"cannot write {out_path}: {exc.strerror}"
            raise click.ClickException(msg) from exc
        with handle:
            if show:
                total = simulator.count(partition, partitions)
                with _progress() as progress:
                    task = progress.add_task("simulating", total=total)
                    written = _write(stream, handle, lambda n: progress.update(task, advance=n))
            else:
                written = _write(stream, handle, None)
    if show:
        summary = (
            f"wrote {written:,} messages to {out_path} "
            f"({simulator.start.isoformat()} .. {simulator.end.isoformat()}, seed {seed}, "
            f"{len(simulator.incidents)} incidents, {len(simulator.surges)} surges)"
        )
        if truth_path is not None:
            summary += f"; ground truth in {truth_path}"
        click.echo(summary, err=True)


def _write(stream: Any, out: IO[str], advance: Any) -> int:
    """Write messages as JSON lines; tolerate a closed pipe (``voc simulate | head``)."""
    dumps = json.dumps
    written = 0
    try:
        for message in stream:
            out.write(dumps(message, ensure_ascii=False))
            out.write("\n")
            written += 1
            if advance is not None and written % 1000 == 0:
                advance(1000)
        out.flush()
    except BrokenPipeError:
        sys.stderr.close()  # nothing more can be said to a closed pipe
        return written
    if advance is not None:
        advance(written % 1000)
    return written


if __name__ == "__main__":
    simulate()
