"""One embedded ClickHouse for the package, seeded the way production fills it.

chDB opens one database path per process at a time: the fixture is package-scoped and no
test here uses the per-test databases of the top-level conftest.

1. Three hours of simulated feedback (flat traffic) ending now, with one scheduled incident
   (delivery complaints on shopee, 12x, the last 40 minutes), streamed through the real flow
   with the baseline enricher into chDB; every 97th payload is malformed (dead letters).
2. A small JSON Lines file written here, streamed through the real flow with a frozen clock
   two hours in the past and a keyword enricher that also finds aspects: two messages
   either side of a Vietnam midnight, product reviews with aspects, and a burst of broken
   lines.
3. Alert revisions (as the stream detectors write them) and late items, through the real
   ClickHouse sinks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bytewax.operators as op
import pytest
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSource, run_main

from flows.clickhouse import close_deferred, connect
from flows.dataflow import FlowIO, build_flow
from flows.execution import WriteCounter, run_flow
from flows.settings import Settings, load_settings
from flows.sinks.clickhouse import ClickHouseSink
from flows.sources.files import JsonlFileSource
from flows.sources.simulator import SimulatorSource
from nlp.types import AspectHit, Enrichment, MessageContext, Sentiment, TopicHit
from schemas.migrate import migrate
from schemas.rows import AlertRow, DeadLetter, LateItem, StoredMessage
from simulator.config import SimulationConfig
from simulator.incidents import Incident


class AspectKeywordEnricher:
    """A small real enricher for the hand-written messages: keywords to topics and aspects."""

    version = "test-aspects-1"

    def enrich_batch(
        self, texts: Sequence[str], contexts: Sequence[MessageContext] | None = None
    ) -> list[Enrichment]:
        out = []
        for text in texts:
            low = text.lower()
            negative = any(w in low for w in ("chậm", "tụt", "hỏng", "kém"))
            label: Sentiment = "negative" if negative else "positive"
            topics = (TopicHit("delivery", 1.0, label),) if "giao" in low else ()
            aspects = []
            if "pin" in low:
                aspects.append(
                    AspectHit("BATTERY", 0.9, "negative" if "tụt" in low else "positive")
                )
            if "màn hình" in low:
                aspects.append(AspectHit("SCREEN", 0.9, "positive"))
            out.append(Enrichment(label, 0.9, topics, tuple(aspects), (), self.version))
        return out


@dataclass(frozen=True)
class Seeded:
    """The seeded database and the moments the tests query at."""

    client: Any
    settings: Settings
    start: datetime  # first simulated minute (event time)
    end: datetime  # end of the simulation: the minute run 1 started in
    incident: Incident
    burst_clock: datetime  # wall clock of the hand-written batch (frozen)
    vn_midnight_day: datetime  # UTC midnight of the day whose 17:00Z is a Vietnam midnight
    wall_after: datetime  # wall clock once everything was written
    alerts: dict[str, list[AlertRow]]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of ``sql``."""
        return [tuple(r) for r in self.client.query(sql).result_rows]


def _stream(settings: Settings, io: FlowIO, **kwargs: Any) -> dict[str, int]:
    counter = WriteCounter()
    run_flow(build_flow(settings, io, **kwargs), counter, quiet=True)
    return counter.snapshot()


def _sinks(settings: Settings) -> tuple[ClickHouseSink, ClickHouseSink]:
    return (
        ClickHouseSink(settings, "messages", StoredMessage.COLUMNS),
        ClickHouseSink(settings, "dead_letters", DeadLetter.COLUMNS),
    )


def write_rows(settings: Settings, table: str, columns: tuple[str, ...], rows: list[Any]) -> None:
    """Write rows through the real ClickHouse sink, in one insert."""
    flow = Dataflow(f"seed-{table}")
    batches = op.input("rows", flow, TestingSource([rows]))
    op.output(f"write-{table}", batches, ClickHouseSink(settings, table, columns))
    run_main(flow)
    close_deferred()


def _handwritten(day: datetime, at: datetime) -> bytes:
    """Messages written for these tests (never copied from a dataset) plus broken lines."""
    base = {"source": "review", "channel": "tiki", "brand": "Zenta", "product": "Zenta S12"}
    messages = [
        # 23:30 and 00:30 Vietnam time: the same UTC day, two Vietnam days.
        {**base, "id": "vn-late", "text": "Giao hàng chậm quá", "created_at": day + timedelta(hours=16, minutes=30)},
        {**base, "id": "vn-early", "text": "Giao hàng nhanh", "created_at": day + timedelta(hours=17, minutes=30)},
    ]  # fmt: skip
    reviews = [
        "Pin tụt nhanh quá, màn hình thì đẹp",
        "Pin dùng được hai ngày, rất ổn",
        "Màn hình sáng rõ, pin tụt hơi nhanh",
        "Pin tụt nhanh khi chơi game",
    ]
    for i in range(12):
        created = at - timedelta(minutes=30) + timedelta(seconds=20 * i)
        messages.append(
            {**base, "id": f"aspect-{i}", "text": reviews[i % 4], "created_at": created}
        )
    lines = [
        json.dumps({**m, "created_at": m["created_at"].isoformat()}).encode() for m in messages
    ]
    lines += [b'{"id": "broken-%d", "text": ' % i for i in range(30)]
    return b"\n".join(lines) + b"\n"


def alert_row(**fields: Any) -> AlertRow:
    """An alert revision as the detectors write it; unspecified fields are neutral."""
    defaults: dict[str, Any] = {
        "revision": 1,
        "status": "open",
        "severity": "warning",
        "key_type": "topic_channel",
        "topic": "",
        "channel": "",
        "brand": "",
        "product": "",
        "phrase": "",
        "observed": 0.0,
        "expected": 0.0,
        "score": 0.0,
        "top_terms": (),
        "channel_breakdown": {},
        "sample_ids": (),
        "sample_texts": (),
        "resolved_at": None,
        "detector_version": "test-detector-1",
    }
    defaults.update(fields)
    start = defaults["opened_at"]
    defaults.setdefault("window_start", start - timedelta(minutes=5))
    defaults.setdefault("window_end", start)
    defaults.setdefault("updated_at", start)
    return AlertRow(**defaults)


def _alerts(
    seed_start: datetime, incident: Incident, samples: list[tuple[str, str]]
) -> dict[str, list[AlertRow]]:
    ids = tuple(i for i, _ in samples)
    texts = tuple(t for _, t in samples)
    opened = incident.start + timedelta(minutes=3)
    spike = dict(
        id="a-delivery-shopee",
        kind="negative_share",
        topic="delivery",
        channel="shopee",
        opened_at=opened,
        top_terms=("giao hàng", "chậm", "shopee"),
        channel_breakdown={"shopee": 41},
        sample_ids=ids,
        sample_texts=texts,
        expected=0.27,
        scale="1m",
    )
    headline = "Tỉ lệ tiêu cực về giao hàng trên Shopee lên 55% (thường 27%) trong 3 phút"
    return {
        "a-delivery-shopee": [
            alert_row(**spike, observed=0.55, score=5.1, summary=headline, headline=headline),
            alert_row(
                **spike,
                revision=2,
                severity="critical",
                observed=0.64,
                score=8.2,
                updated_at=incident.start + timedelta(minutes=10),
                summary="Tỉ lệ tiêu cực về giao hàng trên Shopee lên 64% (thường 27%) trong 9 phút",
                headline="Tỉ lệ tiêu cực về giao hàng trên Shopee lên 64% (thường 27%) trong 9 phút",
            ),
        ],
        "a-case-open": [
            alert_row(
                id="a-case-open",
                kind="case",
                key_type="case",
                severity="critical",
                topic="payment",
                channel="zalo",
                opened_at=incident.start + timedelta(minutes=4),
                observed=2.0,
                top_terms=("urgent",),
                channel_breakdown={"zalo": 2},
                sample_ids=ids[:2],
                sample_texts=texts[:2],
                scale="",
                summary="Khách hàng cần xử lý ngay trên Zalo (khẩn cấp): “bị trừ tiền 2 lần”",
                headline="Khách hàng cần xử lý ngay trên Zalo (khẩn cấp): “bị trừ tiền 2 lần”",
                conversation_id="conv-seeded-1",
            )
        ],
        "a-case-resolved": [
            alert_row(
                id="a-case-resolved",
                kind="case",
                key_type="case",
                severity="warning",
                channel="shopee",
                status="resolved",
                opened_at=incident.start + timedelta(minutes=2),
                resolved_at=incident.start + timedelta(minutes=8),
                updated_at=incident.start + timedelta(minutes=8),
                observed=1.0,
                top_terms=("churn_risk",),
                sample_ids=ids[:1],
                sample_texts=texts[:1],
                scale="",
                summary="Khách hàng cần xử lý ngay trên Shopee (nguy cơ rời bỏ)",
            )
        ],
        "a-phrase": [
            alert_row(
                id="a-phrase",
                kind="emerging_phrase",
                key_type="phrase",
                topic="delivery",
                phrase="chưa nhận được hàng",
                opened_at=incident.start + timedelta(minutes=6),
                observed=12.0,
                expected=0.5,
                score=6.0,
                top_terms=("chưa nhận được hàng", "đơn hàng"),
                channel_breakdown={"shopee": 9, "facebook": 3},
                sample_ids=ids[:3],
                sample_texts=texts[:3],
            )
        ],
        "a-price-resolved": [
            alert_row(
                id="a-price-resolved",
                kind="volume_spike",
                topic="price",
                channel="tiki",
                opened_at=seed_start + timedelta(minutes=30),
                observed=9.0,
                expected=2.0,
            ),
            alert_row(
                id="a-price-resolved",
                revision=2,
                status="resolved",
                kind="volume_spike",
                topic="price",
                channel="tiki",
                opened_at=seed_start + timedelta(minutes=30),
                updated_at=seed_start + timedelta(minutes=50),
                resolved_at=seed_start + timedelta(minutes=50),
                observed=2.5,
                expected=2.0,
            ),
        ],
        "a-info": [
            alert_row(
                id="a-info",
                kind="volume_spike",
                severity="info",
                key_type="topic",
                topic="packaging",
                opened_at=incident.start + timedelta(minutes=5),
                observed=4.0,
                expected=2.0,
            )
        ],
        "a-stale": [
            alert_row(
                id="a-stale",
                kind="negative_share",
                severity="critical",
                key_type="topic",
                topic="payment",
                opened_at=seed_start - timedelta(days=2),
                observed=0.9,
                expected=0.3,
            )
        ],
    }


def seed(folder: Path, end: datetime) -> Seeded:
    """Seed a new embedded ClickHouse under ``folder``; the simulation ends at ``end``."""
    # The rule-based enricher finds no aspects, so the aspect figures the tests assert come
    # from the hand-written batch alone; the board SQL does not depend on the enricher.
    settings = load_settings(
        clickhouse_dsn=f"chdb://{folder / 'chdb'}",
        batch_size=256,
        batch_timeout_s=0.2,
        enricher="baseline",
    )
    client = connect(settings, create_database=True)
    migrate(client)

    start = end - timedelta(hours=3)
    incident = Incident(
        id="delivery-shopee",
        kind="topic_spike",
        topic="delivery",
        channel="shopee",
        start=end - timedelta(minutes=40),
        duration=timedelta(minutes=40),
        multiplier=12,
    )
    # Flat traffic: the figures do not depend on the time of day the tests run at.
    simulation = SimulationConfig(
        seed=11, start=start, hours=3, messages=5000, incidents=(incident,), diurnal=False
    )
    source = SimulatorSource(simulation, 2, malformed_every=97)
    _stream(settings, FlowIO(source, *_sinks(settings)))

    burst_clock = start + timedelta(hours=1)
    day = (start - timedelta(days=3)).replace(hour=0, minute=0)
    path = folder / "handwritten.jsonl"
    path.write_bytes(_handwritten(day, burst_clock))
    clock: Callable[[], datetime] = lambda: burst_clock  # noqa: E731
    _stream(
        settings,
        FlowIO(JsonlFileSource(str(path)), *_sinks(settings)),
        enricher=AspectKeywordEnricher,
        clock=clock,
    )

    samples = client.query(
        "SELECT id, text FROM messages FINAL WHERE channel = 'shopee' AND has(topics, 'delivery')"
        " AND sentiment = 'negative' AND created_at >= {t:DateTime64(3, 'UTC')}"
        " ORDER BY created_at, id LIMIT 5",
        parameters={"t": incident.start},
    ).result_rows
    alerts = _alerts(start, incident, [(i, t) for i, t in samples])
    for revision in (1, 2):  # one insert per round of revisions, as the detectors write them
        rows = [r for rows in alerts.values() for r in rows if r.revision == revision]
        write_rows(settings, "alerts", AlertRow.COLUMNS, rows)
    seen = datetime.now(UTC)
    late = [
        LateItem(f"late-{i}", "spike-windows", "review", ("shopee", "tiki")[i % 2],
                 end - timedelta(minutes=30 + i), end - timedelta(minutes=28), seen)
        for i in range(4)
    ]  # fmt: skip
    write_rows(settings, "late_items", LateItem.COLUMNS, late)

    return Seeded(
        client=client,
        settings=settings,
        start=start,
        end=end,
        incident=incident,
        burst_clock=burst_clock,
        vn_midnight_day=day,
        wall_after=datetime.now(UTC),
        alerts=alerts,
    )


@pytest.fixture(scope="package")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The seeded embedded ClickHouse (see the module docstring), ending this minute."""
    data = seed(
        tmp_path_factory.mktemp("grafana"), datetime.now(UTC).replace(second=0, microsecond=0)
    )
    yield data
    data.client.close()
    close_deferred()
