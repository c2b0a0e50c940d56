"""The simulator: a deterministic, partitionable stream of Vietnamese customer feedback.

Event ``k`` (a review, a social post, or a whole chat conversation) gets its time, key and
turn count from the :class:`~simulator.traffic.Schedule`, and everything else from its
own row of 64 uniforms: row ``j`` of a block that bucket's generator (seeded by ``(seed,
bucket)``) draws after the schedule, extended by a ``random.Random`` seeded from the row if
an event needs more. So the content of event ``k`` is a pure function of ``(seed, k)`` and
the config. Partition ``i`` of ``P`` emits the messages of the events with ``k % P == i``
(a conversation stays in one partition) and composes no text of the others. Within a
partition messages come in ``(created_at, k, turn)`` order (later chat turns wait in a small
heap), so the global stream is the merge of the partitions in that order.

Every text is composed from the project's own tables (``resources/*.yaml``); none is copied
from a dataset.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

from nlp.normalize import strip_diacritics
from schemas.errors import ConfigError
from simulator.config import SimulationConfig, default_start
from simulator.incidents import (
    Incident,
    IncidentCandidate,
    Surge,
    plan_random_incidents,
    write_ground_truth_file,
)
from simulator.texts import APP_CHANNELS, Composer, Slots, pick
from simulator.traffic import SOURCES, Mix, Schedule
from simulator.vocab import TOPICS, load_resources

GROUND_TRUTH_VERSION = 1


#: Uniforms pre-drawn per event (a review needs about 40); more come from ``_overflow``.
_ROW = 64
#: Events per block of uniforms drawn at once.
_CHUNK = 4096


def _overflow(row: list[float]) -> Iterator[float]:
    """More uniforms for an event that used up its row, seeded from the row itself."""
    rng = random.Random(int(row[0] * 2.0**53) * 2**53 + int(row[1] * 2.0**53))  # noqa: S311
    draw = rng.random
    while True:
        yield draw()


@dataclass(frozen=True, slots=True)
class Truth:
    """What the simulator knows about one message (not part of the message itself).

    ``topic`` is the key topic, ``topics`` every topic the text talks about (key topic
    first), ``sentiment`` the customer's sentiment (agents are neutral), ``flags`` among
    complaint, question, praise, churn_risk, urgent, rating_mismatch. ``origin`` is
    ``baseline``, ``surge`` or ``incident``, ``event_id`` the surge or incident id, and
    ``language`` the language of the text (``vi``, or ``en`` for a few customers).
    """

    topic: str
    topics: tuple[str, ...]
    sentiment: str
    flags: tuple[str, ...]
    origin: str
    event_id: str | None = None
    language: str = "vi"


class _TimeText:
    """Formats epoch seconds as ISO 8601 with milliseconds, +07:00 or Z, caching minutes."""

    _SECONDS = tuple(f"{n:02d}." for n in range(60))
    _MILLIS = tuple(f"{n:03d}" for n in range(1000))

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def __call__(self, t: float, utc: bool) -> str:
        ms = int(t * 1000)
        sec, milli = divmod(ms, 1000)
        minute, second = divmod(sec, 60)
        key = minute * 2 + utc
        prefix = self._cache.get(key)
        if prefix is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            moment = datetime.fromtimestamp(minute * 60 + (0 if utc else 7 * 3600), UTC)
            prefix = moment.strftime("%Y-%m-%dT%H:%M:")
            self._cache[key] = prefix
        return prefix + self._SECONDS[second] + self._MILLIS[milli] + ("Z" if utc else "+07:00")


class Simulator:
    """Generates the stream of a :class:`SimulationConfig` (see the module docstring)."""

    def __init__(
        self,
        config: SimulationConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._clock, self._wall, self._sleep = clock, wall, sleep
        resources = load_resources()
        mix_cfg = resources.mix
        self.start: datetime = (config.start or default_start(config.hours)).astimezone(UTC)
        self.end: datetime = self.start + config.span
        self._mix = Mix(resources, config.source_mix, config.channel_mix)
        for inc in config.incidents:
            self._mix.validate_key(f"incident {inc.id}", inc.topic, inc.channel, inc.brand)
        scheduled: tuple[Incident | Surge, ...] = (*config.incidents, *config.surges)
        for event in scheduled:
            if event.end <= self.start or event.start >= self.end:
                kind = "incident" if isinstance(event, Incident) else "surge"
                msg = (
                    f"{kind} {event.id}: expected a window overlapping the simulated span "
                    f"{self.start.isoformat()} .. {self.end.isoformat()}, got "
                    f"{event.start.isoformat()} .. {event.end.isoformat()}"
                )
                raise ConfigError(msg)
        schedule_args: dict[str, Any] = {
            "seed": config.seed,
            "start_s": self.start.timestamp(),
            "end_s": self.end.timestamp(),
            "messages": config.messages,
            "rate_per_minute": config.rate_per_minute,
            "diurnal": config.diurnal,
            "hourly": tuple(mix_cfg["diurnal"]),
            "weekday": tuple(mix_cfg["weekday"]),
            "surges": config.surges,
        }
        incidents = list(config.incidents)
        if config.random_incidents:
            probe = Schedule(self._mix, incidents=(), **schedule_args)
            incidents += plan_random_incidents(
                config.random_incidents,
                seed=config.seed,
                start=self.start,
                end=self.end,
                candidates=self._candidates(resources.texts["emerging_phrases"]),
                existing=config.incidents,
                expected_baseline=probe.expected_key_messages,
            )
        self.incidents: tuple[Incident, ...] = tuple(incidents)
        self.surges: tuple[Surge, ...] = config.surges
        self._schedule = Schedule(self._mix, incidents=self.incidents, **schedule_args)
        self._composer = Composer(resources)
        self._origin_names: list[tuple[str, str | None]] = [("baseline", None)]
        self._origin_names += [("surge", s.id) for s in self.surges]
        self._origin_names += [("incident", i.id) for i in self.incidents]
        self._sentiment_cum = self._sentiment_tables(mix_cfg)
        self._question_rate = {s: float(mix_cfg["question_rate"][s]) for s in SOURCES}
        self._ratings = {
            s: (tuple(int(k) for k in v), _cum(v.values()))
            for s, v in mix_cfg["ratings"].items()
            if s != "mismatch"
        }
        self._mismatch = float(mix_cfg["ratings"]["mismatch"])
        self._utc_channels = frozenset(mix_cfg["utc_channels"])
        self._extra_rate = float(mix_cfg["extra_fields_rate"])
        self._anonymous = float(mix_cfg["anonymous_rate"])
        self._english_rate = float(resources.texts["english_rate"])
        self._time_text = _TimeText()
        self._id_prefix = {"review": "rv", "chat": "ch", "social": "so"}

    # -- set-up helpers ------------------------------------------------------------------

    def _candidates(self, emerging: dict[str, Any]) -> list[IncidentCandidate]:
        mix = self._mix
        out: list[IncidentCandidate] = []
        for topic in TOPICS:
            phrases = tuple(emerging.get(topic) or ())
            keys: list[tuple[str | None, str | None]] = [(None, None)]
            keys += [(c, None) for c in mix.channels]
            keys += [(None, b) for b in mix.brand_names]
            for channel, brand in keys:
                share = mix.share(topic, channel, brand)
                if share > 0:
                    out.append(IncidentCandidate(topic, channel, brand, share, phrases))
        return out

    @staticmethod
    def _sentiment_tables(mix_cfg: dict[str, Any]) -> dict[tuple[str, str], tuple[float, float]]:
        out: dict[tuple[str, str], tuple[float, float]] = {}
        for source in SOURCES:
            base = mix_cfg["sentiment_by_source"][source]
            for topic in TOPICS:
                factors = mix_cfg["sentiment_factors_by_topic"].get(topic, {})
                w = {s: float(base[s]) * float(factors.get(s, 1.0)) for s in base}
                total = sum(w.values())
                neg = w["negative"] / total
                out[(source, topic)] = (neg, neg + w["neutral"] / total)
        return out

    # -- the stream ----------------------------------------------------------------------

    def labelled(
        self, partition: int = 0, partitions: int = 1
    ) -> Iterator[tuple[dict[str, Any], Truth]]:
        """Yield the messages of one partition with their :class:`Truth`, in time order.

        Not paced: ``rate`` and ``realtime`` apply to :meth:`messages` only.
        """
        _check_partition(partition, partitions)
        return self._labelled(partition, partitions)

    def _labelled(self, partition: int, partitions: int) -> Iterator[tuple[dict[str, Any], Truth]]:
        heap: list[tuple[float, int, int, dict[str, Any], Truth]] = []
        make = self._event
        push, pop = heapq.heappush, heapq.heappop
        for bucket in self._schedule.buckets():
            times, combos, turns, origins = (
                bucket.times,
                bucket.combos,
                bucket.turns,
                bucket.origins,
            )
            n, first_k = len(times), bucket.first_k
            mine = (partition - first_k) % partitions
            if mine >= n:
                continue
            # Uniforms of event first_k + j are row j of this bucket's block, whichever
            # partition draws them: blocks are drawn whole, in chunks, and sliced.
            uniforms = bucket.rng
            for lo in range(0, n, _CHUNK):
                hi = min(n, lo + _CHUNK)
                block = uniforms.random((hi - lo, _ROW))
                j0 = lo + (mine - lo) % partitions
                rows = block[j0 - lo :: partitions].tolist()
                for row, j in zip(rows, range(j0, hi, partitions), strict=True):
                    t = times[j]
                    while heap and heap[0][0] <= t:
                        item = pop(heap)
                        yield item[3], item[4]
                    for entry in make(first_k + j, t, combos[j], turns[j], origins[j], row):
                        push(heap, entry)
        while heap:
            item = pop(heap)
            yield item[3], item[4]

    def messages(
        self, partition: int = 0, partitions: int = 1, *, skip: int = 0
    ) -> Iterator[dict[str, Any]]:
        """Yield the messages of one partition (all by default) as inbound-message dicts.

        With ``config.realtime`` a message waits until the wall clock reaches its event
        time; otherwise, with ``config.rate``, the partition emits ``rate / partitions``
        messages per second of wall-clock time; otherwise messages come as fast as they are
        built. ``skip`` drops the partition's first messages without waiting for them: a
        source that resumes after emitting ``skip`` messages continues exactly where it was.
        """
        stream: Iterator[dict[str, Any]] = (m for m, _truth in self.labelled(partition, partitions))
        if skip:
            stream = islice(stream, skip, None)
        if self.config.realtime:
            return self._realtime(stream)
        if self.config.rate is not None:
            return self._paced(stream, self.config.rate / partitions)
        return stream

    def _paced(self, stream: Iterator[dict[str, Any]], rate: float) -> Iterator[dict[str, Any]]:
        began = self._clock()
        for n, message in enumerate(stream):
            ahead = began + n / rate - self._clock()
            if ahead > 0.001:
                self._sleep(ahead)
            yield message

    def _realtime(self, stream: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for message in stream:
            due = datetime.fromisoformat(message["created_at"]).timestamp()
            ahead = due - self._wall()
            if ahead > 0.001:
                self._sleep(ahead)
            yield message

    def count(self, partition: int = 0, partitions: int = 1) -> int:
        """Count exactly the messages :meth:`messages` yields for this partition."""
        _check_partition(partition, partitions)
        total = 0
        for b in self._schedule.buckets():
            total += sum(b.turns[(partition - b.first_k) % partitions :: partitions])
        return total

    # -- one event -----------------------------------------------------------------------

    def _event(
        self, k: int, t: float, combo_index: int, turns: int, origin: int, row: list[float]
    ) -> list[tuple[float, int, int, dict[str, Any], Truth]]:
        rand = chain(row, _overflow(row)).__next__
        combo = self._mix.combos[combo_index]
        source, channel, brand, topic = combo.source, combo.channel, combo.brand, combo.topic
        origin_kind, event_id = self._origin_names[origin]
        incident = (
            self.incidents[origin - 1 - len(self.surges)] if origin_kind == "incident" else None
        )
        if incident is not None:
            sentiment = incident.sentiment if rand() < 0.9 else "neutral"
            phrase = incident.phrase
        else:
            neg, neu = self._sentiment_cum[(source, topic)]
            u = rand()
            sentiment = "negative" if u < neg else "neutral" if u < neu else "positive"
            phrase = None
        question = sentiment == "neutral" and rand() < self._question_rate[source]
        product = brand.products[0] if channel in APP_CHANNELS else pick(brand.products, rand)
        slots = Slots(
            self._composer,
            rand,
            brand=brand,
            product=product,
            source=source,
            channel=channel,
            moment=t,
        )
        utc = channel in self._utc_channels
        seed = self.config.seed
        if source == "chat":
            return self._conversation(
                k,
                t,
                turns,
                slots,
                topic=topic,
                sentiment=sentiment,
                question=question,
                origin=(origin_kind, event_id),
                phrase=phrase,
                utc=utc,
            )
        language = "vi"
        if phrase is None and rand() < self._english_rate:
            language = "en"
            composed = self._composer.english(slots, topic=topic, sentiment=sentiment)
        else:
            composed = self._composer.customer(
                slots,
                topic=topic,
                sentiment=sentiment,
                question=question,
                kind=brand.kind,
                source=source,
                phrase=phrase,
            )
        text, flags = composed.text, composed.flags
        message: dict[str, Any] = {
            "id": f"{self._id_prefix[source]}-{seed}-{k:09d}",
            "source": source,
            "channel": channel,
            "created_at": self._time_text(t, utc),
            "text": text,
            "brand": brand.name,
            "product": product.name,
        }
        if source == "review":
            message["rating"], mismatch = self._rating(sentiment, rand)
            if mismatch:
                flags = (*flags, "rating_mismatch")
        else:
            text = self._composer.social_post(
                text, slots, question=question, english=language == "en"
            )
            message["text"] = text
            normal = math.sqrt(-2.0 * math.log(1.0 - rand())) * math.cos(2 * math.pi * rand())
            reach = int(math.exp(6.3 + 1.5 * normal))
            if channel == "tiktok":
                reach *= 3
            if rand() < 0.01:
                reach *= 40
            message["reach"] = reach
            message["likes"] = int(reach * (0.002 + 0.06 * rand() ** 2))
            message["url"] = self._url(channel, slots)
        if rand() >= self._anonymous:
            message["author"] = self._composer.handle(rand)
        if rand() < self._extra_rate:
            self._extras(message, channel, rand)
        truth = Truth(topic, composed.topics, sentiment, flags, origin_kind, event_id, language)
        return [(t, k, 0, message, truth)]

    def _rating(self, sentiment: str, rand: Callable[[], float]) -> tuple[int, bool]:
        if rand() < self._mismatch and sentiment != "neutral":
            return (5 if sentiment == "negative" else 1), True
        values, cum = self._ratings[sentiment]
        u = rand()
        for value, edge in zip(values, cum, strict=True):
            if u < edge:
                return value, False
        return values[-1], False

    def _url(self, channel: str, slots: Slots) -> str:
        rand = slots.rand
        digits = "0123456789"
        if channel == "facebook":
            post = "".join(digits[int(rand() * 10)] for _ in range(16))
            return (
                f"https://www.facebook.com/{self._composer.handle(rand, plain=True)}/posts/{post}"
            )
        if channel == "tiktok":
            video = "".join(digits[int(rand() * 10)] for _ in range(19))
            return (
                f"https://www.tiktok.com/@{self._composer.handle(rand, plain=True)}/video/{video}"
            )
        if channel == "youtube":
            return f"https://www.youtube.com/watch?v={slots['code']}{slots['code'][:4]}"
        thread = int(rand() * 900_000) + 100_000
        return f"https://diendan.example.vn/threads/{slots.brand.handle}-{slots['code'].lower()}.{thread}/"

    def _extras(self, message: dict[str, Any], channel: str, rand: Callable[[], float]) -> None:
        """Unknown fields some sources send; the contract moves them to ``attributes``."""
        if channel in APP_CHANNELS:
            message["app_version"] = f"{4 + int(rand() * 3)}.{int(rand() * 30)}.{int(rand() * 10)}"
            message["device"] = pick(
                ("Android 13", "Android 14", "Android 15", "iOS 17.6", "iOS 18.1"), rand
            )
        elif message["source"] == "review":
            message["order_value"] = 10_000 * (5 + int(rand() * 300))
            message["verified_purchase"] = rand() < 0.9
        elif message["source"] == "social":
            message["post_type"] = pick(("post", "comment", "reply", "story"), rand)
        else:
            message["queue"] = pick(("general", "billing", "technical", "returns"), rand)

    def _conversation(
        self,
        k: int,
        t: float,
        turns: int,
        slots: Slots,
        *,
        topic: str,
        sentiment: str,
        question: bool,
        origin: tuple[str, str | None],
        phrase: str | None,
        utc: bool,
    ) -> list[tuple[float, int, int, dict[str, Any], Truth]]:
        rand = slots.rand
        channel, brand = slots.channel, slots.brand
        agent_first = rand() < (0.3 if channel == "hotline_chat" else 0.06)
        composed_turns = self._composer.chat_turns(
            slots,
            turns=turns,
            topic=topic,
            sentiment=sentiment,
            question=question,
            kind=brand.kind,
            agent_first=agent_first,
            phrase=phrase,
        )
        seed = self.config.seed
        customer = self._composer.handle(rand) if rand() >= self._anonymous else None
        agent = f"cskh-{brand.handle}-{strip_diacritics(slots['agent']).lower()}"
        conversation = f"conv-{seed}-{k:09d}"
        out: list[tuple[float, int, int, dict[str, Any], Truth]] = []
        moment = t
        # the last turn of a conversation started near the end stays inside the window: a
        # turn after it would be in the future of a stream ending now (a dead letter)
        last = max(t, self.end.timestamp() - 0.001)
        extras = rand() < self._extra_rate
        for n, (role, composed) in enumerate(composed_turns):
            if n:
                # agents answer within seconds to a few minutes; customers take longer
                mean = 80.0 if role == "agent" else 150.0
                moment = min(moment + 8.0 + rng_expo(rand, mean), last)
            message: dict[str, Any] = {
                "id": f"ch-{seed}-{k:09d}-{n}",
                "source": "chat",
                "channel": channel,
                "created_at": self._time_text(moment, utc),
                "text": composed.text,
                "brand": brand.name,
                "product": slots.product.name,
                "conversation_id": conversation,
                "role": role,
            }
            author = customer if role == "customer" else agent
            if author is not None:
                message["author"] = author
            if extras:
                self._extras(message, channel, rand)
            truth = Truth(
                topic,
                composed.topics,
                composed.sentiment or (sentiment if role == "customer" else "neutral"),
                composed.flags,
                origin[0],
                origin[1],
            )
            out.append((moment, k, n, message, truth))
        return out

    # -- ground truth --------------------------------------------------------------------

    def ground_truth(self) -> list[dict[str, Any]]:
        """Return the incidents and surges, JSON-ready, sorted by start.

        Each entry is :meth:`Incident.to_json` or :meth:`Surge.to_json` (``id``, ``kind``:
        topic_spike, phrase_burst or surge, ``start`` and ``end`` in UTC, ``duration_s``,
        ``multiplier``, ``key``: topic/channel/brand, ``{}`` for a surge) plus
        ``extra_messages``, the messages it added to the stream. Incidents also carry
        ``baseline_messages`` (expected messages of their key in their window without them)
        and ``key_share`` (their key's share of baseline traffic).
        """
        extra = [0] * len(self._origin_names)
        for bucket in self._schedule.buckets():
            for origin, turns in zip(bucket.origins, bucket.turns, strict=True):
                extra[origin] += turns
        out: list[dict[str, Any]] = []
        for n, surge in enumerate(self.surges, start=1):
            entry = surge.to_json()
            entry["extra_messages"] = extra[n]
            out.append(entry)
        base = len(self.surges) + 1
        for j, (inc, plan) in enumerate(zip(self.incidents, self._schedule.plans, strict=True)):
            entry = inc.to_json()
            entry["extra_messages"] = extra[base + j]
            entry["key_share"] = plan.share
            entry["baseline_messages"] = round(
                self._schedule.expected_key_messages(plan.share, plan.start_s, plan.end_s), 3
            )
            out.append(entry)
        out.sort(key=lambda e: (e["start"], e["id"]))
        return out

    def write_ground_truth(self, path: Path) -> None:
        """Write the ground truth as one JSON document.

        ``{"version": 1, "seed", "start", "end", "messages", "rate_per_minute",
        "timezone", "ground_truth": [...]}`` where the list is :meth:`ground_truth`;
        :func:`~simulator.incidents.load_ground_truth` reads it back.
        """
        header = {
            "version": GROUND_TRUTH_VERSION,
            "seed": self.config.seed,
            "start": self.start.isoformat().replace("+00:00", "Z"),
            "end": self.end.isoformat().replace("+00:00", "Z"),
            "messages": self.config.messages,
            "rate_per_minute": self.config.rate_per_minute,
            "timezone": "Asia/Ho_Chi_Minh",
        }
        write_ground_truth_file(Path(path), header, self.ground_truth())


def _check_partition(partition: int, partitions: int) -> None:
    if partitions < 1 or not 0 <= partition < partitions:
        msg = (
            f"expected 0 <= partition < partitions, got partition={partition}, "
            f"partitions={partitions}"
        )
        raise ConfigError(msg)


def rng_expo(rand: Callable[[], float], mean: float) -> float:
    """Draw from an exponential distribution with ``mean``, using a uniform ``rand``."""
    return -mean * math.log(1.0 - rand())


def _cum(weights: Any) -> tuple[float, ...]:
    values = [float(w) for w in weights]
    total = sum(values)
    acc, out = 0.0, []
    for v in values:
        acc += v / total
        out.append(acc)
    return tuple(out)


__all__ = ["GROUND_TRUTH_VERSION", "Simulator", "Truth"]
