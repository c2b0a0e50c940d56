"""Kafka client configuration and checks shared by the source, the sink and ``voc produce``.

Everything that talks to Kafka builds its librdkafka configuration here, from the one
settings object: brokers, TLS (``ssl.ca.location``) and SASL credentials. librdkafka's own
log lines go to the ``flows.kafka.librdkafka`` logger instead of raw stderr.
``confluent_kafka`` is imported lazily: install the ``kafka`` extra to use Kafka.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from schemas.errors import ConfigError

if TYPE_CHECKING:
    from flows.settings import Settings

log = logging.getLogger(__name__)
librdkafka_log = logging.getLogger("flows.kafka.librdkafka")

#: How long to wait for broker metadata before saying the brokers cannot be reached.
METADATA_TIMEOUT_S = 15.0


def require_confluent_kafka() -> Any:
    """Import ``confluent_kafka`` or say how to install it."""
    try:
        import confluent_kafka
    except ImportError as exc:  # pragma: no cover - the kafka extra is part of the test set-up
        msg = "Kafka support needs confluent-kafka: pip install 'voc-stream[kafka]'"
        raise ConfigError(msg) from exc
    return confluent_kafka


def client_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """The librdkafka configuration for the configured brokers, TLS and SASL, plus ``extra``.

    The result holds the SASL password: pass it to a client, never print it.
    """
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_brokers,
        "security.protocol": settings.kafka_security_protocol,
        "client.id": "voc-stream",
        "logger": librdkafka_log,
        "error_cb": _log_error,
    }
    if settings.kafka_sasl_mechanism is not None:
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
    if settings.kafka_username:
        config["sasl.username"] = settings.kafka_username
    if settings.kafka_password is not None:
        config["sasl.password"] = settings.kafka_password.get_secret_value()
    if settings.kafka_ca_file is not None:
        if not settings.kafka_ca_file.is_file():
            msg = f"VOC_KAFKA_CA_FILE: no such file {settings.kafka_ca_file}"
            raise ConfigError(msg)
        config["ssl.ca.location"] = str(settings.kafka_ca_file)
    config.update(extra)
    return config


#: A client-wide error is logged at most once in this many seconds (librdkafka repeats it
#: many times a second while the brokers are down).
ERROR_LOG_INTERVAL_S = 30.0
_last_logged: dict[str, float] = {}


def _log_error(error: Any) -> None:
    """Client-wide errors (brokers down, authentication): librdkafka retries on its own."""
    text = error.str()
    now = time.monotonic()
    if now - _last_logged.get(text, -ERROR_LOG_INTERVAL_S) >= ERROR_LOG_INTERVAL_S:
        _last_logged[text] = now
        log.warning("Kafka: %s", text)


def partitions_of(
    config: dict[str, Any], topics: Sequence[str], timeout: float = METADATA_TIMEOUT_S
) -> dict[str, list[int]]:
    """The partition numbers of each topic; :class:`ConfigError` if a topic is missing.

    Topics are listed one by one so that a broker with auto-creation creates them; brokers
    that do not answer within ``timeout`` seconds are a :class:`ConfigError` too.
    """
    kafka = require_confluent_kafka()
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({k: v for k, v in config.items() if k != "error_cb"})
    found: dict[str, list[int]] = {}
    for topic in topics:
        try:
            metadata = admin.list_topics(topic, timeout=timeout)
        except kafka.KafkaException as exc:
            msg = f"cannot list Kafka topic {topic!r} at {config['bootstrap.servers']}: {exc}"
            raise ConfigError(msg) from exc
        described = metadata.topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            why = described.error.str() if described is not None and described.error else "absent"
            msg = (
                f"Kafka topic {topic!r} is not usable at {config['bootstrap.servers']} ({why}); "
                "create it (docker-compose's kafka-init does) or fix VOC_KAFKA_TOPIC_*"
            )
            raise ConfigError(msg)
        found[topic] = sorted(described.partitions)
    return found
