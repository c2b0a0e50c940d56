"""``voc produce``: send JSON Lines files, stdin or the simulator to Kafka.

A thin click layer over :mod:`flows.kafka.producer`; the ``voc`` group (flows.cli.app) registers it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


@click.command("produce")
@click.argument("inputs", nargs=-1, metavar="[FILE|GLOB|-]...")
@click.option("--simulate", is_flag=True, help="Send the simulator's stream instead of files.")
@click.option("--messages", "simulator_messages", type=click.IntRange(1), help="Simulator: count.")
@click.option("--hours", "simulator_hours", type=float, help="Simulator: event-time span.")
@click.option("--seed", "simulator_seed", type=int, help="Simulator: random seed.")
@click.option(
    "--malformed-every",
    "simulator_malformed_every",
    type=click.IntRange(0),
    help="Simulator: make every N-th payload malformed (shows the dead-letter path).",
)
@click.option(
    "--realtime",
    is_flag=True,
    help="Simulator: start now and send each message when its event time comes.",
)
@click.option(
    "--rate",
    type=click.FloatRange(0, min_open=True),
    help="Send at most this many messages per second (default: as fast as Kafka takes them).",
)
@click.option("--brokers", "kafka_brokers", help="Kafka bootstrap servers (VOC_KAFKA_BROKERS).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
def produce(
    inputs: tuple[str, ...], simulate: bool, realtime: bool, rate: float | None, quiet: bool,
    **options: Any,
) -> None:  # fmt: skip
    """Send feedback to the Kafka topics the flow reads, one topic per source.

    Messages go to VOC_KAFKA_TOPIC_REVIEW, _CHAT or _SOCIAL by their `source`, keyed by
    conversation for chats (turns stay in order) and by id otherwise. Lines that are not a
    message with a known source go to the review topic, for the flow to dead-letter.

    \b
    Examples:
      voc produce feedback/*.jsonl --brokers localhost:9092
      voc simulate --messages 5000 | voc produce -
      voc produce --simulate --messages 100000 --hours 24 --rate 200
      voc produce --simulate --realtime --hours 8 --messages 50000
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.cli.common import settings_for
    from flows.kafka.config import client_config
    from flows.kafka.producer import (
        check_brokers,
        jsonl_payloads,
        simulated_count,
        simulated_payloads,
    )
    from flows.kafka.producer import produce as send
    from flows.sources.files import resolve_paths
    from schemas.errors import ConfigError

    if simulate == bool(inputs):
        msg = "give input files (or - for stdin), or --simulate"
        raise click.UsageError(msg)
    if realtime and not simulate:
        msg = "--realtime paces the simulator; for files use --rate"
        raise click.UsageError(msg)
    settings = settings_for(**options)
    client_config(settings)  # a missing CA file fails here, before any progress is shown
    check_brokers(settings)  # so do brokers that do not answer, and missing topics
    console = Console(stderr=True)
    total: int | None = None
    if simulate:
        payloads: Any = simulated_payloads(settings, realtime=realtime)
        total = simulated_count(settings, realtime)
        what = "simulated messages"
    else:
        paths: list[Path | str] = []
        for pattern in inputs:
            paths += ["-"] if pattern == "-" else resolve_paths(pattern)
        payloads = jsonl_payloads(paths)
        what = "messages" if inputs == ("-",) else f"messages from {len(paths)} file(s)"
    if quiet:
        stats = send(settings, payloads, rate=rate)
    else:
        columns = [
            TextColumn("[bold]producing"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("produce", total=total)
            stats = send(
                settings, payloads, rate=rate,
                on_progress=lambda n: progress.update(task, advance=n),
            )  # fmt: skip
    if stats.sent == 0:
        msg = "no messages to send: the input is empty"
        raise ConfigError(msg)
    if not quiet:
        topics = ", ".join(f"{t}: {n:,}" for t, n in sorted(stats.per_topic.items()))
        console.print(
            f"sent {stats.sent:,} {what} to Kafka at {settings.kafka_brokers} ({topics}; "
            f"{stats.unrouted:,} without a known source) in {stats.seconds:.1f} s",
            highlight=False,
            soft_wrap=True,
        )
