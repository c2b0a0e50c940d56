r"""The inbound message contract: one JSON object per review, chat turn or social mention.

``InboundMessage`` is the single source of truth; ``schemas/message.schema.json`` is exported
from it by ``voc schema`` and a test keeps the two in sync.

Rules beyond the field types:

- unknown top-level fields are kept in ``attributes``, never rejected;
- a message without ``id`` gets a deterministic one derived from its content, so a
  re-delivered copy collapses onto the same stored row;
- ``created_at`` is event time: an ISO 8601 string with a UTC offset. A missing, naive or
  unparsable time, or one the storage cannot hold (before 1970 or after 2105 in UTC), is
  rejected (it becomes a dead letter), never guessed;
- chats carry ``conversation_id`` and ``role``;
- numeric ``id``, ``author`` and ``conversation_id`` (Zalo and Facebook ids) are taken as
  their decimal strings;
- ``rating``, ``reach`` and ``likes`` are whole numbers: a JSON integer, a JSON number with
  no fraction (``4.0``) or a string of ASCII digits (``"1200"``); never a boolean, a
  fraction, a sign, separators or exponents; ``reach`` and ``likes`` below 2**64;
- a text of nothing but whitespace and invisible characters (zero-width spaces and joiners,
  bidi marks, fillers) is empty;
- every string must be Unicode text: a lone surrogate (JSON ``"\udfff"``) anywhere,
  ``attributes`` and unknown fields included, is rejected, since UTF-8 cannot encode it;
- ``attributes`` (with the unknown fields) take at most :data:`MAX_ATTRIBUTES_BYTES` as
  compact JSON (UTF-8); a caller may pass another cap in the validation context
  (``{"max_attributes_bytes": n}``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NoReturn

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from schemas.storable import UINT64_MAX, string_problem, time_problem

#: Longest accepted ``text``, in characters; longer messages become dead letters.
MAX_TEXT_CHARS = 10_000

#: Default cap of ``attributes`` (unknown fields included) as compact UTF-8 JSON, in bytes.
MAX_ATTRIBUTES_BYTES = 64 * 1024

#: Fields whose numeric values are taken as their decimal strings.
_ID_FIELDS = ("id", "author", "conversation_id")
_STRING_FIELDS = ("id", "channel", "text", "brand", "product", "author", "conversation_id", "url")
_DIGITS = re.compile(r"[0-9]{1,20}")
#: Letters that render as nothing (Hangul and braille fillers), beside categories Cc and Cf.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")

#: Prefix of ids derived from content for messages that came without one.
DERIVED_ID_PREFIX = "auto-"

Source = Literal["review", "chat", "social"]
Role = Literal["customer", "agent"]

#: What an ``id`` may be: 1-128 ASCII letters, digits and ``. _ : / # + = -``, starting with
#: a letter or a digit. No space, quote, bracket, ``@`` or control character can reach a
#: query, a board or a terminal through it.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/#+=-]{0,127}$"
#: What a ``channel`` may be: 1-32 characters, a lowercase letter then lowercase letters,
#: digits, ``_``, ``.`` or ``-``, with at most 4 digits in all, so it can never hold a phone,
#: card, account or ID number, an email or an address.
CHANNEL_PATTERN = r"^[a-z][a-z0-9_.-]{0,31}$"
CHANNEL_MAX_DIGITS = 4

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


def derive_id(payload: dict[str, Any]) -> str:
    """Return a stable id for a message that came without one.

    The id hashes the canonical JSON of every field the sender gave, so the same payload
    always gets the same id whatever the order of its keys.
    """
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    # a lone surrogate hashes too (the message is refused later, with the reason)
    digest = hashlib.blake2b(canonical.encode("utf-8", "surrogatepass"), digest_size=12)
    return f"{DERIVED_ID_PREFIX}{digest.hexdigest()}"


def parse_event_time(value: object) -> datetime:
    """Parse an ISO 8601 time with a UTC offset into an aware UTC datetime.

    Raises ``ValueError`` (which pydantic reports as a validation error) for anything else:
    numbers, naive times and strings that are not ISO 8601. The message never repeats the
    value (it could be anything, personal data included), only its length.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) > 64:
        msg = f"expected an ISO 8601 time with a UTC offset, got {len(value)} characters"
        raise ValueError(msg)
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            msg = (
                "expected an ISO 8601 time with a UTC offset (e.g. 2026-11-20T14:03:00+07:00), "
                f"got {len(text)} characters that are not one"
            )
            raise ValueError(msg) from None
    else:
        msg = f"expected an ISO 8601 string, got {type(value).__name__}"
        raise ValueError(msg)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        msg = "created_at has no UTC offset; add one, e.g. +07:00 or Z"
        raise ValueError(msg)
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:
        msg = "created_at leaves the years 1-9999 once converted to UTC"
        raise ValueError(msg) from None
    problem = time_problem(utc)
    if problem is not None:
        msg = f"created_at {problem}"
        raise ValueError(msg)
    return utc


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only whitespace, control and invisible characters.

    Zero-width spaces and joiners, bidi marks and the byte-order mark are format
    characters (category Cf); Hangul and braille fillers render as blanks too.
    """
    return all(
        ch.isspace() or ch in _FILLERS or unicodedata.category(ch) in ("Cc", "Cf") for ch in text
    )


def whole_number(value: object) -> object:
    """A count or rating as an ``int`` under the strict coercions of the contract.

    A JSON integer; a finite number with no fraction (``4.0``); a string of 1-20 ASCII
    digits. Booleans, fractions, NaN, infinities, signs, spaces, separators and exponents
    are refused (``wrong_type``). ``None`` passes (the field is optional).
    """
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    if isinstance(value, bool):
        got = "a boolean"
    elif isinstance(value, float):
        got = "a fraction" if math.isfinite(value) else "a number that is not finite"
    elif isinstance(value, str):
        got = "a string that is not only ASCII digits"
    else:
        got = type(value).__name__
    refuse("int_type", "expected a whole number (integer or string of digits), got {got}", got=got)


def refuse(error_type: str, template: str, **context: Any) -> NoReturn:
    """Raise the validation error ``error_type`` with a message from ``template``."""
    raise PydanticCustomError(error_type, template, context)


def attributes_json(attributes: dict[str, Any]) -> str:
    """``attributes`` as the compact JSON text that is stored (``ValueError`` for NaN)."""
    return json.dumps(attributes, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class InboundMessage(BaseModel):
    """One piece of customer feedback as it arrives from a source."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={"additionalProperties": True},
        title="voc-stream inbound message",
    )

    id: str = Field(
        description="Unique per source: 1-128 ASCII letters, digits and . _ : / # + = -, "
        "starting with a letter or a digit. Optional: derived from the content when absent. "
        "An id holding personal data is stored as pii- and its salted hash.",
        json_schema_extra={"pattern": ID_PATTERN},
    )
    source: Source = Field(description="What kind of feedback this is.")
    channel: str = Field(
        description="Where it came from, e.g. shopee, tiki, lazada, zalo, facebook, tiktok, "
        "app_store, hotline_chat. Lower-cased; 1-32 characters: a letter, then letters, "
        "digits, _ . -, with at most 4 digits.",
        json_schema_extra={"pattern": CHANNEL_PATTERN},
    )
    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description="The feedback itself, as written. Not empty, at most 10,000 characters.",
    )
    created_at: datetime = Field(
        description="Event time: ISO 8601 with a UTC offset, e.g. 2026-11-20T14:03:00+07:00.",
        json_schema_extra={"format": "date-time"},
    )
    brand: ShortText | None = Field(default=None, description="Brand the feedback is about.")
    product: ShortText | None = Field(default=None, description="Product name or SKU.")
    rating: int | None = Field(
        default=None,
        ge=1,
        le=5,
        description='Star rating, reviews: a whole number 1-5 (4.0 and "4" are taken too).',
    )
    author: ShortText | None = Field(
        default=None, description="Author handle or id; hashed with a salt before storage."
    )
    conversation_id: ShortText | None = Field(
        default=None, description="Chats: the conversation this turn belongs to."
    )
    role: Role | None = Field(default=None, description="Chats: who wrote this turn.")
    url: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        default=None, description="Link to the original post or review."
    )
    reach: int | None = Field(
        default=None,
        ge=0,
        le=UINT64_MAX,
        description="Social: audience reached, a whole number (a string of digits is taken too).",
    )
    likes: int | None = Field(
        default=None,
        ge=0,
        le=UINT64_MAX,
        description="Social: likes or reactions, a whole number (a string of digits too).",
    )
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description="Free-form extra fields. Unknown top-level fields are moved here.",
    )

    @model_validator(mode="before")
    @classmethod
    def _gather_unknown_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            kind = "array" if isinstance(data, list) else type(data).__name__
            msg = f"expected a JSON object, got {kind}"
            raise ValueError(msg)  # noqa: TRY004
        known = cls.model_fields.keys()
        extra = {k: v for k, v in data.items() if k not in known}
        out = {k: v for k, v in data.items() if k in known}
        if extra:
            given = out.get("attributes")
            if given is not None and not isinstance(given, dict):
                return out  # let field validation report the bad attributes
            out["attributes"] = {**extra, **(given or {})}
        for name in _ID_FIELDS:  # numeric ids are common (Zalo, Facebook); still ids
            if isinstance(out.get(name), int) and not isinstance(out[name], bool):
                out[name] = str(out[name])
        for name in _STRING_FIELDS:
            value = out.get(name)
            if isinstance(value, str) and (problem := string_problem(value)) is not None:
                refuse("invalid_unicode", "{field} {problem}", field=name, problem=problem)
        if out.get("id") in (None, ""):
            out["id"] = derive_id({k: v for k, v in data.items() if k != "id"})
        return out

    @field_validator("channel", mode="before")
    @classmethod
    def _lower_channel(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("channel")
    @classmethod
    def _channel_form(cls, value: str) -> str:
        if (
            not re.fullmatch(CHANNEL_PATTERN, value)
            or sum(c.isdigit() for c in value) > CHANNEL_MAX_DIGITS
        ):
            msg = (
                "expected 1-32 characters: a letter, then letters, digits, '_', '.' or '-', "
                f"with at most {CHANNEL_MAX_DIGITS} digits (e.g. shopee, app_store); "
                f"got {len(value)} characters"
            )
            raise ValueError(msg)
        return value

    @field_validator("id", mode="before")
    @classmethod
    def _strip_id(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        if not re.fullmatch(ID_PATTERN, value):
            msg = (
                "expected 1-128 ASCII letters, digits and . _ : / # + = -, starting with a "
                f"letter or a digit; got {len(value)} characters"
            )
            raise ValueError(msg)
        return value

    @field_validator("created_at", mode="before")
    @classmethod
    def _event_time(cls, value: object) -> datetime:
        return parse_event_time(value)

    @field_validator("rating", "reach", "likes", mode="before")
    @classmethod
    def _whole_number(cls, value: object) -> object:
        return whole_number(value)

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if is_blank(value):
            msg = "text is empty or only whitespace and invisible characters"
            raise ValueError(msg)
        return value

    @field_validator("attributes")
    @classmethod
    def _attributes_storable(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if not value:
            return value
        try:
            text = attributes_json(value)
        except (ValueError, TypeError) as exc:
            refuse("wrong_type", "attributes cannot be stored as JSON: {why}", why=str(exc))
        problem = string_problem(text)
        if problem is not None:
            refuse("invalid_unicode", "attributes as JSON {problem}", problem=problem)
        context = info.context if isinstance(info.context, dict) else {}
        cap = int(context.get("max_attributes_bytes", MAX_ATTRIBUTES_BYTES))
        size = len(text.encode("utf-8"))
        if size > cap:
            refuse(
                "attributes_too_large",
                "attributes take {size} bytes as JSON, more than the {cap} allowed",
                size=size,
                cap=cap,
            )
        return value

    @model_validator(mode="after")
    def _chat_fields(self) -> InboundMessage:
        if self.source == "chat" and (self.conversation_id is None or self.role is None):
            msg = "a chat message needs conversation_id and role (customer or agent)"
            raise ValueError(msg)
        return self


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the inbound message, as committed in message.schema.json."""
    schema = InboundMessage.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://voc-stream.dev/schemas/message.schema.json"
    schema["required"] = [f for f in schema.get("required", []) if f != "id"]
    return schema


def json_schema_text() -> str:
    """Return the JSON Schema as the exact text committed to the repository."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "CHANNEL_PATTERN",
    "DERIVED_ID_PREFIX",
    "ID_PATTERN",
    "MAX_ATTRIBUTES_BYTES",
    "MAX_TEXT_CHARS",
    "InboundMessage",
    "Role",
    "Source",
    "attributes_json",
    "derive_id",
    "is_blank",
    "json_schema",
    "json_schema_text",
    "parse_event_time",
    "whole_number",
]
