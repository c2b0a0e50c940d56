"""Fixtures of the command-line tests: a store seeded through the real flow, console widths."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from flows.cli.common import out_console
from flows.clickhouse import close_deferred, connect
from flows.settings import Settings, load_settings
from schemas.migrate import migrate
from tests.conftest import T0, jsonl
from tests.db.test_flow_clickhouse import stream_file
from tests.support.enrichers import CueEnricher

# (id, minute after T0, fields): every text is understood by CueEnricher
SEED: list[tuple[str, int, dict[str, Any]]] = [
    ("r1", 1, {"channel": "shopee", "brand": "Lumia", "product": "Lumia S12", "rating": 1,
               "text": "Giao hàng chậm, đóng gói móp"}),
    ("r2", 2, {"channel": "shopee", "brand": "Lumia", "product": "Lumia S12", "rating": 5,
               "text": "Giao hàng nhanh, pin khỏe"}),
    ("r3", 3, {"channel": "tiki", "brand": "Sao Mai", "product": "Sao Mai Tee", "rating": 2,
               "text": "Giá đắt, giao hàng nhanh"}),
    ("r4", 4, {"channel": "lazada", "brand": "Lumia", "product": "Lumia S12", "rating": 4,
               "text": "Pin yếu, camera tốt"}),
    ("r5", 5, {"channel": "tiki", "brand": "Lumia", "product": "Lumia Note", "rating": 3,
               "text": "Đơn hàng đã nhận, có xuất hóa đơn không?"}),
    ("r6", 6, {"channel": "shopee", "brand": "Sao Mai", "product": "Sao Mai Tee", "rating": 1,
               "text": "Hàng tệ quá, không mua nữa"}),
    ("ch1", 10, {"source": "chat", "channel": "zalo", "brand": "Lumia", "conversation_id": "Conv-100",
                 "role": "customer", "text": "Shop ơi giao chậm quá, đơn đâu rồi?"}),
    ("ch2", 11, {"source": "chat", "channel": "zalo", "brand": "Lumia", "conversation_id": "Conv-100",
                 "role": "agent", "text": "Dạ em xin lỗi, em kiểm tra ngay ạ"}),
    ("ch3", 13, {"source": "chat", "channel": "zalo", "brand": "Lumia", "conversation_id": "Conv-100",
                 "role": "customer", "text": "Ok cảm ơn shop, giao nhanh giúp mình"}),
    ("ch4", 20, {"source": "chat", "channel": "messenger", "conversation_id": "conv-200",
                 "role": "customer", "text": "Không mua nữa đâu"}),
    ("so1", 30, {"source": "social", "channel": "facebook", "brand": "Lumia", "reach": 1000,
                 "text": "Giao hàng của Lumia chậm quá"}),
    ("so2", 31, {"source": "social", "channel": "tiktok", "brand": "Lumia", "reach": 500,
                 "text": "Lumia đóng gói cẩn thận"}),
]  # fmt: skip

#: A payload without its event time: a dead letter whose payload text the lists show.
DEAD_LETTER_TEXT = '{"source": "review", "channel": "shopee", "text": "Thiếu thời gian gửi"}'
DEAD_LETTER = DEAD_LETTER_TEXT.encode()

#: The end of the hour the seed lies in, for --to.
HOUR_END = (T0 + timedelta(hours=1)).isoformat()

TEXT = {mid: fields["text"] for mid, _, fields in SEED}
CUSTOMER = [mid for mid, _, f in SEED if f.get("role") != "agent"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The SEED messages streamed through the real flow into a fresh embedded store."""
    folder = tmp_path_factory.mktemp("drill")
    settings = load_settings(clickhouse_dsn=f"chdb://{folder / 'chdb'}", batch_size=64)
    client = connect(settings, create_database=True)
    migrate(client)
    client.close()
    rows = [
        {"id": mid, "source": "review", "created_at": (T0 + timedelta(minutes=m)).isoformat(),
         **fields}
        for mid, m, fields in SEED
    ]  # fmt: skip
    path = folder / "seed.jsonl"
    path.write_bytes(jsonl(rows) + DEAD_LETTER + b"\n")
    stream_file(settings, path, enricher=CueEnricher)
    yield settings
    close_deferred()


@pytest.fixture(params=[80, 120], ids=["80-columns", "120-columns"])
def width(request: pytest.FixtureRequest) -> Iterator[int]:
    """The width of the console the commands print to (80 and 120 columns)."""
    before = out_console.width
    out_console.width = request.param
    yield request.param
    out_console.width = before
