"""The ``voc`` group, its commands and the one error style of the command line.

Library errors (:class:`schemas.errors.VocError`) become one ``error: …`` line on stderr and
exit code 1; usage errors (a bad option or argument) ``error: …`` plus a pointer to the
command's ``--help`` and exit code 2.
"""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from flows.cli.admin import config, migrate, schema
from flows.cli.common import err_console
from flows.cli.drill import conversation, messages
from flows.cli.models import eval_command, train
from flows.cli.produce import produce
from flows.cli.read import alerts, dead_letters, query
from flows.cli.serve import serve
from flows.cli.sql import sql
from flows.cli.stream import demo, run
from flows.terminal import printable
from schemas.errors import VocError
from simulator.cli import simulate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="voc-stream", prog_name="voc")
def cli() -> None:
    """voc-stream: real-time Voice-of-Customer analytics for Vietnamese feedback.

    \b
    Settings come from VOC_* environment variables (see `voc config`) and options.
    Quick start:
      voc migrate && voc demo
    """


for command in (
    migrate, run, demo, simulate, produce, query, messages, conversation, sql, alerts,
    dead_letters, serve, schema, config, train, eval_command,
):  # fmt: skip
    cli.add_command(command)


def _error(message: str) -> None:
    """``error: …`` on one line (a multi-line message, e.g. a YAML error, is joined)."""
    line = " ".join(message.split())
    err_console.print(
        f"[bold red]error:[/] {escape(printable(line))}", highlight=False, soft_wrap=True
    )


def main() -> None:
    """Console entry point: run the CLI with its error style (exit 1 user error, 2 usage)."""
    try:
        cli.main(standalone_mode=False, prog_name="voc")
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.UsageError as exc:
        _error(exc.format_message())
        if exc.ctx is not None:
            err_console.print(
                f"see `{exc.ctx.command_path} --help`", highlight=False, soft_wrap=True
            )
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _error(exc.format_message())
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        cause = voc_cause(exc)
        if cause is None:
            raise
        _error(str(cause))
        sys.exit(1)
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":  # Bytewax's Rust side gave up
            raise
        _error(
            f"the flow stopped: Bytewax panicked ({exc}); if a process of the cluster died, "
            "restart every process: they resume from the last recovery snapshot"
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
