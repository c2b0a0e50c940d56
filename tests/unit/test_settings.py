"""Settings: VOC_ environment variables, frozen, secrets masked, clear errors."""

from __future__ import annotations

import pytest

from flows.settings import Settings, load_settings
from schemas.errors import ConfigError


def test_environment_variables_with_the_voc_prefix_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOC_BATCH_SIZE", "1000")
    monkeypatch.setenv("VOC_SOURCE", "stdin")
    settings = load_settings()
    assert (settings.batch_size, settings.source) == (1000, "stdin")
    assert load_settings(batch_size=7, source=None).batch_size == 7  # options win, None falls back


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(Exception, match="frozen"):
        settings.batch_size = 3  # type: ignore[misc]


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOC_CLICKHOUSE_DSN", "https://writer:s3cr3t-pw@ch.internal:8443/voc")
    monkeypatch.setenv("VOC_AUTHOR_SALT", "pepper-42")
    settings = load_settings()
    for text in (repr(settings), str(settings), str(settings.describe()), settings.redacted_dsn()):
        assert "s3cr3t-pw" not in text and "pepper-42" not in text
    assert settings.redacted_dsn() == "https://writer:***@ch.internal:8443/voc"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("VOC_BATCH_SIZE", "0", "VOC_BATCH_SIZE"),
        ("VOC_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("VOC_CLICKHOUSE_DSN", "postgres://x", "chdb://, http:// or https://"),
        ("VOC_SOURCE", "carrier-pigeon", "VOC_SOURCE"),
        ("VOC_MAX_PAYLOAD_BYTES", "1000", "VOC_MAX_PAYLOAD_BYTES: Input should be greater"),
        ("VOC_MAX_ATTRIBUTES_BYTES", "-1", "VOC_MAX_ATTRIBUTES_BYTES"),
        ("VOC_BATCH_MAX_BYTES", "10", "VOC_BATCH_MAX_BYTES"),
        ("VOC_EVENT_TIME_MAX_AHEAD_S", "-5", "VOC_EVENT_TIME_MAX_AHEAD_S"),
        ("VOC_EVENT_TIME_FLOOR", "1960-01-01T00:00:00Z", "between 1970-01-01 and now"),
        ("VOC_EVENT_TIME_FLOOR", "2000-01-01T00:00:00", "needs a UTC offset"),
        ("VOC_EVENT_TIME_FLOOR", "2999-01-01T00:00:00Z", "between 1970-01-01 and now"),
    ],
)
def test_invalid_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_input_limits_have_sane_defaults() -> None:
    settings = load_settings()
    assert settings.max_payload_bytes == 256 * 1024
    assert settings.max_attributes_bytes == 64 * 1024
    assert settings.batch_max_bytes == 8 * 1024 * 1024
    assert settings.event_time_max_ahead_s == 300
    assert settings.event_time_floor.isoformat() == "2000-01-01T00:00:00+00:00"
