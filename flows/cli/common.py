"""What every ``voc`` command shares: consoles, settings, store options, times and durations.

- ``settings_for(**options)`` builds the one :class:`~flows.settings.Settings` of a command
  from ``VOC_*`` variables plus the options given, and configures logging from it;
- ``store_options`` declares ``--dsn`` and ``--database`` (no command declares its own);
- ``open_store(settings, command)`` connects and checks the schema is current;
- ``parse_duration`` (``90s``, ``30m``, ``1h30m``, ``2d``, ``1w``) and ``parse_time`` (ISO
  8601, ``now``, ``today``, ``yesterday``; a time without offset is in the display zone)
  and ``time_range`` (``--last`` / ``--from`` / ``--to``).

Errors: a library error (:class:`~schemas.errors.VocError`) is one ``error: …`` line and exit
code 1; a usage error (a bad option) is ``error: …`` with a pointer to ``--help`` and exit 2.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click
from rich.console import Console

from flows.settings import Settings, load_settings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from flows.queries import TimeRange

err_console = Console(stderr=True)
out_console = Console()

F = TypeVar("F", bound=Callable[..., Any])

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_logging_configured = False


def parse_duration(text: str) -> timedelta:
    """Parse ``90s``, ``30m``, ``6h``, ``1h30m``, ``2d`` or ``1w`` into a positive timedelta."""
    compact = text.strip().lower().replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        msg = f"expected a duration like 30m, 6h, 1h30m or 2d, got {text!r}"
        raise click.BadParameter(msg)
    span = sum((timedelta(**{_UNITS[u]: float(n)}) for n, u in parts), timedelta())
    if span <= timedelta(0):
        msg = f"expected a duration longer than zero, got {text!r}"
        raise click.BadParameter(msg)
    return span


def parse_time(text: str, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """Parse a time: ISO 8601, ``now``, ``today`` or ``yesterday`` (midnight in ``zone``).

    A time without an offset is read in ``zone``. The result is timezone-aware.
    """
    now = now or datetime.now(UTC)
    word = text.strip().lower()
    if word == "now":
        return now
    if word in ("today", "yesterday"):
        day = now.astimezone(zone).date() - timedelta(days=1 if word == "yesterday" else 0)
        return datetime.combine(day, time(0), tzinfo=zone)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        msg = f"expected an ISO 8601 time, now, today or yesterday, got {text!r}"
        raise click.BadParameter(msg) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


#: Help of the range options every read command shares.
RANGE_HELP = "Range ending at --to: 30m, 6h, 1h30m, 7d."
FROM_HELP = "Range start: ISO 8601 (no offset: VOC_TIMEZONE), today or yesterday."
TO_HELP = "Range end, like --from, or now (default: now)."


def time_range(
    last: str, start: str | None, end: str | None, zone: ZoneInfo, now: datetime | None = None
) -> TimeRange:
    """The range of ``--last`` / ``--from`` / ``--to``, in UTC (``--from`` beats ``--last``)."""
    from flows.queries import TimeRange

    now = now or datetime.now(UTC)
    end_at = _option_time(end, "--to", zone, now) if end else now
    if start:
        start_at = _option_time(start, "--from", zone, now)
    else:
        try:
            start_at = end_at - parse_duration(last)
        except click.BadParameter as exc:
            exc.param_hint = "--last"
            raise
    if start_at >= end_at:
        msg = "the range start must be before its end"
        raise click.BadParameter(msg, param_hint="--from")
    return TimeRange(start_at.astimezone(UTC), end_at.astimezone(UTC))


def _option_time(text: str, option: str, zone: ZoneInfo, now: datetime) -> datetime:
    try:
        return parse_time(text, zone, now)
    except click.BadParameter as exc:
        exc.param_hint = option
        raise


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


def settings_for(**options: Any) -> Settings:
    """Build the settings once for this command, and configure logging from them.

    Options left at ``None`` fall back to ``VOC_*`` variables and the defaults.
    """
    settings = load_settings(**options)
    configure_logging(settings.log_level)
    return settings


def store_options(func: F) -> F:
    """Declare ``--dsn`` and ``--database`` (passed as ``clickhouse_dsn``/``_database``)."""
    func = click.option(
        "--database",
        "clickhouse_database",
        help="ClickHouse database (default: VOC_CLICKHOUSE_DATABASE or voc).",
    )(func)
    return click.option(
        "--dsn",
        "clickhouse_dsn",
        envvar=None,
        help="ClickHouse DSN (default: VOC_CLICKHOUSE_DSN or chdb://./data/chdb).",
    )(func)


@contextmanager
def open_store(settings: Settings, command: str) -> Iterator[Client]:
    """A client of the configured store whose schema is current (closed on exit).

    A ClickHouse error while reading (the store went away, a query it refused) is translated
    by the one table of :mod:`flows.clickhouse` into a :class:`~schemas.errors.QueryError`:
    one ``error:`` line, never a traceback.
    """
    from clickhouse_connect.driver.exceptions import ClickHouseError

    from flows.clickhouse import connect, translate
    from schemas.errors import QueryError
    from schemas.migrate import require_current

    client = connect(settings)
    try:
        require_current(client, command)
        yield client
    except (ClickHouseError, OSError) as exc:
        raise QueryError(str(translate(exc, command))) from exc
    finally:
        client.close()
