"""Check a CX corpus file against docs/labelling.md and print its label counts.

python corpus/validate.py corpus/cx/train.jsonl
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

SOURCES = {"review", "chat", "social", "survey"}
CHANNELS = {
    "shopee", "tiki", "lazada", "tiktok_shop", "sendo", "app_store", "google_play", "zalo",
    "messenger", "web_chat", "hotline_chat", "facebook", "tiktok", "youtube", "forum",
    "email_survey", "app_survey", "sms_survey",
}  # fmt: skip
CATEGORIES = {
    "fashion", "cosmetics", "smartphone", "electronics", "home_appliance", "food",
    "mother_baby", "books", "services", "travel_hotel", "general",
}  # fmt: skip
SENTIMENTS = {"negative", "neutral", "positive"}
TOPICS = {
    "delivery", "packaging", "product_quality", "price", "promotion", "customer_service",
    "payment", "refund_return", "warranty", "app_website", "authenticity",
    "account_security", "product_safety",
}  # fmt: skip
FLAGS = {"complaint", "question", "praise", "churn_risk", "urgent"}
TAGS = {
    "no_diacritics", "teencode", "emoji", "english_mix", "typos", "elongation", "sarcasm",
    "calm_complaint", "mixed", "filler", "long",
}  # fmt: skip
FIELDS = [
    "id", "text", "source", "channel", "category", "rating", "sentiment", "topics",
    "topic_sentiments", "flags", "tags",
]  # fmt: skip


def problems(record: dict[str, Any]) -> list[str]:
    """What is wrong with one record (empty when it follows the guide)."""
    found: list[str] = []
    if list(record) != FIELDS:
        found.append(f"fields must be exactly, in order: {FIELDS}")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        return [*found, "empty text"]
    if unicodedata.normalize("NFC", text) != text:
        found.append("text not NFC")
    for field, allowed in (
        ("source", SOURCES), ("channel", CHANNELS), ("category", CATEGORIES),
        ("sentiment", SENTIMENTS),
    ):  # fmt: skip
        if record.get(field) not in allowed:
            found.append(f"{field} {record.get(field)!r}")
    rating = record.get("rating")
    if rating is not None and (rating not in (1, 2, 3, 4, 5) or record.get("source") != "review"):
        found.append("rating: 1-5, on reviews only")
    topics, flags, tags = record.get("topics"), record.get("flags"), record.get("tags")
    for field, values, allowed in (
        ("topics", topics, TOPICS), ("flags", flags, FLAGS), ("tags", tags, TAGS)
    ):  # fmt: skip
        if not isinstance(values, list) or not set(values) <= allowed:
            found.append(f"{field} {values!r}")
        elif len(set(values)) != len(values):
            found.append(f"{field}: repeated values")
    if not isinstance(topics, list) or not isinstance(flags, list) or not isinstance(tags, list):
        return found
    by_topic = record.get("topic_sentiments")
    if not isinstance(by_topic, dict) or set(by_topic) != set(topics):
        found.append("topic_sentiments must have exactly the topics as keys")
    elif not set(by_topic.values()) <= SENTIMENTS:
        found.append("topic_sentiments values")
    incident = {"product_safety", "account_security"} & set(topics)
    if incident and not {"urgent", "question"} & set(flags):
        found.append("product_safety/account_security incident should be urgent (guide)")
    if "filler" in tags and (record.get("sentiment") != "neutral" or topics):
        found.append("filler must be neutral with no topics")
    return found


def main(path: str) -> int:
    """Print each problem and the counts; exit 1 if there is any problem."""
    errors: list[str] = []
    ids: set[str] = set()
    texts: set[str] = set()
    counts: Counter[str] = Counter()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: bad JSON {exc}")
            continue
        where = f"line {number} ({record.get('id')})"
        errors += [f"{where}: {p}" for p in problems(record)]
        if record.get("id") in ids:
            errors.append(f"{where}: duplicate id")
        ids.add(record.get("id"))
        text = str(record.get("text", "")).strip().lower()
        if text in texts:
            errors.append(f"{where}: duplicate text")
        texts.add(text)
        counts["n"] += 1
        for field in ("source", "sentiment", "category"):
            counts[f"{field}:{record.get(field)}"] += 1
        for field in ("topics", "flags", "tags"):
            for value in record.get(field) or []:
                counts[f"{field[:-1]}:{value}"] += 1
    for error in errors[:50]:
        print(error)
    print(f"{len(errors)} errors")
    for key in sorted(counts):
        print(f"  {key}: {counts[key]}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
