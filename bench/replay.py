"""Replayed traffic for ``bench/alerts.py --replay``: labelled texts the simulator did not write.

The background is every text of the labelled data sets found under ``--data`` (the public
sets' ``train/dev/test.jsonl``, read where they lie, never copied) and, with ``--corpus``,
the project's own CX corpus (``corpus/cx/{train,dev,test}.jsonl``). Each message is one of
those texts drawn at random, stamped on a diurnal curve (Vietnam time) over the span, on a
channel of a realistic mix (big marketplaces, small social and chat channels), with a
brand (Zipf-distributed, a third of the messages without one) and a product of it, so that
many keys get well under 0.2 messages a minute.

Incidents are extra messages drawn from the labelled complaints of one *topic*: a corpus
topic (``delivery``, ``account_security``...) where the corpus is given, or an aspect of a
public set (``phone_battery``, ``hotel_rooms_cleanliness``...), which no taxonomy topic
covers; a complaint is a text negative about that topic and nothing else (see
:class:`Labelled`). The topic's group (corpus, phone, hotel) is drawn first, then a topic
of it. Each is confined to a channel, a brand or neither, and adds ``(x - 1)`` times its
key's baseline (the labelled complaints of that topic in that scope: ``x`` from 2 to 10)
and at least 2 messages a minute, for 10 to 30 minutes. The ground truth lists, for each
incident, its window, scope, key baseline, added rate and the ids of its messages (so an
alert is matched to it by its sample messages whatever key it names).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.records import RawRecord

#: Relative traffic at each full hour, Vietnam time (interpolated in between).
DIURNAL = (
    0.45, 0.25, 0.15, 0.10, 0.10, 0.18, 0.40, 0.70, 0.95, 1.15, 1.30, 1.40,
    1.30, 1.10, 1.05, 1.05, 1.05, 1.05, 1.10, 1.35, 1.65, 1.75, 1.40, 0.85,
)  # fmt: skip
VIETNAM = timedelta(hours=7)
#: Channels and their share of the traffic; the source each implies.
CHANNELS = {
    "shopee": (0.30, "review"),
    "lazada": (0.15, "review"),
    "tiki": (0.12, "review"),
    "facebook": (0.10, "social"),
    "zalo": (0.08, "chat"),
    "tiktok": (0.07, "social"),
    "app_store": (0.06, "review"),
    "hotline_chat": (0.05, "chat"),
    "sendo": (0.04, "review"),
    "youtube": (0.03, "social"),
}
BRANDS = 15
PRODUCTS_PER_BRAND = 25
NO_BRAND = 0.33
SCOPES = (("channel", 0.5), ("brand", 0.25), ("everywhere", 0.25))
#: A topic no taxonomy covers that every replay has an incident of (the middle one).
FORCED = "account_security"
MIN_TEXTS = 25
"""A topic needs this many distinct labelled complaints to make incidents of."""


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled text: the topics it is negative about, rating, where from.

    ``complaint`` is the one topic it is a complaint about, when it is one: a corpus
    message negative (or flagged a complaint) about that topic alone, or a public review
    of at most ``COMPLAINT_WORDS`` words negative about that aspect and about nothing else
    and positive about nothing (a long review that praises the pool and regrets the
    breakfast is not a breakfast complaint). Incidents are drawn from these.
    """

    text: str
    topics: tuple[str, ...]
    rating: int | None
    origin: str
    complaint: str = ""


#: A public review longer than this is not taken as a complaint about one aspect.
COMPLAINT_WORDS = 45
#: How often an incident's topic comes from each group of labelled texts, when present.
GROUPS = {"cx": 0.5, "phone": 0.3, "hotel": 0.2}


def _aspect_topic(data_set: str, aspect: str) -> str:
    prefix = "hotel" if "hotel" in data_set else "phone"
    return f"{prefix}_" + aspect.lower().replace("#", "_").replace("&", "_")


def load_labelled(data: Path | None, corpus: Path | None) -> list[Labelled]:
    """Every labelled text under ``data`` (public sets) and ``corpus``, each text once."""
    files: list[tuple[str, Path]] = []
    if data is not None:
        for folder in sorted(p for p in data.iterdir() if p.is_dir()):
            files += [(folder.name, f) for f in sorted(folder.glob("*.jsonl"))]
    if corpus is not None:
        files += [("cx", f) for f in sorted(corpus.glob("*.jsonl"))]
    seen: set[str] = set()
    out: list[Labelled] = []
    for data_set, path in files:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                text = str(record.get("text") or "").strip()
                if not text or text in seen:
                    continue
                seen.add(text)
                topics = _negative_topics(data_set, record)
                complaint = _complaint(data_set, record, topics, text)
                out.append(Labelled(text, topics, _rating(record), data_set, complaint))
    return out


def _negative_topics(data_set: str, record: dict[str, Any]) -> tuple[str, ...]:
    if data_set == "cx":
        feelings = record.get("topic_sentiments") or {}
        return tuple(t for t in record.get("topics") or () if feelings.get(t) == "negative")
    aspects = record.get("aspects") or ()
    return tuple(
        _aspect_topic(data_set, a["aspect"])
        for a in aspects
        if a.get("sentiment") == "negative"
        and a.get("aspect") not in ("OTHERS", "GENERAL")
        and not str(a.get("aspect", "")).endswith("#GENERAL")
    )


def _complaint(data_set: str, record: dict[str, Any], topics: tuple[str, ...], text: str) -> str:
    """The one topic a labelled text complains about ('' when it is not such a complaint)."""
    if len(topics) != 1:
        return ""
    if data_set == "cx":
        complaint = record.get("sentiment") == "negative" or "complaint" in (
            record.get("flags") or ()
        )
        return topics[0] if complaint else ""
    feelings = [a.get("sentiment") for a in record.get("aspects") or ()]
    if "positive" in feelings or len(text.split()) > COMPLAINT_WORDS:
        return ""
    return topics[0]


def group_of(topic: str, origin: str) -> str:
    """The group a topic's incidents are drawn for: cx, phone or hotel."""
    if origin == "cx":
        return "cx"
    return "hotel" if topic.startswith("hotel_") else "phone"


def _rating(record: dict[str, Any]) -> int | None:
    value = record.get("rating")
    return int(value) if isinstance(value, int) and 1 <= value <= 5 else None


def diurnal(moment: datetime) -> float:
    """Relative traffic at ``moment`` (mean about 1 over a day)."""
    local = moment + VIETNAM
    hour = local.hour + local.minute / 60.0
    low = int(hour) % 24
    frac = hour - int(hour)
    return DIURNAL[low] * (1 - frac) + DIURNAL[(low + 1) % 24] * frac


_MEAN = sum(DIURNAL) / len(DIURNAL)


@dataclass(frozen=True)
class Scope:
    """Where an incident happens: a channel, a brand, or everywhere."""

    kind: str
    channel: str = ""
    brand: str = ""

    def share(self, brand_share: dict[str, float]) -> float:
        """The share of traffic in this scope."""
        if self.kind == "channel":
            return CHANNELS[self.channel][0]
        if self.kind == "brand":
            return brand_share[self.brand]
        return 1.0


@dataclass
class ReplayPlan:
    """The replayed stream: its messages in time order, the ground truth, the scored span."""

    messages: list[dict[str, Any]]
    truth: list[dict[str, Any]]
    scored_start: datetime
    end: datetime
    days: float
    topics: dict[str, int] = field(default_factory=dict)


class Mix:
    """Channels, brands and products of background messages."""

    def __init__(self, rng: random.Random) -> None:
        self.channels = list(CHANNELS)
        self.channel_weights = [CHANNELS[c][0] for c in self.channels]
        self.brands = [f"Hiệu {chr(65 + i)}{chr(97 + (i * 7) % 26)}" for i in range(BRANDS)]
        weights = [1.0 / (i + 1) ** 1.1 for i in range(BRANDS)]
        total = sum(weights)
        self.brand_weights = [w / total * (1 - NO_BRAND) for w in weights]
        self.brand_share = dict(zip(self.brands, self.brand_weights, strict=True))
        product_weights = [1.0 / (i + 1) ** 1.2 for i in range(PRODUCTS_PER_BRAND)]
        self.product_cum = _cumulative(product_weights)
        self.rng = rng

    def channel(self) -> str:
        """A channel of the mix."""
        return self.rng.choices(self.channels, self.channel_weights)[0]

    def brand(self) -> str:
        """A brand of the mix, or '' (no brand)."""
        r = self.rng.random()
        if r < NO_BRAND:
            return ""
        return self.rng.choices(self.brands, self.brand_weights)[0]

    def product(self, brand: str) -> str:
        """A product of ``brand`` (Zipf-distributed), or '' without a brand."""
        if not brand:
            return ""
        index = bisect.bisect(self.product_cum, self.rng.random() * self.product_cum[-1])
        return f"{brand} M{index + 1:02d}"


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _message(
    n: int,
    labelled: Labelled,
    moment: datetime,
    channel: str,
    brand: str,
    product: str,
    prefix: str,
) -> dict[str, Any]:
    source = CHANNELS.get(channel, (0.0, "review"))[1]
    message: dict[str, Any] = {
        "id": f"{prefix}-{n}",
        "source": source,
        "channel": channel,
        "text": labelled.text,
        "created_at": moment.isoformat(),
    }
    if brand:
        message["brand"] = brand
    if product:
        message["product"] = product
    if source == "review" and labelled.rating is not None:
        message["rating"] = labelled.rating
    if source == "chat":
        message["conversation_id"] = f"conv-{prefix}-{n}"
        message["role"] = "customer"
    return message


def plan_replay(
    labelled: Sequence[Labelled],
    *,
    seed: int,
    days: float,
    per_day: int,
    incidents: int,
    warmup_h: float,
    known_topics: frozenset[str],
) -> ReplayPlan:
    """Background over ``warmup_h`` hours then ``days`` days, with ``incidents`` in the days."""
    rng = random.Random(f"voc-replay:{seed}")
    scored_start = datetime(2026, 11, 16, tzinfo=UTC) + timedelta(days=seed % 7)
    start = scored_start - timedelta(hours=warmup_h)
    end = scored_start + timedelta(days=days)
    mix = Mix(rng)
    pool = list(labelled)
    by_topic: dict[str, list[Labelled]] = {}
    complaints: dict[str, list[Labelled]] = {}
    for item in pool:
        for topic in item.topics:
            by_topic.setdefault(topic, []).append(item)
        if item.complaint:
            complaints.setdefault(item.complaint, []).append(item)
    topics = {t: len(v) for t, v in complaints.items() if len(v) >= MIN_TEXTS}
    messages: list[dict[str, Any]] = []
    per_minute = per_day / 1440.0
    minute = start
    n = 0
    while minute < end:
        rate = per_minute * diurnal(minute + timedelta(seconds=30)) / _MEAN
        for _ in range(_poisson(rng, rate)):
            moment = minute + timedelta(seconds=rng.random() * 60.0)
            item = pool[rng.randrange(len(pool))]
            channel = mix.channel()
            brand = mix.brand()
            messages.append(
                _message(n, item, moment, channel, brand, mix.product(brand), f"bg{seed}")
            )
            n += 1
        minute += timedelta(minutes=1)
    truth = _incidents(
        rng,
        mix,
        pool,
        (by_topic, complaints),
        topics,
        incidents,
        scored_start,
        end,
        per_minute,
        known_topics,
    )
    for incident in truth:
        messages += incident.pop("_messages")
    messages.sort(key=lambda m: (m["created_at"], m["id"]))
    return ReplayPlan(messages, truth, scored_start, end, days, topics)


def _incidents(
    rng: random.Random,
    mix: Mix,
    pool: Sequence[Labelled],
    texts_of: tuple[dict[str, list[Labelled]], dict[str, list[Labelled]]],
    topics: dict[str, int],
    count: int,
    start: datetime,
    end: datetime,
    per_minute: float,
    known_topics: frozenset[str],
) -> list[dict[str, Any]]:
    if not topics or count <= 0:
        return []
    by_topic, complaints = texts_of
    groups: dict[str, list[str]] = {}
    for topic in sorted(topics):
        groups.setdefault(group_of(topic, complaints[topic][0].origin), []).append(topic)
    names = sorted(groups)
    weights = [GROUPS[g] for g in names]
    span = (end - start).total_seconds()
    margin = min(1800.0, span * 0.05)
    stratum = (span - 2 * margin) / count
    out = []
    for k in range(count):
        group = groups[rng.choices(names, weights)[0]]
        topic = rng.choices(group, [math.sqrt(topics[t]) for t in group])[0]
        if k == count // 2 and FORCED in topics:  # every run has an account takeover
            topic = FORCED
        scope_kind = rng.choices([s for s, _w in SCOPES], [w for _s, w in SCOPES])[0]
        scope = Scope(scope_kind)
        if scope_kind == "channel":
            scope = Scope("channel", channel=mix.channel())
        elif scope_kind == "brand":
            scope = Scope("brand", brand=rng.choices(mix.brands, mix.brand_weights)[0])
        minutes = rng.randint(10, 30)
        offset = margin + k * stratum + rng.random() * max(stratum - minutes * 60.0, 0.0)
        begin = (start + timedelta(seconds=offset)).replace(second=0, microsecond=0)
        begin += timedelta(seconds=rng.randint(0, 59))
        finish = begin + timedelta(minutes=minutes)
        middle = begin + (finish - begin) / 2
        traffic = per_minute * diurnal(middle) / _MEAN
        topic_share = len(by_topic[topic]) / len(pool)
        baseline = traffic * topic_share * scope.share(mix.brand_share)
        x = rng.uniform(2.0, 10.0)
        added = max((x - 1.0) * baseline, rng.uniform(2.0, 3.0))
        texts = list(complaints[topic])
        rng.shuffle(texts)
        prefix = f"inc{k + 1:02d}"
        messages = []
        moment = begin
        i = 0
        while True:
            moment += timedelta(seconds=rng.expovariate(added / 60.0))
            if moment >= finish:
                break
            channel = scope.channel or mix.channel()
            brand = scope.brand or mix.brand()
            item = texts[i % len(texts)]
            messages.append(_message(i, item, moment, channel, brand, mix.product(brand), prefix))
            i += 1
        out.append(
            {
                "id": prefix,
                "kind": "replay_incident",
                "topic": topic,
                "known_topic": topic in known_topics,
                "scope": scope.kind,
                "key": {"topic": topic, "channel": scope.channel, "brand": scope.brand},
                "start": begin.isoformat(),
                "end": finish.isoformat(),
                "duration_s": (finish - begin).total_seconds(),
                "baseline_per_min": round(baseline, 3),
                "added_per_min": round(added, 3),
                "multiplier": round((baseline + added) / baseline, 2) if baseline else math.inf,
                "extra_messages": len(messages),
                "message_ids": [m["id"] for m in messages],
                "_messages": messages,
            }
        )
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class _ListPartition(StatefulSourcePartition[RawRecord, int]):
    def __init__(self, origin: str, messages: list[dict[str, Any]], resume: int | None) -> None:
        self._origin, self._messages = origin, messages
        self._sent = resume or 0

    def next_batch(self) -> list[RawRecord]:
        if self._sent >= len(self._messages):
            raise StopIteration
        chunk = self._messages[self._sent : self._sent + 500]
        out = [RawRecord(self._origin, self._sent + i + 1, m) for i, m in enumerate(chunk)]
        self._sent += len(chunk)
        return out

    def snapshot(self) -> int:
        return self._sent


class ReplaySource(FixedPartitionedSource[RawRecord, int]):
    """The replayed messages, split over ``partitions`` by a hash of their id.

    Unit of parallelism: a partition; each yields its messages in event-time order.
    Delivery: a restarted partition resumes after what it had sent.
    """

    def __init__(self, messages: list[dict[str, Any]], partitions: int = 2) -> None:
        self._parts: list[list[dict[str, Any]]] = [[] for _ in range(partitions)]
        for message in messages:
            digest = hashlib.blake2b(message["id"].encode(), digest_size=2).digest()
            self._parts[int.from_bytes(digest) % partitions].append(message)

    def list_parts(self) -> list[str]:
        """``replay/0`` ... ``replay/<n-1>``."""
        return [f"replay/{i}" for i in range(len(self._parts))]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _ListPartition:
        """One partition's messages."""
        index = int(for_part.rsplit("/", 1)[1])
        return _ListPartition(for_part, self._parts[index], resume_state)


def iter_texts(plan: ReplayPlan, count: int) -> Iterator[str]:
    """The texts of the first ``count`` messages (for the phrase extraction timing)."""
    for message in plan.messages[:count]:
        yield message["text"]
