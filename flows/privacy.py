"""What the flow keeps of a message: free text redacted, personal identifiers hashed.

Every value that reaches storage or output passes one :class:`Privacy`, built once from the
salt (``VOC_AUTHOR_SALT``) and the PII settings:

======================================  ==================================================
value                                   what is kept
======================================  ==================================================
``text``, ``brand``, ``product``        the canonical text with personal data replaced by
                                        placeholders (:func:`nlp.pii.redact`)
``url``                                 the same; when the percent-decoded URL holds
                                        personal data, the redacted decoded URL
``attributes``                          every key and value, nested, redacted (numbers
                                        too); a value is read with its key before it
                                        ("stk": "1903...") so the key is its context
``author`` and identifier keys          a salted HMAC-SHA256 (32 hex characters): the
(``customer_id``, ``user_id``,          keys of ``identifiers`` in ``nlp/resources/
``sender_name``...)                     pii.yaml``, compared lowercase without ``_ - .``
``id``, ``conversation_id``             as given, unless personal data is found in them:
                                        then ``pii-`` + the HMAC, so replays still collapse
                                        and a conversation's turns still group
dead letters: ``payload``, ``reason``   the same rules: a payload that parses as JSON is
                                        rebuilt from its redacted values, any other one is
                                        made canonical (JSON escapes decoded), its
                                        identifier values hashed and its text redacted;
                                        the cut to :data:`MAX_DEAD_PAYLOAD_CHARS` comes
                                        after redaction
======================================  ==================================================

``channel`` and the form of ``id`` are enforced by the message contract
(:mod:`schemas.message`), so they cannot carry personal data or markup.

Then :class:`flows.steps.Preparer` normalizes the redacted text and checks the normalized
text once more (:meth:`Privacy.revealed`): if normalization made personal data appear that
the canonical text hid, the stored text becomes the redacted normalized text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import unquote

from nlp.normalize import canonical
from nlp.pii import (
    DEFAULT_PII,
    KINDS,
    PiiConfig,
    find_pii,
    has_context_word,
    is_identifier_key,
    phone_prefix,
    redact,
)
from schemas.errors import SchemaError
from schemas.message import InboundMessage
from schemas.rows import DeadLetter

__all__ = [
    "HASHED_ID_PREFIX",
    "MAX_DEAD_PAYLOAD_CHARS",
    "MAX_REASON_CHARS",
    "Privacy",
    "SafeMessage",
    "kinds_in_order",
]

#: Dead-letter payloads longer than this are cut, after redaction (the size column keeps
#: the full length).
MAX_DEAD_PAYLOAD_CHARS: Final = 1_000_000
#: Dead-letter reasons longer than this are cut, after redaction.
MAX_REASON_CHARS: Final = 2_000
#: Characters read beyond a cut, so personal data across it is redacted whole.
_CUT_MARGIN: Final = 512
#: Nesting deeper than this is not walked value by value: the payload is read as text.
_MAX_DEPTH: Final = 64
#: Distinct brands, products and conversation ids remembered (then the memory restarts).
_SHORT_CACHE: Final = 100_000
#: Prefix of an ``id`` or ``conversation_id`` replaced because it held personal data.
HASHED_ID_PREFIX: Final = "pii-"

_KEY_VALUE_RE = re.compile(
    r'"(?P<key>[^"\\\n]{1,80})"\s*:\s*(?P<value>"(?:[^"\\]|\\.)*(?:"|$)|-?\d[\d.eE+-]*)'
)


@dataclass(frozen=True, slots=True)
class SafeMessage:
    """A message with every stored field redacted, and what was found in it.

    ``message`` has the redacted text, brand, product, url and attributes, a safe id and
    conversation id, and no author; ``author_hash`` is the author's HMAC ("" if none).
    """

    message: InboundMessage
    kinds: tuple[str, ...]
    author_hash: str


class Privacy:
    """Redact and hash what the flow stores; one per flow, shared by its steps (thread-safe)."""

    def __init__(self, salt: str, pii: PiiConfig = DEFAULT_PII) -> None:
        self._salt = salt.encode("utf-8")
        self.pii = pii
        self._revealing = PiiConfig(
            kinds=pii.kinds - {"address"},
            order_patterns=pii.order_patterns,
            extra_order_patterns=pii.extra_order_patterns,
        )
        # an id is never an address (no space) and may be an order code (it identifies one)
        self._keys = PiiConfig(kinds=pii.kinds - {"address", "order_code"}, bare_runs_are_ids=True)
        self._urls = PiiConfig(
            kinds=pii.kinds,
            order_patterns=pii.order_patterns,
            extra_order_patterns=pii.extra_order_patterns,
            bare_runs_are_ids=True,
        )
        self._custom = bool(pii.extra_order_patterns or pii.order_patterns is not None)
        self._short: dict[tuple[str, bool], tuple[str, tuple[str, ...]]] = {}
        """Redacted brands and products, safe conversation ids: they repeat across messages."""

    # -- values -----------------------------------------------------------------------------

    def identifier(self, value: str) -> str:
        """HMAC-SHA256 of a personal identifier with the salt, 32 hex characters."""
        return hmac.new(self._salt, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def author(self, author: str | None) -> str:
        """The stored form of an author: its HMAC, or "" when there is none."""
        return self.identifier(author) if author else ""

    def key(self, value: str) -> str:
        """An ``id`` or ``conversation_id``: as given, or ``pii-`` + HMAC if it holds PII."""
        value = canonical(value)
        if _may_hold_number(value) and find_pii(value, self._keys):
            return HASHED_ID_PREFIX + self.identifier(value)
        return value

    def text(self, value: str, kinds: set[str]) -> str:
        """A free-text value, canonical and redacted; the kinds found join ``kinds``."""
        redaction = redact(value, self.pii)
        kinds.update(redaction.kinds)
        return redaction.text

    def short(self, value: str, kinds: set[str], *, key: bool = False) -> str:
        """A brand, a product or (``key``) a conversation id, remembered: they repeat."""
        found = self._short.get((value, key))
        if found is None:
            if key:
                found = (self.key(value), ())
            else:
                redaction = redact(value, self.pii)
                found = (redaction.text, redaction.kinds)
            if len(self._short) >= _SHORT_CACHE:
                self._short.clear()
            self._short[value, key] = found
        kinds.update(found[1])
        return found[0]

    def url(self, value: str, kinds: set[str]) -> str:
        """A URL: redacted; read percent-decoded too, so ``%30%39...`` hides nothing."""
        redaction = redact(value, self._urls)
        if "%" in redaction.text:
            decoded = unquote(redaction.text, errors="replace")
            if decoded != redaction.text:
                again = redact(decoded, self._urls)
                if again.kinds:
                    redaction = again
        kinds.update(redaction.kinds)
        return redaction.text

    def value(self, value: Any, kinds: set[str], key: str = "") -> Any:
        """A JSON value with every key and scalar redacted and identifiers hashed."""
        return self._walk(value, kinds, key, personal=False, depth=0)

    def revealed(self, normalized: str) -> bool:
        """Whether a normalized text shows personal data (a number, an email, a code)."""
        if not self._custom and "@" not in normalized and not _long_number(normalized):
            return False  # every packaged kind but an address needs 6 digits or an "@"
        return bool(find_pii(normalized, self._revealing))

    def _walk(self, value: Any, kinds: set[str], key: str, *, personal: bool, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            msg = f"attributes are nested deeper than {_MAX_DEPTH} levels"
            raise SchemaError(msg)
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for k, v in value.items():
                name = self.text(str(k), kinds)
                out[name] = self._walk(
                    v, kinds, name, personal=personal or is_identifier_key(name), depth=depth + 1
                )
            return out
        if isinstance(value, list | tuple):
            return [self._walk(v, kinds, key, personal=personal, depth=depth + 1) for v in value]
        if isinstance(value, bool) or value is None or isinstance(value, float):
            return value
        if personal:
            return self.identifier(str(value))
        if isinstance(value, int):
            redacted = self._in_context(str(value), key, kinds)
            return value if redacted == str(value) else redacted
        return self._in_context(str(value), key, kinds)

    def _in_context(self, value: str, key: str, kinds: set[str]) -> str:
        """Redact ``value`` read after its key: "stk" makes "1903..." a bank account."""
        plain = redact(value, self.pii)
        if key and not key.startswith("<"):
            prefix = f"{canonical(key)}: "
            joined = redact(prefix + plain.text, self.pii)
            if joined.kinds and joined.text.startswith(prefix):
                kinds.update(joined.kinds)
                kinds.update(plain.kinds)
                return joined.text[len(prefix) :]
        kinds.update(plain.kinds)
        return plain.text

    # -- messages ---------------------------------------------------------------------------

    def message(self, msg: InboundMessage) -> SafeMessage:
        """The message as it may be stored: free text redacted, identifiers hashed."""
        kinds: set[str] = set()
        update: dict[str, Any] = {
            "id": self.key(msg.id),
            "text": self.text(msg.text, kinds),
            "author": None,
            "attributes": self.value(msg.attributes, kinds) if msg.attributes else {},
        }
        for name in ("brand", "product"):
            given = getattr(msg, name)
            if given is not None:
                update[name] = self.short(given, kinds)
        if msg.url is not None:
            update["url"] = self.url(msg.url, kinds)
        if msg.conversation_id is not None:
            update["conversation_id"] = self.short(msg.conversation_id, kinds, key=True)
        return SafeMessage(
            msg.model_copy(update=update), kinds_in_order(kinds), self.author(msg.author)
        )

    # -- dead letters -----------------------------------------------------------------------

    def payload(self, payload: bytes | str | dict[str, Any]) -> tuple[str, int]:
        """A dead letter's payload as stored, and the length of the payload as received."""
        text = _payload_text(payload)
        size = len(text)
        value: Any = payload if isinstance(payload, dict) else None
        if value is None and size <= MAX_DEAD_PAYLOAD_CHARS and text[:1] in "{[":
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                value = None
        if isinstance(value, dict | list):
            try:
                stored = json.dumps(self.value(value, set()), ensure_ascii=False)
            except (SchemaError, RecursionError, ValueError):
                pass
            else:
                if len(stored) <= MAX_DEAD_PAYLOAD_CHARS:
                    return stored, size
                return self._raw(stored), size
        return self._raw(text), size

    def reason(self, reason: str) -> str:
        """A dead letter's reason as stored: redacted, then cut."""
        return self._cut(reason, MAX_REASON_CHARS, self._hash_identifier_values)

    def dead_letter(
        self,
        step: str,
        error_type: str,
        reason: str,
        origin: str,
        position: int,
        payload: bytes | str | dict[str, Any],
        now: datetime,
    ) -> DeadLetter:
        """A dead letter whose reason and payload are redacted and identifiers hashed."""
        stored, size = self.payload(payload)
        return DeadLetter(
            step, error_type, self.reason(reason), origin, position, stored, size, now
        )

    def _raw(self, text: str) -> str:
        return self._cut(text, MAX_DEAD_PAYLOAD_CHARS, self._hash_identifier_values)

    def _cut(self, text: str, limit: int, scrub: Callable[[str], str]) -> str:
        """Redact ``text`` (and a margin past ``limit``), then cut it to ``limit``."""
        head = canonical(text[: limit + _CUT_MARGIN])
        return redact(scrub(head), self.pii).text[:limit]

    def _hash_identifier_values(self, text: str) -> str:
        """Hash the values of identifier keys in JSON-like text that did not parse."""

        def hashed(match: re.Match[str]) -> str:
            if not is_identifier_key(match.group("key")):
                return match.group()
            value = match.group("value").strip('"')
            start = match.start("value") - match.start()
            return f'{match.group()[:start]}"{self.identifier(value)}"'

        return _KEY_VALUE_RE.sub(hashed, text) if '"' in text else text


def _digit_count(text: str) -> int:
    return sum(map(str.isdigit, text))


_KEY_CHAIN_RE = re.compile(r"\d+(?:[^A-Za-z0-9]{1,3}\d+)*")
_DIGITS_RE = re.compile(r"\d+")


def _may_hold_number(value: str) -> bool:
    """Whether an id could hold an email, a phone, a card, an ID or an account number.

    A quick necessary condition of :func:`nlp.pii.find_pii` (a test checks it): 6+ digits
    in a chain, and 12+ of them (a card, a CCCD), a "+" or a group starting like a phone
    number with 10+ digits from it, or a context word ("stk", "cmnd"); or an "@".
    """
    if "@" in value:
        return True
    context: bool | None = None
    for match in _KEY_CHAIN_RE.finditer(value):
        groups = _DIGITS_RE.findall(match.group())
        remaining = sum(map(len, groups))
        if remaining < 6:
            continue
        if remaining >= 12 or "+" in value:
            return True
        for k, group in enumerate(groups):
            if remaining >= 10 and phone_prefix("".join(groups[k:])):
                return True
            remaining -= len(group)
        if context is None:
            context = has_context_word(value)
        if context:
            return True
    return False


_CHAIN_RE = re.compile(r"\d(?:[ .,\-()]{0,2}\d)*")
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:[.,]\d{3})+")


def _long_number(text: str) -> bool:
    """Whether ``text`` has 6+ digits in a row or in groups, not written as thousands."""
    for match in _CHAIN_RE.finditer(text):
        chain = match.group()
        if len(chain) >= 6 and _digit_count(chain) >= 6 and not _THOUSANDS_RE.fullmatch(chain):
            return True
    return False


def _payload_text(payload: bytes | str | dict[str, Any]) -> str:
    """The payload as text; undecodable bytes shown as escapes."""
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="backslashreplace")
    if isinstance(payload, str):
        return payload
    try:
        return json.dumps(payload, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return repr(payload)


def kinds_in_order(kinds: Iterable[str]) -> tuple[str, ...]:
    """The kinds in the order of :data:`nlp.pii.KINDS`, each once."""
    found = set(kinds)
    return tuple(k for k in KINDS if k in found)
