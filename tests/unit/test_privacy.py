"""Tests of flows.privacy and the message contract's id and channel rules.

Every stored or printed field of a message is redacted, every personal identifier hashed,
dead letters too; written cases, then the property that a payload's personal data never
survives into what is stored.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.privacy import HASHED_ID_PREFIX, MAX_DEAD_PAYLOAD_CHARS, Privacy
from flows.records import Parsed, RawRecord
from flows.steps import Preparer, parse_record
from nlp.pii import find_pii
from schemas.message import InboundMessage
from schemas.rows import DeadLetter
from tests.conftest import message

SALT = "test-salt"
PRIVACY = Privacy(SALT)
NOW = datetime(2026, 11, 21, tzinfo=UTC)  # a day after the test messages: none is ahead of it
PHONE = "0912345678"
EMAIL = "an.nguyen@gmail.com"
CARD = "4532015112830366"
CCCD = "079092001234"


def parse(payload: bytes | dict[str, Any]) -> Parsed | DeadLetter:
    return parse_record(RawRecord("t.jsonl", 7, payload), lambda: NOW, privacy=PRIVACY)


def line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# ------------------------------------------------------------------------------------------
# id and channel: what they may contain


@pytest.mark.parametrize(
    "given_id",
    ["r1", "rv-000123", "auto-1a2b", "fb:1234567890_987", "TIKI/2024/11#3", "a.b+c=d", 42],
)
def test_ids_of_the_allowed_form_are_kept(given_id: object) -> None:
    parsed = parse(line(message(0, id=given_id)))
    assert isinstance(parsed, Parsed)
    assert parsed.message.id == str(given_id)


@pytest.mark.parametrize(
    "bad_id",
    [
        "has space",
        "a@b.vn",
        "<b>x</b>",
        "[/]",
        "x\x1b[31m",
        "'; DROP TABLE messages --",
        "-leading-dash",
        "x" * 129,
        "ｉｄ１",
    ],
)
def test_ids_of_another_form_are_dead_letters_with_a_clear_reason(bad_id: str) -> None:
    letter = parse(line(message(0, id=bad_id)))
    assert isinstance(letter, DeadLetter)
    assert letter.error_type == "invalid_id"
    assert "1-128 ASCII letters, digits" in letter.reason
    assert bad_id not in letter.reason


@pytest.mark.parametrize("channel", ["shopee", "app_store", "hotline_chat", "Zalo", "fb.page-2"])
def test_channels_of_the_allowed_form_are_kept_lowercase(channel: str) -> None:
    parsed = parse(line(message(0, channel=channel)))
    assert isinstance(parsed, Parsed)
    assert parsed.message.channel == channel.lower()


@pytest.mark.parametrize(
    "channel",
    [PHONE, "zalo0912345678", "a-0912-345-678", EMAIL, "shop ee", "[red]x", "x" * 33, "_x"],
)
def test_channels_that_could_hold_personal_data_or_markup_are_dead_letters(channel: str) -> None:
    letter = parse(line(message(0, channel=channel)))
    assert isinstance(letter, DeadLetter)
    assert letter.error_type == "invalid_channel"
    assert "at most 4 digits" in letter.reason
    assert PHONE not in letter.reason + letter.payload and "gmail" not in letter.payload


# ------------------------------------------------------------------------------------------
# A message: every stored field


def safe(**fields: Any) -> Any:
    return PRIVACY.message(InboundMessage.model_validate(message(0, **fields)))


def test_every_free_text_field_is_redacted() -> None:
    result = safe(
        text=f"gọi {PHONE}",
        brand=f"Shop {PHONE}",
        product=f"áo gửi {EMAIL}",
        url=f"https://shop.vn/u?phone={PHONE}&mail={EMAIL}",
        source="chat",
        role="customer",
        conversation_id=PHONE,
    )
    stored = result.message
    assert stored.text == "gọi <phone>"
    assert stored.brand == "Shop <phone>"
    assert stored.product == "áo gửi <email>"
    assert stored.url == "https://shop.vn/u?phone=<phone>&mail=<email>"
    assert stored.conversation_id == HASHED_ID_PREFIX + PRIVACY.identifier(PHONE)
    assert set(result.kinds) == {"phone", "email"}
    assert PHONE not in dump(stored.model_dump()) and "gmail" not in dump(stored.model_dump())


def test_a_percent_encoded_url_hides_nothing() -> None:
    encoded = "".join(f"%{ord(c):02X}" for c in PHONE)
    assert safe(url=f"https://shop.vn/?p={encoded}").message.url == "https://shop.vn/?p=<phone>"
    clean = "https://shop.vn/s?q=%C3%A1o%20thun"
    assert safe(url=clean).message.url == clean  # kept as given when nothing is found


def test_an_id_holding_personal_data_becomes_a_stable_hash() -> None:
    first, again = safe(id=PHONE).message.id, safe(id=PHONE).message.id
    assert first == again == HASHED_ID_PREFIX + PRIVACY.identifier(PHONE)
    assert PHONE not in first
    assert Privacy("other-salt").key(PHONE) != first
    assert safe(id="rv-000123").message.id == "rv-000123"


def test_the_author_and_customer_ids_are_stored_only_as_hmacs() -> None:
    result = safe(
        author="Nguyễn Văn An",
        customer_id=123456789,
        info={"user_name": "an.nguyen", "nested": [{"Họ tên": "Lê Thị B"}]},
        buyerPhone="0987 654 321",
        app_version="5.2.1",
    )
    attributes = result.message.attributes
    assert result.message.author is None
    assert result.author_hash == PRIVACY.identifier("Nguyễn Văn An")
    assert attributes["customer_id"] == PRIVACY.identifier("123456789")
    assert attributes["info"]["user_name"] == PRIVACY.identifier("an.nguyen")
    assert attributes["info"]["nested"][0]["Họ tên"] == PRIVACY.identifier("Lê Thị B")
    assert attributes["buyerPhone"] == PRIVACY.identifier("0987 654 321")
    assert attributes["app_version"] == "5.2.1"
    for clear in ("Nguyễn Văn An", "123456789", "an.nguyen", "Lê Thị B", "0987"):
        assert clear not in dump(result.message.model_dump())


def test_attributes_are_redacted_everywhere_with_their_key_as_context() -> None:
    result = safe(
        stk="19034567890123",
        note=f"khách để số {PHONE}",
        card_number=int(CARD),
        deep={"a": [{"b": {"c": f"mail {EMAIL}"}}]},
        raw='{"text": "\\u0030\\u0039\\u0031\\u0032\\u0033\\u0034\\u0035\\u0036\\u0037\\u0038"}',
        **{f"số {PHONE}": "key holds it"},
    )
    text = dump(result.message.attributes)
    for clear in ("19034567890123", PHONE, CARD, "gmail", "\\u0030"):
        assert clear not in text
    attributes = result.message.attributes
    assert attributes["stk"] == "<bank_account>"
    assert attributes["card_number"] == "<card>"
    assert "số <phone>" in attributes
    assert set(result.kinds) >= {"phone", "email", "bank_account", "card"}


def test_evasions_in_every_field_are_redacted() -> None:
    fullwidth = "０９１２３４５６７８"
    hidden = "09\u200b12\u00a0345&#54;78"
    result = safe(
        text=f"sđt {fullwidth}",
        brand=f"sđt {hidden}",
        product="sđt \\u0030\\u0039\\u0031\\u0032\\u0033\\u0034\\u0035\\u0036\\u0037\\u0038",
        url=f"https://x.vn/?sdt={fullwidth}",
        extra=f"sđt {hidden}",
    )
    stored = dump(result.message.model_dump())
    assert "0912" not in stored and "345" not in stored and "&#" not in stored
    assert result.message.text == "sđt <phone>"


# ------------------------------------------------------------------------------------------
# The prepared message: nothing derived can show what was redacted


def test_prepare_redacts_before_anything_is_derived() -> None:
    preparer = Preparer(SALT)
    parsed = parse(line(message(0, text="Gọi ０９１２\u200b345\u200b678 nhé 😍", author="an")))
    assert isinstance(parsed, Parsed)
    prepared = preparer(parsed)
    assert not isinstance(prepared, DeadLetter)
    for text in (prepared.text, prepared.text_normalized, prepared.text_search):
        assert "<phone>" in text and "345" not in text
    assert prepared.author_hash == PRIVACY.identifier("an")
    assert prepared.message.author is None


def test_when_normalization_reveals_a_number_the_normalized_text_is_stored() -> None:
    """A teencode expansion gives a number a context the canonical text did not have."""
    preparer = Preparer(SALT)

    class Revealing(Privacy):
        def message(self, msg: InboundMessage) -> Any:  # redaction that misses a number
            result = super().message(msg)
            return type(result)(
                result.message.model_copy(update={"text": msg.text}), (), result.author_hash
            )

    preparer.privacy = Revealing(SALT)
    parsed = parse(line(message(0, text=f"Ship GIAO sdt {PHONE} nha")))
    assert isinstance(parsed, Parsed)
    prepared = preparer(parsed)
    assert not isinstance(prepared, DeadLetter)
    assert PHONE not in prepared.text and PHONE not in prepared.text_normalized
    assert prepared.text == prepared.text_normalized
    assert "phone" in prepared.pii_kinds


# ------------------------------------------------------------------------------------------
# Dead letters


def test_a_bad_event_time_is_not_echoed_in_the_reason() -> None:
    letter = parse(line(message(0, created_at=PHONE)))
    assert isinstance(letter, DeadLetter)
    assert letter.error_type == "bad_event_time"
    assert PHONE not in letter.reason and "10 characters" in letter.reason
    letter = parse(line(message(0, created_at=f"sđt {PHONE}T10:00")))
    assert isinstance(letter, DeadLetter)
    assert PHONE not in letter.reason + letter.payload


def test_every_reason_is_redacted() -> None:
    letter = PRIVACY.dead_letter("enrich", "RuntimeError", f"failed on {PHONE}", "o", 1, b"", NOW)
    assert letter.reason == "failed on <phone>"


def test_dead_letter_payloads_hash_authors_and_redact_escaped_json() -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in PHONE)
    raw = (
        '{"id": "x1", "source": "review", "author": "Nguyễn Văn An", "customer_id": 99887766,'
        f' "text": "sđt {escaped}", "created_at": "bad"}}'
    )
    letter = parse(raw.encode())
    assert isinstance(letter, DeadLetter)
    stored = json.loads(letter.payload)
    assert stored["author"] == PRIVACY.identifier("Nguyễn Văn An")
    assert stored["customer_id"] == PRIVACY.identifier("99887766")
    assert stored["text"] == "sđt <phone>"
    assert letter.payload_size == len(raw)


def test_unparsable_payloads_are_redacted_as_text_with_identifiers_hashed() -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in PHONE)
    raw = f'{{"author": "Nguyễn Văn An", "text": "sđt {escaped} mail {EMAIL}", "x": '
    letter = parse(raw.encode())
    assert isinstance(letter, DeadLetter)
    assert letter.error_type == "invalid_json"
    assert "Nguyễn Văn An" not in letter.payload
    assert PRIVACY.identifier("Nguyễn Văn An") in letter.payload
    assert PHONE not in letter.payload and "gmail" not in letter.payload
    assert "<phone>" in letter.payload and "<email>" in letter.payload


def test_the_cut_comes_after_redaction() -> None:
    """A number across the 1 MB cut is redacted whole, not cut first and missed."""
    head = "x " * ((MAX_DEAD_PAYLOAD_CHARS - 6) // 2)
    raw = f"{head}sđt {PHONE} " + "y" * 100
    letter = PRIVACY.dead_letter("parse", "invalid_json", "r", "o", 1, raw, NOW)
    assert len(letter.payload) == MAX_DEAD_PAYLOAD_CHARS
    assert letter.payload_size == len(raw)
    assert letter.payload.endswith("sđt <p")  # the cut 2 characters into the placeholder


def test_deep_payloads_fall_back_to_text_redaction() -> None:
    deep: Any = f"sđt {PHONE}"
    for _ in range(200):
        deep = {"a": deep}
    letter = PRIVACY.dead_letter("parse", "invalid_message", "r", "o", 1, deep, NOW)
    assert PHONE not in letter.payload and "<phone>" in letter.payload


PLANTED = [
    PHONE,
    f"sđt {PHONE}",
    "０９１２ ３４５ ６７８",
    "0912\u200b345\u200b678",
    "0912&#32;345&#32;678",
    EMAIL,
    f"thẻ {CARD}",
    f"CCCD {CCCD}",
]


def without_hashes(text: str) -> str:
    return re.sub(r"[0-9a-f]{32}", "#", text)


@given(
    st.dictionaries(
        st.sampled_from(["text", "brand", "note", "x", "stk", "sđt", "user_id"]),
        st.sampled_from(PLANTED),
        min_size=1,
    )
)
@settings(max_examples=200, deadline=None)
def test_no_planted_value_survives_a_dead_letter(planted: dict[str, str]) -> None:
    payload = {**planted, "author": "Nguyễn Văn An"}
    for form in (payload, json.dumps(payload, ensure_ascii=True).encode(), dump(payload)[:-1]):
        letter = PRIVACY.dead_letter("parse", "e", dump(payload), "o", 1, form, NOW)  # type: ignore[arg-type]
        stored = without_hashes(letter.payload + letter.reason)
        for secret in ("0912", "345", "678", "gmail", CARD[:8], CCCD[:8], "Văn An"):
            assert secret not in stored, (form, stored)


ID_PIECES = [
    *"0123456789",
    *"._:/#+=-",
    *("84", "0", "091", "028", "0168", "rv", "stk", "cmnd", "the", "sdt", "x", "A", "(", ")"),
    *(CCCD, "079092", "4532-0151-1283-0366", "4532", PHONE, "912 345", "0912.345"),
]


@given(st.lists(st.sampled_from(ID_PIECES), min_size=1, max_size=24).map("".join))
@settings(max_examples=1000, deadline=None)
def test_the_quick_id_check_never_skips_what_redaction_would_find(value: str) -> None:
    from flows.privacy import _may_hold_number

    if find_pii(value, PRIVACY._keys):
        assert _may_hold_number(value), value


def test_long_digit_runs_in_urls_and_ids_are_object_ids_not_cards() -> None:
    post = "https://www.facebook.com/an.tran/posts/4532015112830366"  # passes Luhn
    assert safe(url=post).message.url == post
    assert safe(id="4532015112830366").message.id == "4532015112830366"
    grouped = "https://pay.vn/?card=4532-0151-1283-0366"
    assert safe(url=grouped).message.url == "https://pay.vn/?card=<card>"
    assert safe(text=f"thẻ {CARD}").message.text == "thẻ <card>"


def test_attributes_nested_too_deep_are_a_dead_letter_with_a_reason() -> None:
    deep: Any = f"sđt {PHONE}"
    for _ in range(100):
        deep = {"a": deep}
    parsed = parse(line(message(0, extra=deep)))
    assert isinstance(parsed, Parsed)
    letter = Preparer(SALT)(parsed)
    assert isinstance(letter, DeadLetter)
    assert (letter.step, letter.error_type) == ("prepare", "SchemaError")
    assert "nested deeper than 64 levels" in letter.reason
    assert PHONE not in letter.payload and "<phone>" in letter.payload
