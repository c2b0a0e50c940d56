"""PII redaction for Vietnamese customer text, run before anything is stored or logged.

:func:`redact` replaces personal data with readable placeholders and says which kinds it
found::

    >>> redact("sđt 0912 345 678, giao tới 12 Nguyễn Trãi, P.2, Q.5 giúp em")
    Redaction(text='sđt <phone>, giao tới <address> giúp em', kinds=('phone', 'address'))

Kinds and how each is recognised (tables in ``nlp/resources/pii.yaml``):

``email``
    ``name@domain.tld``.
``phone``
    Vietnamese numbers with a 0, 84 or +84 prefix: 10-digit mobiles with a current prefix
    (03x, 05x, 07x, 08x, 09x), pre-2018 11-digit 01x mobiles, 11-digit landlines (02x),
    written whole or grouped with spaces, dots, dashes or brackets ("0912 345 678",
    "(+84) 912.345.678", "(028) 3822 1234", "+84 (0)912 345 678"). Without a phone
    word nearby, a 0-prefixed number whose first two groups have 2 digits is a date
    ("09.10.2025 10"), not a phone.
``id_number``
    9-digit CMND or 12-digit CCCD after a context word (cmnd, cccd, căn cước, cmt, số định
    danh...), or any 12-digit number shaped like a CCCD (valid province code and century
    digit) even without one.
``bank_account``
    6-19 digits near a bank context word (stk, số tài khoản, chuyển khoản, vcb, techcombank,
    mb, momo...), before or after the number.
``card``
    13-19 digits passing the Luhn check, whole or in groups of four (or 4-6-5); after a card
    word ("thẻ", "số thẻ", "visa", "card") such a number is a card even when the Luhn check
    fails, and a card even when a bank is named nearer ("thẻ Vietcombank 4532 ..."); grouped
    like a card (4-4-4-4, 4-6-5), with a card network's prefix and passing the check, it is a
    card near an account word too.
``address``
    A house number followed by a street name and/or administrative units ("12A Nguyễn Trãi,
    P.2, Q.5, TP.HCM", "số 45 ngõ 12 phố Huế", "hẻm 123/4 Lê Văn Sỹ", "kiệt 25 Hoàng
    Diệu, Đà Nẵng", "xóm 4, xã Nghi Phong, huyện Nghi Lộc"), with or without diacritics,
    read by a small scanner that scores the evidence (see ``_AddressScan``). A district or
    a city alone is not redacted ("giao về quận 7"), nor is a quantity ("2 cái áo, quận 7").
``order_code``
    The regular expressions of :class:`PiiConfig` (``order_patterns``): marketplace order
    ids, carrier tracking codes, any code right after "mã đơn", "mã vận đơn", "đơn hàng",
    "order", and a code of 8+ letters and digits (4+ digits) right after a bare "đơn"
    ("Đơn 2404TX8K2PLM"); never a price ("đơn 150000 đồng").

Short numbers glued to letters ("256GB", "SM-A556", "50k"), numbers written as thousands
("199.000", "2.500.000"), dates ("26-10-2018") and numbers followed by a currency word are
never personal data. What is not caught: numbers spelled out in words or with a separator
between every digit, bank accounts with no bank word nearby, addresses without a house
number, street names typed without diacritics that read as a place ("vo van tan binh
thanh": "tan binh" is a district). ``bench/pii.py`` prints recall per kind on generated
text and the share of PII-free texts that get any redaction.

Personal data is looked for in the canonical text (:func:`nlp.normalize.canonical`: JSON
escapes and HTML entities decoded, tags read, NFKC, every decimal digit ASCII, invisible
characters removed), so full-width digits, zero-width or no-break spaces inside a number,
``&#48;`` entities and JSON unicode escapes hide nothing; and on its separator view, so a
number split by an emoji or a symbol that normalization turns into a space is found as
well. Runs of spaces and any dash between digit groups count as one separator.

:func:`find_pii` returns the spans on the canonical text; :func:`redact` replaces them and
returns the canonical text. The flow stores ``redact(raw).text`` and normalizes that, so no
later step can reveal a number redaction missed (a property test checks that
``find_pii(normalize(redact(x).text))`` finds nothing). Both are pure and thread-safe, and
``redact(redact(x).text) == redact(x)``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, Final, Literal, cast

from nlp._tables import read_mapping, resource_path
from nlp.normalize import canonical, separator_view, strip_diacritics
from schemas.errors import ConfigError

__all__ = [
    "DEFAULT_PII",
    "KINDS",
    "PiiConfig",
    "PiiKind",
    "PiiSpan",
    "Redaction",
    "find_pii",
    "has_context_word",
    "is_identifier_key",
    "phone_prefix",
    "redact",
]

PiiKind = Literal["email", "phone", "id_number", "bank_account", "card", "address", "order_code"]
KINDS: Final[tuple[PiiKind, ...]] = (
    "email",
    "phone",
    "id_number",
    "bank_account",
    "card",
    "address",
    "order_code",
)
"""Every kind, in the order :attr:`Redaction.kinds` lists them."""


@dataclass(frozen=True)
class PiiConfig:
    """What to redact.

    ``order_patterns`` are case-insensitive regular expressions for order and tracking
    codes; ``None`` means the packaged defaults of ``nlp/resources/pii.yaml``, and
    ``extra_order_patterns`` are added to whichever set is used. A pattern with a group named
    ``code`` redacts only that group (so "mã đơn" stays readable), otherwise the whole match.
    """

    kinds: frozenset[PiiKind] = frozenset(KINDS)
    order_patterns: tuple[str, ...] | None = None
    extra_order_patterns: tuple[str, ...] = ()
    bare_runs_are_ids: bool = False
    """For URLs and identifiers: an unbroken run of 13-19 digits is an object id (a post, a
    video, a user), a card only after a card word; grouped card numbers still are cards."""

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            msg = f"PiiConfig.kinds: expected some of {list(KINDS)}, got unknown {sorted(unknown)}"
            raise ConfigError(msg)
        for pattern in (*(self.order_patterns or ()), *self.extra_order_patterns):
            _compile_order(pattern)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> PiiConfig:
        """Build a config from YAML or settings: ``{"kinds": [...], "order_patterns": [...]}``.

        Keys are the field names; ``kinds`` may also be a comma-separated string. Unknown keys
        and wrongly typed values raise :class:`ConfigError`.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(mapping) - known
        if unknown:
            msg = (
                f"PII settings: expected keys among {sorted(known)}, got unknown {sorted(unknown)}"
            )
            raise ConfigError(msg)
        values: dict[str, Any] = {}
        if "kinds" in mapping:
            kinds = mapping["kinds"]
            if isinstance(kinds, str):
                kinds = [k.strip() for k in kinds.split(",") if k.strip()]
            values["kinds"] = frozenset(_strings(kinds, "kinds"))
        if "order_patterns" in mapping and mapping["order_patterns"] is not None:
            values["order_patterns"] = tuple(_strings(mapping["order_patterns"], "order_patterns"))
        if "extra_order_patterns" in mapping:
            values["extra_order_patterns"] = tuple(
                _strings(mapping["extra_order_patterns"], "extra_order_patterns")
            )
        return cls(**values)


def _strings(value: object, name: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        msg = f"PII settings: {name} must be a list of strings, got {type(value).__name__}"
        raise ConfigError(msg)
    out = list(value)
    if not all(isinstance(v, str) for v in out):
        msg = f"PII settings: {name} must be a list of strings, got {out!r}"
        raise ConfigError(msg)
    return cast(list[str], out)


def _compile_order(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        msg = f"PII order pattern {pattern!r} is not a valid regular expression: {exc}"
        raise ConfigError(msg) from exc


DEFAULT_PII: Final = PiiConfig()
"""Every kind, packaged order patterns."""


@dataclass(frozen=True, slots=True)
class Redaction:
    """A redacted text and the kinds of personal data that were replaced in it."""

    text: str
    kinds: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class _Tables:
    window_before: int
    window_after: int
    mobile_prefixes: frozenset[str]
    old_mobile_prefixes: frozenset[str]
    landline_prefix: str
    provinces: frozenset[str]
    context: dict[str, tuple[tuple[str, ...], ...]]
    """Context phrases (folded word tuples) by first word, longest first."""
    context_kind: dict[tuple[str, ...], str]
    house_prefix: dict[str, tuple[_Phrase, ...]]
    street: dict[str, tuple[_Phrase, ...]]
    area: dict[str, tuple[_Phrase, ...]]
    admin: dict[str, tuple[_Phrase, ...]]
    places: dict[str, tuple[_Phrase, ...]]
    street_starts: dict[str, tuple[_Phrase, ...]]
    stop_words: frozenset[str]
    stop_words_plain: frozenset[str]
    quantity_words: frozenset[str]
    quantity_words_plain: frozenset[str]
    admin_words: frozenset[str]
    start_words: frozenset[str]
    start_phrases: frozenset[tuple[str, ...]]
    """Street and area keywords, folded, as word tuples."""
    prefix_phrases: frozenset[tuple[str, ...]]
    before_words: frozenset[str]
    """Last words of the start and prefix phrases: a quick test before matching phrases."""
    """House-number prefixes ("số nhà", "sn"), folded, as word tuples."""
    """First words that may follow a bare house number: street/area keywords, street starts."""
    order_patterns: tuple[str, ...]
    identifier_keys: frozenset[str]
    identifier_owners: tuple[str, ...]
    identifier_suffixes: frozenset[str]


_Phrase = tuple[tuple[str, ...], tuple[str, ...]]
"""A phrase as (folded words, lowercase words as written)."""


def _phrases(words: Iterable[str]) -> dict[str, tuple[_Phrase, ...]]:
    """Index phrases by their first folded word, longest first, for matching on tokens."""
    index: dict[str, set[_Phrase]] = {}
    for phrase in words:
        folded = tuple(_fold(str(phrase)).split())
        written = tuple(str(phrase).lower().split())
        if folded and len(folded) == len(written):
            index.setdefault(folded[0], set()).add((folded, written))
    return {k: tuple(sorted(v, key=lambda p: len(p[0]), reverse=True)) for k, v in index.items()}


def _context_index(phrases: Iterable[str]) -> dict[str, tuple[tuple[str, ...], ...]]:
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        words = tuple(phrase.split())
        index.setdefault(words[0], []).append(words)
    return {k: tuple(sorted(v, key=len, reverse=True)) for k, v in index.items()}


def _section(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    if not isinstance(value, Mapping):
        msg = f"{resource_path('pii.yaml')}: expected a mapping under {name!r}, got {value!r}"
        raise ConfigError(msg)
    return value


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    path = resource_path("pii.yaml")
    data = read_mapping(path, "PII tables")
    phone = _section(data, "phone")
    ident = _section(data, "id_number")
    bank = _section(data, "bank_account")
    card = _section(data, "card")
    address = _section(data, "address")
    order = _section(data, "order_code")
    identifiers = _section(data, "identifiers")

    context_kind: dict[str, str] = {}
    for kind, section in (
        ("card", card),
        ("phone", phone),
        ("bank_account", bank),
        ("id_number", ident),
    ):
        for phrase in section.get("context", []):
            context_kind[" ".join(_fold(str(phrase)).split())] = kind
    patterns = []
    for entry in order.get("patterns", []):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("pattern"), str):
            msg = f"{path}: order_code.patterns entries need a 'pattern' string, got {entry!r}"
            raise ConfigError(msg)
        patterns.append(entry["pattern"])
    return _Tables(
        window_before=int(data.get("window_before", 40)),
        window_after=int(data.get("window_after", 24)),
        mobile_prefixes=frozenset(map(str, phone.get("mobile_prefixes", []))),
        old_mobile_prefixes=frozenset(map(str, phone.get("old_mobile_prefixes", []))),
        landline_prefix=str(phone.get("landline_prefix", "02")),
        provinces=frozenset(map(str, ident.get("cccd_provinces", []))),
        context=_context_index(context_kind),
        context_kind={tuple(p.split()): k for p, k in context_kind.items()},
        house_prefix=_phrases(address.get("house_prefix", [])),
        street=_phrases(address.get("street", [])),
        area=_phrases(address.get("area", [])),
        admin=_phrases(address.get("admin", [])),
        places=_phrases(address.get("places", [])),
        street_starts=_phrases(address.get("street_starts", [])),
        stop_words=frozenset(str(w).lower() for w in address.get("stop_words", [])),
        stop_words_plain=frozenset(_fold(str(w)) for w in address.get("stop_words_plain", [])),
        quantity_words=frozenset(str(w).lower() for w in address.get("quantity_words", [])),
        quantity_words_plain=frozenset(_fold(str(w)) for w in address.get("quantity_words", [])),
        admin_words=frozenset(_fold(str(w)).split()[0] for w in address.get("admin", [])),
        start_phrases=frozenset(
            tuple(_fold(str(w)).split())
            for w in (*address.get("street", []), *address.get("area", []))
        ),
        prefix_phrases=frozenset(
            tuple(_fold(str(w)).split()) for w in address.get("house_prefix", [])
        ),
        before_words=frozenset(
            _fold(str(w)).split()[-1]
            for w in (
                *address.get("street", []),
                *address.get("area", []),
                *address.get("house_prefix", []),
            )
        ),
        start_words=frozenset(
            _fold(str(w)).split()[0]
            for w in (
                *address.get("street", []),
                *address.get("area", []),
                *address.get("street_starts", []),
            )
        ),
        order_patterns=tuple(patterns),
        identifier_keys=frozenset(_key_name(str(k)) for k in identifiers.get("keys", [])),
        identifier_owners=tuple(_key_name(str(k)) for k in identifiers.get("owners", [])),
        identifier_suffixes=frozenset(_key_name(str(k)) for k in identifiers.get("suffixes", [])),
    )


_KEY_NOISE_RE = re.compile(r"[\s_.\-]+")


def _key_name(key: str) -> str:
    return _KEY_NOISE_RE.sub("", strip_diacritics(key).lower())


@lru_cache(maxsize=4096)
def is_identifier_key(key: str) -> bool:
    """Whether a field named ``key`` holds a personal identifier (stored only as an HMAC).

    The ``identifiers`` of ``nlp/resources/pii.yaml``, compared lowercase without diacritics,
    spaces, ``_``, ``-`` and ``.``: ``author``, ``customer_id``, ``userId``, ``Họ tên``...,
    and an owner followed by a suffix (``buyer_phone``, ``receiver_name``).
    """
    name = _key_name(key)
    tables = _tables()
    if name in tables.identifier_keys:
        return True
    return any(
        name.startswith(owner) and name[len(owner) :] in tables.identifier_suffixes
        for owner in tables.identifier_owners
    )


def phone_prefix(digits: str) -> bool:
    """Whether a run of digits starts like a Vietnamese phone number (0 or 84 prefix)."""
    tables = _tables()
    national = "0" + digits[2:] if digits.startswith("84") else digits
    return (
        national[:3] in tables.mobile_prefixes
        or national[:4] in tables.old_mobile_prefixes
        or national.startswith(tables.landline_prefix)
    )


def has_context_word(text: str) -> bool:
    """Whether ``text`` holds a context word of a number kind ("sđt", "stk", "thẻ", "cccd")."""
    tables = _tables()
    if text.isascii():  # the first word of a phrase is enough to say no
        words = _CONTEXT_WORD_RE.findall(text.lower())
        if not any(word in tables.context for word in words):
            return False
    return bool(_context_words(text, 0, len(text), tables))


# A same-length fold: lowercase, diacritics off, đ -> d; combining marks become spaces so that
# positions in the folded text are positions in the original.
@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in (*range(0x41, 0x5B), *range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        char = chr(code)
        folded = strip_diacritics(char.lower())
        if len(folded) == 1 and folded != char:
            table[code] = folded
    for code in range(0x0300, 0x0370):
        table[code] = " "
    table[0x0110] = "d"
    table[0x0111] = "d"
    return table


def _fold(text: str) -> str:
    return text.translate(_fold_table())


# --------------------------------------------------------------------------------------------
# Compiled redactor per config


@dataclass(frozen=True)
class _Redactor:
    kinds: frozenset[str]
    gated: tuple[re.Pattern[str], ...]
    """Packaged order patterns: only tried on texts with a code-like token (_code_like)."""
    always: tuple[re.Pattern[str], ...]
    """Order patterns given in the config: always tried."""


@lru_cache(maxsize=32)
def _redactor(config: PiiConfig) -> _Redactor:
    packaged = config.order_patterns is None
    base = _tables().order_patterns if packaged else (config.order_patterns or ())
    compiled = tuple(_compile_order(p) for p in base)
    extra = tuple(_compile_order(p) for p in config.extra_order_patterns)
    return _Redactor(
        kinds=frozenset(config.kinds),
        gated=compiled if packaged else (),
        always=extra if packaged else compiled + extra,
    )


_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])"
)
_DIGITS_RE = re.compile(r"\d+")
_NEEDS_WORK_RE = re.compile(r"[\d@]")
_MAX_PASSES = 8
_CONTEXT_WORD_RE = re.compile(r"[a-z]+")
_SENTENCE_BREAK_RE = re.compile(r"[\n!?;]|\.(?:\s|$)")
_PLACEHOLDER_RE = re.compile(r"<(?:phone|email|id_number|bank_account|card|address|order_code)>")
_GAPS = frozenset({" ", ".", "-", " - ", " -", "- ", ")", ") ", "(", " (", ")(", ") ("})
_SPACES_RE = re.compile(" {2,}")
_NUMBER_KINDS = frozenset({"phone", "id_number", "bank_account", "card"})
_CURRENCY_AFTER_RE = re.compile(
    r"\s?(?:đ|đồng|dong|vnd|vnđ|usd|\$|%|triệu|trieu|nghìn|nghin|ngàn|ngan|tỷ|ty)(?!\w)",
    re.IGNORECASE,
)
_PRIORITY: Final[dict[str, int]] = {
    "email": 7,
    "order_code": 6,
    "card": 5,
    "id_number": 4,
    "bank_account": 3,
    "phone": 2,
    "address": 1,
}


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """Personal data of one ``kind`` at ``text[start:end]``."""

    start: int
    end: int
    kind: str


def find_pii(text: str, config: PiiConfig = DEFAULT_PII) -> tuple[PiiSpan, ...]:
    """Return the personal data found in ``text``: non-overlapping spans, in text order.

    Spans index ``canonical(text)`` (:func:`nlp.normalize.canonical`: the same string when
    the text has no entity, escape, tag, invisible or compatibility character).
    """
    return _find(canonical(text), config)


def redact(text: str, config: PiiConfig = DEFAULT_PII) -> Redaction:
    """Replace the personal data in ``canonical(text)`` with ``<kind>`` placeholders.

    ``kinds`` lists the kinds replaced, in the order of :data:`KINDS`, each once. The text
    returned is canonical even when nothing was replaced.
    """
    text = canonical(text)
    spans = _find(text, config)
    if not spans:
        return Redaction(text, ())
    kinds = {s.kind for s in spans}
    return Redaction(_apply(text, list(spans)), tuple(k for k in KINDS if k in kinds))


def _find(text: str, config: PiiConfig) -> tuple[PiiSpan, ...]:
    """Spans of personal data in a canonical text, found on its separator view."""
    if not _NEEDS_WORK_RE.search(text):
        return ()
    view = separator_view(text)  # same length: spans found on it index the text
    found: list[PiiSpan] = []
    current = view
    for _ in range(_MAX_PASSES):  # a placeholder is shorter than what it hides, so context
        spans = _find_once(current, config)  # words come closer: look again until stable
        if not spans:
            break
        found = sorted([*found, *(_to_original(s, found) for s in spans)], key=lambda s: s.start)
        current = _apply(view, found)
        if not _NEEDS_WORK_RE.search(current):
            break
    return tuple(found)


def _to_original(span: PiiSpan, found: list[PiiSpan]) -> PiiSpan:
    """Map a span of ``_apply(text, found)`` back to ``text`` (it never covers a placeholder)."""
    shift = 0
    for done in found:  # sorted by start
        placeholder_start = done.start + shift
        if placeholder_start >= span.start:
            break
        shift += len(done.kind) + 2 - (done.end - done.start)
    return PiiSpan(span.start - shift, span.end - shift, span.kind)


def _find_once(text: str, config: PiiConfig) -> list[PiiSpan]:
    """Spans of one pass: emails, order codes and numbers; addresses when none of those."""
    redactor = _redactor(config)
    tables = _tables()
    enabled = redactor.kinds
    runs = [m.span() for m in _DIGITS_RE.finditer(text)]
    spans: list[PiiSpan] = []
    if "@" in text and "email" in enabled:
        spans.extend(PiiSpan(m.start(), m.end(), "email") for m in _EMAIL_RE.finditer(text))
    if "order_code" in enabled:
        patterns = redactor.always
        if redactor.gated and _code_like(text, runs):
            patterns = redactor.gated + patterns
        for pattern in patterns:
            for match in pattern.finditer(text):
                has_code = "code" in pattern.groupindex and match.group("code") is not None
                start, end = match.span("code") if has_code else match.span()
                if end > start:
                    spans.append(PiiSpan(start, end, "order_code"))
    if runs and enabled & _NUMBER_KINDS:
        spans.extend(_number_spans(text, runs, tables, enabled, config.bare_runs_are_ids))
    if "<" in text:  # never redact inside a placeholder (a custom pattern could match one)
        taken = [m.span() for m in _PLACEHOLDER_RE.finditer(text)]
        spans = [s for s in spans if all(s.end <= a or s.start >= b for a, b in taken)]
    if spans:
        return _resolve(spans)
    if runs and "address" in enabled:
        return _address_spans(text, runs, tables)
    return []


def _code_like(text: str, runs: list[tuple[int, int]]) -> bool:
    """Whether a 6+ character token of letters, digits and dashes holds 2+ digits."""
    n = len(text)
    for start, end in runs:
        left = start
        while left > 0 and (
            text[left - 1].isascii() and (text[left - 1].isalnum() or text[left - 1] == "-")
        ):
            left -= 1
        right = end
        while right < n and (
            text[right].isascii() and (text[right].isalnum() or text[right] == "-")
        ):
            right += 1
        if right - left >= 6 and sum(c.isdigit() for c in text[left:right]) >= 2:
            return True
    return False


def _resolve(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Keep non-overlapping spans: higher priority first, then longer, then earlier."""
    chosen: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (-_PRIORITY[s.kind], s.start - s.end, s.start)):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def _apply(text: str, spans: list[PiiSpan]) -> str:
    if not spans:
        return text
    parts: list[str] = []
    last = 0
    for span in spans:
        parts.append(text[last : span.start])
        parts.append(f"<{span.kind}>")
        last = span.end
    parts.append(text[last:])
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# Numbers: phone, ID, bank account, card


@dataclass(slots=True)
class _Group:
    start: int
    end: int
    digits: str


def _number_chains(text: str, runs: list[tuple[int, int]]) -> list[list[_Group]]:
    """Digit runs joined by single separators, 6+ digits, without groups glued to letters."""
    chains: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    n = len(text)
    for start, end in runs:
        before = text[start - 1] if start else " "
        after = text[end] if end < n else " "
        glued = before.isalpha() or before == "_" or after.isalpha() or after == "_"
        if glued and end - start < 9:
            # "SM-A556", "256GB", "50k": part of a word, and it ends the chain
            # (a run of 9+ digits is a number even when a space is missing: "0909436413Hôm")
            if current:
                chains.append(current)
            current = []
        elif current and _gap(text[current[-1][1] : start]) in _GAPS:
            current.append((start, end))
        else:
            if current:
                chains.append(current)
            current = [(start, end)]
    if current:
        chains.append(current)
    return [
        [_Group(a, b, text[a:b]) for a, b in chain]
        for chain in chains
        if sum(b - a for a, b in chain) >= 6
    ]


def _gap(between: str) -> str:
    """The text between two digit groups, runs of spaces as one (normalize collapses them)."""
    if len(between) < 2 or len(between) > 8 or "  " not in between:
        return between
    return _SPACES_RE.sub(" ", between)


def _number_spans(
    text: str,
    runs: list[tuple[int, int]],
    tables: _Tables,
    enabled: frozenset[str],
    bare_runs_are_ids: bool,
) -> list[PiiSpan]:
    spans: list[PiiSpan] = []
    for chain in _number_chains(text, runs):
        if _date(chain, text):
            continue
        contexts: list[tuple[int, int, str]] | None = None
        if not _shaped(chain, text):  # only a context word could make it personal
            low = max(0, chain[0].start - tables.window_before - 24)
            high = min(len(text), chain[-1].end + tables.window_after + 24)
            contexts = _context_words(text, low, high, tables)
            if not contexts:
                continue
        i = 0
        while i < len(chain):
            found = False
            for j in range(len(chain) - 1, i - 1, -1):
                sub = chain[i : j + 1]
                digits = "".join(g.digits for g in sub)
                if len(digits) < 6 or len(digits) > 22:
                    continue
                if (
                    _thousands(sub, text)
                    or _date(sub, text)
                    or _CURRENCY_AFTER_RE.match(text, sub[-1].end)
                ):
                    continue
                if contexts is None:
                    low = max(0, chain[0].start - tables.window_before - 24)
                    high = min(len(text), chain[-1].end + tables.window_after + 24)
                    contexts = _context_words(text, low, high, tables)
                kind = _classify(text, sub, digits, contexts, tables, bare_runs_are_ids)
                if kind is not None and kind in enabled:
                    start = sub[0].start
                    if start > 0 and text[start - 1] == "+":
                        start -= 1
                    if start > 0 and text[start - 1] == "(":
                        start -= 1
                    end = sub[-1].end
                    if end < len(text) and text[end] == ")" and "(" in text[start:end]:
                        end += 1
                    spans.append(PiiSpan(start, end, kind))
                    i = j + 1
                    found = True
                    break
            if not found:
                i += 1
    return spans


def _shaped(chain: list[_Group], text: str) -> bool:
    """Whether part of the chain could be personal data without a context word.

    A necessary condition of :func:`_classify` without context: a card or a CCCD has 12+
    digits, a phone starts with "0" (10-11 digits), "84" (11-12 digits) or follows a "+".
    """
    remaining = sum(len(g.digits) for g in chain)
    if remaining >= 12 or (chain[0].start > 0 and text[chain[0].start - 1] == "+"):
        return True
    for group in chain:
        if remaining < 10:
            return False
        if group.digits[0] == "0" or (remaining >= 11 and group.digits.startswith("84")):
            return True
        remaining -= len(group.digits)
    return False


def _context_words(text: str, low: int, high: int, tables: _Tables) -> list[tuple[int, int, str]]:
    """Context words in ``text[low:high]`` as ``(start, end, kind)``, matched folded."""
    window = _fold(text[low:high])
    words = [(m.start(), m.end(), m.group()) for m in _CONTEXT_WORD_RE.finditer(window)]
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        for phrase in tables.context.get(words[i][2], ()):
            k = len(phrase)
            if tuple(w[2] for w in words[i : i + k]) == phrase:
                out.append(
                    (low + words[i][0], low + words[i + k - 1][1], tables.context_kind[phrase])
                )
                i += k
                break
        else:
            i += 1
    return out


def _contexts_by_distance(
    text: str, start: int, end: int, contexts: list[tuple[int, int, str]], tables: _Tables
) -> list[str]:
    """Kinds of the context words around ``text[start:end]``, nearest first.

    Words more than ``window_before``/``window_after`` characters away, or across a line
    break or the end of a sentence, do not count.
    """
    ranked: list[tuple[int, str]] = []
    for c_start, c_end, kind in contexts:
        if c_end <= start:
            distance = start - c_end
            between = text[c_end:start]
            if distance > tables.window_before:
                continue
        elif c_start >= end:
            distance = c_start - end + 1  # on a tie the word before the number wins
            between = text[end:c_start]
            if distance > tables.window_after:
                continue
        else:
            continue
        if _SENTENCE_BREAK_RE.search(between):
            continue
        ranked.append((distance, kind))
    return [kind for _, kind in sorted(ranked)]


_CARD_PREFIXES = ("2", "3", "4", "5", "6", "9704")
"""First digits of card networks: Mastercard 2/5, Amex, JCB and Diners 3, Visa 4, UnionPay and
Discover 6, NAPAS 9704."""


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_grouping(sub: list[_Group]) -> bool:
    sizes = [len(g.digits) for g in sub]
    if len(sizes) == 1:
        return True
    if sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4


def _phone_ok(
    text: str, sub: list[_Group], digits: str, tables: _Tables, *, lenient: bool = False
) -> bool:
    """Whether the digits are a Vietnamese phone number, written the way phones are.

    ``lenient`` (a phone word nearby) accepts any grouping; otherwise a 0-prefixed number
    whose first two groups have 2 digits each is a date ("09.10.2025 10"), not a phone.
    """
    groups = [g.digits for g in sub]
    start = sub[0].start
    plus = start > 0 and text[start - 1] == "+"
    if plus or (digits.startswith("84") and len(digits) in (11, 12)):
        if not digits.startswith("84"):
            return False
        rest = digits[2:]
        if rest.startswith("0"):
            rest = rest[1:]  # "+84 (0) 912 345 678"
        national = "0" + rest
        if groups[0] == "84":
            groups = groups[1:]
        if groups and groups[0] == "0":
            groups = groups[1:]
    else:
        if not digits.startswith("0"):
            return False
        national = digits
        if not lenient and len(groups) > 1 and len(groups[0]) < 3 and len(groups[1]) <= 2:
            return False
    if any(len(g) < 2 for g in groups):
        return False
    if len(national) == 10:
        return national[:3] in tables.mobile_prefixes
    if len(national) == 11:
        return national[:4] in tables.old_mobile_prefixes or national.startswith(
            tables.landline_prefix
        )
    return False


def _thousands(sub: list[_Group], text: str) -> bool:
    if len(sub) < 2 or len(sub[0].digits) > 3:
        return False
    gaps = {text[a.end : b.start] for a, b in itertools.pairwise(sub)}
    return gaps <= {".", ","} and all(len(g.digits) == 3 for g in sub[1:])


def _date(sub: list[_Group], text: str) -> bool:
    """Whether the groups read as a date: "26-10-2018", "2018.10.26", "26 10 2018"."""
    sizes = [len(g.digits) for g in sub]
    if sizes not in ([2, 2, 4], [1, 2, 4], [2, 1, 4], [1, 1, 4], [4, 2, 2], [4, 1, 2], [4, 2, 1]):
        return False
    parts = [int(g.digits) for g in sub]
    day, month = (parts[0], parts[1]) if sizes[0] <= 2 else (parts[2], parts[1])
    year = parts[2] if sizes[0] <= 2 else parts[0]
    return 1 <= day <= 31 and 1 <= month <= 12 and 1900 <= year <= 2100


def _classify(
    text: str,
    sub: list[_Group],
    digits: str,
    contexts: list[tuple[int, int, str]],
    tables: _Tables,
    bare_runs_are_ids: bool = False,
) -> str | None:
    """Return the kind of a number: the nearest context word it fits, else its shape."""
    n = len(digits)
    cues = _contexts_by_distance(text, sub[0].start, sub[-1].end, contexts, tables)
    if (
        "card" in cues
        and 13 <= n <= 19
        and _card_grouping(sub)
        and (cues[0] == "card" or len(sub) > 1 or _luhn(digits))
    ):
        # after "thẻ", "số thẻ", "visa", "card": a card even when the Luhn check fails (a
        # typo, a masked digit) or a bank is named nearer ("thẻ Vietcombank 4532 ...")
        return "card"
    for kind in cues:
        if kind == "id_number" and n in (9, 12):
            return "id_number"
        if kind == "bank_account" and 6 <= n <= 19:
            if (
                len(sub) > 1
                and 15 <= n <= 19
                and digits.startswith(_CARD_PREFIXES)
                and _card_grouping(sub)
                and _luhn(digits)
            ):
                # written like a card, a card network's prefix, passing the check:
                # "so tk 8649..., 9704 0555 ..." (an account grouped in fours stays one)
                return "card"
            return "bank_account"
        if kind == "phone" and _phone_ok(text, sub, digits, tables, lenient=True):
            return "phone"
    if (
        13 <= n <= 19
        and _luhn(digits)
        and _card_grouping(sub)
        and not (bare_runs_are_ids and len(sub) == 1)
    ):
        return "card"
    if _phone_ok(text, sub, digits, tables):
        return "phone"
    if n == 12 and digits[:3] in tables.provinces and digits[3] in "0123":
        return "id_number"
    return None


# --------------------------------------------------------------------------------------------
# Street addresses

_ADDR_TOKEN_RE = re.compile(
    r"<[a-z_]+>|\d+[a-z]?(?:[/-]\d+[a-z]?)*|(?!(?:p|q|tp|tx|tt|kp)\d)[a-z]+\d+(?:[./-]\d+)*[a-z]?"
    r"|[a-z]+|[,;:.!?()\-]"
)
_HOUSE_NUMBER_RE = re.compile(r"\d{1,5}[a-z]?(?:[/-]\d{1,5}[a-z]?){0,3}")
_SEPARATORS = frozenset({",", "-"})
_SENTENCE_END = frozenset({".", "!", "?", ";"})
_ADDRESS_WINDOW = 140
_CASED_TOKENS = 14
_HOUSE_LETTERS = frozenset("ABCDEFabcdef")
"""Letters after a house number ("12A"); g, h, k, m... after a number are units."""
_NEXT_WORD_RE = re.compile(r"\s+([^\W\d_]+)")
_WORD_RE = re.compile(r"[a-z]+")


def _address_start(text: str, position: int, number_end: int, tables: _Tables) -> int | None:
    """Where an address holding the house number at ``position`` would start, or None.

    The number must follow a street or area keyword ("ngõ 12"), follow a house-number
    prefix ("số 12"), or be followed by a word that may begin a street: not a quantity
    word ("2 cái", "3 ngày") and not a unit keyword ("42 quận 7").
    """
    i = position
    while i > 0 and text[i - 1] in " .":
        i -= 1
    j = i
    while j > 0 and text[j - 1].isalpha():
        j -= 1
    if j < i and _fold(text[j:i]) in tables.before_words:
        before = _fold(text[max(0, position - 24) : position])
        words = list(_WORD_RE.finditer(before))[-3:]
        for k in range(len(words), 0, -1):
            phrase = tuple(w.group() for w in words[-k:])
            if phrase in tables.start_phrases or phrase in tables.prefix_phrases:
                return position - len(before) + words[-k].start()
    following = _NEXT_WORD_RE.match(text, number_end)
    if following is None:
        return None
    word = following.group(1)
    folded = _fold(word)
    if word[0].isupper() or folded in tables.start_words:
        return position
    lower = word.lower()
    if folded in tables.admin_words or _is_quantity(lower, folded, tables):
        return None
    if (lower == folded and folded in tables.stop_words_plain) or lower in tables.stop_words:
        return None  # "20/11/2026 lúc 10:30"
    return position


def _is_quantity(raw: str, folded: str, tables: _Tables) -> bool:
    if raw == folded:
        return folded in tables.quantity_words_plain
    return raw in tables.quantity_words


def _house_numbers(text: str, runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of house numbers: "12", "12A", "68/12", "123/4/5", "25-27", not parts of words."""
    out: list[tuple[int, int]] = []
    n = len(text)
    i = 0
    while i < len(runs):
        start, end = runs[i]
        if (start and (text[start - 1].isalnum() or text[start - 1] in "_.,/:")) or end - start > 5:
            i += 1
            continue
        j = i
        while True:
            if end + 1 < n and text[end] in _HOUSE_LETTERS and text[end + 1] in "/-":
                end += 1  # "12A/3"
            if (
                j + 1 < len(runs)
                and runs[j + 1][0] == end + 1
                and text[end] in "/-"
                and runs[j + 1][1] - runs[j + 1][0] <= 5
            ):
                j += 1
                end = runs[j][1]
                continue
            break
        if (
            end < n
            and text[end] in _HOUSE_LETTERS
            and (end + 1 >= n or not (text[end + 1].isalnum() or text[end + 1] == "_"))
        ):
            end += 1  # "12A"
        if end >= n or not (text[end].isalnum() or text[end] in "_/"):
            out.append((start, end))
        i = j + 1
    return out


def _address_spans(text: str, runs: list[tuple[int, int]], tables: _Tables) -> list[PiiSpan]:
    spans: list[PiiSpan] = []
    taken = 0
    for number_start, number_end in _house_numbers(text, runs):
        if number_start < taken:
            continue
        start = _address_start(text, number_start, number_end, tables)
        if start is None or start < taken:
            continue
        scan = _AddressScan(text, start, tables)
        end = scan.run()
        if end is None:
            continue
        spans.append(PiiSpan(scan.tokens[0].start, scan.tokens[end - 1].end, "address"))
        taken = scan.tokens[end - 1].end
    return spans


@dataclass(slots=True)
class _Tok:
    start: int
    end: int
    text: str
    """Folded: lowercase, no diacritics."""
    raw: str
    """Lowercase, as written."""
    upper: bool
    """First letter capital in the original."""
    upper_tail: bool
    """Last letter capital in the original ("12A")."""
    gap: bool
    """Something other than spaces between this token and the previous one."""
    loose: bool
    """Typed without diacritics in a window typed without diacritics: compared folded."""

    @property
    def number(self) -> bool:
        return self.text[0].isdigit()

    @property
    def word(self) -> bool:
        return self.text.isalnum() and not self.text[0].isdigit()


def _telling_number(tok: _Tok) -> bool:
    """Tell a house number from a quantity or a date: "12A", "123/4/5", "68/45", not "19/2"."""
    if tok.upper_tail:
        return True
    parts = tok.text.split("/")
    if len(parts) >= 3:
        return True
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[0]) > 31 or int(parts[1]) > 12
    return False


def _loose_flags(tokens: list[tuple[str, str]]) -> list[bool]:
    """Which tokens were typed without diacritics in a run of 3+ such words.

    Numbers and punctuation neither break nor extend a run. Only there is "xa" read as
    "xã" or "quan" as "quận": in "vượt xa mong đợi" the plain "xa" is just "xa".
    """
    flags = [False] * len(tokens)
    run: list[int] = []
    for index, (raw, folded) in enumerate([*tokens, ("đ", "d")]):  # sentinel ends the last run
        if not folded.isalpha():
            continue
        if raw == folded:
            run.append(index)
            continue
        if len(run) >= 3:
            for k in run:
                flags[k] = True
        run = []
    return flags


class _AddressScan:
    """One attempt at reading a street address from a start position.

    Evidence is scored and an address needs 2 points and an anchor (a street keyword with
    its name, an administrative unit with its name, a known place or a known street name):
    street keyword with a name 2 (with only a number 1); area keyword, administrative unit
    with its name, known place, house-number prefix ("số nhà"), house number with a slash
    or a capital letter ("68/12", "12A"), known street start ("Nguyễn...") 1 each; a street
    name without keyword 1 when typed with diacritics, 0.5 without (it must then be followed
    by a unit or a place). In a window typed with diacritics, keywords must carry theirs
    ("xa" is far, "xã" a commune); in a window with capitals, names must be capitalized
    ("12 Nguyễn Trãi") unless they are known places or street starts.
    """

    def __init__(self, text: str, start: int, tables: _Tables) -> None:
        self.tables = tables
        window = text[start : start + _ADDRESS_WINDOW]
        folded = _fold(window)
        lower = window.lower()
        found = list(_ADDR_TOKEN_RE.finditer(folded))
        loose = _loose_flags([(lower[m.start() : m.end()], m.group()) for m in found])
        self.tokens: list[_Tok] = []
        previous_end = 0
        for m, is_loose in zip(found, loose, strict=True):
            a, b = m.span()
            raw = lower[a:b]
            self.tokens.append(
                _Tok(
                    start=start + a,
                    end=start + b,
                    text=m.group(),
                    raw=raw,
                    upper=window[a].isupper(),
                    upper_tail=window[b - 1].isupper(),
                    gap=bool(folded[previous_end:a].strip()),
                    loose=is_loose,
                )
            )
            previous_end = b
        words = [t for t in self.tokens[:_CASED_TOKENS] if t.word and len(t.text) > 1]
        if words and sum(
            window[t.start - start : t.end - start].isupper() for t in words
        ) * 2 > len(words):
            # ALL CAPS: capitals say nothing about names
            for t in self.tokens:
                t.upper = t.upper_tail = False
        head = self.tokens[:_CASED_TOKENS]
        self.cased = any(
            t.upper and k > 0 and head[k - 1].text not in _SENTENCE_END for k, t in enumerate(head)
        )
        """Capitals near the start beyond sentence starts: names are capitalized."""

    # matching --------------------------------------------------------------------------

    def match(self, i: int, index: dict[str, tuple[_Phrase, ...]]) -> int:
        """Count the tokens of the longest phrase of ``index`` at ``i`` (0: none)."""
        tokens = self.tokens
        if i >= len(tokens):
            return 0
        for folded, written in index.get(tokens[i].text, ()):
            k = len(folded)
            if i + k <= len(tokens) and all(
                tokens[i + m].text == folded[m]
                and (tokens[i + m].raw == written[m] or tokens[i + m].loose)
                and not (m and tokens[i + m].gap)
                for m in range(k)
            ):
                return k
        return 0

    def keyword(self, i: int) -> tuple[str, int]:
        for name, index in (
            ("street", self.tables.street),
            ("admin", self.tables.admin),
            ("area", self.tables.area),
        ):
            k = self.match(i, index)
            if k:
                return name, k
        return "", 0

    def stop(self, tok: _Tok) -> bool:
        if tok.upper:
            return False
        if tok.loose:
            return tok.text in self.tables.stop_words_plain
        return tok.raw in self.tables.stop_words

    def name(self, i: int, *, place_first: bool = False) -> int:
        """Index after a place name at ``i``: a place, a number, or up to five words."""
        j = self._name(i, place_first=place_first)
        if j == i + 1 and self.tokens[i].text == ".":
            return i  # only the dot of an abbreviation: no name
        return j

    def _name(self, i: int, *, place_first: bool) -> int:
        tokens = self.tokens
        n = len(tokens)
        if i < n and tokens[i].text == ".":
            i += 1
        if i >= n or tokens[i].gap:
            return i
        k = self.match(i, self.tables.places) if place_first else 0
        if k:
            return i + k
        if tokens[i].number:
            return i + 1
        if tokens[i].text == "so" and i + 1 < n and tokens[i + 1].number:
            return i + 2  # "đường số 7"
        if self.keyword(i)[1]:
            return i  # a keyword starts the next part
        known = self.match(i, self.tables.street_starts) > 0
        want_upper = tokens[i].upper or (self.cased and not known and not tokens[i].loose)
        j = i
        while j < n and j - i < 5:
            tok = tokens[j]
            if tok.gap or tok.text.startswith("<"):
                break
            if j > i and self.match(j, self.tables.places):
                break
            kind, k = self.keyword(j) if j > i else ("", 0)
            if kind and not self._keyword_in_name(j, k, kind, want_upper):
                break
            if tok.number:
                if j > i and (tokens[j - 1].upper or tokens[j - 1].text == "thang"):
                    j += 1  # "Cách Mạng Tháng 8", "đường 3 tháng 2"
                break
            if not tok.word or (want_upper and not tok.upper) or self.stop(tok):
                break
            j += 1
        return j

    def _keyword_in_name(self, j: int, k: int, kind: str, want_upper: bool) -> bool:
        """Whether a keyword inside a name is a word of it ("Lý Thường Kiệt", "lac long quan").

        It is when nothing that a keyword needs follows it (a number, a name), or when it is a
        capitalized street word inside a capitalized name and no number follows.
        """
        tokens = self.tokens
        after = j + k
        if after < len(tokens) and tokens[after].text == ".":
            after += 1  # "Q.11", "P. Bến Thành"
        follows = tokens[after] if after < len(tokens) else None
        if follows is None or follows.gap or not (follows.number or follows.word):
            return True
        if follows.number:
            return False
        return kind == "street" and want_upper and tokens[j].upper and not follows.upper

    def plain_name(self, i: int, end: int) -> bool:
        """Whether ``tokens[i:end]`` starts with a lowercase word that is no known name.

        Such a name ("1 đường dài", "phố 1 chút", "đường 446 hữu hưng rất xinh") counts only
        when administrative units or places follow it.
        """
        while i < end and not self.tokens[i].word:
            i += 1
        if i >= end or self.tokens[i].upper:
            return False
        return not (self.match(i, self.tables.street_starts) or self.match(i, self.tables.places))

    def street_name(self, i: int) -> int:
        """Index after the name after a street keyword: "Láng", "số 7", "154 Bạch Đằng"."""
        j = self.name(i)
        if j > i and self.tokens[j - 1].number and j - i <= 2:
            return self.name(j)  # "ngõ 154 Bạch Đằng"
        return j

    # reading ---------------------------------------------------------------------------

    def run(self) -> int | None:
        """Return the index after the address starting at the first token, or None."""
        tokens, tables = self.tokens, self.tables
        n = len(tokens)
        score = 0.0
        anchored = False
        weak = False  # a street name known only by its shape: needs units after it
        j = self.match(0, tables.house_prefix)
        prefixed = j > 0
        if prefixed and j < n and tokens[j].text == ".":
            j += 1
        if j >= n:
            return None
        if tokens[j].number and _HOUSE_NUMBER_RE.fullmatch(tokens[j].text):
            if tokens[j].gap and j > 0:
                return None
            number = tokens[j]
            score += int(prefixed) + int(_telling_number(number))
            j += 1
            kind, k = self.keyword(j)
            if kind == "street":
                after = self.street_name(j + k)
                named = after > j + k and not tokens[after - 1].number
                score += 2 if named else 1
                anchored = named
                weak = not prefixed and self.plain_name(j + k, after)
                j = after
            elif kind == "area":
                score += 1
                j = self.street_name(j + k)
            elif kind:
                return None  # "42 quận 7": a number then a district is not a street address
            elif self.match(j, tables.street_starts) or self.match(j, tables.places):
                score += 1
                anchored = True
                j = self.name(j)
            elif j < n and tokens[j].word and not tokens[j].gap:
                if not prefixed and (
                    _is_quantity(tokens[j].raw, tokens[j].text, tables)
                    or (self.cased and not tokens[j].upper)
                ):
                    return None
                after = self.name(j)
                if after - j < 2 and not (prefixed and after > j):
                    return None
                score += 0.5 if tokens[j].loose else 1
                weak = not prefixed
                j = after
            else:
                return None
        elif prefixed:
            return None
        else:
            kind, k = self.keyword(j)
            if kind not in ("street", "area") or j + k >= n or not tokens[j + k].number:
                return None
            after = self.street_name(j + k)  # "ngõ 12 Cầu Giấy", "hẻm 123/4 Lê Văn Sỹ"
            named = after > j + k + 1
            if kind == "street":
                score += 2 if named else 1
                anchored = named
            else:
                score += 1
            weak = self.plain_name(j + k + 1, after)
            j = after
        body_end = end = j
        # further street parts, administrative units and places, after commas or dashes
        while j < n:
            t = j
            if tokens[t].text in _SEPARATORS and not tokens[t].gap:
                t += 1
            if t >= n or tokens[t].gap:
                break
            kind, k = self.keyword(t)
            if kind:
                if kind == "admin":
                    after = self.name(t + k, place_first=True)
                else:
                    after = self.street_name(t + k)
                if after == t + k or (after == t + k + 1 and tokens[t + k].text == "."):
                    if after < n and self.keyword(after)[1]:
                        j = end = after  # "Lý Thường Kiệt P. 18": the keyword was a name word
                        continue
                    break  # a unit without a name ("thành phố về đêm") ends the address
                score += 2 if kind == "street" else 1
                anchored = anchored or kind != "area"
                j = end = after
                continue
            k = self.match(t, tables.places)
            if k:
                score += 1
                anchored = True
                j = end = t + k
                continue
            if t > j:  # after a comma: a name without keyword, then a keyword or a place
                after = self.name(t)
                if after > t:
                    look = after + 1 if after < n and tokens[after].text in _SEPARATORS else after
                    if look < n and (self.keyword(look)[1] or self.match(look, tables.places)):
                        j = end = after
                        continue
            break
        if score < 2 or not anchored or end <= 1 or (weak and end == body_end):
            return None
        return end
