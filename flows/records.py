"""The items that travel between the steps of the dataflow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.message import InboundMessage
from schemas.rows import DeadLetter, StoredMessage


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One payload as a source read it, with where it came from.

    ``payload`` is the raw line (``bytes``) for files, stdin and Kafka, or an already decoded
    JSON value (``dict``) for the simulator. ``origin`` names the source partition (a file
    path, ``stdin``, ``simulator/0``, ``kafka:reviews/3``) and ``position`` the line number or
    offset within it, so a dead letter can be traced back and replays keep stable ids.
    """

    origin: str
    position: int
    payload: bytes | str | dict[str, Any]


@dataclass(frozen=True, slots=True)
class SourceError:
    """A failure a source reports in place of a payload (e.g. a Kafka fetch error).

    It travels the stream like a :class:`RawRecord` and becomes a dead letter of the
    ``read`` step: the flow goes on, and the board shows what the source could not read.
    """

    origin: str
    position: int
    error_type: str
    reason: str
    payload: bytes = b""


#: What a source yields: a payload, or the error of a payload it could not read.
Record = RawRecord | SourceError


@dataclass(frozen=True, slots=True)
class Parsed:
    """A payload that passed validation against the inbound message contract."""

    message: InboundMessage
    origin: str
    position: int


@dataclass(frozen=True, slots=True)
class Prepared:
    """A valid message after PII redaction, normalization and language id."""

    message: InboundMessage
    origin: str
    position: int
    text: str
    """The message text with PII replaced by placeholders."""
    text_normalized: str
    text_search: str
    language: str
    pii_kinds: tuple[str, ...]
    author_hash: str
    attributes: str
    """``message.attributes`` as JSON text, PII redacted."""


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """A micro-batch after the parse step: valid messages, and dead letters so far."""

    origin: str
    items: list[Parsed]
    dead: list[DeadLetter]


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A micro-batch after the prepare step: prepared messages, and dead letters so far."""

    origin: str
    items: list[Prepared]
    dead: list[DeadLetter]


@dataclass(frozen=True, slots=True)
class EnrichedBatch:
    """The output of enriching one micro-batch: rows to store and every dead letter of it.

    ``dead`` holds what failed in any step (parse, prepare, enrich) of the micro-batch.

    ``origin`` is the source partition the micro-batch came from (the detectors keep one
    event-time clock per partition).
    """

    rows: list[StoredMessage]
    dead: list[DeadLetter]
    origin: str = ""
