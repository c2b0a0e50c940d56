"""The fallible steps of the dataflow: parse, prepare and enrich.

For one message, each step returns either its result or a :class:`~schemas.rows.DeadLetter`
naming the step, the kind of error, a readable reason and the raw payload (PII redacted).
The flow calls them on micro-batches (:func:`parse_batch`, :meth:`Preparer.prepare_batch`,
:class:`Enrich`): the good messages go on, the dead letters travel with the batch. One bad
message never stops the flow.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from flows.batching import MicroBatch
from flows.privacy import Privacy, SafeMessage, kinds_in_order
from flows.records import (
    EnrichedBatch,
    Parsed,
    ParsedBatch,
    Prepared,
    PreparedBatch,
    RawRecord,
    SourceError,
)
from nlp.categories import CategoryMap
from nlp.flags import rating_mismatch
from nlp.langid import detect_language
from nlp.normalize import normalize, strip_diacritics
from nlp.pii import DEFAULT_PII, PiiConfig, redact
from nlp.types import Enricher, Enrichment, MessageContext
from schemas.message import MAX_ATTRIBUTES_BYTES, InboundMessage
from schemas.rows import DeadLetter, StoredMessage
from schemas.storable import string_problem, unstorable

if TYPE_CHECKING:
    from flows.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Wall-clock time, timezone-aware UTC."""
    return datetime.now(UTC)


# -- parse -------------------------------------------------------------------------------------


def payload_text(payload: bytes | str | dict[str, Any]) -> str:
    """The payload as storable text for a dead-letter row.

    Undecodable bytes and lone surrogates are shown as backslash escapes (the row must be
    UTF-8); a value JSON cannot show (nested too deeply) is named, not shown.
    """
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="backslashreplace")
    if isinstance(payload, str):
        return storable_text(payload)
    try:
        text = json.dumps(payload, ensure_ascii=False, default=str)
    except (RecursionError, ValueError) as exc:
        return f"<a {type(payload).__name__} JSON cannot show: {type(exc).__name__}>"
    return storable_text(text)


def storable_text(text: str) -> str:
    """``text`` with lone surrogates written as backslash escapes, so UTF-8 can store it."""
    if text.isascii() or string_problem(text) is None:
        return text
    return text.encode("utf-8", errors="backslashreplace").decode("utf-8")


def dead_letter(
    step: str,
    error_type: str,
    reason: str,
    origin: str,
    position: int,
    payload: bytes | str | dict[str, Any],
    now: datetime,
    *,
    privacy: Privacy | None = None,
) -> DeadLetter:
    """Build a dead letter: reason and payload redacted, identifiers hashed, then cut.

    ``privacy`` is the flow's (its salt hashes identifiers); without one (dead letters of
    rows already redacted: refused inserts, detection) a salt drawn for this process is
    used, so nothing hashed can be reversed or linked. A reason may quote what it refuses (a
    database error quotes the value it could not parse), so it is redacted like the payload.
    Every string of the row is made storable (lone surrogates escaped): a dead letter must
    never be refused by the table.
    """
    privacy = dead_letter_privacy(privacy)
    try:
        letter = privacy.dead_letter(step, error_type, reason, origin, position, payload, now)
    except (RecursionError, ValueError):  # a value JSON cannot show (nested too deeply)
        shown = f"<a {type(payload).__name__} JSON cannot show>"
        letter = privacy.dead_letter(step, error_type, reason, origin, position, shown, now)
    return dataclasses.replace(
        letter,
        reason=storable_text(letter.reason),
        origin=storable_text(letter.origin),
        payload=storable_text(letter.payload),
    )


def dead_letter_privacy(privacy: Privacy | None) -> Privacy:
    """``privacy``, or the one whose salt is drawn for this process (see :func:`dead_letter`)."""
    return privacy or _process_privacy()


@functools.cache
def _process_privacy() -> Privacy:
    return Privacy(secrets.token_hex(16))


#: pydantic error types that are an ``error_type`` of their own.
_OWN_ERROR_TYPES = frozenset({"invalid_unicode", "attributes_too_large"})


def _validation_summary(exc: ValidationError) -> tuple[str, str]:
    """Return (error_type, reason) for a pydantic validation error."""
    errors = exc.errors(include_url=False, include_input=False)
    parts = []
    for err in errors:
        field = ".".join(str(p) for p in err["loc"]) or "message"
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{field}: {msg}")
    first = errors[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    kind = str(first["type"])
    if kind in _OWN_ERROR_TYPES:
        error_type = kind
    elif field == "created_at":
        error_type = "bad_event_time"
    elif kind == "missing":
        error_type = "missing_field"
    elif field == "text" and kind == "string_too_long":
        error_type = "text_too_long"
    elif field == "text" and "empty" in str(first["msg"]):
        error_type = "empty_text"
    elif not field and "JSON object" in str(first["msg"]):
        error_type = "not_an_object"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        error_type = "wrong_type"
    elif kind.startswith(("greater_than", "less_than")):
        error_type = "out_of_range"
    elif field in ("id", "channel") and kind == "value_error":
        error_type = f"invalid_{field}"
    else:
        error_type = "invalid_message"
    return error_type, "; ".join(parts)


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """What the parse step accepts beyond the contract (from the settings).

    ``max_payload_bytes``: a payload longer than this is a dead letter
    (``payload_too_large``) before it is decoded. ``max_attributes_bytes``: the cap of
    ``attributes`` as JSON (``attributes_too_large``). An event time before ``floor`` or
    more than ``max_ahead`` after the flow's clock is a dead letter (``bad_event_time``):
    such times come from unset device clocks and wrong offsets, and stored they would
    scatter rows over monthly partitions and move the detectors' watermarks.
    """

    max_payload_bytes: int = 256 * 1024
    max_attributes_bytes: int = MAX_ATTRIBUTES_BYTES
    floor: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    max_ahead: timedelta = timedelta(minutes=5)

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseLimits:
        """The limits of the ``VOC_MAX_*`` and ``VOC_EVENT_TIME_*`` settings."""
        return cls(
            settings.max_payload_bytes,
            settings.max_attributes_bytes,
            settings.event_time_floor,
            timedelta(seconds=settings.event_time_max_ahead_s),
        )


DEFAULT_LIMITS = ParseLimits()


def decode_payload(payload: bytes | str, limits: ParseLimits) -> Any:
    """Decode one JSON payload; raises :class:`PayloadError` saying why it cannot be.

    A UTF-8 byte-order mark before the JSON is dropped (editors on Windows write one on
    the first line). NaN and Infinity, which Python's decoder accepts, are not JSON.
    """
    size = len(payload)
    if size > limits.max_payload_bytes:  # a str payload is measured in characters
        reason = f"payload of {size} bytes is over the {limits.max_payload_bytes} allowed"
        raise PayloadError(reason, error_type="payload_too_large")
    if isinstance(payload, bytes):
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad, at = payload[exc.start], exc.start
            reason = f"payload is not valid UTF-8: byte 0x{bad:02x} at offset {at}"
            raise PayloadError(reason, error_type="invalid_utf8") from None
    else:
        text = payload
    text = text.removeprefix("\ufeff")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except PayloadError:
        raise
    except json.JSONDecodeError as exc:
        reason = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise PayloadError(reason) from None
    except RecursionError:
        reason = "JSON nested too deeply to decode"
        raise PayloadError(reason) from None
    except ValueError as exc:  # an integer literal over sys.get_int_max_str_digits() digits
        reason = f"JSON that cannot be decoded: {str(exc).split(';')[0]}"
        raise PayloadError(reason) from None


class PayloadError(ValueError):
    """A payload that cannot be decoded: a reason and its ``error_type``."""

    def __init__(self, reason: str, *, error_type: str = "invalid_json") -> None:
        super().__init__(reason)
        self.error_type = error_type
        self.reason = reason


def _no_constant(name: str) -> float:
    reason = f"not valid JSON: {name} is not a JSON number"
    raise PayloadError(reason)


def event_time_problem(created_at: datetime, now: datetime, limits: ParseLimits) -> str | None:
    """Why an event time is refused (before the floor, too far ahead), or ``None``."""
    if created_at < limits.floor:
        return f"created_at: before the floor {limits.floor.isoformat()} (VOC_EVENT_TIME_FLOOR)"
    ahead = (created_at - now).total_seconds()
    if ahead > limits.max_ahead.total_seconds():
        return (
            f"created_at: {ahead:,.0f} s ahead of the flow's clock, more than "
            f"{limits.max_ahead.total_seconds():g} s (VOC_EVENT_TIME_MAX_AHEAD_S)"
        )
    return None


def parse_record(
    record: RawRecord | SourceError,
    now: Clock = utc_now,
    limits: ParseLimits = DEFAULT_LIMITS,
    *,
    privacy: Privacy | None = None,
) -> Parsed | DeadLetter:
    """Decode and validate one raw payload against the inbound message contract.

    A :class:`SourceError` (the source could not read a payload) becomes a dead letter of
    the ``read`` step. Whatever fails on one payload, it becomes a dead letter of the
    ``parse`` step; nothing is raised. Dead letters are redacted by ``privacy``.
    """
    if isinstance(record, SourceError):
        return dead_letter(
            "read",
            record.error_type,
            record.reason,
            record.origin,
            record.position,
            record.payload,
            now(),
            privacy=privacy,
        )
    payload = record.payload

    def reject(error_type: str, reason: str) -> DeadLetter:
        return dead_letter(
            "parse",
            error_type,
            reason,
            record.origin,
            record.position,
            payload,
            now(),
            privacy=privacy,
        )

    try:
        value = payload if isinstance(payload, dict) else decode_payload(payload, limits)
        message = InboundMessage.model_validate(
            value, context={"max_attributes_bytes": limits.max_attributes_bytes}
        )
    except PayloadError as exc:
        return reject(exc.error_type, exc.reason)
    except ValidationError as exc:
        return reject(*_validation_summary(exc))
    except RecursionError:
        return reject("invalid_message", "message: nested too deeply to validate")
    except Exception as exc:  # one bad payload must not stop the flow
        log.warning("parse failed on %s:%s: %s", record.origin, record.position, type(exc).__name__)
        return reject(type(exc).__name__, f"message could not be parsed: {exc}")
    problem = event_time_problem(message.created_at, now(), limits)
    if problem is not None:
        return reject("bad_event_time", problem)
    return Parsed(message, record.origin, record.position)


T = TypeVar("T")


def _sort_out(results: Iterable[T | DeadLetter], dead: list[DeadLetter]) -> list[T]:
    """The results that are not dead letters; the dead letters are appended to ``dead``."""
    ok: list[T] = []
    for result in results:
        if isinstance(result, DeadLetter):
            dead.append(result)
        else:
            ok.append(result)
    return ok


def parse_batch(
    batch: MicroBatch[RawRecord | SourceError],
    now: Clock = utc_now,
    limits: ParseLimits = DEFAULT_LIMITS,
    *,
    privacy: Privacy | None = None,
) -> ParsedBatch:
    """Parse a micro-batch: its valid messages, and a dead letter for each bad payload."""
    dead: list[DeadLetter] = []
    parsed = (parse_record(record, now, limits, privacy=privacy) for record in batch.items)
    ok = _sort_out(parsed, dead)
    return ParsedBatch(batch.origin, ok, dead)


# -- prepare -----------------------------------------------------------------------------------


class Preparer:
    """Redact PII, normalize, fold diacritics, identify the language, hash the author.

    Every stored field of the message is redacted and its personal identifiers hashed
    (:class:`flows.privacy.Privacy`) before the text is normalized, so nothing derived from
    the text can show what redaction replaced; if the normalized text still shows personal
    data (normalization joined what the canonical text kept apart), the redacted normalized
    text is stored in place of the text.
    """

    def __init__(self, author_salt: str, pii: PiiConfig = DEFAULT_PII, now: Clock = utc_now):
        self.privacy = Privacy(author_salt, pii)
        self._now = now

    def hash_author(self, author: str | None) -> str:
        """HMAC-SHA256 of the author id with the salt; empty when there is no author."""
        return self.privacy.author(author)

    def __call__(self, parsed: Parsed) -> Prepared | DeadLetter:
        """Prepare one message, or return a dead letter if any of the text steps fails."""
        msg = parsed.message
        try:
            safe = self.privacy.message(msg)
            text = safe.message.text
            kinds = safe.kinds
            text_normalized = normalize(text)
            if self.privacy.revealed(text_normalized):
                redacted = redact(text_normalized, self.privacy.pii)
                text = text_normalized = redacted.text
                kinds = kinds_in_order((*kinds, *redacted.kinds))
                safe = SafeMessage(
                    safe.message.model_copy(update={"text": text}), kinds, safe.author_hash
                )
            return Prepared(
                message=safe.message,
                origin=parsed.origin,
                position=parsed.position,
                text=text,
                text_normalized=text_normalized,
                text_search=strip_diacritics(text_normalized),
                language=detect_language(text),
                pii_kinds=tuple(sorted(kinds)),
                author_hash=safe.author_hash,
                attributes=json.dumps(safe.message.attributes, ensure_ascii=False)
                if safe.message.attributes
                else "{}",
            )
        except Exception as exc:  # one bad message must not stop the flow
            log.warning(
                "prepare failed for the message at %s:%s: %s",
                parsed.origin,
                parsed.position,
                type(exc).__name__,
            )
            return dead_letter(
                "prepare",
                type(exc).__name__,
                f"text preparation failed: {exc}",
                parsed.origin,
                parsed.position,
                msg.model_dump(mode="json"),
                self._now(),
                privacy=self.privacy,
            )

    def prepare_batch(self, batch: ParsedBatch) -> PreparedBatch:
        """Prepare a micro-batch; messages that fail join its dead letters."""
        dead = list(batch.dead)
        ok = _sort_out((self(parsed) for parsed in batch.items), dead)
        return PreparedBatch(batch.origin, ok, dead)


# -- enrich ------------------------------------------------------------------------------------

EnricherFactory = Callable[[], Enricher]

#: Characters of text per ``enrich_batch`` call at most: the models' working memory grows
#: with the text they see at once, so a batch of long messages is enriched in parts (a
#: batch of ordinary messages is one call).
ENRICH_CHUNK_CHARS = 1_000_000


def chunks_by_chars(batch: list[Prepared], limit: int) -> Iterable[list[Prepared]]:
    """``batch`` in consecutive parts whose normalized texts hold at most ``limit`` chars.

    A single longer text is a part of its own.
    """
    part: list[Prepared] = []
    size = 0
    for item in batch:
        chars = len(item.text_normalized)
        if part and size + chars > limit:
            yield part
            part, size = [], 0
        part.append(item)
        size += chars
    if part:
        yield part


class Enrich:
    """Enrich a micro-batch with one model call; isolate a failing message if the batch fails.

    The enricher is built by ``factory`` on the first batch a worker sees (never at import)
    and shared by the worker threads of the process. Each text goes with its context: its
    source, its stars and its product category (the ``category`` attribute, else its
    product's or brand's in ``categories``).
    """

    def __init__(
        self,
        factory: EnricherFactory,
        now: Clock = utc_now,
        *,
        privacy: Privacy | None = None,
        categories: CategoryMap | None = None,
    ):
        self._factory = factory
        self._now = now
        self._privacy = privacy
        self._categories = categories or CategoryMap()
        self._enricher: Enricher | None = None
        self._lock = threading.Lock()

    @property
    def enricher(self) -> Enricher:
        """The loaded enricher (loaded on first use)."""
        if self._enricher is None:
            with self._lock:
                if self._enricher is None:
                    self._enricher = self._factory()
                    # the model's arrays, vocabularies and rule tables live as long as the
                    # process: move them out of the cyclic collector's reach, or every full
                    # collection walks all of them again
                    gc.freeze()
        return self._enricher

    def __call__(self, prepared: PreparedBatch) -> EnrichedBatch:
        """Enrich one micro-batch into stored rows plus dead letters (its earlier ones too)."""
        origin, batch = prepared.origin, prepared.items
        dead: list[DeadLetter] = list(prepared.dead)
        if not batch:
            return EnrichedBatch([], dead, origin)
        enricher = self.enricher
        results: list[Enrichment | Exception] = []
        for chunk in chunks_by_chars(batch, ENRICH_CHUNK_CHARS):
            results += self._enrich_chunk(enricher, chunk)
        now = self._now()
        rows: list[StoredMessage] = []
        for message, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                dead.append(
                    _message_letter(
                        "enrich",
                        type(result).__name__,
                        f"enricher {enricher.version} failed: {result}",
                        message,
                        now,
                        self._privacy,
                    )
                )
                continue
            try:
                row = stored_message(message, result, now)
                problem = unstorable(row, StoredMessage.COLUMNS)
            except Exception as exc:  # one bad message must not stop the flow
                dead.append(
                    _message_letter(
                        "enrich", type(exc).__name__, str(exc), message, now, self._privacy
                    )
                )
                continue
            if problem is not None:
                dead.append(
                    _message_letter(
                        "insert", "unstorable_value", problem, message, now, self._privacy
                    )
                )
            else:
                rows.append(row)
        return EnrichedBatch(rows, dead, origin)

    def context(self, prepared: Prepared) -> MessageContext:
        """What the enricher should know about a message besides its text."""
        msg = prepared.message
        return MessageContext(
            source=msg.source,
            category=self._categories.category(msg.attributes, msg.brand, msg.product),
            rating=msg.rating,
        )

    def _enrich_chunk(
        self, enricher: Enricher, chunk: list[Prepared]
    ) -> Sequence[Enrichment | Exception]:
        """One ``enrich_batch`` call; message by message if it fails."""
        try:
            results = enricher.enrich_batch(
                [p.text_normalized for p in chunk], [self.context(p) for p in chunk]
            )
            if len(results) != len(chunk):
                msg = (
                    f"enricher {enricher.version} returned {len(results)} results for "
                    f"{len(chunk)} texts"
                )
                raise ValueError(msg)  # noqa: TRY301
        except Exception as exc:
            shown = dead_letter_privacy(self._privacy).reason(str(exc))
            log.warning("enrich_batch failed (%s); retrying message by message", shown)
            return [self._enrich_one(enricher, p) for p in chunk]
        return results

    def _enrich_one(self, enricher: Enricher, prepared: Prepared) -> Enrichment | Exception:
        try:
            return enricher.enrich_batch([prepared.text_normalized], [self.context(prepared)])[0]
        except Exception as exc:
            return exc


def _message_letter(
    step: str,
    error_type: str,
    reason: str,
    prepared: Prepared,
    now: datetime,
    privacy: Privacy | None,
) -> DeadLetter:
    """The dead letter of a prepared message that failed at ``step``."""
    payload = prepared.message.model_dump(mode="json")
    return dead_letter(
        step, error_type, reason, prepared.origin, prepared.position, payload, now,
        privacy=privacy,
    )  # fmt: skip


def refused_row_letter(row: StoredMessage, reason: str) -> DeadLetter:
    """The dead letter of a ``messages`` row the table refused (step ``insert``).

    The row no longer knows where it was read: ``origin`` names the table and the payload
    shows what came in (PII already redacted, the author only as its hash).
    """
    payload = stored_payload(row)
    return dead_letter("insert", "insert_refused", reason, "table:messages", 0, payload, utc_now())


def stored_payload(row: StoredMessage) -> dict[str, Any]:
    """What came in of a stored row, for a dead letter (PII redacted, author hashed)."""
    return {
        "id": row.id,
        "source": row.source,
        "channel": row.channel,
        "created_at": row.created_at.isoformat(),
        "brand": row.brand,
        "product": row.product,
        "text": row.text,
        "attributes": row.attributes,
    }


def stored_message(prepared: Prepared, enrichment: Enrichment, now: datetime) -> StoredMessage:
    """Combine a prepared message and its enrichment into the row stored in ``messages``."""
    msg = prepared.message
    flags = list(enrichment.flags)
    if msg.source == "review" and rating_mismatch(msg.rating, enrichment.sentiment, flags):
        flags.append("rating_mismatch")
    return StoredMessage(
        id=msg.id,
        source=msg.source,
        channel=msg.channel,
        brand=msg.brand or "",
        product=msg.product or "",
        rating=msg.rating,
        author_hash=prepared.author_hash,
        conversation_id=msg.conversation_id or "",
        role=msg.role or "",
        url=msg.url or "",
        reach=msg.reach,
        likes=msg.likes,
        attributes=prepared.attributes,
        text=prepared.text,
        text_normalized=prepared.text_normalized,
        text_search=prepared.text_search,
        pii_kinds=prepared.pii_kinds,
        language=prepared.language,
        sentiment=enrichment.sentiment,
        sentiment_score=enrichment.sentiment_score,
        topics=tuple(t.topic for t in enrichment.topics),
        topic_scores=tuple(t.score for t in enrichment.topics),
        topic_sentiments=tuple(t.sentiment for t in enrichment.topics),
        aspects=tuple(a.aspect for a in enrichment.aspects),
        aspect_scores=tuple(a.score for a in enrichment.aspects),
        aspect_sentiments=tuple(a.sentiment for a in enrichment.aspects),
        flags=tuple(dict.fromkeys(flags)),
        model_version=enrichment.model_version,
        created_at=msg.created_at,
        ingested_at=now,
    )
