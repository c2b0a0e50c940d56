"""Settings: VOC_ environment variables, frozen, secrets masked, clear errors."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from flows.detect.config import DetectConfig
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


def test_detector_settings_come_from_voc_detect_variables_and_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "detect.yaml"
    path.write_text("fire_score: 6.5\nscales: [5, 30]\nwarmup: 90\n", encoding="utf-8")
    monkeypatch.setenv("VOC_DETECT_FILE", str(path))
    monkeypatch.setenv("VOC_DETECT_WARMUP", "45")  # the environment wins over the file
    monkeypatch.setenv("VOC_DETECT_CASE_FLAGS", "urgent, product_safety")
    settings = load_settings()
    detect = settings.detect
    assert (detect.fire_score, detect.scales, detect.warmup) == (6.5, (5, 30), 45)
    assert detect.case_flags == ("urgent", "product_safety")
    assert detect.wait_s == DetectConfig().wait_s  # the rest keeps its default
    shown = settings.describe()["detect"]
    assert shown["scales"] == [5, 30] and shown["warmup"] == 45
    assert set(shown) == {f.name for f in fields(DetectConfig)}


@pytest.mark.parametrize(
    ("env", "file", "message"),
    [
        ({"VOC_DETECT_FIRE_SCOR": "7"}, None, "unknown detector settings: VOC_DETECT_FIRE_SCOR"),
        ({"VOC_DETECT_PERSIST_K": "9"}, None, r"persist_k \(VOC_DETECT_PERSIST_K\)"),
        ({"VOC_DETECT_SCALES": "60,5"}, None, "VOC_DETECT_SCALES.*distinct and increasing"),
        ({"VOC_DETECT_SCALES": "5,x"}, None, "VOC_DETECT_SCALES"),
        ({"VOC_DETECT_WAIT_S": "-1"}, None, r"wait_s \(VOC_DETECT_WAIT_S\)"),
        ({}, "fire_scor: 7\n", "unknown settings: fire_scor"),
        ({}, "- 1\n- 2\n", "must map setting names to values"),
        ({}, "scales: [5\n", "not valid YAML"),
    ],
)
def test_detector_settings_that_cannot_work_name_the_setting(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    env: dict[str, str],
    file: str | None,
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if file is not None:
        path = tmp_path / "detect.yaml"
        path.write_text(file, encoding="utf-8")
        monkeypatch.setenv("VOC_DETECT_FILE", str(path))
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_a_missing_detector_settings_file_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VOC_DETECT_FILE", str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigError, match="cannot read the detector settings file"):
        load_settings()


def test_input_limits_have_sane_defaults() -> None:
    settings = load_settings()
    assert settings.max_payload_bytes == 256 * 1024
    assert settings.max_attributes_bytes == 64 * 1024
    assert settings.batch_max_bytes == 8 * 1024 * 1024
    assert settings.event_time_max_ahead_s == 300
    assert settings.event_time_floor.isoformat() == "2000-01-01T00:00:00+00:00"


# ------------------------------------------------------------------------------------------
# Secrets with any character: they work, and no fragment of them is ever shown

SPECIALS = "#?/@:%"
PASSWORDS = [f"Zq{c}Kx7w" for c in SPECIALS] + [f"Zq{SPECIALS}Kx7w", "Zq%23Kx7w"]


def fragments(secret: str) -> list[str]:
    """Every 3-character piece of the secret (and of its percent-decoded form)."""
    from urllib.parse import unquote

    return sorted(
        {text[i : i + 3] for text in (secret, unquote(secret)) for i in range(len(text) - 2)}
    )


def assert_hidden(secret: str, *outputs: str) -> None:
    for output in outputs:
        for piece in fragments(secret):
            assert piece not in output, (piece, output)


@pytest.mark.parametrize("password", PASSWORDS)
def test_a_dsn_password_with_any_character_works_and_never_prints(
    monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    from urllib.parse import unquote

    from flows.clickhouse import server_kwargs

    monkeypatch.setenv("VOC_CLICKHOUSE_DSN", f"https://writer:{password}@ch.internal:8443/voc")
    settings = load_settings()
    kwargs = server_kwargs(settings)
    assert (kwargs["host"], kwargs["port"], kwargs["username"]) == ("ch.internal", 8443, "writer")
    assert kwargs["password"] == unquote(password)
    assert settings.redacted_dsn() == "https://writer:***@ch.internal:8443/voc"
    assert_hidden(
        password,
        repr(settings),
        str(settings),
        str(settings.describe()),
        repr(settings.server_dsn()),
    )


def test_the_password_setting_is_taken_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.clickhouse import server_kwargs

    monkeypatch.setenv("VOC_CLICKHOUSE_DSN", "http://writer@ch.internal:8123")
    monkeypatch.setenv("VOC_CLICKHOUSE_PASSWORD", f"Zq{SPECIALS}%41Kx7w")
    settings = load_settings()
    assert server_kwargs(settings)["password"] == f"Zq{SPECIALS}%41Kx7w"
    assert settings.redacted_dsn() == "http://writer@ch.internal:8123"
    assert_hidden(f"Zq{SPECIALS}%41Kx7w", str(settings.describe()), repr(settings))


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("https://writer:Zq#?/@:%Kx7w@ch.internal:port/voc", "port must be a number"),
        ("https://writer:Zq#?/@:%Kx7w@:8443/voc", "names no host"),
        ("postgres://writer:Zq#?/@:%Kx7w@ch.internal/voc", "chdb://, http:// or https://"),
    ],
)
def test_a_bad_dsn_is_reported_without_its_secret(
    monkeypatch: pytest.MonkeyPatch, dsn: str, message: str
) -> None:
    import traceback

    from pydantic import ValidationError

    monkeypatch.setenv("VOC_CLICKHOUSE_DSN", dsn)
    monkeypatch.setenv("VOC_BATCH_SIZE", "0")
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings()
    assert_hidden("Zq#?/@:%Kx7w", "".join(traceback.format_exception(caught.value)))
    with pytest.raises(ValidationError) as raw:
        Settings()
    assert_hidden("Zq#?/@:%Kx7w", str(raw.value), "".join(traceback.format_exception(raw.value)))


def test_an_unreachable_server_is_reported_without_the_secret() -> None:
    import traceback

    from flows.clickhouse import connect
    from schemas.errors import SinkRetryableError

    settings = load_settings(clickhouse_dsn="http://writer:Zq#?/@:%Kx7w@127.0.0.1:1/voc")
    with pytest.raises(SinkRetryableError) as caught:
        connect(settings)
    assert "http://writer:***@127.0.0.1:1/voc" in str(caught.value)
    assert_hidden("Zq#?/@:%Kx7w", "".join(traceback.format_exception(caught.value)))


def test_the_cli_shows_no_fragment_of_a_secret() -> None:
    from tests.cli.test_cli import voc

    secret = "Zq#?/@:%Kx7w"  # noqa: S105 - a test value
    env = {
        "VOC_CLICKHOUSE_DSN": f"http://writer:{secret}@127.0.0.1:1/voc",
        "VOC_AUTHOR_SALT": "Pep#?/@:%Kx8w",
        "VOC_KAFKA_PASSWORD": "Kfk#?/@:%Kx9w",
    }
    shown = voc("config", env=env)
    assert shown.returncode == 0, shown.stderr.decode()
    assert json.loads(shown.stdout)["clickhouse_dsn"] == "http://writer:***@127.0.0.1:1/voc"
    failed = voc("query", "--last", "1h", env=env)
    assert failed.returncode == 1
    assert b"127.0.0.1:1" in failed.stderr and b"Traceback" not in failed.stderr
    for run in (shown, failed):
        output = (run.stdout + run.stderr).decode()
        for value in env.values():
            assert_hidden(
                value.removeprefix("http://writer:").removesuffix("@127.0.0.1:1/voc"), output
            )
