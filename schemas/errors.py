"""The one error vocabulary of voc-stream.

Every error the library raises on purpose is a :class:`VocError`::

    VocError
    ├── ConfigError          settings or a command-line option are wrong
    ├── SchemaError          a message or a database does not match the contract
    │   └── MigrationError   the database lacks a migration, or one failed
    ├── SinkError            writing to ClickHouse (or Kafka) failed
    │   ├── SinkRetryableError   transient: unreachable, overloaded, timed out
    │   └── SinkFatalError       permanent: bad credentials, unknown table, a bug
    │       └── SinkDataError    these rows: values the table cannot take
    ├── ModelError           a model could not be loaded or run
    └── QueryError           a read failed: bad SQL, unknown table or column, a refused write

Errors from third-party libraries (clickhouse-connect, confluent-kafka, torch) are translated
at the boundary with ``raise ... from exc``. A message names the step or table, what was
expected and what was received. The CLI turns a ``VocError`` into one line and exit code 1.
"""

from __future__ import annotations


class VocError(Exception):
    """Base class of every error voc-stream raises on purpose."""


class ConfigError(VocError):
    """Settings, an environment variable or a command-line option is invalid."""


class SchemaError(VocError):
    """A message or a database does not match the contract."""


class MigrationError(SchemaError):
    """The database lacks a migration, or applying one failed."""


class SinkError(VocError):
    """Writing to a sink failed."""


class SinkRetryableError(SinkError):
    """A transient sink failure: retrying later may succeed."""


class SinkFatalError(SinkError):
    """A permanent sink failure: retrying will not help."""


class SinkDataError(SinkFatalError):
    """The rows of a write were refused for their values: retrying the same rows cannot help.

    The insert is split to isolate the rows that fail (they become dead letters); the rest
    are written.
    """


class ModelError(VocError):
    """A model could not be loaded, or failed on a batch."""


class QueryError(VocError):
    """A read failed: bad SQL, an unknown table or column, or a write on a read-only prompt."""
