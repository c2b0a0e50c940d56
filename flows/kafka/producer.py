"""Send feedback to Kafka: JSON Lines files, standard input or the simulator (``voc produce``).

Each message goes to the topic of its ``source`` (review, chat, social; see
``VOC_KAFKA_TOPIC_*``), keyed so that Kafka keeps what must stay in order on one partition:
a chat's turns by ``conversation_id``, anything else by its ``id``. A line that is not a
JSON object with a known source is still sent, unkeyed, to the review topic: the flow turns
it into a dead letter with the reason, which is where a bad payload should be seen.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from flows.kafka.config import client_config, partitions_of, require_confluent_kafka
from schemas.errors import SinkError

if TYPE_CHECKING:
    from flows.settings import Settings


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Kafka record to send."""

    topic: str
    key: bytes | None
    value: bytes
    routed: bool = True
    """False when the payload named no known source and went to the fallback topic."""


@dataclass
class ProduceStats:
    """What a run of the producer sent."""

    sent: int = 0
    per_topic: Counter[str] = field(default_factory=Counter)
    unrouted: int = 0
    seconds: float = 0.0


def message_key(message: dict[str, Any]) -> bytes | None:
    """The partitioning key: the conversation for chat turns, else the message id."""
    if message.get("source") == "chat" and message.get("conversation_id"):
        return str(message["conversation_id"]).encode("utf-8")
    if message.get("id") is not None:
        return str(message["id"]).encode("utf-8")
    return None


def route(payload: bytes | dict[str, Any], topics: dict[str, str], fallback: str) -> Outgoing:
    """The record for one payload: a raw JSON line or a message dict."""
    if isinstance(payload, dict):
        message: Any = payload
        value = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    else:
        value = payload
        try:
            message = json.loads(payload)
        except ValueError:  # not JSON, or not UTF-8: the flow dead-letters it
            message = None
    if isinstance(message, dict) and message.get("source") in topics:
        return Outgoing(topics[message["source"]], message_key(message), value)
    return Outgoing(fallback, None, value, routed=False)


def jsonl_payloads(paths: Iterable[Path | str]) -> Iterator[bytes]:
    """Non-blank lines of JSON Lines files, in order, as bytes (``-`` is standard input)."""
    import sys

    for path in paths:
        handle: IO[bytes] = sys.stdin.buffer if str(path) == "-" else Path(path).open("rb")  # noqa: SIM115
        try:
            for raw in handle:
                line = raw.rstrip(b"\r\n")
                if line.strip():
                    yield line
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()


def _simulation(settings: Settings, realtime: bool) -> Any:
    import dataclasses

    from flows.sources.simulator import simulation_config
    from simulator.config import default_start
    from simulator.generator import Simulator

    config = simulation_config(settings)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = config.start or (now if realtime else default_start(config.hours))
    return Simulator(dataclasses.replace(config, start=start, rate=None, realtime=realtime))


def simulated_payloads(
    settings: Settings, realtime: bool = False
) -> Iterator[bytes | dict[str, Any]]:
    """The simulator's stream (``VOC_SIMULATOR_*``), malformed every N-th if configured.

    By default the stream covers the last ``hours`` of event time; ``realtime`` starts it at
    the current minute and yields each message when the wall clock reaches its event time.
    """
    from flows.sources.simulator import corrupt

    every = settings.simulator_malformed_every
    for n, message in enumerate(_simulation(settings, realtime).messages(), start=1):
        yield corrupt(message, n // every) if every and n % every == 0 else message


def simulated_count(settings: Settings, realtime: bool = False) -> int:
    """How many payloads :func:`simulated_payloads` yields."""
    return int(_simulation(settings, realtime).count())


def check_brokers(settings: Settings) -> None:
    """Check the brokers answer within the produce timeout and hold every source topic.

    :class:`ConfigError` otherwise: ``voc produce`` then fails at once, in one line.
    """
    topics = list(settings.source_topics.values())
    partitions_of(client_config(settings), topics, settings.kafka_produce_timeout_s)


class KafkaProducer:
    """An idempotent producer sending :class:`Outgoing` records, optionally paced.

    Delivery: every record is acknowledged by all in-sync replicas (``acks=all``,
    idempotence on) or counted as failed; :meth:`send` raises :class:`SinkError` if any
    record was not delivered.
    """

    def __init__(self, settings: Settings, *, rate: float | None = None):
        kafka = require_confluent_kafka()
        self._brokers = settings.kafka_brokers
        self._timeout = settings.kafka_produce_timeout_s
        # A message not acknowledged within the timeout counts as not delivered.
        options = {
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 20,
            "message.timeout.ms": int(self._timeout * 1000),
        }
        self._producer = kafka.Producer(client_config(settings, **options))
        self._rate = rate

    def send(
        self,
        records: Iterable[Outgoing],
        *,
        on_progress: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> ProduceStats:
        """Send every record, pacing to ``rate`` per second if set; wait for all acks.

        The first record that could not be delivered (within ``VOC_KAFKA_PRODUCE_TIMEOUT_S``)
        stops the sending; :class:`SinkError` then says how many were not delivered.
        """
        stats = ProduceStats()
        failures: list[str] = []

        def delivered(error: Any, _msg: Any) -> None:
            if error is not None:
                failures.append(error.str())

        began = clock()
        for record in records:
            if self._rate is not None:
                ahead = began + stats.sent / self._rate - clock()
                if ahead > 0.001:
                    sleep(ahead)
            if failures:  # the brokers went away (or refuse): give up, do not queue the rest
                break
            self._produce(record, delivered)
            stats.sent += 1
            stats.per_topic[record.topic] += 1
            stats.unrouted += not record.routed
            if on_progress is not None and stats.sent % 500 == 0:
                on_progress(500)
        left = self._producer.flush(self._timeout)
        if on_progress is not None:
            on_progress(stats.sent % 500)
        stats.seconds = clock() - began
        if failures or left:
            lost = len(failures) + left
            why = failures[0] if failures else f"no acknowledgement within {self._timeout:g} s"
            msg = (
                f"{lost:,} of {stats.sent:,} messages were not delivered to Kafka at "
                f"{self._brokers}: {why}"
            )
            raise SinkError(msg)
        return stats

    def _produce(self, record: Outgoing, delivered: Callable[[Any, Any], None]) -> None:
        while True:
            try:
                self._producer.produce(
                    record.topic, value=record.value, key=record.key, on_delivery=delivered
                )
            except BufferError:  # the local queue is full: let deliveries drain it
                self._producer.poll(0.1)
                continue
            self._producer.poll(0)
            return


def produce(
    settings: Settings,
    payloads: Iterable[bytes | dict[str, Any]],
    *,
    rate: float | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ProduceStats:
    """Route each payload to its topic and send them all; see the module docstring."""
    topics = settings.source_topics
    fallback = settings.kafka_topic_review
    records = (route(p, topics, fallback) for p in payloads)
    return KafkaProducer(settings, rate=rate).send(records, on_progress=on_progress)
