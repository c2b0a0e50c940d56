"""Replays with different batch boundaries change no count: messages FINAL and every rollup."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.settings import Settings
from tests.conftest import T0, KeywordEnricher, jsonl
from tests.db.test_flow_clickhouse import stream_file

TEXTS = [
    "Giao hàng chậm quá, 5 ngày mới tới",
    "Sản phẩm đẹp, đúng mô tả",
    "giao hang nhanh, shop tu van nhiet tinh",
    "Đóng gói cẩn thận, sẽ ủng hộ tiếp",
    "Shipper giao chậm, gọi không nghe máy",
]


def corpus(n: int, seed: int = 3) -> list[dict[str, Any]]:
    """N messages over 3 hours: reviews, chats with agent turns, social posts."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        source = rng.choice(["review", "review", "chat", "social"])
        msg: dict[str, Any] = {
            "id": f"m{i}",
            "source": source,
            "channel": rng.choice(
                {"review": ["shopee", "tiki"], "chat": ["zalo"], "social": ["facebook", "tiktok"]}[
                    source
                ]
            ),
            "text": rng.choice(TEXTS),
            "created_at": (T0 + timedelta(seconds=rng.randrange(3 * 3600))).isoformat(),
            "brand": rng.choice(["Lumia", "Sao Mai", ""]) or None,
        }
        if source == "chat":
            msg |= {"conversation_id": f"c{i // 4}", "role": rng.choice(["customer", "agent"])}
        out.append({k: v for k, v in msg.items() if v is not None})
    return out


def expected_counts(
    messages: list[dict[str, Any]],
) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """What the rollups must hold, computed independently from the input."""
    enrich = KeywordEnricher()
    volume: Counter[tuple[Any, ...]] = Counter()
    topics: Counter[tuple[Any, ...]] = Counter()
    for m in messages:
        if m.get("role") == "agent":
            continue
        e = enrich.enrich_batch([m["text"].lower()])[0]
        minute = m["created_at"][:16]
        volume[(minute, m["source"], m["channel"], m.get("brand", ""), e.sentiment)] += 1
        for hit in e.topics:
            topics[
                (minute, hit.topic, m["source"], m["channel"], m.get("brand", ""), hit.sentiment)
            ] += 1
    return volume, topics


def stored_counts(client: Any) -> dict[str, Any]:
    def as_counter(sql: str) -> Counter[tuple[Any, ...]]:
        out: Counter[tuple[Any, ...]] = Counter()
        for *key, n in client.query(sql).result_rows:
            out[(key[0].strftime("%Y-%m-%dT%H:%M"), *key[1:])] += n
        return out

    return {
        "messages": client.query("SELECT count(), uniqExact(id) FROM messages FINAL").result_rows[
            0
        ],
        "volume_1m": as_counter(
            "SELECT minute, source, channel, brand, sentiment, uniqExactMerge(messages) FROM volume_1m "
            "GROUP BY minute, source, channel, brand, sentiment"
        ),
        "topics_1m": as_counter(
            "SELECT minute, topic, source, channel, brand, sentiment, uniqExactMerge(messages) FROM topics_1m "
            "GROUP BY minute, topic, source, channel, brand, sentiment"
        ),
        "volume_from_messages": as_counter(
            "SELECT toStartOfMinute(created_at), source, channel, brand, sentiment, count() FROM messages FINAL "
            "WHERE role != 'agent' GROUP BY 1, 2, 3, 4, 5"
        ),
    }


@pytest.mark.slow
def test_replays_with_different_batch_boundaries_keep_exact_counts(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    messages = corpus(5_000)
    volume, topics = expected_counts(messages)
    full = tmp_path / "all.jsonl"
    full.write_bytes(jsonl(messages))
    partial = tmp_path / "replay.jsonl"
    partial.write_bytes(jsonl(messages[1_800:4_100]))

    runs = [
        (full, {"batch_size": 37}, 1),
        (full, {"batch_size": 500}, 2),
        (partial, {"batch_size": 7}, 1),
    ]
    for path, overrides, workers in runs:
        stream_file(settings, path, workers, **overrides)
        counts = stored_counts(client)
        assert counts["messages"] == (5_000, 5_000), (path.name, overrides)
        assert counts["volume_1m"] == volume, (path.name, overrides)
        assert counts["topics_1m"] == topics, (path.name, overrides)
        assert counts["volume_from_messages"] == volume, (path.name, overrides)
    assert sum(volume.values()) < 5_000  # agent turns are left out of the rollups
    raw_rows = client.query("SELECT count() FROM messages").result_rows[0][0]
    assert raw_rows >= 5_000  # replays did insert duplicates; FINAL and the states absorb them
