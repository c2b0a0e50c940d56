"""The inbound message contract and its exported JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.message import InboundMessage, derive_id, json_schema, json_schema_text
from tests.conftest import message

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "message.schema.json"


def test_the_committed_json_schema_matches_the_model() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema_text(), "run `voc schema --write`"


def test_the_schema_documents_every_field_and_allows_unknown_ones() -> None:
    schema = json_schema()
    assert schema["additionalProperties"] is True
    assert set(schema["required"]) == {"source", "channel", "text", "created_at"}
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name


def test_unknown_fields_move_into_attributes_and_explicit_attributes_win() -> None:
    msg = InboundMessage.model_validate(
        message(1, app_version="5.2", attributes={"app_version": "6.0", "ab": 1})
    )
    assert msg.attributes == {"app_version": "6.0", "ab": 1}


def test_event_time_is_converted_to_utc() -> None:
    msg = InboundMessage.model_validate(message(1, created_at="2026-11-20T08:30:00+07:00"))
    assert msg.created_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert (
        InboundMessage.model_validate(message(1, created_at="2026-11-20T01:30:00Z")).created_at
        == msg.created_at
    )


@pytest.mark.parametrize(
    "bad", ["2026-11-20T08:30:00", "yesterday", "20/11/2026", 1763600000, None, ""]
)
def test_event_time_is_never_guessed(bad: object) -> None:
    with pytest.raises(ValidationError, match="created_at"):
        InboundMessage.model_validate(message(1, created_at=bad))


def test_derived_ids_depend_on_content_not_key_order() -> None:
    a = {"source": "review", "channel": "tiki", "text": "ok", "created_at": "2026-11-20T01:00:00Z"}
    b = dict(reversed(list(a.items())))
    assert derive_id(a) == derive_id(b) != derive_id({**a, "text": "ok!"})
    assert InboundMessage.model_validate(a).id == derive_id(a)


def test_numeric_ids_and_channels_are_normalized() -> None:
    msg = InboundMessage.model_validate(message(1, id=12345, channel=" Shopee "))
    assert (msg.id, msg.channel) == ("12345", "shopee")


def test_chats_need_a_conversation_and_a_role() -> None:
    chat = message(1, source="chat", channel="zalo", conversation_id="c-9", role="customer")
    assert InboundMessage.model_validate(chat).role == "customer"
    with pytest.raises(ValidationError, match="conversation_id and role"):
        InboundMessage.model_validate({**chat, "role": None})


def test_the_readme_documents_the_contract() -> None:
    readme = (SCHEMA_FILE.parents[1] / "README.md").read_text(encoding="utf-8")
    for field in json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["properties"]:
        assert f"`{field}`" in readme, f"README does not document {field}"


# -- input people have, and values the storage cannot hold ---------------------------------------


@pytest.mark.parametrize(
    ("field", "given", "taken"),
    [
        ("author", 84912345678, "84912345678"),
        ("conversation_id", 1234567890123456789012, "1234567890123456789012"),
        ("rating", 4, 4),
        ("rating", 4.0, 4),
        ("rating", "4", 4),
        ("reach", "1200", 1200),
        ("reach", 2**64 - 1, 2**64 - 1),
        ("likes", 0, 0),
    ],
)
def test_documented_coercions(field: str, given: object, taken: object) -> None:
    value = getattr(InboundMessage.model_validate(message(1, **{field: given})), field)
    assert value == taken and type(value) is type(taken)


@pytest.mark.parametrize(
    ("field", "given", "error"),
    [
        ("rating", True, "got a boolean"),
        ("rating", 4.5, "got a fraction"),
        ("rating", " 4", "not only ASCII digits"),
        ("rating", "４", "not only ASCII digits"),  # fullwidth digit
        ("rating", 9, "less than or equal to 5"),
        ("reach", "1_000", "not only ASCII digits"),
        ("reach", "1e3", "not only ASCII digits"),
        ("reach", -1, "greater than or equal to 0"),
        ("reach", float("nan"), "not finite"),
        ("likes", float("inf"), "not finite"),
        ("reach", 2**64, "less than or equal to 18446744073709551615"),
        ("author", True, "valid string"),
        ("conversation_id", 1.5, "valid string"),
    ],
)
def test_strict_coercions_refuse(field: str, given: object, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        InboundMessage.model_validate(message(1, **{field: given}))


@pytest.mark.parametrize(
    "text",
    ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", " \u200e\u200f \u202e ", "\u3164\u2800", "\t\n "],
)
def test_text_of_only_invisible_characters_is_empty(text: str) -> None:
    with pytest.raises(ValidationError, match="empty or only whitespace and invisible"):
        InboundMessage.model_validate(message(1, text=text))


def test_visible_text_with_invisible_characters_is_kept_as_written() -> None:
    text = "giao\u200bhàng ｃｈａｍ"
    assert InboundMessage.model_validate(message(1, text=text)).text == text


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"text": "ok \udfff"}, "text holds a lone surrogate U\\+DFFF at character 3"),
        ({"brand": "\ud800"}, "brand holds a lone surrogate"),
        ({"id": "x\udc00"}, "id holds a lone surrogate"),
        ({"attributes": {"k": ["\udfff"]}}, "attributes as JSON holds a lone surrogate"),
        ({"attributes": {"\udfff": 1}}, "attributes as JSON holds a lone surrogate"),
        ({"shop_note": "\udfff"}, "attributes as JSON holds a lone surrogate"),
    ],
)
def test_lone_surrogates_are_refused_in_every_string(fields: dict[str, object], where: str) -> None:
    payload = message(1, **fields)
    with pytest.raises(ValidationError, match=where) as caught:
        InboundMessage.model_validate(payload)
    assert caught.value.errors()[0]["type"] == "invalid_unicode"
    if "id" not in fields:
        payload.pop("id")
        with pytest.raises(ValidationError):  # a derived id hashes the surrogate, no crash
            InboundMessage.model_validate(payload)


def test_attributes_are_capped_in_bytes_of_json() -> None:
    ok = message(1, attributes={"k": "é" * 100})
    assert InboundMessage.model_validate(ok, context={"max_attributes_bytes": 300}).attributes
    with pytest.raises(
        ValidationError, match="attributes take 208 bytes as JSON, more than the 200"
    ):
        InboundMessage.model_validate(ok, context={"max_attributes_bytes": 200})
    with pytest.raises(ValidationError, match="Out of range float values are not JSON"):
        InboundMessage.model_validate(message(1, attributes={"x": float("nan")}))


@pytest.mark.parametrize(
    ("created_at", "error"),
    [
        ("0001-01-01T00:00:00+07:00", "leaves the years 1-9999 once converted to UTC"),
        ("9999-12-31T23:00:00-07:00", "leaves the years 1-9999 once converted to UTC"),
        ("1969-12-31T23:59:59Z", "outside 1970-01-01 .. 2105-12-31"),
        ("2106-01-01T00:00:00Z", "outside 1970-01-01 .. 2105-12-31"),
        ("2" * 100, "got 100 characters"),
    ],
)
def test_event_times_the_storage_cannot_hold_are_refused(created_at: str, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        InboundMessage.model_validate(message(1, created_at=created_at))
