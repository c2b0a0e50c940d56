"""The whole flow in memory: Bytewax's testing source and sink, 1 and 2 workers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from bytewax.testing import TestingSink, TestingSource, cluster_main, run_main

from flows.dataflow import FlowIO, build_flow
from flows.records import RawRecord
from flows.settings import Settings
from nlp.types import Enrichment, MessageContext
from schemas.rows import DeadLetter, StoredMessage
from tests.conftest import KeywordEnricher, message


def run_in_memory(
    settings: Settings,
    payloads: Sequence[bytes | dict[str, Any]],
    workers: int,
    enricher: Any = KeywordEnricher,
) -> tuple[list[StoredMessage], list[DeadLetter]]:
    """Run the flow over ``payloads`` and return the stored rows and dead letters."""
    records = [RawRecord("test.jsonl", i + 1, p) for i, p in enumerate(payloads)]
    stored: list[list[StoredMessage]] = []
    dead: list[list[DeadLetter]] = []
    io = FlowIO(TestingSource(records), TestingSink(stored), TestingSink(dead))
    flow = build_flow(settings, io, enricher=enricher)
    if workers == 1:
        run_main(flow)
    else:
        cluster_main(flow, [], 0, worker_count_per_proc=workers)
    return [r for batch in stored for r in batch], [d for batch in dead for d in batch]


def line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


MALFORMED: list[tuple[str, bytes, str]] = [
    ("invalid JSON", b'{"id": "x1", "source": "review",', "invalid_json"),
    ("missing fields", line({"id": "x2", "source": "review", "text": "ok"}), "missing_field"),
    ("wrong types", line(message(0, id="x3", rating="five stars")), "wrong_type"),
    ("wrong text type", line(message(0, id="x4", text=12345)), "wrong_type"),
    ("empty text", line(message(0, id="x5", text="   ")), "empty_text"),
    ("100 KB text", line(message(0, id="x6", text="quá tệ " * 15_000)), "text_too_long"),
    ("bad timestamp", line(message(0, id="x7", created_at="20/11/2026 10:00")), "bad_event_time"),
    ("naive timestamp", line(message(0, id="x8", created_at="2026-11-20T10:00:00")), "bad_event_time"),
    ("missing timestamp", line({k: v for k, v in message(0, id="x9").items() if k != "created_at"}), "bad_event_time"),
    ("invalid UTF-8", b'{"id": "x10", "text": "h\xe0ng \xff\xfe"}', "invalid_utf8"),
    ("JSON array", line([message(0, id="x11")]), "not_an_object"),
    ("JSON string", line("giao hàng chậm"), "not_an_object"),
    ("unknown source", line(message(0, id="x12", source="email")), "invalid_message"),
    ("rating out of range", line(message(0, id="x13", rating=9)), "out_of_range"),
    ("chat without role", line(message(0, id="x14", source="chat", conversation_id="c1")), "invalid_message"),
]  # fmt: skip


@pytest.mark.parametrize("workers", [1, 2])
def test_every_valid_message_is_stored_once_with_its_enrichment(
    settings: Settings, workers: int
) -> None:
    payloads = [line(message(i)) for i in range(300)]
    rows, dead = run_in_memory(settings, payloads, workers)
    assert dead == []
    assert sorted(r.id for r in rows) == sorted(f"r{i}" for i in range(300))
    by_id = {r.id: r for r in rows}
    assert len(by_id) == 300
    slow, good = by_id["r0"], by_id["r1"]
    assert (slow.sentiment, slow.topics, slow.topic_sentiments) == (
        "negative",
        ("delivery",),
        ("negative",),
    )
    assert (good.sentiment, good.topics) == ("positive", ())
    assert all(r.model_version == "test-keywords-1" for r in rows)
    assert slow.created_at.isoformat() == "2026-11-20T01:00:00+00:00"
    assert slow.text == "Giao hàng chậm quá, shop ơi"
    assert slow.text_normalized == slow.text_normalized.lower()
    assert "đ" not in good.text_search and "đóng" in good.text_normalized


@pytest.mark.parametrize("workers", [1, 2])
def test_malformed_input_becomes_dead_letters_and_the_flow_goes_on(
    settings: Settings, workers: int
) -> None:
    payloads: list[bytes] = []
    for i, (_, bad, _) in enumerate(MALFORMED):
        payloads += [line(message(i)), bad]
    payloads.append(line(message(999)))
    rows, dead = run_in_memory(settings, payloads, workers)

    assert sorted(r.id for r in rows) == sorted([f"r{i}" for i in range(len(MALFORMED))] + ["r999"])
    assert len(dead) == len(MALFORMED)
    by_position = {d.position: d for d in dead}
    for i, (case, bad, error_type) in enumerate(MALFORMED):
        letter = by_position[2 * i + 2]
        assert (letter.step, letter.error_type) == ("parse", error_type), case
        assert letter.origin == "test.jsonl"
        assert letter.reason, case
        assert letter.payload_size == len(bad.decode("utf-8", errors="backslashreplace")), case
    utf8 = next(d for d in dead if d.error_type == "invalid_utf8")
    assert "\\xff" in utf8.payload and "byte 0xe0" in utf8.reason
    long_text = next(d for d in dead if d.error_type == "text_too_long")
    assert "10000" in long_text.reason.replace(",", "")


def test_a_message_the_enricher_fails_on_is_dead_lettered_alone(settings: Settings) -> None:
    class Fragile(KeywordEnricher):
        def enrich_batch(
            self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
        ) -> list[Enrichment]:
            if any("boom" in t for t in texts):
                msg = "model exploded on this text"
                raise RuntimeError(msg)
            return super().enrich_batch(texts)

    payloads = [line(message(i)) for i in range(10)] + [line(message(10, text="boom boom"))]
    rows, dead = run_in_memory(settings, payloads, 1, enricher=Fragile)
    assert sorted(r.id for r in rows) == sorted(f"r{i}" for i in range(10))
    assert [(d.step, d.error_type, d.position) for d in dead] == [("enrich", "RuntimeError", 11)]
    assert "model exploded" in dead[0].reason


def test_pii_is_redacted_authors_hashed_and_extra_fields_kept(settings: Settings) -> None:
    payloads = [
        message(
            1, text="Gọi em số 0912 345 678 hoặc mail an.nguyen@gmail.com nhé", author="an.nguyen"
        ),
        message(2, author="an.nguyen", app_version="5.2.1", customer_phone="0987654321"),
        message(3, author="binh"),
        {k: v for k, v in message(4).items() if k != "id"},
    ]
    rows, dead = run_in_memory(settings, [line(p) for p in payloads], 1)
    assert dead == []
    by_id = {r.id: r for r in rows}
    first = by_id["r1"]
    assert "0912" not in first.text and "gmail" not in first.text
    assert "<phone>" in first.text and "<email>" in first.text
    assert set(first.pii_kinds) >= {"phone", "email"}
    assert "0912" not in first.text_normalized and "0912" not in first.text_search
    assert len(first.author_hash) == 32 and "an.nguyen" not in first.author_hash
    assert by_id["r2"].author_hash == first.author_hash != by_id["r3"].author_hash
    attrs = json.loads(by_id["r2"].attributes)
    assert attrs["app_version"] == "5.2.1"
    assert "0987654321" not in by_id["r2"].attributes
    derived = [r for r in rows if r.id.startswith("auto-")]
    assert len(derived) == 1


def test_a_message_without_id_gets_the_same_id_every_time(settings: Settings) -> None:
    payload = line({k: v for k, v in message(5).items() if k != "id"})
    first, _ = run_in_memory(settings, [payload], 1)
    again, _ = run_in_memory(settings, [payload], 1)
    assert first[0].id == again[0].id and first[0].id.startswith("auto-")


def test_rating_text_mismatch_is_flagged_on_reviews(settings: Settings) -> None:
    payloads = [
        line(message(0, rating=5)),  # "giao hàng chậm" at five stars
        line(message(2, rating=1)),  # negative at one star: consistent
    ]
    rows, _ = run_in_memory(settings, payloads, 1)
    flags = {r.id: r.flags for r in rows}
    assert "rating_mismatch" in flags["r0"]
    assert "rating_mismatch" not in flags["r2"]


def test_no_field_of_a_stored_row_or_dead_letter_shows_planted_personal_data(
    settings: Settings,
) -> None:
    """PII in every field, hidden every way: none of it reaches a row or a dead letter."""
    hidden = [
        "0912 345 678",
        "０９１２３４５６７８",
        "09\u200b12\u00a0345&#54;78",
        "\\u0030912345678",
    ]
    payloads = []
    for i, phone in enumerate(hidden):
        fields = {
            "text": f"sđt {phone} nhé",
            "brand": f"Shop {phone}",
            "product": f"sđt {phone}",
            "url": f"https://shop.vn/?sdt={phone}",
            "author": "Nguyễn Văn An",
            "customer_id": "KH-0912345678",
            "note": {"deep": [f"gọi {phone}"]},
        }
        payloads.append(line(message(i, **fields)))
        payloads.append(line(message(i, id="0912345678", **fields)))
        payloads.append(line(message(i, **{**fields, "created_at": f"sđt {phone}"})))
        payloads.append(line(message(i, **{**fields, "channel": "0912345678"})))
        payloads.append(line(message(i, **fields))[:-3])  # broken JSON
    rows, dead = run_in_memory(settings, payloads, 1)
    assert len(rows) == 2 * len(hidden)
    assert sum(r.id.startswith("pii-") for r in rows) == len(hidden)
    assert len(dead) == 3 * len(hidden)
    for row in rows:
        stored = " ".join(str(v) for v in row.as_row())
        assert "0912" not in stored and "345" not in stored.replace(row.author_hash, "")
        assert "Văn An" not in stored and "KH-" not in stored
        assert row.text == "sđt <phone> nhé"
    for letter in dead:
        stored = letter.payload + letter.reason
        assert "0912" not in stored and "Văn An" not in stored, stored
