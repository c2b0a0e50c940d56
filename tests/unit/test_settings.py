"""Settings: VOC_ environment variables, frozen, secrets masked, clear errors."""

from __future__ import annotations

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
