"""Dead letters published to a Kafka topic, beside the ``dead_letters`` table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from flows.kafka.config import client_config, require_confluent_kafka
from flows.retry import Backoff, retry
from schemas.errors import SinkFatalError, SinkRetryableError

if TYPE_CHECKING:
    from flows.settings import Settings
    from schemas.rows import DeadLetter

#: Characters of the raw payload published (the table keeps more); 4 bytes each at most,
#: well under Kafka's default 1 MB record limit.
PAYLOAD_CHARS = 100_000
#: How long one flush may take before the batch counts as failed and is retried.
FLUSH_TIMEOUT_S = 30.0
#: Delivery errors no retry can fix: the topic or the permission is missing, or the record.
PERMANENT_ERRORS = frozenset(
    {
        "UNKNOWN_TOPIC_OR_PART",
        "_UNKNOWN_TOPIC",
        "TOPIC_AUTHORIZATION_FAILED",
        "CLUSTER_AUTHORIZATION_FAILED",
        "MSG_SIZE_TOO_LARGE",
        "_MSG_SIZE_TOO_LARGE",
        "INVALID_RECORD",
    }
)


def dead_letter_json(letter: DeadLetter) -> bytes:
    """The JSON value published for one dead letter (the columns of ``dead_letters``).

    The payload is cut to :data:`PAYLOAD_CHARS` characters (``payload_truncated`` says so;
    ``payload_size`` keeps the full length): a record must stay under the broker's size limit.
    """
    body = {
        "id": letter.id,
        "step": letter.step,
        "error_type": letter.error_type,
        "reason": letter.reason,
        "origin": letter.origin,
        "position": letter.position,
        "payload": letter.payload[:PAYLOAD_CHARS],
        "payload_truncated": len(letter.payload) > PAYLOAD_CHARS,
        "payload_size": letter.payload_size,
        "received_at": letter.received_at.isoformat(),
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class _ProducerPartition(StatelessSinkPartition[Sequence["DeadLetter"]]):
    def __init__(self, producer: Any, topic: str, backoff: Backoff, who: str):
        self._producer = producer
        self._topic = topic
        self._backoff = backoff
        self._who = who

    def write_batch(self, items: list[Sequence[DeadLetter]]) -> None:
        letters = [letter for batch in items for letter in batch]
        if letters:
            retry(lambda: self._publish(letters), self._backoff, f"publish to {self._topic}",
                  who=self._who)  # fmt: skip

    def _publish(self, letters: list[DeadLetter]) -> None:
        failed: list[Any] = []

        def delivered(error: Any, _msg: Any) -> None:
            if error is not None:
                failed.append(error)

        for letter in letters:
            self._producer.produce(
                self._topic, key=letter.id.encode(), value=dead_letter_json(letter),
                on_delivery=delivered,
            )  # fmt: skip
            self._producer.poll(0)
        left = self._producer.flush(FLUSH_TIMEOUT_S)
        if failed or left:
            why = failed[0].str() if failed else f"{left} still queued after {FLUSH_TIMEOUT_S:g} s"
            msg = f"publish of {len(letters)} dead letters to {self._topic} failed: {why}"
            if any(e.fatal() or e.name() in PERMANENT_ERRORS for e in failed):
                raise SinkFatalError(msg)
            raise SinkRetryableError(msg)

    def close(self) -> None:
        self._producer.flush(FLUSH_TIMEOUT_S)


class KafkaDeadLetterSink(DynamicSink[Sequence["DeadLetter"]]):
    """Publish dead letters as JSON to a Kafka topic, keyed by the dead letter's id.

    Unit of parallelism: the worker; each worker of each process has its own idempotent
    producer. Delivery: at-least-once; a batch is flushed before the next is taken and
    retried with capped backoff (``VOC_SINK_RETRY_*``) if the broker does not acknowledge
    it; a missing topic or permission stops the flow. Consumers dedupe on the key: a
    replayed dead letter keeps its id.
    """

    def __init__(self, settings: Settings, topic: str | None = None):
        self._settings = settings
        self._topic = topic or settings.kafka_topic_dead_letters

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _ProducerPartition:
        """Create this worker's producer."""
        kafka = require_confluent_kafka()
        options = {
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
            "message.timeout.ms": int(FLUSH_TIMEOUT_S * 1000),
        }
        producer = kafka.Producer(client_config(self._settings, **options))
        who = f"{step_id.rsplit('.', 1)[-1]} (worker {worker_index})"
        return _ProducerPartition(producer, self._topic, Backoff.from_settings(self._settings), who)
