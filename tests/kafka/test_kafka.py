"""Kafka in and out: `voc produce`, the Kafka source and the dead-letter topic.

Runs on librdkafka's mock cluster (and on a real broker with VOC_TEST_KAFKA).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from bytewax import operators as op
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, run_main

from flows.kafka.config import client_config
from flows.kafka.producer import KafkaProducer, Outgoing, produce, route
from flows.kafka.source import KafkaSource
from flows.privacy import Privacy
from flows.records import RawRecord, SourceError
from flows.settings import Settings, load_settings
from flows.steps import parse_record
from schemas.errors import ConfigError
from tests.cli.test_cli import voc
from tests.conftest import jsonl, message
from tests.kafka.conftest import Kafka
from tests.kafka.flow_runs import migrated


def kafka_settings(kafka: Kafka, **overrides: Any) -> Settings:
    return load_settings(
        kafka_brokers=kafka.brokers, source="kafka", kafka_tail=False, **kafka.topics(), **overrides
    )


def chat_turns(conversation: str, n: int, start: int) -> list[dict[str, Any]]:
    chat = {"source": "chat", "channel": "zalo", "conversation_id": conversation}
    roles = ("customer", "agent")
    return [
        message(start + i, id=f"{conversation}-{i}", role=roles[i % 2], **chat) for i in range(n)
    ]


def test_route_picks_the_topic_by_source_and_the_key_by_conversation() -> None:
    topics = {"review": "r", "chat": "c", "social": "s"}
    chat = message(1, id="t1", source="chat", conversation_id="conv-7")
    assert route(chat, topics, "r") == Outgoing("c", b"conv-7", jsonl([chat]).rstrip())
    raw = json.dumps(message(2)).encode()
    assert route(raw, topics, "r") == Outgoing("r", b"r2", raw)
    assert route(message(3, source="social"), topics, "r").key == b"r3"
    for raw in (b"\xff\xfe not utf-8", b"[1, 2]", b'{"source": "fax"}'):
        assert route(raw, topics, "r") == Outgoing("r", None, raw, routed=False)


def test_produce_routes_by_source_and_keeps_a_conversation_in_order(kafka: Kafka) -> None:
    settings = kafka_settings(kafka)
    reviews = [message(i) for i in range(20)]
    social = [message(100 + i, id=f"s{i}", source="social", channel="tiktok") for i in range(7)]
    chats = chat_turns("c1", 9, 200) + chat_turns("c2", 6, 300)
    chats.sort(key=lambda m: m["created_at"])
    lines = [*jsonl(reviews + social + chats).splitlines(), b"{not json", b'{"source": "fax"}']

    stats = produce(settings, lines)

    topics = settings.source_topics
    assert stats.sent == 20 + 7 + 15 + 2 and stats.unrouted == 2
    assert dict(stats.per_topic) == {
        topics["review"]: 22, topics["social"]: 7, topics["chat"]: 15,
    }  # fmt: skip
    chat_records = kafka.read(topics["chat"])
    by_conversation: dict[bytes, set[int]] = defaultdict(set)
    for partition, _offset, key, _value in chat_records:
        by_conversation[key].add(partition)
    assert set(by_conversation) == {b"c1", b"c2"}
    assert all(len(parts) == 1 for parts in by_conversation.values())  # one partition each
    c1 = sorted((o, json.loads(v)["id"]) for _p, o, k, v in chat_records if k == b"c1")
    assert [i for _o, i in c1] == [f"c1-{i}" for i in range(9)]  # in the order they were sent
    reviews_read = kafka.read(topics["review"])
    assert {k for *_x, k, _v in reviews_read} >= {b"r0", b"r19", None}
    assert b"{not json" in {v for *_x, v in reviews_read}


def test_produce_paces_to_the_rate(kafka: Kafka) -> None:
    settings = kafka_settings(kafka)
    now = {"t": 0.0}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now["t"] += seconds

    records = [route(message(i), settings.source_topics, "x") for i in range(50)]
    progress: list[int] = []
    stats = KafkaProducer(settings, rate=200.0).send(
        records, on_progress=progress.append, clock=lambda: now["t"], sleep=sleep
    )
    assert stats.sent == 50 and sum(progress) == 50
    assert sum(slept) == pytest.approx(49 / 200)  # the 50th message leaves at 0.245 s
    assert len(kafka.read(settings.kafka_topic_review)) == 50


def test_the_source_yields_raw_records_with_origin_and_offset(kafka: Kafka) -> None:
    settings = kafka_settings(kafka)
    sent = [message(i) for i in range(30)] + [message(50, source="social", channel="facebook")]
    produce(settings, sent)

    out: list[RawRecord | SourceError] = []
    flow = Dataflow("kafka-read")
    op.output("out", op.input("read", flow, KafkaSource.from_settings(settings)), TestingSink(out))
    run_main(flow)

    assert all(isinstance(r, RawRecord) for r in out)
    records = [r for r in out if isinstance(r, RawRecord)]
    assert sorted(json.loads(r.payload)["id"] for r in records) == sorted(m["id"] for m in sent)
    review_topic = settings.kafka_topic_review
    origins = {r.origin for r in records}
    assert {o.rsplit("/", 1)[0] for o in origins} == {
        f"kafka:{review_topic}", f"kafka:{settings.kafka_topic_social}",
    }  # fmt: skip
    truth = {(f"kafka:{review_topic}/{p}", o, v) for p, o, _k, v in kafka.read(review_topic)}
    assert {(r.origin, r.position, r.payload) for r in records if review_topic in r.origin} == truth
    declared = KafkaSource.from_settings(settings).origins()  # what the detector waits for
    assert origins <= set(declared) and len(declared) == len(set(declared))


def test_a_lost_offset_is_reported_and_reading_restarts_at_the_earliest(kafka: Kafka) -> None:
    settings = kafka_settings(kafka)
    produce(settings, [message(i, id="same-key") for i in range(5)])  # one key: one partition
    (partition,) = {p for p, *_ in kafka.read(settings.kafka_topic_review)}
    source = KafkaSource(client_config(settings), [settings.kafka_topic_review], tail=False)
    part = source.build_part("read", f"{settings.kafka_topic_review}/{partition}", 10_000)
    items: list[RawRecord | SourceError] = []
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            items += part.next_batch()
    except StopIteration:
        pass
    finally:
        part.close()
    error, *records = items
    assert isinstance(error, SourceError)
    assert (error.origin, error.position, error.error_type) == (
        f"kafka:{settings.kafka_topic_review}/{partition}", 10_000, "kafka_auto_offset_reset",
    )  # fmt: skip
    assert "Offset out of range" in error.reason and "earliest offset" in error.reason
    assert [r.position for r in records if isinstance(r, RawRecord)] == [0, 1, 2, 3, 4]
    assert part.snapshot() == 5

    letter = parse_record(error, privacy=Privacy("test-salt"))
    assert (letter.step, letter.error_type, letter.position) == (
        "read", "kafka_auto_offset_reset", 10_000,
    )  # fmt: skip


def test_fetch_errors_become_dead_letters_and_access_errors_stop_the_flow(kafka: Kafka) -> None:
    from confluent_kafka import KafkaError

    settings = kafka_settings(kafka)
    source = KafkaSource(client_config(settings), [settings.kafka_topic_review], tail=False)
    part = source.build_part("read", f"{settings.kafka_topic_review}/2", 41)
    try:
        letter = parse_record(
            part._on_error(KafkaError(KafkaError._TRANSPORT, "broker gone")),
            privacy=Privacy("test-salt"),
        )
        assert (letter.step, letter.error_type, letter.position) == ("read", "kafka_transport", 41)
        assert letter.origin == f"kafka:{settings.kafka_topic_review}/2"
        assert "broker gone" in letter.reason
        for code in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError._AUTHENTICATION):
            with pytest.raises(
                ConfigError, match=f"cannot read Kafka {settings.kafka_topic_review}/2"
            ):
                part._on_error(KafkaError(code))
        with pytest.raises(ConfigError, match="fatal"):
            part._on_error(KafkaError(KafkaError._FATAL, "fatal", fatal=True))
    finally:
        part.close()


def test_produce_then_run_the_flow_from_kafka(
    kafka: Kafka, settings: Settings, tmp_path: Path
) -> None:
    """`voc produce` a file, `voc run --source kafka`: rows, dead letters and their topic."""
    topics = kafka.topics()
    env = {
        "VOC_KAFKA_BROKERS": kafka.brokers,
        **{k.upper().replace("KAFKA_", "VOC_KAFKA_", 1): v for k, v in topics.items()},
    }
    path = tmp_path / "in.jsonl"
    good = [message(i) for i in range(40)] + chat_turns("c9", 5, 100)
    path.write_bytes(jsonl(good) + b"not json\n" + b'{"id": "x", "source": "review"}\n')
    produced = voc("produce", str(path), env=env)
    assert produced.returncode == 0, produced.stderr.decode()
    assert b"sent 47 messages from 1 file(s)" in produced.stderr
    assert b"; 1 without a known source)" in produced.stderr

    dsn = migrated(settings.clickhouse_dsn.get_secret_value())
    ran = voc("run", "--dsn", dsn, "--source", "kafka", "--stop-at-end", "--quiet", env=env)
    assert ran.returncode == 0, ran.stderr.decode()
    assert b"wrote 45 messages and 2 dead letters" in ran.stderr

    from flows.clickhouse import close_deferred, connect

    client = connect(settings)
    try:
        assert client.query("SELECT uniqExact(id) FROM messages FINAL").result_rows == [(45,)]
        letters = client.query(
            "SELECT id, step, error_type, origin, position FROM dead_letters FINAL ORDER BY 2, 3"
        ).result_rows
    finally:
        client.close()
        close_deferred()
    assert [(step, kind) for _i, step, kind, _o, _p in letters] == [
        ("parse", "invalid_json"), ("parse", "missing_field"),
    ]  # fmt: skip
    assert all(o.startswith(f"kafka:{topics['kafka_topic_review']}/") for *_x, o, _p in letters)
    published = kafka.read(topics["kafka_topic_dead_letters"])
    assert sorted(k.decode() for _p, _o, k, _v in published) == sorted(i for i, *_ in letters)
    body = json.loads(published[0][3])
    assert set(body) == {
        "id", "step", "error_type", "reason", "origin", "position", "payload", "payload_size",
        "payload_truncated", "received_at",
    }  # fmt: skip


def test_a_huge_dead_letter_is_published_cut_to_size(kafka: Kafka) -> None:
    from datetime import UTC, datetime

    from flows.kafka.sink import PAYLOAD_CHARS, KafkaDeadLetterSink
    from schemas.rows import DeadLetter

    settings = kafka_settings(kafka)
    huge = "giao hàng chậm quá " * 40_000  # 760,000 characters, over 1 MB as UTF-8
    letter = DeadLetter("parse", "invalid_json", "not JSON", "kafka:t/0", 7, huge, len(huge),
                        datetime.now(UTC))  # fmt: skip
    part = KafkaDeadLetterSink(settings).build("voc.publish-dead-letters", 0, 1)
    part.write_batch([[letter]])
    part.close()
    ((_p, _o, key, value),) = kafka.read(settings.kafka_topic_dead_letters)
    body = json.loads(value)
    assert key.decode() == letter.id
    assert body["payload"] == huge[:PAYLOAD_CHARS] and body["payload_truncated"] is True
    assert body["payload_size"] == 760_000
