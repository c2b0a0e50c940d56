"""Shared fixtures: embedded ClickHouse per test, settings, message factories, data dir."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.clickhouse import close_deferred, connect
from flows.settings import Settings, load_settings
from nlp.types import Enrichment, MessageContext, TopicHit
from schemas.migrate import migrate

REPO = Path(__file__).resolve().parent.parent

#: Runs started by tests (and their subprocesses) serve reads on any free port: a test must
#: not depend on 8123 being free (a `voc run` of the developer's own may hold it).
os.environ.setdefault("VOC_SERVE_PORT", "0")

#: Event times of test messages start here.
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def data_dir() -> Path:
    """The labelled datasets: VOC_DATA_DIR or ../shared/data beside the repository."""
    return Path(os.environ.get("VOC_DATA_DIR", REPO.parent / "shared" / "data"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `data` tests without the datasets and `gpu` tests without CUDA, saying why."""
    has_data = data_dir().is_dir()
    for item in items:
        if "data" in item.keywords and not has_data:
            item.add_marker(pytest.mark.skip(reason=f"labelled datasets not found at {data_dir()}"))


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings on a fresh embedded ClickHouse under tmp_path, small batches."""
    yield load_settings(
        clickhouse_dsn=f"chdb://{tmp_path / 'chdb'}", batch_size=64, batch_timeout_s=0.2
    )
    close_deferred()


@pytest.fixture
def client(settings: Settings) -> Iterator[Any]:
    """A client on the migrated embedded database of ``settings``."""
    c = connect(settings, create_database=True)
    migrate(c)
    yield c
    c.close()


def message(i: int, **fields: Any) -> dict[str, Any]:
    """A valid review dict, number ``i``, one minute apart; fields override."""
    base: dict[str, Any] = {
        "id": f"r{i}",
        "source": "review",
        "channel": ("shopee", "tiki", "lazada")[i % 3],
        "text": ("Giao hàng chậm quá, shop ơi", "Sản phẩm tốt, đóng gói cẩn thận")[i % 2],
        "created_at": (T0 + timedelta(minutes=i)).isoformat(),
        "rating": 2 if i % 2 == 0 else 5,
        "brand": "Lumia",
    }
    base.update(fields)
    return base


def jsonl(messages: Sequence[dict[str, Any]]) -> bytes:
    """Messages as JSON Lines bytes."""
    return b"".join(json.dumps(m, ensure_ascii=False).encode() + b"\n" for m in messages)


class KeywordEnricher:
    """A small real enricher for flow tests: deterministic, one rule, no model."""

    version = "test-keywords-1"

    def enrich_batch(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> list[Enrichment]:
        out = []
        for text in texts:
            negative = "chậm" in text or "cham" in text
            topics = (TopicHit("delivery", 1.0, "negative"),) if "giao" in text else ()
            label = "negative" if negative else "positive"
            out.append(Enrichment(label, 0.9, topics, (), (), self.version))
        return out
