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

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.errors import ConfigError

SourceKind = Literal["simulator", "file", "stdin"]

DEFAULT_DSN = "chdb://./data/chdb"


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

    # Processing ---------------------------------------------------------------------------
    batch_size: int = Field(default=512, ge=1, le=100_000)
    batch_timeout_s: float = Field(default=0.5, gt=0, le=60)
    enricher: str = Field(default="fast", description="fast, baseline or transformer")
    model_path: str | None = Field(
        default=None, description="Model directory or hub id for the chosen enricher."
    )
    taxonomy_path: Path | None = Field(
        default=None, description="CX topic taxonomy YAML; default: the packaged one."
    )
    author_salt: SecretStr = Field(
        default=SecretStr("voc-stream-demo-salt"),
        description="Salt for hashing author ids; set your own in production.",
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
        problems = "; ".join(
            f"VOC_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        msg = f"invalid settings: {problems}"
        raise ConfigError(msg) from exc
