"""Kafka for tests: librdkafka's in-process mock cluster, or a real broker (VOC_TEST_KAFKA).

The mock cluster (``test.mock.num.brokers``) lives inside the client that asked for it and
listens on 127.0.0.1, so subprocesses of the test can reach it too. It creates a topic with
four partitions the first time a client asks for it. ``VOC_TEST_KAFKA=host:port`` runs the
same tests against a real broker, where the fixture creates the topics.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

REAL_BROKERS = os.environ.get("VOC_TEST_KAFKA", "")
PARTITIONS = 4


@dataclass(frozen=True)
class Kafka:
    """Brokers to test against, and whether they are the mock cluster."""

    brokers: str
    mock: bool

    def topics(self, prefix: str = "") -> dict[str, str]:
        """Fresh topic names for one test, as settings overrides (created, 4 partitions)."""
        run = prefix or uuid.uuid4().hex[:8]
        names = {
            "kafka_topic_review": f"{run}.reviews",
            "kafka_topic_chat": f"{run}.chats",
            "kafka_topic_social": f"{run}.social",
            "kafka_topic_dead_letters": f"{run}.dead-letters",
        }
        self.create(list(names.values()))
        return names

    def create(self, topics: list[str]) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.brokers})
        if self.mock:  # the mock cluster creates a topic when asked for its metadata
            for topic in topics:
                assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 4
            return
        futures = admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
        for future in futures.values():
            future.result(timeout=30)

    def read(self, topic: str, timeout: float = 20.0) -> list[Any]:
        """Every record of ``topic`` from the start, as (partition, offset, key, value)."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

        consumer = Consumer(
            {
                "bootstrap.servers": self.brokers,
                "group.id": "voc-tests",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
        try:
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
            out, ended = [], set()
            deadline = time.monotonic() + timeout
            while len(ended) < PARTITIONS and time.monotonic() < deadline:
                for msg in consumer.consume(500, 0.2):
                    if msg.error() is None:
                        out.append((msg.partition(), msg.offset(), msg.key(), msg.value()))
                    elif msg.error().code() == KafkaError._PARTITION_EOF:
                        ended.add(msg.partition())
            assert len(ended) == PARTITIONS, f"read of {topic} timed out"
            return out
        finally:
            consumer.close()


@pytest.fixture(
    scope="session",
    params=[
        "mock",
        pytest.param(
            "real",
            marks=[
                pytest.mark.integration,
                pytest.mark.skipif(
                    not REAL_BROKERS, reason="set VOC_TEST_KAFKA=host:port to test a real broker"
                ),
            ],
        ),
    ],
)
def kafka(request: pytest.FixtureRequest) -> Iterator[Kafka]:
    """The mock cluster for the whole session (and a real broker when configured)."""
    if request.param == "real":
        yield Kafka(REAL_BROKERS, mock=False)
        return
    from confluent_kafka import Producer

    owner = Producer({"test.mock.num.brokers": 1, "log_level": 0})
    metadata = owner.list_topics(timeout=10)
    brokers = ",".join(f"{b.host}:{b.port}" for b in metadata.brokers.values())
    yield Kafka(brokers, mock=True)
    owner.flush(1)


#: The stream the recovery and cluster tests read: 90 minutes of simulated feedback (40 a
#: minute) with a delivery incident on Shopee after the detectors' 60-minute warm-up, so
#: they raise an alert, and three malformed payloads spread through it.
STREAM_MALFORMED = (b"{not json", b'{"id": "bad-1", "source": "review"}', b"[1, 2, 3]")


def stream() -> list[Any]:
    """The messages (dicts) and malformed payloads (bytes) of the shared stream, in order."""
    from datetime import UTC, datetime, timedelta

    from simulator import SimulationConfig, Simulator
    from simulator.incidents import Incident

    start = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    incident = Incident(
        id="delivery-shopee", kind="topic_spike", topic="delivery", channel="shopee",
        start=start + timedelta(minutes=70), duration=timedelta(minutes=15), multiplier=12,
    )  # fmt: skip
    config = SimulationConfig(
        seed=11, start=start, hours=1.5, messages=3600, incidents=(incident,), diurnal=False
    )
    payloads: list[Any] = list(Simulator(config).messages())
    count = len(payloads)
    for k, bad in enumerate(STREAM_MALFORMED):
        payloads.insert((k + 1) * count // 4, bad)
    return payloads


@dataclass(frozen=True)
class Uninterrupted:
    """A stream on Kafka, the settings to read it, and what one uninterrupted run stored."""

    env: dict[str, str]
    topics: dict[str, str]
    dsn: str
    messages: int
    stored: dict[str, Any]


@pytest.fixture(scope="session")
def uninterrupted(kafka: Kafka, tmp_path_factory: pytest.TempPathFactory) -> Uninterrupted:
    """Produce the stream once; run the flow once, in one process, with no interruption."""
    from flows.kafka.producer import produce
    from flows.settings import load_settings
    from tests.kafka.flow_runs import migrated, run_voc, stored, voc_env

    topics = kafka.topics()
    payloads = stream()
    produce(load_settings(kafka_brokers=kafka.brokers, **topics), payloads)
    env = voc_env(
        kafka_brokers=kafka.brokers, source="kafka", kafka_tail="false", batch_size="20",
        batch_timeout_s="0.05", kafka_max_poll_records="10", enricher="baseline", **topics,
    )  # fmt: skip
    dsn = migrated(f"chdb://{tmp_path_factory.mktemp('uninterrupted') / 'chdb'}")
    run_voc("run", "--dsn", dsn, "--quiet", env=env)
    result = stored(dsn)
    messages = len(payloads) - len(STREAM_MALFORMED)
    assert result["messages"] == (messages, messages)
    assert len(result["dead_letters"]) == len(STREAM_MALFORMED)
    from flows.dataflow import FlowIO

    if "alerts" in FlowIO.__dataclass_fields__:  # the flow detects: the incident must show
        assert result["alerts"], "the incident raised no alert"
    return Uninterrupted(env, topics, dsn, messages, result)
