"""The one settings object of voc-stream.

``Settings`` is frozen, typed and read from ``VOC_*`` environment variables (and a ``.env``
file when present). The CLI builds it once and passes it down; nothing else reads the
environment. Secrets are ``SecretStr``: they print as ``**********``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.errors import ConfigError

SourceKind = Literal["simulator", "file", "stdin", "kafka"]
KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

DEFAULT_DSN = "chdb://./data/chdb"
#: The salt used when none is configured: fine for a demo, never for real authors.
DEMO_SALT = "voc-stream-demo-salt"
_TOPIC = r"^[A-Za-z0-9._-]{1,249}$"


class Settings(BaseSettings):
    """Everything a run of voc-stream can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="VOC_",
        env_file=".env",
        env_file_encoding="utf-8",
        frozen=True,
        extra="ignore",
    )

    # Storage ------------------------------------------------------------------------------
    clickhouse_dsn: SecretStr = Field(
        default=SecretStr(DEFAULT_DSN),
        description="chdb:///path for embedded ClickHouse, or http(s)://user:pass@host:8123/db",
    )
    clickhouse_database: str = Field(default="voc", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    clickhouse_password: SecretStr | None = Field(
        default=None, description="Password for a server DSN, if not given in the DSN itself."
    )
    clickhouse_verify: bool = Field(
        default=True, description="Verify the server's TLS certificate (https:// DSNs)."
    )
    clickhouse_ca_file: Path | None = Field(
        default=None, description="CA bundle (PEM) to verify an https:// server with."
    )

    # Source -------------------------------------------------------------------------------
    source: SourceKind = "simulator"
    input_path: str | None = Field(
        default=None, description="JSONL file, directory or glob for source=file."
    )
    simulator_messages: int = Field(default=24_000, ge=1)
    simulator_hours: float = Field(default=6.0, gt=0)
    simulator_seed: int = 7
    simulator_partitions: int = Field(default=2, ge=1)
    simulator_start: datetime | None = Field(
        default=None, description="Event time of the first simulated message; default: now - hours."
    )
    simulator_rate: float | None = Field(
        default=None,
        gt=0,
        description="Messages per second of wall time; default: as fast as possible.",
    )
    simulator_malformed_every: int = Field(
        default=0, ge=0, description="Replace every N-th payload with a malformed one (0: never)."
    )
    simulator_incidents: str = Field(
        default="",
        description=(
            "Scheduled incidents, specs separated by ';' (the `voc simulate --incident` format, "
            "e.g. topic=delivery,channel=shopee,x=6,at=4h,for=30m)."
        ),
    )

    # Kafka --------------------------------------------------------------------------------
    kafka_brokers: str = Field(
        default="localhost:9092", description="Bootstrap servers, host:port[,host:port...]."
    )
    kafka_topic_review: str = Field(default="voc.reviews", pattern=_TOPIC)
    kafka_topic_chat: str = Field(default="voc.chats", pattern=_TOPIC)
    kafka_topic_social: str = Field(default="voc.social", pattern=_TOPIC)
    kafka_topic_dead_letters: str = Field(
        default="voc.dead-letters",
        pattern=rf"^$|{_TOPIC}",
        description="Topic the flow also publishes dead letters to (source=kafka); empty: off.",
    )
    kafka_tail: bool = Field(
        default=True,
        description="Keep waiting for new messages; false: stop at the end of every partition.",
    )
    kafka_max_poll_records: int = Field(
        default=1_000,
        ge=1,
        le=100_000,
        description="Messages one poll takes from a partition: less is lower latency under load.",
    )
    kafka_produce_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3_600,
        description=(
            "voc produce: give up, with one error line, when the brokers cannot be reached or "
            "a message is not acknowledged within this many seconds."
        ),
    )
    kafka_security_protocol: KafkaProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_ca_file: Path | None = Field(
        default=None, description="CA bundle (PEM) to verify the brokers' TLS certificates."
    )

    # Processing ---------------------------------------------------------------------------
    batch_size: int = Field(
        default=4096,
        ge=1,
        le=100_000,
        description=(
            "Micro-batch size (one enricher call and one insert per batch). An embedded "
            "insert costs ~15 ms whatever its size, so under load bigger batches write more "
            "rows per millisecond: 4096 gives a 2-process cluster, whose one writer inserts "
            "every process's rows, 5% more throughput than 2048 (bench/pipeline.py). Below "
            "saturation batches close on batch_timeout_s long before they fill."
        ),
    )
    batch_timeout_s: float = Field(default=0.5, gt=0, le=60)
    enricher: str = Field(default="fast", description="fast, baseline or transformer")
    model_path: str | None = Field(
        default=None, description="Model directory or hub id for the chosen enricher."
    )
    taxonomy_path: Path | None = Field(
        default=None, description="CX topic taxonomy YAML; default: the packaged one."
    )
    product_categories: Path | None = Field(
        default=None,
        description=(
            "YAML mapping brands and products to product categories (smartphone, "
            "travel_hotel, ...): a message without a category attribute gets its brand's or "
            "product's, so aspect models speak only where they belong (nlp/categories.py)."
        ),
    )
    author_salt: SecretStr = Field(
        default=SecretStr(DEMO_SALT),
        description="Salt for hashing author ids; set your own in production.",
    )

    # Sink retries -------------------------------------------------------------------------
    sink_retry_initial_s: float = Field(
        default=0.5, gt=0, description="First wait after a retryable ClickHouse failure."
    )
    sink_retry_max_s: float = Field(
        default=30.0, gt=0, description="Cap of the exponential backoff between attempts."
    )
    sink_give_up_s: float = Field(
        default=0.0,
        ge=0,
        description="Stop the flow after failing this long (0: never give up on retryable errors).",
    )

    # Recovery and cluster -----------------------------------------------------------------
    recovery_dir: Path | None = Field(
        default=None, description="Bytewax recovery directory (SQLite partitions); off if unset."
    )
    snapshot_interval_s: float = Field(
        default=10.0, gt=0, description="Seconds between recovery snapshots (epoch length)."
    )
    backup_interval_s: float = Field(
        default=0.0, ge=0, description="Seconds old snapshots are kept for external backups."
    )
    process_id: int = Field(default=0, ge=0, description="This process's index in the cluster.")
    addresses: str | None = Field(
        default=None,
        pattern=r"^[^;\s]+:\d+(;[^;\s]+:\d+)*$",
        description="Cluster addresses host:port;host:port, one per process; unset: one process.",
    )

    # Presentation -------------------------------------------------------------------------
    timezone: str = "Asia/Ho_Chi_Minh"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"unknown time zone {value!r}; use an IANA name"
            raise ValueError(msg) from None
        return value

    @field_validator("clickhouse_dsn")
    @classmethod
    def _known_scheme(cls, value: SecretStr) -> SecretStr:
        scheme = urlsplit(value.get_secret_value()).scheme
        if scheme not in ("chdb", "http", "https"):
            got = scheme or "no scheme"
            msg = f"clickhouse_dsn must start with chdb://, http:// or https://, got {got}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.sink_retry_initial_s > self.sink_retry_max_s:
            msg = (
                f"sink_retry_initial_s ({self.sink_retry_initial_s}) must not exceed "
                f"sink_retry_max_s ({self.sink_retry_max_s})"
            )
            raise ValueError(msg)
        if self.process_id >= len(self.cluster_addresses or [""]):
            msg = (
                f"process_id must be below the number of cluster addresses "
                f"({len(self.cluster_addresses or [''])}), got {self.process_id}"
            )
            raise ValueError(msg)
        if self.kafka_security_protocol.startswith("SASL_") and (
            self.kafka_sasl_mechanism is None or not self.kafka_username
        ):
            msg = f"kafka_security_protocol {self.kafka_security_protocol} needs "
            msg += "kafka_sasl_mechanism and kafka_username"
            raise ValueError(msg)
        return self

    @property
    def cluster_addresses(self) -> list[str] | None:
        """The cluster's process addresses, or ``None`` for a single process."""
        return self.addresses.split(";") if self.addresses else None

    @property
    def is_writer_process(self) -> bool:
        """Whether this process writes embedded storage (one process per chDB directory)."""
        return self.process_id == 0

    @property
    def source_topics(self) -> dict[str, str]:
        """The Kafka topic of each message source."""
        return {
            "review": self.kafka_topic_review,
            "chat": self.kafka_topic_chat,
            "social": self.kafka_topic_social,
        }

    @property
    def zone(self) -> ZoneInfo:
        """The display time zone."""
        return ZoneInfo(self.timezone)

    @property
    def is_embedded(self) -> bool:
        """Whether storage is embedded chDB rather than a server."""
        return self.clickhouse_dsn.get_secret_value().startswith("chdb:")

    def redacted_dsn(self) -> str:
        """The DSN with any password masked, safe to print and log."""
        dsn = self.clickhouse_dsn.get_secret_value()
        parts = urlsplit(dsn)
        if parts.password is None:
            return dsn
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username}:***@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def describe(self) -> dict[str, Any]:
        """All settings as plain values, secrets masked, for `voc config`."""
        out = self.model_dump(mode="json")
        out["clickhouse_dsn"] = self.redacted_dsn()
        return out


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment plus explicit overrides (from CLI options).

    Overrides that are ``None`` are ignored so unset CLI options fall back to the
    environment. Invalid values raise :class:`ConfigError` naming each bad field.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(_problem(err["loc"], err["msg"]) for err in exc.errors())
        msg = f"invalid settings: {problems}"
        raise ConfigError(msg) from exc


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    """One validation problem, naming the environment variable when there is one."""
    message = message.removeprefix("Value error, ")
    if not loc:
        return message
    return f"VOC_{'_'.join(str(p) for p in loc).upper()}: {message}"
