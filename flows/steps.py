"""The fallible steps of the dataflow: parse, prepare and enrich.

For one message, each step returns either its result or a :class:`~schemas.rows.DeadLetter`
naming the step, the kind of error, a readable reason and the raw payload (PII redacted).
The flow calls them on micro-batches (:func:`parse_batch`, :meth:`Preparer.prepare_batch`,
:class:`Enrich`): the good messages go on, the dead letters travel with the batch. One bad
message never stops the flow.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from flows.batching import MicroBatch
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
from schemas.message import InboundMessage
from schemas.rows import DeadLetter, StoredMessage

log = logging.getLogger(__name__)

#: Dead-letter payloads longer than this are cut (the size column keeps the full length).
MAX_DEAD_PAYLOAD_CHARS = 1_000_000

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Wall-clock time, timezone-aware UTC."""
    return datetime.now(UTC)


# -- parse -------------------------------------------------------------------------------------


def payload_text(payload: bytes | str | dict[str, Any]) -> str:
    """The payload as text for a dead-letter row; undecodable bytes shown as escapes."""
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="backslashreplace")
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, default=str)


def dead_letter(
    step: str,
    error_type: str,
    reason: str,
    origin: str,
    position: int,
    payload: bytes | str | dict[str, Any],
    now: datetime,
) -> DeadLetter:
    """Build a dead letter; the payload is PII-redacted and cut to a safe length."""
    text = payload_text(payload)
    size = len(text)
    stored = redact(text[:MAX_DEAD_PAYLOAD_CHARS]).text
    return DeadLetter(step, error_type, reason, origin, position, stored, size, now)


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
    if field == "created_at":
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
    else:
        error_type = "invalid_message"
    return error_type, "; ".join(parts)


def parse_record(record: RawRecord | SourceError, now: Clock = utc_now) -> Parsed | DeadLetter:
    """Decode and validate one raw payload against the inbound message contract.

    A :class:`SourceError` (the source could not read a payload) becomes a dead letter of
    the ``read`` step.
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
        )
    payload = record.payload
    value: Any
    if isinstance(payload, dict):
        value = payload
    else:
        if isinstance(payload, bytes):
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad, at = payload[exc.start], exc.start
                reason = f"payload is not valid UTF-8: byte 0x{bad:02x} at offset {at}"
                return dead_letter(
                    "parse", "invalid_utf8", reason, record.origin, record.position, payload, now()
                )
        else:
            text = payload
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            return dead_letter(
                "parse", "invalid_json", reason, record.origin, record.position, payload, now()
            )
    try:
        message = InboundMessage.model_validate(value)
    except ValidationError as exc:
        error_type, reason = _validation_summary(exc)
        return dead_letter(
            "parse", error_type, reason, record.origin, record.position, payload, now()
        )
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


def parse_batch(batch: MicroBatch[RawRecord | SourceError], now: Clock = utc_now) -> ParsedBatch:
    """Parse a micro-batch: its valid messages, and a dead letter for each bad payload."""
    dead: list[DeadLetter] = []
    ok = _sort_out((parse_record(record, now) for record in batch.items), dead)
    return ParsedBatch(batch.origin, ok, dead)


# -- prepare -----------------------------------------------------------------------------------


class Preparer:
    """Redact PII, normalize, fold diacritics, identify the language, hash the author."""

    def __init__(self, author_salt: str, pii: PiiConfig = DEFAULT_PII, now: Clock = utc_now):
        self._salt = author_salt.encode("utf-8")
        self._pii = pii
        self._now = now

    def hash_author(self, author: str | None) -> str:
        """HMAC-SHA256 of the author id with the salt; empty when there is no author."""
        if not author:
            return ""
        return hmac.new(self._salt, author.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def __call__(self, parsed: Parsed) -> Prepared | DeadLetter:
        """Prepare one message, or return a dead letter if any of the text steps fails."""
        msg = parsed.message
        try:
            redacted = redact(msg.text, self._pii)
            kinds = set(redacted.kinds)
            attributes = "{}"
            if msg.attributes:
                attrs = redact(json.dumps(msg.attributes, ensure_ascii=False), self._pii)
                attributes = attrs.text
                kinds.update(attrs.kinds)
            text_normalized = normalize(redacted.text)
            return Prepared(
                message=msg,
                origin=parsed.origin,
                position=parsed.position,
                text=redacted.text,
                text_normalized=text_normalized,
                text_search=strip_diacritics(text_normalized),
                language=detect_language(redacted.text),
                pii_kinds=tuple(sorted(kinds)),
                author_hash=self.hash_author(msg.author),
                attributes=attributes,
            )
        except Exception as exc:  # one bad message must not stop the flow
            log.warning("prepare failed for message %s: %s", msg.id, type(exc).__name__)
            return dead_letter(
                "prepare",
                type(exc).__name__,
                f"text preparation failed: {exc}",
                parsed.origin,
                parsed.position,
                msg.model_dump(mode="json"),
                self._now(),
            )

    def prepare_batch(self, batch: ParsedBatch) -> PreparedBatch:
        """Prepare a micro-batch; messages that fail join its dead letters."""
        dead = list(batch.dead)
        ok = _sort_out((self(parsed) for parsed in batch.items), dead)
        return PreparedBatch(batch.origin, ok, dead)


# -- enrich ------------------------------------------------------------------------------------

EnricherFactory = Callable[[], Enricher]


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
        categories: CategoryMap | None = None,
    ):
        self._factory = factory
        self._now = now
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
        results: Sequence[Enrichment | Exception]
        try:
            results = enricher.enrich_batch(
                [p.text_normalized for p in batch], [self.context(p) for p in batch]
            )
            if len(results) != len(batch):
                msg = (
                    f"enricher {enricher.version} returned {len(results)} results for "
                    f"{len(batch)} texts"
                )
                raise ValueError(  # noqa: TRY301
                    msg
                )
        except Exception as exc:
            log.warning("enrich_batch failed (%s); retrying message by message", exc)
            results = [self._enrich_one(enricher, p) for p in batch]
        now = self._now()
        rows: list[StoredMessage] = []
        for message, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                dead.append(
                    dead_letter(
                        "enrich",
                        type(result).__name__,
                        f"enricher {enricher.version} failed: {result}",
                        message.origin,
                        message.position,
                        message.message.model_dump(mode="json"),
                        now,
                    )
                )
            else:
                rows.append(stored_message(message, result, now))
        return EnrichedBatch(rows, dead, origin)

    def context(self, prepared: Prepared) -> MessageContext:
        """What the enricher should know about a message besides its text."""
        msg = prepared.message
        return MessageContext(
            source=msg.source,
            category=self._categories.category(msg.attributes, msg.brand, msg.product),
            rating=msg.rating,
        )

    def _enrich_one(self, enricher: Enricher, prepared: Prepared) -> Enrichment | Exception:
        try:
            return enricher.enrich_batch([prepared.text_normalized], [self.context(prepared)])[0]
        except Exception as exc:
            return exc


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
