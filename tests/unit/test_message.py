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
