"""A tiny CX-labelled corpus written for the tests.

No text of the real corpus or of any data set: messages put together from phrases of known
topics, flags and sentiment, with their source and category, in the corpus's JSON Lines
schema (``docs/labelling.md``).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

# topic -> sentiment -> phrases
PHRASES: dict[str, dict[str, list[str]]] = {
    "delivery": {
        "negative": ["giao hàng quá chậm", "shipper giao trễ năm ngày", "đợi mãi chưa thấy giao"],
        "positive": ["giao hàng nhanh", "ship tới sớm ghê", "giao đúng hẹn"],
    },
    "product_quality": {
        "negative": ["áo bị rách một lỗ", "vải mỏng quá", "đường may xấu"],
        "positive": ["áo đẹp lắm", "vải mịn mát", "đường may chắc chắn"],
    },
    "payment": {
        "negative": ["thanh toán bị trừ tiền hai lần", "chuyển khoản rồi mà đơn chưa nhận"],
        "positive": ["thanh toán qua ví tiện", "trả góp nhanh gọn"],
    },
    "product_safety": {
        "negative": ["nồi cơm bị giật điện", "bé mặc vào bị dị ứng nổi mẩn"],
    },
}
FILLER = ["dạ vâng", "ok shop", "alo", "ừ", "dạ", "shop ơi"]
QUESTIONS = ["bao giờ giao ạ", "còn hàng không shop", "size này mấy ký mặc vừa"]
CHURN = ["lần sau không mua nữa", "xóa app luôn"]
PHONE_ASPECT_TEXT = ["pin trâu dùng cả ngày", "pin tụt nhanh quá"]


def _record(i: int, rng: random.Random) -> dict[str, Any]:
    kind = i % 6
    source = ("review", "chat", "social")[i % 3]
    record: dict[str, Any] = {
        "id": f"cx-synth-{i:04d}",
        "source": source,
        "channel": "shopee",
        "category": "fashion",
        "rating": None,
        "topics": [],
        "topic_sentiments": {},
        "flags": [],
        "tags": [],
    }
    if kind == 0:
        record.update(text=rng.choice(FILLER), sentiment="neutral", tags=["filler"])
        record["source"] = "chat"
        return record
    if kind == 1:
        record.update(text=rng.choice(QUESTIONS), sentiment="neutral", flags=["question"])
        return record
    topics = rng.sample(["delivery", "product_quality", "payment"], rng.choice([1, 2]))
    if kind == 5:
        topics = ["product_safety"]
    parts, feelings = [], {}
    for topic in topics:
        feeling = rng.choice(sorted(PHRASES[topic]))
        parts.append(rng.choice(PHRASES[topic][feeling]))
        feelings[topic] = feeling
    negative = "negative" in feelings.values()
    flags = ["complaint"] if negative else ["praise"]
    if "product_safety" in topics:
        flags.append("urgent")
    if kind == 4 and negative:
        parts.append(rng.choice(CHURN))
        flags.append("churn_risk")
    record.update(
        text=", ".join(parts),
        sentiment="negative" if negative else "positive",
        topics=topics,
        topic_sentiments=feelings,
        flags=flags,
    )
    if kind == 3:
        record.update(
            category="smartphone", text=record["text"] + ", " + rng.choice(PHONE_ASPECT_TEXT)
        )
    return record


def write_cx_corpus(folder: Path, n: int = 240, seed: int = 3) -> Path:
    """Write ``train``/``dev``/``test`` JSONL splits (60/20/20) of ``n`` messages."""
    rng = random.Random(seed)
    records = [_record(i, rng) for i in range(n)]
    folder.mkdir(parents=True, exist_ok=True)
    cut = (int(n * 0.6), int(n * 0.8))
    for split, rows in (
        ("train", records[: cut[0]]),
        ("dev", records[cut[0] : cut[1]]),
        ("test", records[cut[1] :]),
    ):
        with (folder / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return folder
