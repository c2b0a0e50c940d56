"""Apply the numbered ClickHouse migrations in ``schemas/migrations/``.

A migration is a file ``NNNN_name.sql`` holding one or more statements, each ending with a
``;`` at the end of a line. Table names are unqualified: they are created in the database the
runner targets. Applied migrations are recorded in ``schema_migrations`` with a checksum of
the file; a second run applies nothing, and a recorded migration whose file has since changed
is an error (write a new migration instead of editing an applied one).

The runner is the only code that creates tables. Sinks call :func:`require_current` at start
and refuse to run on a database that lacks a migration, or that lacks a table or view an
applied migration created (dropped by hand, or lost): ``schema_migrations`` alone cannot
tell. :func:`migrate` restores such objects by running their ``CREATE ... IF NOT EXISTS``
statements again (a restored table starts empty).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from schemas.errors import MigrationError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

MIGRATIONS_TABLE = "schema_migrations"

_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)
_CREATES = re.compile(
    r"^CREATE\s+(?:TABLE|(?:MATERIALIZED\s+)?VIEW)\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.IGNORECASE,
)

_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        """The file name, e.g. ``0002_board_rollups.sql``."""
        return f"{self.version:04d}_{self.name}.sql"

    @property
    def checksum(self) -> str:
        """SHA-256 of the file text."""
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    def statements(self) -> list[str]:
        """The statements of the file, comments and blank lines removed."""
        return split_statements(self.sql)

    def creates(self) -> list[tuple[str, str]]:
        """``(name, statement)`` of every table and view the migration creates, in order."""
        found = ((_CREATES.match(statement), statement) for statement in self.statements())
        return [(match[1], statement) for match, statement in found if match is not None]


def split_statements(sql: str) -> list[str]:
    """Split SQL text on ``;`` at line ends, dropping ``--`` comment lines and blanks."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in _STATEMENT_END.split(body) if part.strip()]


@cache
def discover() -> tuple[Migration, ...]:
    """Return the packaged migrations in version order."""
    found: list[Migration] = []
    for entry in resources.files("schemas").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            if entry.name.endswith(".sql"):
                msg = f"migration file {entry.name!r} is not named NNNN_lower_snake.sql"
                raise MigrationError(msg)
            continue
        found.append(
            Migration(int(match["version"]), match["name"], entry.read_text(encoding="utf-8"))
        )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        msg = f"two migration files share a version number: {versions}"
        raise MigrationError(msg)
    return tuple(found)


def applied_versions(client: Client) -> dict[int, str]:
    """Return ``{version: checksum}`` of the migrations recorded in the client's database.

    An empty mapping if the database has no ``schema_migrations`` table yet.
    """
    exists = client.query(
        "SELECT count() FROM system.tables "
        "WHERE database = currentDatabase() AND name = {t:String}",
        parameters={"t": MIGRATIONS_TABLE},
    ).result_rows[0][0]
    if not exists:
        return {}
    rows = client.query(
        "SELECT version, argMax(checksum, applied_at) FROM schema_migrations GROUP BY version"
    ).result_rows
    return {int(version): str(checksum) for version, checksum in rows}


def pending(client: Client) -> list[Migration]:
    """Return the migrations not yet applied, in order; check applied ones are unchanged."""
    done = applied_versions(client)
    todo: list[Migration] = []
    for migration in discover():
        recorded = done.get(migration.version)
        if recorded is None:
            todo.append(migration)
        elif recorded != migration.checksum:
            msg = (
                f"migration {migration.label} was applied with checksum {recorded[:12]} but the "
                f"file now has {migration.checksum[:12]}; applied migrations must not change, "
                "add a new migration instead"
            )
            raise MigrationError(msg)
    return todo


def existing_objects(client: Client) -> set[str]:
    """Names of the tables and views in the client's current database."""
    rows = client.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase()"
    ).result_rows
    return {str(row[0]) for row in rows}


def missing_objects(client: Client) -> list[tuple[Migration, str, str]]:
    """The tables and views applied migrations created that the database no longer has.

    ``(migration, name, statement)`` each, in migration order.
    """
    done = applied_versions(client)
    if not done:
        return []
    present = existing_objects(client)
    return [
        (migration, name, statement)
        for migration in discover()
        if migration.version in done
        for name, statement in migration.creates()
        if name not in present
    ]


def restore(client: Client, on_restored: Callable[[str], None] | None = None) -> list[str]:
    """Create again the tables and views applied migrations created and the database lacks.

    Returns their names. A restored table is empty; a restored materialized view feeds its
    table from the next insert on.
    """
    restored: list[str] = []
    for migration, name, statement in missing_objects(client):
        try:
            client.command(statement)
        except Exception as exc:
            msg = f"restoring {name} of migration {migration.label} failed: {exc}"
            raise MigrationError(msg) from exc
        restored.append(name)
        if on_restored is not None:
            on_restored(name)
    return restored


def migrate(
    client: Client,
    on_applied: Callable[[Migration], None] | None = None,
    on_restored: Callable[[str], None] | None = None,
) -> list[Migration]:
    """Apply every pending migration to the client's current database, in order.

    First restores what applied migrations created and the database lacks (:func:`restore`).
    Returns the migrations applied by this call (empty when the database is current).
    """
    client.command(_BOOTSTRAP)
    restore(client, on_restored)
    applied: list[Migration] = []
    for migration in pending(client):
        for number, statement in enumerate(migration.statements(), start=1):
            try:
                client.command(statement)
            except Exception as exc:
                msg = f"migration {migration.label}, statement {number} failed: {exc}"
                raise MigrationError(msg) from exc
        client.insert(
            MIGRATIONS_TABLE,
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
        )
        applied.append(migration)
        if on_applied is not None:
            on_applied(migration)
    return applied


def require_current(client: Client, who: str) -> None:
    """Raise :class:`MigrationError` naming the missing migrations or tables and views, if any.

    ``who`` names the caller (e.g. the sink step) so the message says what refused to start.
    """
    todo = pending(client)
    if todo:
        names = ", ".join(m.label for m in todo)
        msg = (
            f"{who} refuses to start: database {client.database!r} lacks migration(s) {names}; "
            "run `voc migrate` first"
        )
        raise MigrationError(msg)
    missing = missing_objects(client)
    if missing:
        names = ", ".join(f"{name} ({migration.label})" for migration, name, _ in missing)
        msg = (
            f"{who} refuses to start: database {client.database!r} lacks {names}, created by "
            "applied migrations; run `voc migrate` to restore them"
        )
        raise MigrationError(msg)
