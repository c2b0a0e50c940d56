"""The one settings object of voc-stream.

``Settings`` is frozen, typed and read from ``VOC_*`` environment variables (and a ``.env``
file when present). The CLI builds it once and passes it down; nothing else reads the
environment. Secrets are ``SecretStr``: they print as ``**********``.

Secrets never reach an output or a traceback: validation errors never carry the input
(``hide_input_in_errors``), :meth:`Settings.redacted_dsn` rebuilds the DSN from its parsed
parts with the password as ``***``, and a server DSN is parsed by :func:`parse_server_dsn`,
which accepts any character in the password (the user information ends at the last ``@``;
percent-escapes in it are decoded, so a literal ``%`` is best written ``%25``). A password
can also be given alone, verbatim, in ``VOC_CLICKHOUSE_PASSWORD``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows.detect.config import SETTING_NAMES, DetectConfig
from schemas.errors import ConfigError
from schemas.message import MAX_ATTRIBUTES_BYTES
from schemas.storable import EARLIEST

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
        # VOC_DETECT_FIRE_SCORE=7 sets detect.fire_score: "_" nests once, into `detect` only
        # (the one field holding settings of its own)
        env_nested_delimiter="_",
        env_nested_max_split=1,
        hide_input_in_errors=True,
    )

    # Storage ------------------------------------------------------------------------------
    clickhouse_dsn: SecretStr = Field(
        default=SecretStr(DEFAULT_DSN),
        description="chdb:///path for embedded ClickHouse, or http(s)://user:pass@host:8123/db "
        "(any character in the password; percent-escapes are decoded)",
    )
    clickhouse_database: str = Field(default="voc", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    clickhouse_password: SecretStr | None = Field(
        default=None,
        description="Password for a server DSN, verbatim (no escaping), if not in the DSN.",
    )
    clickhouse_verify: bool = Field(
        default=True, description="Verify the server's TLS certificate (https:// DSNs)."
    )
    clickhouse_ca_file: Path | None = Field(
        default=None, description="CA bundle (PEM) to verify an https:// server with."
    )

    # Reads while streaming ----------------------------------------------------------------
    serve: bool = Field(
        default=True,
        description=(
            "voc run and voc demo on a chdb:// store serve reads of it over ClickHouse's HTTP "
            "interface while they run (the read commands find it); false: off."
        ),
    )
    serve_host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="Address the read endpoint listens on; anything but loopback needs a password.",
    )
    serve_port: int = Field(
        default=8123,
        ge=0,
        le=65_535,
        description=(
            "Port of the read endpoint (0: any free port). Left unset: 8123, or a free port "
            "when 8123 is taken; set: a taken port is an error."
        ),
    )
    serve_user: str = Field(
        default="default",
        pattern=r"^[A-Za-z0-9_.@-]{1,64}$",
        description="User name the read endpoint accepts.",
    )
    serve_password: SecretStr | None = Field(
        default=None,
        description="Password the read endpoint requires (the read commands send it); unset: none.",
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
    batch_max_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024 * 1024,
        le=1024 * 1024 * 1024,
        description=(
            "A micro-batch is also closed once its payloads hold this many bytes, so memory "
            "stays bounded whatever the size of the messages: 4,000 messages of 10,000 "
            "characters peaked at 995 MiB RSS with 8 MiB, 1,159 MiB with 16 MiB, for the "
            "same CPU time (bench/longtext.py); ordinary batches are far below it."
        ),
    )

    # Input limits -------------------------------------------------------------------------
    max_payload_bytes: int = Field(
        default=256 * 1024,
        ge=64 * 1024,
        le=64 * 1024 * 1024,
        description=(
            "A payload (one line, one Kafka message) longer than this is a dead letter "
            "(payload_too_large); files and stdin never read more of it into memory."
        ),
    )
    max_attributes_bytes: int = Field(
        default=MAX_ATTRIBUTES_BYTES,
        ge=1024,
        le=16 * 1024 * 1024,
        description="attributes (with the unknown fields) longer than this as JSON: a dead letter.",
    )
    event_time_floor: datetime = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC),
        description="An event time before this is a dead letter (bad_event_time).",
    )
    event_time_max_ahead_s: float = Field(
        default=300.0,
        ge=0,
        le=7 * 24 * 3600,
        description=(
            "An event time more than this many seconds ahead of the flow's clock is a dead "
            "letter (bad_event_time): it would move the detectors' watermarks."
        ),
    )
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

    # Detection ----------------------------------------------------------------------------
    detect: DetectConfig = Field(
        default_factory=DetectConfig,
        description=(
            "Detector thresholds and windows (flows/detect/config.py), each as "
            "VOC_DETECT_<NAME>, e.g. VOC_DETECT_SCALES=5,15,60."
        ),
    )
    detect_file: Path | None = Field(
        default=None,
        description="YAML file of detector settings (name: value); VOC_DETECT_<NAME> wins.",
    )

    # Presentation -------------------------------------------------------------------------
    timezone: str = "Asia/Ho_Chi_Minh"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sql_history: str = Field(
        default="~/.voc_sql_history",
        description="History file of the `voc sql` prompt; empty: keep no history.",
    )

    @model_validator(mode="before")
    @classmethod
    def _detector_settings(cls, data: Any) -> Any:
        """Merge the detector settings file under the VOC_DETECT_* values; refuse typos."""
        if not isinstance(data, dict):
            return data
        given = data.get("detect")
        if isinstance(given, DetectConfig):
            return data
        given = dict(given or {})
        given.pop("file", None)  # VOC_DETECT_FILE is the file, not a detector setting
        path = data.get("detect_file")
        from_file = _detector_file(Path(path)) if path else {}
        unknown = sorted(set(given) - SETTING_NAMES)
        if unknown:
            names = ", ".join(f"VOC_DETECT_{name.upper()}" for name in unknown)
            msg = f"unknown detector settings: {names} (see flows/detect/config.py)"
            raise ValueError(msg)
        data = dict(data)
        data["detect"] = {**from_file, **given}
        return data

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
        dsn = value.get_secret_value()
        scheme = dsn.partition("://")[0] if "://" in dsn else ""
        if scheme not in ("chdb", "http", "https"):
            got = repr(scheme) if scheme.isalnum() else "another form"
            msg = f"clickhouse_dsn must start with chdb://, http:// or https://, got {got}"
            raise ValueError(msg)
        if scheme != "chdb":
            parse_server_dsn(dsn)  # its errors name no part of the DSN
        return value

    @field_validator("event_time_floor")
    @classmethod
    def _storable_floor(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            msg = "event_time_floor needs a UTC offset, e.g. 2000-01-01T00:00:00Z"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        if value < EARLIEST or value > datetime.now(UTC):
            msg = f"event_time_floor must be between {EARLIEST:%Y-%m-%d} and now, got {value}"
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
        if not _is_loopback(self.serve_host) and not (
            self.serve_password and self.serve_password.get_secret_value()
        ):
            msg = (
                f"serve_host {self.serve_host} is not a loopback address: set serve_password "
                "(VOC_SERVE_PASSWORD) so that only your readers can query the store"
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

    def server_dsn(self) -> ServerDsn:
        """The parts of a server DSN (``http(s)://``), the password from either setting."""
        parts = parse_server_dsn(self.clickhouse_dsn.get_secret_value())
        if parts.password is None and self.clickhouse_password is not None:
            return replace(parts, password=self.clickhouse_password.get_secret_value())
        return parts

    def redacted_dsn(self) -> str:
        """The DSN with any password masked, safe to print and log."""
        dsn = self.clickhouse_dsn.get_secret_value()
        if self.is_embedded:
            return dsn
        return parse_server_dsn(dsn).redacted()

    def describe(self) -> dict[str, Any]:
        """All settings as plain values, secrets masked, for `voc config`."""
        out = self.model_dump(mode="json")
        out["clickhouse_dsn"] = self.redacted_dsn()
        out["detect"] = self.detect.describe()
        return out


def _detector_file(path: Path) -> dict[str, Any]:
    """The detector settings of a YAML file: a mapping of setting names to values."""
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"cannot read the detector settings file {path}: {exc.strerror or exc}"
        raise ValueError(msg) from None
    except yaml.YAMLError as exc:
        msg = f"the detector settings file {path} is not valid YAML: {exc}"
        raise ValueError(msg) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        msg = f"the detector settings file {path} must map setting names to values"
        raise ValueError(msg)  # noqa: TRY004 - pydantic reports ValueErrors, not TypeErrors
    unknown = sorted(str(k) for k in loaded if k not in SETTING_NAMES)
    if unknown:
        msg = f"the detector settings file {path} has unknown settings: {', '.join(unknown)}"
        raise ValueError(msg)
    return {str(k): v for k, v in loaded.items()}


def _is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback IP address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerDsn:
    """A ``http(s)://[user[:password]@]host[:port][/path][?query]`` DSN, parsed."""

    scheme: str
    host: str
    port: int | None
    path: str
    query: str
    username: str | None
    password: str | None = field(repr=False)

    def redacted(self) -> str:
        """The DSN with the password as ``***`` and query values as ``***``."""
        userinfo = ""
        if self.username is not None:
            userinfo = quote(self.username, safe="")
        if self.password is not None:
            userinfo += ":***"
        at = "@" if userinfo else ""
        port = f":{self.port}" if self.port is not None else ""
        query = ""
        if self.query:
            keys = [pair.partition("=")[0] for pair in self.query.split("&")]
            query = "?" + "&".join(f"{quote(k, safe='')}=***" for k in keys)
        return f"{self.scheme}://{userinfo}{at}{self.host}{port}{self.path}{query}"


def parse_server_dsn(dsn: str) -> ServerDsn:
    """Parse a server DSN; the password may hold any character (``# ? / @ : %``...).

    The user information is everything before the last ``@`` (user, then ``:`` and the
    password); percent-escapes in it are decoded. Errors name what is wrong, never a part
    of the DSN.
    """
    scheme, sep, rest = dsn.partition("://")
    if not sep or scheme not in ("http", "https"):
        msg = "a server DSN must start with http:// or https://"
        raise ValueError(msg)
    userinfo: str | None
    userinfo, at, address = rest.rpartition("@")
    if not at:
        userinfo = None
    try:
        parts = urlsplit(f"{scheme}://{address}")
        port = parts.port
    except ValueError:
        msg = "the DSN's port must be a number from 0 to 65535 (host:8123)"
        raise ValueError(msg) from None
    if not parts.hostname:
        msg = "the DSN names no host (http(s)://user:password@host:8123/db)"
        raise ValueError(msg)
    username = password = None
    if userinfo is not None:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user)
        password = unquote(secret) if colon else None
    return ServerDsn(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        path=parts.path,
        query=parts.query,
        username=username,
        password=password,
    )


#: Settings whose value is secret: an error about them is never chained to pydantic's.
SECRET_FIELDS = frozenset(
    {"clickhouse_dsn", "clickhouse_password", "kafka_password", "author_salt"}
)


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment plus explicit overrides (from CLI options).

    Overrides that are ``None`` are ignored so unset CLI options fall back to the
    environment. Invalid values raise :class:`ConfigError` naming each bad field.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ConfigError:
        raise
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        problems = "; ".join(_problem(err["loc"], err["msg"]) for err in errors)
        msg = f"invalid settings: {problems}"
        if any(err["loc"] and err["loc"][0] in SECRET_FIELDS for err in errors):
            raise ConfigError(msg) from None  # the chained error could show the secret
        raise ConfigError(msg) from exc


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    """One validation problem, naming the environment variable when there is one."""
    message = message.removeprefix("Value error, ")
    if not loc:
        return message
    names = [str(p) for p in loc if not isinstance(p, int)]  # not the index in a list
    return f"VOC_{'_'.join(names).upper()}: {message}"
