"""``voc sql``: SQL on the configured store, at a prompt or from ``-e`` / ``-f`` / stdin.

The prompt (a terminal on stdin) reads statements ending with ``;`` over several lines, keeps
a history file (``VOC_SQL_HISTORY``) through the standard library's readline, completes
table and column names, and knows a few backslash commands (``\\tables``, ``\\d TABLE``,
``\\format``, ``\\help``, ``\\q``). Statements given with ``-e``, ``-f`` or piped on stdin run
in order and stop at the first error. Results print as tables like the other commands, or
as CSV, JSON or TSV. Only reads run unless ``--write`` is given.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

import click

from flows.cli.common import err_console, open_store, out_console, settings_for, store_options
from flows.terminal import json_text, printable
from schemas.errors import QueryError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from flows.queries import SqlResult
    from flows.settings import Settings

FORMATS = ("table", "csv", "json", "tsv")

SQL_EXAMPLES = """
\b
Examples:
  voc sql                                       the prompt: \\tables, \\d messages, \\q
  voc sql -e "SELECT channel, count() FROM messages FINAL GROUP BY channel"
  voc sql -f weekly.sql --format csv > weekly.csv
  echo "SHOW TABLES" | voc sql --format tsv
  voc sql --write -e "OPTIMIZE TABLE messages FINAL"
"""

PROMPT_HELP = """\
End a statement with ; (it may span lines). Up/down: history; tab: table and column names.
  \\tables          the tables and views, with their rows and what they hold
  \\d TABLE         the columns of a table, with their types and comments
  \\format FORMAT   show results as table, csv, json or tsv
  \\help            this help        \\q  quit (or Ctrl-D)"""


@click.command("sql", epilog=SQL_EXAMPLES)
@store_options
@click.option(
    "-e", "--execute", "statements", multiple=True, help="Run this SQL and exit (repeatable)."
)
@click.option(
    "-f",
    "--file",
    "script",
    type=click.File("r", encoding="utf-8"),
    help="Run the statements of this file ('-': stdin) and exit.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS, case_sensitive=False),
    default="table",
    show_default=True,
    help="How results print: table (like the other commands), csv, json (an array per "
    "statement) or tsv; csv, json and tsv give times with their UTC offset.",
)
@click.option(
    "--write",
    is_flag=True,
    help="Also run statements that change data or tables (INSERT, ALTER, OPTIMIZE, ...); "
    "without it only SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN run.",
)
@click.option(
    "--max-rows",
    type=click.IntRange(1, 10_000_000),
    default=1_000,
    show_default=True,
    help="Rows a result table shows (csv, json and tsv print every row).",
)
def sql(
    clickhouse_dsn: str | None,
    clickhouse_database: str | None,
    statements: tuple[str, ...],
    script: TextIO | None,
    fmt: str,
    write: bool,
    max_rows: int,
) -> None:
    """Run SQL on the configured store: a prompt on a terminal, else -e, -f or stdin.

    The tables are those of `voc migrate` (messages, the rollups, alerts, dead letters...);
    read messages with FINAL for exact counts. Results print as tables with each time
    column's zone in its header, or as CSV, JSON or TSV.
    """
    settings = settings_for(clickhouse_dsn=clickhouse_dsn, clickhouse_database=clickhouse_database)
    from flows.sqltext import split_statements

    batch: list[str] = []
    for text in statements:
        batch += split_statements(text)
    if script is not None:
        batch += split_statements(script.read())
    interactive = not statements and script is None and sys.stdin.isatty()
    if not statements and script is None and not interactive:
        batch = split_statements(sys.stdin.read())
    with open_store(settings, "voc sql") as client:
        if interactive:
            Prompt(client, settings, fmt.lower(), write=write, max_rows=max_rows).loop()
            return
        for n, statement in enumerate(batch):
            result = _run(client, statement, write)
            if n and fmt == "table":
                out_console.print()
            show(result, fmt.lower(), max_rows)


def _run(client: Client, statement: str, write: bool) -> SqlResult:
    from flows.queries import run_sql

    return run_sql(client, statement, write=write)


# -- output ------------------------------------------------------------------------------------


def show(result: SqlResult, fmt: str, max_rows: int) -> None:
    """Print one statement's result in a format."""
    if result.written is not None:
        err_console.print(f"ok: {result.written:,} rows written", highlight=False)
        return
    if fmt == "table":
        from flows.cli.render import sql_table

        out_console.print(sql_table(result, max_rows))
    else:
        sys.stdout.write(FORMATTERS[fmt](result))
        sys.stdout.flush()


def _machine(value: Any, zone: str | None) -> Any:
    """A JSON-ready value: times ISO 8601 with their offset, lists and maps kept."""
    if isinstance(value, datetime):
        if value.tzinfo is None and zone:
            value = value.replace(tzinfo=ZoneInfo(zone))
        return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_machine(v, zone) for v in value]
    if isinstance(value, dict):
        return {str(k): _machine(v, zone) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _records(result: SqlResult) -> Iterable[list[Any]]:
    for row in result.rows:
        yield [_machine(v, z) for v, z in zip(row, result.zones, strict=True)]


def _text(value: Any) -> str:
    if isinstance(value, list | dict):
        return json_text(value)
    return "" if value is None else str(value)


def as_csv(result: SqlResult) -> str:
    """A header row, then one row per result row (NULL empty, arrays as JSON)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for record in _records(result):
        writer.writerow(_text(v) for v in record)
    return buffer.getvalue()


def as_json(result: SqlResult) -> str:
    """An array with one object per row."""
    objects = [dict(zip(result.columns, r, strict=True)) for r in _records(result)]
    return json_text(objects, indent=2) + "\n"


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def as_tsv(result: SqlResult) -> str:
    """ClickHouse's TabSeparatedWithNames: escaped tabs and newlines, NULL as ``\\N``."""
    lines = ["\t".join(c.translate(_TSV_ESCAPES) for c in result.columns)]
    for record in _records(result):
        cells = ("\\N" if v is None else _text(v).translate(_TSV_ESCAPES) for v in record)
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


FORMATTERS: dict[str, Callable[[SqlResult], str]] = {
    "csv": as_csv,
    "json": as_json,
    "tsv": as_tsv,
}


# -- the prompt -------------------------------------------------------------------------------


class Prompt:
    """The interactive prompt: multi-line statements, history, completion, backslash commands."""

    def __init__(
        self, client: Client, settings: Settings, fmt: str, *, write: bool, max_rows: int
    ) -> None:
        self.client = client
        self.settings = settings
        self.fmt = fmt
        self.write = write
        self.max_rows = max_rows
        self.history = Path(settings.sql_history).expanduser() if settings.sql_history else None
        self.words: list[str] = []

    def loop(self) -> None:
        """Read and run statements until ``\\q`` or end of input."""
        from flows.sqltext import is_complete, split_statements

        readline = self._start_readline()
        mode = "read and write" if self.write else "read-only (--write to change data)"
        err_console.print(
            f"voc sql on {self.settings.redacted_dsn()}, database "
            f"{self.settings.clickhouse_database}, {mode}. \\help for help, \\q to quit.",
            highlight=False,
        )
        lines: list[str] = []
        try:
            while True:
                try:
                    line = input("voc> " if not lines else "  -> ")
                except KeyboardInterrupt:
                    print()
                    lines = []
                    continue
                except EOFError:
                    print()
                    return
                if not lines and line.strip().startswith("\\"):
                    if self._command(line.strip()):
                        return
                    continue
                if not lines and line.strip().lower() in ("exit", "quit"):
                    return
                if not lines and not line.strip():
                    continue
                lines.append(line)
                text = "\n".join(lines)
                if not is_complete(text):
                    continue
                if readline is not None and len(lines) > 1:
                    for _ in lines:  # one history entry for the whole statement
                        readline.remove_history_item(readline.get_current_history_length() - 1)
                    readline.add_history(" ".join(x.strip() for x in lines))
                lines = []
                for statement in split_statements(text):
                    self._run(statement)
        finally:
            self._stop_readline(readline)

    def _run(self, statement: str) -> None:
        started = time.monotonic()
        try:
            result = _run(self.client, statement, self.write)
        except QueryError as exc:
            err_console.print(f"[bold red]error:[/] {_escape(str(exc))}", soft_wrap=True)
            return
        except KeyboardInterrupt:
            err_console.print("cancelled")
            return
        show(result, self.fmt, self.max_rows)
        err_console.print(f"{time.monotonic() - started:.3f} s", style="dim", highlight=False)

    def _command(self, line: str) -> bool:
        """Run a backslash command; ``True`` to quit."""
        from flows.cli.render import sql_table, tables_table
        from flows.queries import SqlResult, describe_table, list_tables

        name, _, arg = line.partition(" ")
        arg = arg.strip().rstrip(";")
        if name in ("\\q", "\\quit"):
            return True
        if name in ("\\tables", "\\dt", "\\d") and not arg:
            out_console.print(tables_table(list_tables(self.client)))
        elif name == "\\d":
            columns = describe_table(self.client, arg)
            if not columns:
                err_console.print(f"error: no table {arg!r}; \\tables lists them", highlight=False)
                return False
            result = SqlResult(
                ["name", "type", "comment"], ["String"] * 3, [None] * 3, [tuple(c) for c in columns]
            )
            out_console.print(sql_table(result, len(columns)))
        elif name == "\\format" and arg.lower() in FORMATS:
            self.fmt = arg.lower()
            err_console.print(f"results print as {self.fmt}", highlight=False)
        elif name in ("\\help", "\\?", "\\h"):
            err_console.print(PROMPT_HELP, highlight=False, markup=False)
        else:
            err_console.print(
                f"error: unknown command {line!r}; \\help lists them", highlight=False
            )
        return False

    # readline: history and completion (absent on some platforms: the prompt works without)

    def _start_readline(self) -> Any:
        try:
            import readline
        except ImportError:
            return None
        from flows.queries import column_names, list_tables

        if self.history is not None and self.history.is_file():
            with contextlib.suppress(OSError):  # an unreadable history starts a new one
                readline.read_history_file(self.history)
        readline.set_history_length(1_000)
        names = [t.name for t in list_tables(self.client)] + column_names(self.client)
        commands = ["\\tables", "\\d", "\\format", "\\help", "\\q"]
        self.words = sorted(set(names)) + commands + list(_KEYWORDS)
        readline.set_completer(self._complete)
        readline.set_completer_delims(" \t\n(),;=<>'\"")
        readline.parse_and_bind("tab: complete")
        return readline

    def _complete(self, text: str, state: int) -> str | None:
        upper = text.upper()
        found = [
            w for w in self.words if w.startswith(text) or (w.isupper() and w.startswith(upper))
        ]
        return found[state] if state < len(found) else None

    def _stop_readline(self, readline: Any) -> None:
        if readline is None or self.history is None:
            return
        try:
            self.history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(self.history)
        except OSError as exc:
            err_console.print(f"could not write the history to {self.history}: {exc}")


_KEYWORDS: Sequence[str] = (
    "SELECT", "FROM", "FINAL", "WHERE", "GROUP BY", "ORDER BY", "LIMIT", "HAVING", "WITH",
    "ARRAY JOIN", "AND", "OR", "NOT", "DESC", "ASC", "SHOW TABLES", "DESCRIBE", "count()",
    "countIf(", "uniqExactMerge(", "toStartOfHour(", "toStartOfDay(", "toMonday(",
)  # fmt: skip


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(" ".join(printable(text).split()))
