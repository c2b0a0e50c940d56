"""The CX-ops report queries on seeded data, with exact figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flows.queries import Filters, PeriodTotals, TimeRange, build_report
from flows.settings import Settings
from tests.conftest import T0, jsonl, message
from tests.db.test_flow_clickhouse import stream_file
from tests.support.enrichers import CueEnricher


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
        ("review", "lazada", 20, 0.5, 0, 0),
        ("review", "shopee", 20, 0.5, 0, 0),
        ("review", "tiki", 20, 0.5, 0, 0),
    ]
    assert report.sentiment == [("negative", 30, 0.5), ("positive", 30, 0.5)]
    # nothing in the hour before: no previous share
    assert report.topics == [("delivery", 30, 1.0, 0.0, 0, None)]
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


def test_the_report_compares_with_the_previous_period_of_the_same_length(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    """Volume, negative share, topics and ratings now and in the hour before.

    Chats count by conversation as well as by turn; social posts by reach as well as by count.
    """
    before = [  # the previous hour: 10 reviews, 4 negative about delivery, ratings 1 and 4
        message(100 + i, created_at=(T0 - timedelta(minutes=60 - 5 * i)).isoformat(),
                text="giao hàng chậm" if i < 4 else "đóng gói cẩn thận", rating=1 if i < 4 else 4)
        for i in range(10)
    ]  # fmt: skip
    now = [  # this hour: 20 reviews, 5 negative about delivery, ratings 2 and 5
        message(i, text="giao hàng chậm" if i < 5 else "giao hàng nhanh", rating=2 if i < 5 else 5)
        for i in range(20)
    ]
    chats = [
        message(200 + i, source="chat", channel="zalo", conversation_id=f"c{i % 2}",
                role="agent" if i == 5 else "customer", text="shop ơi", rating=None,
                created_at=(T0 + timedelta(minutes=30 + i)).isoformat())
        for i in range(6)
    ]  # fmt: skip
    social = [
        message(300 + i, source="social", channel="tiktok", reach=reach, text="đóng gói tốt",
                rating=None, created_at=(T0 + timedelta(minutes=40 + i)).isoformat())
        for i, reach in enumerate((1_000, 250, None))
    ]  # fmt: skip
    path = tmp_path / "seed.jsonl"
    path.write_bytes(jsonl(before + now + chats + social))
    stream_file(settings, path, enricher=CueEnricher)

    hour = TimeRange(T0, T0 + timedelta(hours=1))
    assert hour.previous == TimeRange(T0 - timedelta(hours=1), T0)
    report = build_report(client, hour)
    assert report.totals == PeriodTotals(
        messages=20 + 5 + 3,
        negative_share=5 / 28,
        rating=(5 * 2 + 15 * 5) / 20,
        previous_messages=10,
        previous_negative_share=0.4,
        previous_rating=(4 * 1 + 6 * 4) / 10,
    )
    volume = {(r.source, r.channel): r for r in report.volume}
    assert volume["chat", "zalo"][2:] == (5, 0.0, 2, 0)  # 5 customer turns in 2 conversations
    assert volume["social", "tiktok"][2:] == (3, 0.0, 0, 1_250)  # reach: 1,000 + 250 + none
    assert report.conversations == 2
    topics = {r.topic: r for r in report.topics}
    assert topics["delivery"] == ("delivery", 20, 0.25, 0.75, 4, 1.0)
    assert topics["packaging"] == ("packaging", 3, 0.0, 1.0, 6, 0.0)
    # ratings per 10 minutes (the shortest step giving at most 8 buckets of an hour)
    assert report.rating_step == timedelta(minutes=10)
    assert [(r.bucket_start, r.reviews, r.average, r.low_share) for r in report.ratings] == [
        (T0, 10, (5 * 2 + 5 * 5) / 10, 0.5),
        (T0 + timedelta(minutes=10), 10, 5.0, 0.0),
    ]
