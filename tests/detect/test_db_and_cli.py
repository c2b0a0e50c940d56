"""Alerts and late items through the real sinks into embedded ClickHouse; `voc alerts`."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.clickhouse import close_deferred, connect
from flows.dataflow import build_flow, default_io
from flows.execution import WriteCounter, run_flow
from flows.queries import ALERTS_SQL, SELECTED
from flows.settings import Settings, load_settings
from schemas.migrate import migrate
from schemas.rows import AlertRow
from tests.conftest import jsonl
from tests.detect.support import START, TopicEnricher, background_messages, incident_messages
from tests.detect.test_flow import CONFIG, KEK


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, WriteCounter]]:
    """Stream a JSONL file with one incident and one late message into a fresh database."""
    folder = tmp_path_factory.mktemp("alerts")
    rng = random.Random(21)
    messages: list[dict[str, Any]] = []
    for minute in range(125):
        batch = list(background_messages(rng, minute, 60.0))
        if 80 <= minute < 92:
            batch += list(incident_messages(rng, minute, 15.0, KEK))
        batch += [m for m in _case_conversation() if m["created_at"].minute % 60 == minute % 60
                  and START + timedelta(minutes=minute) <= m["created_at"]
                  < START + timedelta(minutes=minute + 1)]  # fmt: skip
        messages += sorted(batch, key=lambda m: m["created_at"])
    late = {"source": "review", "channel": "tiki", "text": "giao hàng nhanh",
            "created_at": START + timedelta(minutes=40)}  # fmt: skip
    messages.insert(len(messages) // 2, late)
    for n, message in enumerate(messages):
        message["id"] = f"m{n}"
        message["created_at"] = message["created_at"].isoformat()
    path = folder / "feedback.jsonl"
    path.write_bytes(jsonl(messages))
    settings = load_settings(
        clickhouse_dsn=f"chdb://{folder / 'chdb'}",
        source="file",
        input_path=str(path),
        batch_size=256,
        batch_timeout_s=0.2,
    )
    client = connect(settings, create_database=True)
    migrate(client)
    client.close()
    counter = WriteCounter()
    flow = build_flow(
        settings,
        default_io(settings, counter),
        enricher=TopicEnricher,
        detect_config=replace(CONFIG, case_close_after=10),
    )
    run_flow(flow, counter, quiet=True)
    yield settings, counter
    close_deferred()


def _case_conversation() -> list[dict[str, Any]]:
    """A customer who needs help now: three urgent turns of one chat, and an agent's reply."""
    turns = [
        ("customer", 100, "em cần gấp, thanh toán lỗi bị trừ tiền hai lần"),
        ("agent", 101, "dạ chị chờ em kiểm tra ạ"),
        ("customer", 102, "gấp lắm ạ, tệ quá, chiều nay em cần tiền"),
        ("customer", 110, "không xử lý em bỏ app luôn, tệ"),
    ]
    return [
        {"source": "chat", "channel": "zalo", "conversation_id": "conv-7", "role": role,
         "text": text, "created_at": START + timedelta(minutes=minute, seconds=5)}
        for role, minute, text in turns
    ]  # fmt: skip


@pytest.fixture
def client(streamed: tuple[Settings, WriteCounter]) -> Iterator[Any]:
    c = connect(streamed[0])
    yield c
    c.close()


def test_alert_revisions_and_late_items_land_in_clickhouse(
    streamed: tuple[Settings, WriteCounter], client: Any
) -> None:
    counts = streamed[1].snapshot()
    assert counts["late_items"] == 1 and counts["alerts"] >= 2
    latest = client.query(
        "SELECT id, revision, status, kind, topic, channel, phrase, length(sample_ids), "
        "channel_breakdown, resolved_at IS NOT NULL FROM alerts FINAL WHERE kind != 'case'"
    ).result_rows
    assert len(latest) == 1
    _id, revision, status, kind, topic, channel, phrase, samples, breakdown, resolved = latest[0]
    case_revision = _case_revisions(client)[-1][0]
    assert counts["alerts"] == revision + case_revision  # every revision was written
    assert (status, topic, channel, bool(resolved)) == ("resolved", "delivery", "shopee", True)
    assert kind in ("volume_spike", "emerging_phrase") and "kẹt ở kho" in phrase
    assert samples >= 5 and set(breakdown) == {"shopee"}
    late = client.query(
        "SELECT id, stage, channel, watermark > created_at FROM late_items"
    ).result_rows
    assert [tuple(r) for r in late] == [("m" + _late_id(client), "detect-window", "tiki", True)]
    stored = client.query(
        "SELECT count() FROM messages FINAL WHERE id = {id:String}",
        parameters={"id": late[0][0]},
    ).result_rows
    assert stored == [(1,)]  # a late message is still stored


def _case_revisions(client: Any) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in client.query(
            "SELECT revision, status, severity, observed, top_terms, conversation_id, summary "
            "FROM alerts FINAL WHERE kind = 'case'"
        ).result_rows
    ]


def test_a_customer_who_needs_action_now_is_one_case_per_conversation(client: Any) -> None:
    (latest,) = _case_revisions(client)  # one case for the conversation
    # opened by the first urgent turn, updated by the next two (the agent's reply is not
    # the customer's voice), resolved 10 quiet minutes after the last: four revisions
    assert latest[:2] == (4, "resolved")
    _, _, severity, observed, reasons, conversation, summary = latest
    assert (severity, observed, conversation) == ("critical", 3.0, "conv-7")  # not the agent
    assert list(reasons) == ["urgent", "churn_risk"]
    assert summary.startswith("Khách hàng cần xử lý ngay trên Zalo (khẩn cấp, nguy cơ rời bỏ)")
    assert "trừ tiền hai lần" in summary  # the turn that opened it


def _late_id(client: Any) -> str:
    rows = client.query(
        "SELECT id FROM messages FINAL WHERE created_at = {t:DateTime64(3, 'UTC')}",
        parameters={"t": START + timedelta(minutes=40)},
    ).result_rows
    return str(rows[0][0]).removeprefix("m")


def test_the_alerts_query_selects_the_alert_row_columns() -> None:
    selected = ALERTS_SQL.split("FROM")[0].removeprefix("\nSELECT").replace("\n", " ")
    assert tuple(c.strip() for c in selected.split(",")) == SELECTED == AlertRow.COLUMNS


def voc_alerts(settings: Settings, *args: str) -> Any:
    dsn = settings.clickhouse_dsn.get_secret_value()
    return CliRunner().invoke(cli, ["alerts", "--dsn", dsn, "--last", "3650d", *args])


def test_voc_alerts_json_lists_the_alert_with_its_samples(
    streamed: tuple[Settings, WriteCounter],
) -> None:
    result = voc_alerts(streamed[0], "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert len(listed) == 1
    alert = listed[0]
    assert alert["status"] == "resolved" and alert["opened_at"].endswith("Z")
    assert len(alert["sample_texts"]) >= 5 and all("kẹt" in t for t in alert["sample_texts"])
    filtered = voc_alerts(streamed[0], "--json", "--status", "open")
    assert json.loads(filtered.output) == []
    other_kind = voc_alerts(streamed[0], "--json", "--kind", "negative_share")
    assert json.loads(other_kind.output) == []
    assert alert["kind"] != "case" and alert["summary"] and alert["scale"]
    (case,) = json.loads(voc_alerts(streamed[0], "--json", "--kind", "case").output)
    assert (case["kind"], case["conversation_id"], case["status"]) == ("case", "conv-7", "resolved")
    recent = voc_alerts(streamed[0], "--json", "--last", "1h")  # event time is in 2026
    assert len(json.loads(recent.output)) == (1 if alert["updated_at"] >= _hour_ago() else 0)


def _hour_ago() -> str:
    from datetime import UTC, datetime

    return (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")


def test_voc_alerts_prints_panels_with_key_terms_channels_and_samples(
    streamed: tuple[Settings, WriteCounter],
) -> None:
    result = voc_alerts(streamed[0])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "delivery @ shopee" in text and "resolved" in text
    assert "top terms:" in text and "channels: shopee" in text
    assert "kẹt ở kho trung chuyển" in text
    assert "scale" in text and ("Phàn nàn" in text or "Tin nhắn" in text or "Cụm từ" in text)
    assert voc_alerts(streamed[0], "--kind", "negative_share").output.strip() == "No alerts match."
    cases = voc_alerts(streamed[0], "--kind", "case").output
    assert "Khách hàng cần xử lý ngay" in cases and "conversation: conv-7" in cases


def test_voc_alerts_on_a_database_without_migrations_is_one_error_line(tmp_path: Path) -> None:
    settings = load_settings(clickhouse_dsn=f"chdb://{tmp_path / 'empty'}")
    connect(settings, create_database=True).close()
    result = voc_alerts(settings)
    assert result.exit_code != 0
    assert "voc migrate" in str(result.exception)


@pytest.mark.parametrize("width", [80, 120])
def test_voc_alerts_and_the_report_show_the_sample_texts_at_80_and_120_columns(
    streamed: tuple[Settings, WriteCounter], width: int
) -> None:
    """Every line fits the console; every sample text is whole (wrapped, never cut)."""
    from flows.cli.common import out_console

    settings = streamed[0]
    client = connect(settings)
    try:
        samples = client.query(
            "SELECT sample_texts FROM alerts FINAL WHERE kind != 'case' ORDER BY id"
        ).result_rows[0][0]
    finally:
        client.close()
    before, out_console.width = out_console.width, width
    try:
        alerts = voc_alerts(settings)
        report = CliRunner().invoke(
            cli, ["query", "--dsn", settings.clickhouse_dsn.get_secret_value(), "--last", "3650d"]
        )
    finally:
        out_console.width = before
    assert alerts.exit_code == 0 and report.exit_code == 0, alerts.output + report.output
    for output in (alerts.output, report.output):
        assert all(len(line.rstrip()) <= width for line in output.splitlines())
    flat = "".join(alerts.output.split()).replace("│", "")
    assert all("".join(text.split()) in flat for text in samples)
    report_flat = "".join(report.output.split()).replace("│", "")
    assert "".join(samples[0].split())[:60] in report_flat  # the report's alert shows a sample


def test_only_a_negative_customer_message_opens_a_case() -> None:
    """A flag or an urgent topic on a message the enricher does not read as negative is no case.

    (Replayed public reviews: urgent and churn flags on praise or neutral texts would have
    opened a case for about 1 message in 25.)
    """
    from flows.detect.cases import reasons_of
    from flows.detect.config import DetectConfig
    from tests.detect.support import make_signal

    config = DetectConfig()
    flags = ("urgent", "complaint")
    urgent = make_signal(1, 0, topics=("product_safety",), negative=True, flags=flags)
    assert reasons_of(urgent, config) == ("urgent", "product_safety")
    praise = make_signal(2, 0, topics=("product_safety",), negative=False, flags=flags)
    assert reasons_of(praise, config) == ()
    social = make_signal(3, 0, topics=("product_safety",), negative=True, flags=flags,
                         source="social")  # fmt: skip
    assert reasons_of(social, config) == ()
