"""The minute-by-minute detector on synthetic traffic: one alert per incident, revisions."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from flows.detect.bursts import GramTrack, PhraseBursts, cluster_grams
from flows.detect.config import DetectConfig
from flows.detect.detector import Detector
from flows.detect.signals import Signal
from flows.detect.terms import EVERYWHERE, Complaint, TermBursts
from schemas.errors import ConfigError
from schemas.rows import AlertRow
from tests.detect.support import (
    START,
    START_MINUTE,
    TopicEnricher,
    background_messages,
    incident_messages,
    make_signal,
    signals_from,
)

CONFIG = DetectConfig(warmup=30, gram_warmup=40)
KEK = "giao hàng chậm quá, đơn kẹt ở kho trung chuyển"
ENRICHER = TopicEnricher()

Extra = Callable[[random.Random, int], Iterator[dict[str, Any]]]


def minutes_of(
    count: int,
    *,
    seed: int = 1,
    rate: float = 120.0,
    surge: range = range(0),
    extra: Extra | None = None,
) -> list[list[Signal]]:
    rng = random.Random(seed)
    out = []
    n = 0
    for minute in range(count):
        messages = list(
            background_messages(rng, minute, rate, surge=3.0 if minute in surge else 1.0)
        )
        if extra is not None:
            messages += list(extra(rng, minute))
        for message in messages:
            message["id"] = f"m{n}"
            n += 1
        out.append(signals_from(messages, ENRICHER))
    return out


def detect(
    minutes: list[list[Signal]], config: DetectConfig = CONFIG
) -> tuple[Detector, list[AlertRow]]:
    detector = Detector(config)
    rows = []
    for minute, signals in enumerate(minutes):
        rows += detector.process(START_MINUTE + minute, signals)
    return detector, rows


def incident(
    start: int, stop: int, text: str = KEK, rate: float = 25.0, channel: str = "shopee"
) -> Extra:
    def extra(rng: random.Random, minute: int) -> Iterator[dict[str, Any]]:
        if start <= minute < stop:
            yield from incident_messages(rng, minute, rate, text, channel)

    return extra


def by_id(rows: list[AlertRow]) -> dict[str, list[AlertRow]]:
    out: dict[str, list[AlertRow]] = {}
    for row in rows:
        out.setdefault(row.id, []).append(row)
    return out


def test_ordinary_traffic_gives_no_alert() -> None:
    _, rows = detect(minutes_of(150))
    assert rows == []


def test_a_site_wide_surge_x3_gives_no_alert() -> None:
    _, rows = detect(minutes_of(150, surge=range(80, 120)))
    assert rows == []


def test_one_incident_gives_one_alert_with_samples_terms_breakdown_and_revisions() -> None:
    minutes = minutes_of(130, extra=incident(80, 92))
    detector, rows = detect(minutes)
    alerts = by_id(rows)
    assert len(alerts) == 1, [(r.kind, r.key_type, r.topic, r.channel, r.phrase) for r in rows]
    revisions = next(iter(alerts.values()))
    first, last = revisions[0], revisions[-1]
    assert [r.revision for r in revisions] == list(range(1, len(revisions) + 1))
    assert (first.status, last.status) == ("open", "resolved")
    assert all(r.status == "open" for r in revisions[:-1])
    assert (first.topic, first.channel) == ("delivery", "shopee")
    assert first.kind in ("volume_spike", "emerging_phrase")
    assert "kẹt ở kho trung chuyển" in last.phrase
    assert any("kẹt ở kho trung chuyển" in t for t in last.top_terms)
    opened = first.opened_at
    assert START + timedelta(minutes=81) <= opened <= START + timedelta(minutes=83)
    assert first.updated_at == opened and first.resolved_at is None
    assert [r.updated_at for r in revisions] == sorted(r.updated_at for r in revisions)
    assert last.resolved_at == last.updated_at
    assert START + timedelta(minutes=92) <= last.resolved_at <= START + timedelta(minutes=92 + 8)
    assert first.window_start >= START + timedelta(minutes=80)
    assert first.observed > first.expected > 0
    assert last.observed >= first.observed
    incident_ids = {s.id for m in minutes[80:92] for s in m if KEK in s.text}
    assert len(first.sample_ids) >= 5 and set(first.sample_ids) <= incident_ids
    assert all("kẹt" in t for t in first.sample_texts)
    assert list(first.channel_breakdown) == ["shopee"] and first.channel_breakdown["shopee"] >= 5
    # every revision is current: its channels add up to what it observed, and it says so
    assert all(sum(r.channel_breakdown.values()) == r.observed for r in revisions)
    grown = [r for r in revisions if r.observed > first.observed]
    assert grown and all(r.summary and r.summary != first.summary for r in grown[:1])
    assert first.scale in ("1m", "5m", "10m", "15m", "60m") and first.headline == first.summary
    assert detector.stats.fires.total() > 1  # several detectors fired; one alert was opened


def test_the_same_input_gives_the_same_alerts_ids_and_revisions() -> None:
    minutes = minutes_of(130, extra=incident(80, 92))
    _, first = detect(minutes)
    _, again = detect([[copy.copy(s) for s in m] for m in minutes])
    assert first == again and first


def test_a_phrase_never_seen_before_bursting_across_keys_gives_one_phrase_alert() -> None:
    phrase = "app văng khi quét mã qr"

    def extra(rng: random.Random, minute: int) -> Iterator[dict[str, Any]]:
        if 70 <= minute < 80:
            for channel in ("shopee", "tiki", "facebook"):
                yield from incident_messages(rng, minute, 3.0, f"{phrase} luôn", channel)

    _, rows = detect(minutes_of(110, extra=extra))
    alerts = by_id(rows)
    assert len(alerts) == 1
    first = next(iter(alerts.values()))[0]
    assert (first.kind, first.key_type, first.topic) == ("emerging_phrase", "phrase", "")
    assert first.phrase in (phrase, f"{phrase} luôn")
    assert first.expected < 1.0 < first.observed
    assert len(first.channel_breakdown) == 3


def test_the_cooldown_keeps_a_returning_incident_on_one_alert_and_a_later_one_alerts_again() -> (
    None
):
    def extra(rng: random.Random, minute: int) -> Iterator[dict[str, Any]]:
        for start in (80, 104, 170):
            yield from incident(start, start + 8)(rng, minute)

    _, rows = detect(minutes_of(200, extra=extra))
    alerts = by_id(rows)
    opened = sorted(r[0].opened_at for r in alerts.values())
    assert len(alerts) == 2, opened
    assert opened[0] < START + timedelta(minutes=84)
    assert opened[1] > START + timedelta(minutes=170)


def test_minutes_must_come_in_order_and_gaps_are_filled() -> None:
    detector = Detector(CONFIG)
    detector.process(START_MINUTE + 5, [])
    detector.process(START_MINUTE + 9, [])
    assert detector.stats.minutes == 5
    with pytest.raises(ValueError, match="in order"):
        detector.process(START_MINUTE + 9, [])


def test_keys_not_seen_for_a_long_time_are_forgotten() -> None:
    config = replace(CONFIG, evict_after=60)
    detector, _ = detect(minutes_of(60), config)
    assert len(detector.keys) > 20
    empty = START_MINUTE + 60
    while empty % 60:
        empty += 1
    detector.process(empty + 120, [])
    assert detector.keys == {} and detector.stats.evicted > 20


def test_one_off_products_stay_candidates_within_their_table_and_busy_keys_keep_alerting() -> None:
    minutes = minutes_of(130, extra=incident(80, 92))
    for minute, signals in enumerate(minutes):  # 20 one-off products a minute: 2,600 keys
        signals += [
            make_signal(10_000_000 + minute * 100 + j, minute, product=f"rare {minute}-{j}")
            for j in range(20)
        ]
    _, unbounded = detect(minutes)
    config = replace(CONFIG, candidate_keys=300)
    detector = Detector(config)
    bounded = []
    for minute, signals in enumerate(minutes):
        bounded += detector.process(START_MINUTE + minute, signals)
        assert len(detector.table.candidates) <= 300
        assert not any(k.product.startswith("rare") for k in detector.keys)  # never promoted
    assert detector.table.forgotten > 2000
    assert [(r.id, r.revision) for r in bounded] == [(r.id, r.revision) for r in unbounded]
    assert any(r.kind == "volume_spike" for r in bounded)


def test_keys_with_state_stay_within_max_keys_and_busy_keys_keep_alerting() -> None:
    minutes = minutes_of(130, extra=incident(80, 92))
    for minute, signals in enumerate(minutes):  # products of 3 messages: each gets state
        signals += [
            make_signal(20_000_000 + minute * 100 + j, minute, product=f"trio {minute}-{j // 3}")
            for j in range(21)
        ]
    _, unbounded = detect(minutes)
    config = replace(CONFIG, max_keys=150)
    detector = Detector(config)
    bounded = []
    for minute, signals in enumerate(minutes):
        bounded += detector.process(START_MINUTE + minute, signals)
        assert len(detector.keys) <= 150
    assert detector.stats.dropped > 700  # 910 products got state: most were dropped
    assert [(r.id, r.revision) for r in bounded] == [(r.id, r.revision) for r in unbounded]
    assert any(r.kind == "volume_spike" for r in bounded)


def test_phrase_baselines_stay_within_their_capacity() -> None:
    bursts = PhraseBursts(half_life=60.0)
    config = replace(CONFIG, gram_capacity=1000)
    for minute in range(50):
        counts = {minute * 100_000 + g: 1 for g in range(300)}
        bursts.step(minute, 300, counts, config)
        assert len(bursts.table) <= 1000
    assert bursts.floor > 0.0


def test_eviction_keeps_the_largest_baselines_ties_to_the_larger_gram() -> None:
    bursts = PhraseBursts(half_life=60.0, table={g: float(g % 4) for g in range(10)})
    bursts.tracks[0] = GramTrack()  # a gram being watched is never evicted
    bursts._evict(4)
    # (value, gram) ranked: (0,0) (0,4) (0,8) (1,1) (1,5) (1,9) | (2,2) (2,6) (3,3) (3,7)
    assert sorted(bursts.table) == [0, 2, 3, 6, 7]
    assert bursts.floor == 1.0
    big = PhraseBursts(half_life=60.0, table={2**64 - 1 - g: 1.0 for g in range(5)})
    big._evict(2)  # 64-bit gram ids, equal values: the larger ids stay
    assert sorted(big.table) == [2**64 - 2, 2**64 - 1]


@pytest.mark.parametrize("days", [256, 400, 9_000])
def test_a_long_jump_in_event_time_does_not_overflow_the_phrase_baselines(days: int) -> None:
    """One message dated months ahead, or a first one from last year (issue 12)."""
    bursts = PhraseBursts(half_life=CONFIG.gram_half_life)
    bursts.step(START_MINUTE, 10, {1: 3, 2: 1}, CONFIG)
    later = START_MINUTE + days * 24 * 60
    bursts.step(later, 10, {1: 3, 3: 2}, CONFIG)  # 2.0 ** (minutes / half-life) overflowed
    assert bursts.base_minute == later
    assert bursts.expected(1, 10, later + 1) >= 0.0
    assert bursts.table[3] > bursts.table.get(2, 0.0)  # the old counts decayed to nothing


@pytest.mark.parametrize("days", [256, 400, 9_000])
def test_a_long_jump_in_event_time_does_not_overflow_the_term_baselines(days: int) -> None:
    """The complaint terms' baselines renormalize like the phrases' (issue 12)."""
    terms = TermBursts(half_life=CONFIG.term_half_life)
    config = replace(CONFIG, term_guard=0)
    terms.step(START_MINUTE, [Complaint("zalo", "", frozenset({1, 2}))], config)
    later = START_MINUTE + days * 24 * 60
    terms.step(later, [Complaint("zalo", "", frozenset({1, 3}))], config)
    assert terms.base_minute == later
    assert 0.0 <= terms.share(1, later + 1) <= 1.0
    assert terms.scopes[EVERYWHERE].table[3] > terms.scopes[EVERYWHERE].table.get(2, 0.0)


def test_overlapping_grams_of_one_burst_are_clustered() -> None:
    units = {1: {"a", "b", "c", "d"}, 2: {"a", "b", "c"}, 3: {"b", "c", "d", "e"}, 4: {"x", "y"}}
    assert cluster_grams(units) == [[1, 3, 2], [4]]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"max_keys": 0}, r"max_keys \(VOC_DETECT_MAX_KEYS\) must be at least 1"),
        ({"history_minutes": 4}, r"history_minutes \(VOC_DETECT_HISTORY_MINUTES\) must exceed"),
        ({"wait_s": -1.0}, r"wait_s \(VOC_DETECT_WAIT_S\) must be a number >= 0"),
        ({"persist_k": 5}, "persist_k <= persist_n"),
        ({"scales": (15, 5)}, "scales .* must be distinct and increasing"),
        ({"scales": (1, 5)}, "scales .* must be whole minutes from 2 to 1440"),
        ({"share_half_life": 0.0}, "share_half_life .* must be above 0"),
        ({"false_alarms_per_day": 0.0}, "false_alarms_per_day .* must be above 0"),
        ({"fire_score": float("nan")}, "fire_score .* must be"),
    ],
)
def test_settings_that_cannot_work_are_refused(change: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        DetectConfig(**change)


ACCOUNT = ("tài khoản bị hack", "acc của mình bị hack rồi", "bị hack mất tài khoản luôn")
CODES = ("không nhận được mã otp", "otp gửi về số lạ", "mã otp cứ báo sai")
MONEY = ("ví bị trừ tiền", "mất sạch tiền trong ví", "tiền bị rút mất")
ANGER = ("tệ thật", "lỗi gì vậy trời", "dịch vụ tệ quá", "ai giúp với, lỗi quá")


def takeover_wave(start: int, stop: int, rate: float) -> Extra:
    """Complaints about something no topic covers, each worded its own way."""

    def extra(rng: random.Random, minute: int) -> Iterator[dict[str, Any]]:
        if not start <= minute < stop:
            return
        for message in incident_messages(rng, minute, rate, "", rng.choice(("shopee", "tiki"))):
            parts = [rng.choice(ACCOUNT), rng.choice(CODES), rng.choice(MONEY)]
            rng.shuffle(parts)
            message["text"] = f"{', '.join(parts)}, {rng.choice(ANGER)}"
            yield message

    return extra


def test_an_unknown_topic_in_varied_words_gives_one_emerging_issue_with_its_terms() -> None:
    minutes = minutes_of(200, extra=takeover_wave(150, 170, 4.0))
    _, rows = detect(minutes)
    alerts = by_id(rows)
    assert len(alerts) == 1, [(r.kind, r.summary) for r in rows]
    revisions = next(iter(alerts.values()))
    first, last = revisions[0], revisions[-1]
    assert first.kind == "emerging_issue" and first.key_type == "terms"
    assert START + timedelta(minutes=150) < first.opened_at <= START + timedelta(minutes=160)
    terms = " ".join(first.top_terms)
    assert "hack" in terms and "otp" in terms, first.top_terms
    wave = {s.id for m in minutes[150:170] for s in m if "otp" in s.text}
    assert set(first.sample_ids) <= wave and len(first.sample_ids) >= 5
    assert first.summary.startswith("Vấn đề mới") and "otp" in first.summary
    assert sum(first.channel_breakdown.values()) == first.observed
    assert last.status == "resolved" and last.observed > first.observed


def test_ordinary_traffic_gives_no_emerging_issue_over_hours() -> None:
    _, rows = detect(minutes_of(400, seed=5))
    assert rows == []


def test_a_conversation_counts_once_for_a_key_within_the_longest_scale() -> None:
    """A chat spanning minutes is one voice: counted for a key (and in the total) once."""
    from flows.detect.detector import Conversations, MinuteData
    from flows.detect.signals import Key

    memory = Conversations(span=60, capacity=100)
    delivery = Key("topic", "delivery")

    def turn(n: int, minute: int, **kw: Any) -> MinuteData:
        signal = make_signal(n, minute, unit="conv-1", source="chat", channel="zalo", **kw)
        return MinuteData.build(START_MINUTE + minute, [signal], memory)

    first = turn(1, 0)
    assert first.voices == 1 and first.units[delivery] == 1 and delivery not in first.negatives
    again = turn(2, 3)  # the same conversation, same keys: nothing new
    assert again.voices == 0 and again.total == 1 and delivery not in again.units
    complains = turn(3, 5, negative=True)  # it complains only now: counted as a complaint
    assert complains.voices == 0 and delivery not in complains.units
    assert complains.negatives[delivery] == 1
    payment = turn(4, 6, topics=("payment",))  # a new topic counts for its key
    assert payment.units[Key("topic", "payment")] == 1 and delivery not in payment.units
    later = turn(5, 61)  # past the longest scale: a voice again
    assert later.voices == 1 and later.units[delivery] == 1
    review = MinuteData.build(START_MINUTE + 62, [make_signal(6, 62)], memory)
    assert review.voices == 1 and len(memory.seen) == 1  # reviews are not remembered


def test_conversations_remembered_stay_within_their_capacity() -> None:
    from flows.detect.detector import Conversations, MinuteData

    memory = Conversations(span=60, capacity=5)
    for n in range(20):
        signal = make_signal(n, 0, unit=f"conv-{n}", source="chat", channel="zalo")
        MinuteData.build(START_MINUTE, [signal], memory)
    assert list(memory.seen) == [f"conv-{n}" for n in range(15, 20)]


def test_a_conversation_about_a_topic_is_not_a_voice_about_other_later() -> None:
    from flows.detect.detector import Conversations, MinuteData
    from flows.detect.signals import OTHER, Key

    memory = Conversations(span=60, capacity=100)
    other = Key("topic", OTHER)

    def turn(n: int, minute: int, unit: str, topics: tuple[str, ...]) -> MinuteData:
        signal = make_signal(n, minute, unit=unit, source="chat", channel="zalo", topics=topics)
        return MinuteData.build(START_MINUTE + minute, [signal], memory)

    turn(1, 0, "conv-1", ("delivery",))
    assert other not in turn(2, 4, "conv-1", (OTHER,)).units  # "dạ ok shop" after it
    turn(3, 0, "conv-2", (OTHER,))  # a greeting first, then a topic: both count
    assert turn(4, 2, "conv-2", ("payment",)).units[Key("topic", "payment")] == 1
