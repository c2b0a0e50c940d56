"""Kafka topics as a source: JSON messages, one partition per topic partition."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.kafka.config import client_config, partitions_of, require_confluent_kafka
from flows.records import RawRecord, SourceError
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from flows.settings import Settings

#: Messages handed to the flow per poll of a partition.
MESSAGES_PER_BATCH = 1_000
#: How long a partition with nothing to read sleeps before polling again.
IDLE_POLL = timedelta(milliseconds=50)

#: Errors that no amount of reading past will fix: the flow stops with a clear message.
_STOP_ERRORS = frozenset(
    {
        "UNKNOWN_TOPIC_OR_PART",
        "_UNKNOWN_TOPIC",
        "_UNKNOWN_PARTITION",
        "TOPIC_AUTHORIZATION_FAILED",
        "GROUP_AUTHORIZATION_FAILED",
        "SASL_AUTHENTICATION_FAILED",
        "_AUTHENTICATION",
        "_SSL",
    }
)


def origin_of(topic: str, partition: int) -> str:
    """The ``origin`` of records read from one topic partition: ``kafka:<topic>/<partition>``."""
    return f"kafka:{topic}/{partition}"


class _KafkaPartition(StatefulSourcePartition[RawRecord | SourceError, int]):
    def __init__(
        self,
        config: dict[str, Any],
        topic: str,
        partition: int,
        resume: int | None,
        tail: bool,
        batch_size: int,
    ):
        kafka = require_confluent_kafka()
        self._kafka = kafka
        self._topic = topic
        self._partition = partition
        self._origin = origin_of(topic, partition)
        self._batch_size = batch_size
        self._next = kafka.OFFSET_BEGINNING if resume is None else resume
        self._eof = False
        self._awake: datetime | None = None
        self._consumer = kafka.Consumer(
            {
                **config,
                # Offsets live in Bytewax recovery state, never in a consumer group.
                "group.id": "voc-stream-offsets-in-bytewax-recovery",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": not tail,
                "auto.offset.reset": "error",  # a lost offset is reported, then read from the start
            }
        )
        self._assign(self._next)

    def _assign(self, offset: int) -> None:
        self._consumer.assign([self._kafka.TopicPartition(self._topic, self._partition, offset)])

    def next_batch(self) -> list[RawRecord | SourceError]:
        if self._eof:
            raise StopIteration
        out: list[RawRecord | SourceError] = []
        for msg in self._consumer.consume(self._batch_size, 0):
            error = msg.error()
            if error is None:
                out.append(RawRecord(self._origin, msg.offset(), msg.value() or b""))
                self._next = msg.offset() + 1
            elif error.code() == self._kafka.KafkaError._PARTITION_EOF:
                self._eof = True  # emit this batch; stop at the next poll
                break
            else:
                out.append(self._on_error(error))
        self._awake = None if out or self._eof else datetime.now(UTC) + IDLE_POLL
        return out

    def _on_error(self, error: Any) -> SourceError:
        name = error.name()
        if error.fatal() or name in _STOP_ERRORS:
            msg = f"cannot read Kafka {self._topic}/{self._partition}: {error.str()}"
            raise ConfigError(msg)
        position = max(self._next, 0)
        reason = f"Kafka: {error.str()}"
        if error.code() == self._kafka.KafkaError._AUTO_OFFSET_RESET:
            # The offset we resumed at is no longer on the broker (retention, a recreated
            # topic): say so, then read what the partition still holds.
            reason += "; reading resumes at the earliest offset still on the broker"
            self._next = self._kafka.OFFSET_BEGINNING
            self._assign(self._next)
        return SourceError(self._origin, position, f"kafka_{name.lstrip('_').lower()}", reason)

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> int:
        return self._next

    def close(self) -> None:
        self._consumer.close()


class KafkaSource(FixedPartitionedSource[RawRecord | SourceError, int]):
    """Read JSON messages from Kafka topics; one partition per topic partition.

    Unit of parallelism: the Kafka partition; Bytewax spreads the partitions of all topics
    over the workers of all processes. Delivery: at-least-once; the next offset of each
    partition is Bytewax recovery state (no consumer group, nothing committed to Kafka), so
    after a restart reading resumes at the last snapshot and what followed it is read again.
    Each message becomes a ``RawRecord`` with origin ``kafka:<topic>/<partition>``, the offset
    as position and the value bytes as payload. A fetch error becomes a :class:`SourceError`
    (a dead letter of the ``read`` step) and reading goes on; a lost offset restarts at the
    earliest one; an unknown topic or failed authentication stops the flow. With
    ``tail=False`` each partition ends at its current end (backfills, tests).
    """

    def __init__(
        self,
        config: dict[str, Any],
        topics: Sequence[str],
        *,
        tail: bool = True,
        batch_size: int = MESSAGES_PER_BATCH,
    ):
        if isinstance(topics, str):
            msg = f"topics must be a list of names, got the string {topics!r}"
            raise ConfigError(msg)
        self._config = config
        self._topics = list(dict.fromkeys(topics))
        self._tail = tail
        self._batch_size = batch_size

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaSource:
        """The review, chat and social topics of the ``VOC_KAFKA_*`` settings."""
        return cls(
            client_config(settings),
            list(settings.source_topics.values()),
            tail=settings.kafka_tail,
            batch_size=settings.kafka_max_poll_records,
        )

    def list_parts(self) -> list[str]:
        """``<topic>/<partition>`` for every partition of every topic."""
        found = partitions_of(self._config, self._topics)
        return [f"{topic}/{p}" for topic in self._topics for p in found[topic]]

    def origins(self) -> list[str]:
        """The ``origin`` of each partition's records, ``kafka:<topic>/<partition>``.

        The detector waits for these from the start; the partition names of
        ``list_parts`` (recovery keys) stay as they are.
        """
        found = partitions_of(self._config, self._topics)
        return [origin_of(topic, p) for topic in self._topics for p in found[topic]]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _KafkaPartition:
        """Open a consumer on one partition, at the snapshotted offset if any."""
        topic, _, partition = for_part.rpartition("/")
        if topic not in self._topics:
            msg = (
                f"recovery state names Kafka topic {topic!r}, which this flow does not read "
                f"({', '.join(self._topics)}); use a fresh recovery directory"
            )
            raise ConfigError(msg)
        return _KafkaPartition(
            self._config, topic, int(partition), resume_state, self._tail, self._batch_size
        )
