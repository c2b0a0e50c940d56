"""``voc migrate``, ``voc schema`` and ``voc config``: the store, the contract, the settings."""

from __future__ import annotations

from pathlib import Path

import click

from flows.cli.common import err_console, settings_for, store_options
from flows.terminal import json_text
from schemas.errors import ConfigError

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "message.schema.json"


@click.command()
@store_options
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

    settings = settings_for(clickhouse_dsn=clickhouse_dsn, clickhouse_database=clickhouse_database)
    client = connect(settings, create_database=True)
    restored: list[str] = []
    try:
        applied = apply(
            client,
            on_applied=None if quiet else lambda m: err_console.print(f"applied {m.label}"),
            on_restored=restored.append,
        )
    finally:
        client.close()
    for name in restored:
        err_console.print(
            f"restored {name}: it was missing (a restored table starts empty; a restored view "
            "feeds its table from the next insert)",
            soft_wrap=True,
        )
    if not quiet:
        state = f"{len(applied)} applied now" if applied else "nothing to apply"
        if restored:
            state += f", {len(restored)} missing table(s) or view(s) restored"
        err_console.print(
            f"database {settings.clickhouse_database!r} at {settings.redacted_dsn()} is at "
            f"migration {discover()[-1].label} ({state})",
            soft_wrap=True,
        )


@click.command()
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


@click.command()
def config() -> None:
    """Print the effective settings, secrets masked.

    \b
    Example:
      VOC_BATCH_SIZE=1000 voc config
    """
    settings = settings_for()
    click.echo(json_text(settings.describe(), indent=2, default=str))
