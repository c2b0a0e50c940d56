"""The CX-ops report queries on seeded data, with exact figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flows.queries import Filters, TimeRange, build_report
from flows.settings import Settings
from tests.conftest import T0, jsonl, message
from tests.db.test_flow_clickhouse import stream_file


def seed(settings: Settings, tmp_path: Path) -> None:
    # 60 reviews one minute apart: even ids say "giao hàng chậm" (negative, delivery), odd
    # ids praise the product; channels cycle shopee, tiki, lazada; r0..r29 are brand Lumia.
    messages = [message(i, brand="Lumia" if i < 30 else "Sao Mai") for i in range(60)]
    messages.append(
        message(
            60,
            source="chat",
            channel="zalo",
            conversation_id="c1",
            role="agent",
            text="Dạ em xin lỗi vì giao chậm ạ",
        )
    )
    path = tmp_path / "seed.jsonl"
    path.write_bytes(jsonl(messages) + b"not json\n")
    stream_file(settings, path)


def test_report_figures_are_exact(settings: Settings, client: Any, tmp_path: Path) -> None:
    seed(settings, tmp_path)
    report = build_report(client, TimeRange(T0, T0 + timedelta(hours=1)), latest_negative=3)

    assert report.total == 60  # the agent turn is not customer voice
    assert sorted(report.volume) == [
        ("review", "lazada", 20, 0.5),
        ("review", "shopee", 20, 0.5),
        ("review", "tiki", 20, 0.5),
    ]
    assert report.sentiment == [("negative", 30, 0.5), ("positive", 30, 0.5)]
    assert report.topics == [("delivery", 30, 1.0, 0.0)]
    assert [row[-1] for row in report.negatives] == ["r58", "r56", "r54"]
    # dead letters have no event time: the range bounds when they were received
    assert report.dead_letters == []
    until_now = build_report(client, TimeRange(T0, datetime.now(UTC) + timedelta(minutes=1)))
    assert until_now.dead_letters[0][:3] == ("parse", "invalid_json", 1)


def test_filters_and_ranges_narrow_the_report(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    seed(settings, tmp_path)
    first_ten_minutes = TimeRange(T0, T0 + timedelta(minutes=10))
    assert build_report(client, first_ten_minutes).total == 10
    lumia_shopee = build_report(
        client, TimeRange(T0, T0 + timedelta(hours=1)), Filters(brand="Lumia", channel="shopee")
    )
    assert lumia_shopee.total == 10  # r0, r3, ..., r27
    delivery = build_report(
        client, TimeRange(T0, T0 + timedelta(hours=1)), Filters(topic="delivery")
    )
    assert delivery.total == 30 and delivery.sentiment == [("negative", 30, 1.0)]
    assert (
        build_report(client, TimeRange(T0, T0 + timedelta(hours=1)), Filters(product="nope")).total
        == 0
    )
