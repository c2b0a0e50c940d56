"""The feedback simulator: determinism, partitions, contract, chats, incidents, CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flows.settings import load_settings
from flows.sources.simulator import simulation_config
from schemas.errors import ConfigError
from schemas.message import InboundMessage
from simulator import (
    Incident,
    SimulationConfig,
    Simulator,
    Surge,
    Truth,
    load_ground_truth,
    load_incidents_file,
    parse_duration,
    parse_incident_spec,
    parse_surge_spec,
)
from simulator.cli import simulate
from simulator.noise import Noiser, old_tone_marks, strip_diacritics, telex  # re-exported
from simulator.vocab import TOPICS, load_resources

START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 07:00 in Vietnam
REPO = Path(__file__).resolve().parents[2]


def _config(**overrides: Any) -> SimulationConfig:
    base: dict[str, Any] = {"seed": 11, "start": START, "hours": 6.0, "messages": 2_000}
    base.update(overrides)
    return SimulationConfig(**base)


def _mixed_config() -> SimulationConfig:
    return _config(
        messages=8_000,
        surges=(Surge("flash", START + timedelta(hours=4), timedelta(minutes=40), 3.0),),
        incidents=(
            Incident(
                "late",
                "topic_spike",
                "delivery",
                START + timedelta(hours=1),
                timedelta(minutes=30),
                5.0,
                channel="shopee",
            ),
            Incident(
                "momo",
                "phrase_burst",
                "payment",
                START + timedelta(hours=2),
                timedelta(minutes=20),
                8.0,
                phrase="lỗi thanh toán momo",
            ),
        ),
        random_incidents=2,
    )


@pytest.fixture(scope="module")
def mixed() -> tuple[Simulator, list[tuple[dict[str, Any], Truth]]]:
    sim = Simulator(_mixed_config())
    return sim, list(sim.labelled())


def _ts(message: dict[str, Any]) -> float:
    return datetime.fromisoformat(message["created_at"]).timestamp()


# -- determinism and partitions ---------------------------------------------------------


def test_same_config_gives_byte_identical_output(mixed: Any) -> None:
    _, rows = mixed
    again = list(Simulator(_mixed_config()).messages())
    first = [json.dumps(m, ensure_ascii=False) for m, _ in rows]
    assert [json.dumps(m, ensure_ascii=False) for m in again] == first


def test_output_does_not_depend_on_the_process() -> None:
    args = [
        "-n",
        "300",
        "--hours",
        "2",
        "--start",
        "2026-11-20T08:00:00+07:00",
        "--random-incidents",
        "1",
        "-q",
    ]
    here = CliRunner().invoke(simulate, args).stdout
    there = subprocess.run(
        [sys.executable, "-m", "simulator.cli", *args],
        cwd=REPO,
        capture_output=True,
        check=True,
        env={"PYTHONPATH": str(REPO), "PYTHONHASHSEED": "123"},
    ).stdout.decode("utf-8")
    assert there == here
    assert len(here.splitlines()) > 300


def test_another_seed_gives_another_stream() -> None:
    one = [m["text"] for m in Simulator(_config(messages=300)).messages()]
    two = [m["text"] for m in Simulator(_config(messages=300, seed=12)).messages()]
    assert len(one) == len(two) == 300
    assert sum(a != b for a, b in zip(one, two, strict=True)) > 250


def test_partitions_split_the_stream_exactly() -> None:
    sim = Simulator(
        _config(
            incidents=(
                Incident(
                    "x",
                    "topic_spike",
                    "refund_return",
                    START + timedelta(hours=1),
                    timedelta(hours=1),
                    4.0,
                ),
            )
        )
    )
    whole = list(sim.messages())
    parts = [list(sim.messages(partition=i, partitions=3)) for i in range(3)]
    assert sum(len(p) for p in parts) == len(whole) == sim.count()
    assert [len(p) for p in parts] == [sim.count(i, 3) for i in range(3)]
    by_id = {m["id"]: m for m in whole}
    assert len(by_id) == len(whole), "ids are unique"
    for part in parts:
        assert all(by_id[m["id"]] == m for m in part)
        times = [_ts(m) for m in part]
        assert times == sorted(times), "each partition is in event-time order"
        ids = {m["id"] for m in part}
        assert [m["id"] for m in whole if m["id"] in ids] == [m["id"] for m in part]
    assert sorted(m["id"] for p in parts for m in p) == sorted(by_id)
    conversations = [{m["conversation_id"] for m in p if "conversation_id" in m} for p in parts]
    assert not (conversations[0] & conversations[1]), "a conversation stays in one partition"


def test_skip_resumes_a_partition_where_it_stopped() -> None:
    sim = Simulator(_config(messages=400))
    whole = list(sim.messages(partition=1, partitions=2))
    assert list(sim.messages(partition=1, partitions=2, skip=57)) == whole[57:]


def test_bad_partition_is_refused() -> None:
    sim = Simulator(_config(messages=10))
    with pytest.raises(ConfigError, match="partition"):
        sim.messages(partition=3, partitions=3)
    with pytest.raises(ConfigError, match="partition"):
        sim.count(partition=0, partitions=0)


def test_message_total_is_exact_without_extras() -> None:
    sim = Simulator(_config(messages=1_234))
    assert sim.count() == 1_234
    assert sum(1 for _ in sim.messages()) == 1_234
    assert list(Simulator(_config(messages=0)).messages()) == []


def test_rate_per_minute_and_flow_settings() -> None:
    sim = Simulator(_config(messages=None, rate_per_minute=20.0, hours=2))
    assert 2_100 < sim.count() < 2_700
    settings = load_settings(
        simulator_messages=300,
        simulator_hours=1.5,
        simulator_seed=3,
        simulator_start="2026-11-20T07:00:00+07:00",
    )
    config = simulation_config(settings)
    assert (config.seed, config.hours, config.messages, config.start) == (3, 1.5, 300, START)
    assert Simulator(config).count() == 300
    with pytest.raises(ConfigError, match="timezone-aware"):
        SimulationConfig(start=datetime(2026, 11, 20))  # noqa: DTZ001 (naive on purpose)


# -- the contract ----------------------------------------------------------------------


def test_every_message_validates_against_the_contract(mixed: Any) -> None:
    _, rows = mixed
    with_attributes = 0
    for message, _ in rows:
        parsed = InboundMessage.model_validate(message)
        assert parsed.id == message["id"]
        with_attributes += bool(parsed.attributes)
    assert 0.01 * len(rows) < with_attributes < 0.06 * len(rows)


def test_fields_follow_the_source(mixed: Any) -> None:
    _, rows = mixed
    channels = {
        "review": {"shopee", "tiki", "lazada", "app_store", "google_play"},
        "chat": {"zalo", "hotline_chat", "web_chat", "messenger"},
        "social": {"facebook", "tiktok", "youtube", "forum"},
    }
    seen = Counter(m["source"] for m, _ in rows)
    assert set(seen) == set(channels)
    for message, _ in rows:
        source = message["source"]
        assert message["channel"] in channels[source]
        assert ("rating" in message) == (source == "review")
        assert ("url" in message) == ("reach" in message) == (source == "social")
        assert message["created_at"].endswith(("+07:00", "Z"))
    authors = [m.get("author") for m, _ in rows if m.get("role") != "agent"]
    missing = sum(a is None for a in authors) / len(authors)
    assert 0.03 < missing < 0.15


def test_ratings_follow_the_text_with_some_mismatches(mixed: Any) -> None:
    _, rows = mixed
    reviews = [(m["rating"], t) for m, t in rows if m["source"] == "review"]
    by_sentiment: dict[str, list[int]] = defaultdict(list)
    for rating, truth in reviews:
        by_sentiment[truth.sentiment].append(rating)
    mean = {s: sum(v) / len(v) for s, v in by_sentiment.items()}
    assert mean["positive"] > 4.2 > 3.0 > mean["negative"]
    mismatched = [r for r, t in reviews if "rating_mismatch" in t.flags]
    assert 0.01 * len(reviews) < len(mismatched) < 0.08 * len(reviews)


def test_texts_look_like_real_vietnamese_feedback(mixed: Any) -> None:
    _, rows = mixed
    texts = [m["text"] for m, _ in rows]
    customer = [m["text"] for m, _ in rows if m.get("role") != "agent"]
    no_marks = sum(t.isascii() for t in customer) / len(customer)
    assert 0.03 < no_marks < 0.25, "some users type without diacritics"
    words = Counter(w for t in customer for w in re.findall(r"\w+", t.lower()))
    for teen in ("ko", "dc", "sp", "ship", "k", "j", "nv", "r"):
        assert words[teen] > 0, f"teencode {teen!r} appears"
    assert any(re.search(r"(\w)\1\1", t) for t in customer), "repeated letters"
    assert any(re.search(r"[😍😡😭👍]", t) for t in customer), "emoji"
    assert any(w in words for w in ("oke", "sale", "fake", "refund", "app", "size"))
    assert any("http" in t for t in texts), "links in social posts"
    assert any(re.search(r"(?:\+84 ?|\b0)\d{2,3}[ .]?\d{3}[ .]?\d{3,4}\b", t) for t in texts)
    assert any(re.search(r"\b(?:DH\d{8}|MD\d{6}|#\d{10})\b", t) for t in texts), "order codes"
    assert any(p in t for t in customer for p in ("không mua nữa", "xóa app", "chuyển qua"))
    assert len(set(texts)) > 0.75 * len(texts), "varied texts"
    assert not any(c in t for t in texts for c in "{}\ue000"), "slots and phrases filled"
    assert all(t == t.strip() and "  " not in t for t in texts)
    english = [m["text"] for m, t in rows if t.language == "en"]
    assert 0.003 * len(rows) < len(english) < 0.03 * len(rows), "a few write in English"
    assert not any(re.search(r"[À-ỹĐđ]", text) for text in english), "no Vietnamese letters"
    truths_topics = Counter(t.topic for _, t in rows)
    assert set(truths_topics) == set(TOPICS)


def test_chats_are_alternating_multi_turn_conversations(mixed: Any) -> None:
    sim, rows = mixed
    squeezed = sim.end.timestamp() - 0.01  # turns past the window wait at its last instant
    conversations: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message, _ in rows:
        if message["source"] == "chat":
            conversations[message["conversation_id"]].append(message)
    assert len(conversations) > 100
    lengths = Counter(len(turns) for turns in conversations.values())
    assert min(lengths) >= 2
    assert max(lengths) <= 8
    assert len(lengths) >= 5, "conversations of many lengths"
    for turns in conversations.values():
        roles = [t["role"] for t in turns]
        assert all(a != b for a, b in pairwise(roles)), roles
        assert "customer" in roles
        assert len({(t["channel"], t["brand"]) for t in turns}) == 1
        times = [_ts(t) for t in turns]
        assert all(b - a >= 5 or b >= squeezed for a, b in pairwise(times))
        assert times == sorted(times)
        said = [t["text"] for t in turns if t["role"] == "agent"]
        assert all(a != b for a, b in pairwise(said)), "agents do not repeat themselves"
    agent = [t for turns in conversations.values() for t in turns if t["role"] == "agent"]
    assert all("ạ" in t["text"] and t["text"][0].isupper() for t in agent), "polite agents"
    assert all("{" not in t["text"] for t in agent), "every slot is filled"


def test_no_message_is_after_the_window() -> None:
    """A stream ending now has nothing in the future: a chat started near the end is squeezed.

    (Before, its later turns came up to minutes after the end: with the default start, a
    `voc simulate | voc run` or the pipeline bench dead-lettered them as ahead of the clock.)
    """
    config = _config(messages=400, hours=10 / 3600)  # a window of 10 seconds
    sim = Simulator(config)
    times = [_ts(m) for m, _ in sim.labelled()]
    assert len(times) > 10 and max(times) < sim.end.timestamp()
    assert times == sorted(times)


# -- traffic, incidents, surges ---------------------------------------------------------


def _count(rows: list[tuple[dict[str, Any], Truth]], keep: Any, lo: datetime, hi: datetime) -> int:
    a, b = lo.timestamp(), hi.timestamp()
    return sum(1 for m, t in rows if keep(m, t) and a <= _ts(m) < b)


def test_incident_window_multiplies_its_key_rate() -> None:
    at, length = START + timedelta(hours=3), timedelta(hours=1)
    incident = Incident("late", "topic_spike", "delivery", at, length, 5.0, channel="shopee")
    sim = Simulator(_config(messages=18_000, diurnal=False, incidents=(incident,)))
    rows = list(sim.labelled())

    def key(m: dict[str, Any], t: Truth) -> bool:
        return m["channel"] == "shopee" and t.topic == "delivery"

    before = _count(rows, key, at - length, at)
    during = _count(rows, key, at, at + length)
    assert before > 50
    assert 3.8 < during / before < 6.5
    extra = [(m, t) for m, t in rows if t.event_id == "late"]
    assert all(key(m, t) and at.timestamp() <= _ts(m) < (at + length).timestamp() for m, t in extra)
    assert sum(t.sentiment == "negative" for _, t in extra) > 0.8 * len(extra)
    others = _count(rows, lambda m, t: not key(m, t), at, at + length)
    others_before = _count(rows, lambda m, t: not key(m, t), at - length, at)
    assert 0.85 < others / others_before < 1.15, "other keys keep their rate"
    [truth] = sim.ground_truth()
    assert truth["extra_messages"] == len(extra)


def test_phrase_burst_brings_a_new_phrase(mixed: Any) -> None:
    sim, rows = mixed
    burst = [m for m, t in rows if t.event_id == "momo"]
    assert len(burst) >= 10
    opening: dict[str, dict[str, Any]] = {}
    for m in burst:
        if m["source"] != "chat":
            assert "lỗi thanh toán momo" in m["text"]
        elif m["role"] == "customer":
            opening.setdefault(m["conversation_id"], m)
    assert all("lỗi thanh toán momo" in m["text"] for m in opening.values()), "chats open with it"
    carriers = {t.event_id for m, t in rows if "lỗi thanh toán momo" in m["text"]}
    assert carriers <= {i.id for i in sim.incidents if i.phrase == "lỗi thanh toán momo"}


def test_surge_multiplies_every_key_and_is_in_ground_truth(mixed: Any) -> None:
    sim, rows = mixed
    surge = sim.surges[0]
    everything = _count(rows, lambda m, t: t.origin != "incident", surge.start, surge.end)
    before = _count(
        rows, lambda m, t: t.origin != "incident", surge.start - surge.duration, surge.start
    )
    assert 2.2 < everything / before < 4.0
    in_surge = Counter(m["source"] for m, t in rows if t.event_id == "flash")
    assert set(in_surge) == {"review", "chat", "social"}
    kinds = {e["id"]: e["kind"] for e in sim.ground_truth()}
    assert kinds["flash"] == "surge"


def test_diurnal_curve_is_low_at_night_and_high_in_the_evening() -> None:
    sim = Simulator(_config(messages=6_000, hours=24, start=datetime(2026, 11, 19, 17, tzinfo=UTC)))
    hours = Counter(
        (datetime.fromisoformat(m["created_at"]).astimezone(UTC).hour + 7) % 24
        for m in sim.messages()
    )
    night = sum(hours[h] for h in (1, 2, 3, 4)) / 4
    evening = sum(hours[h] for h in (20, 21)) / 2
    morning = sum(hours[h] for h in (10, 11)) / 2
    assert night * 5 < evening
    assert night * 4 < morning < evening


def test_random_incidents_are_spread_and_never_overlap_on_a_key() -> None:
    sim = Simulator(_config(messages=20_000, hours=24, random_incidents=10))
    incidents = sim.incidents
    assert len(incidents) == 10
    assert [
        i.id for i in Simulator(_config(messages=20_000, hours=24, random_incidents=10)).incidents
    ] == [i.id for i in incidents]
    for a in incidents:
        assert sim.start < a.start
        assert a.end < sim.end
        assert not any(a.overlaps(b) for b in incidents if b is not a)
    assert len({i.topic for i in incidents}) >= 4
    assert max(i.start for i in incidents) - min(i.start for i in incidents) > timedelta(hours=15)
    truth = sim.ground_truth()
    assert all(e["extra_messages"] > 0 for e in truth)


def test_ground_truth_file_round_trips(mixed: Any, tmp_path: Path) -> None:
    sim, _ = mixed
    path = tmp_path / "truth.json"
    sim.write_ground_truth(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["seed"] == 11
    assert document["start"] == "2026-11-20T00:00:00Z"
    loaded = load_ground_truth(path)
    assert sorted(loaded, key=lambda e: e.id) == sorted(
        [*sim.incidents, *sim.surges], key=lambda e: e.id
    )
    entry = next(e for e in document["ground_truth"] if e["id"] == "late")
    assert entry["key"] == {"topic": "delivery", "channel": "shopee", "brand": None}
    assert entry["start"] == "2026-11-20T01:00:00Z"
    assert entry["end"] == "2026-11-20T01:30:00Z"
    assert entry["baseline_messages"] > 0


# -- pacing -----------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when slept on."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def test_rate_paces_emission() -> None:
    clock = FakeTime(100.0)
    sim = Simulator(_config(messages=50, rate=100.0), clock=clock, sleep=clock.sleep)
    assert sum(1 for _ in sim.messages()) == 50
    assert clock.slept == pytest.approx(0.49, abs=0.01)


def test_realtime_waits_for_event_time() -> None:
    wall = FakeTime(START.timestamp())
    sim = Simulator(_config(messages=40, hours=1, realtime=True), wall=wall, sleep=wall.sleep)
    for message in sim.messages():
        assert wall.now >= _ts(message) - 0.002
    assert wall.now > START.timestamp() + 1800


# -- specs, files and noise -------------------------------------------------------------


def test_incident_spec_parses_offsets_clock_times_and_quoted_phrases() -> None:
    spec = 'topic=payment,phrase="lỗi thanh toán, momo",x=8,at=20:30,for=1h15m,brand=MamMam'
    incident = parse_incident_spec(spec, start=START, default_id="inc-01")
    assert incident.kind == "phrase_burst"
    assert incident.phrase == "lỗi thanh toán, momo"
    assert incident.start == datetime(2026, 11, 20, 13, 30, tzinfo=UTC)  # 20:30 in Vietnam
    assert incident.duration == timedelta(minutes=75)
    assert incident.brand == "MamMam"
    assert incident.multiplier == 8.0
    offset = parse_incident_spec("topic=delivery,x=5,at=2h,for=20m", start=START, default_id="a")
    assert offset.start == START + timedelta(hours=2)
    assert offset.channel is None
    assert parse_duration("1.5h") == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("topic=delivery,x=5,at=2h", "missing for"),
        ("topic=delivery,x=five,at=2h,for=20m", "x must be a number"),
        ("topic=delivery,x=5,at=2h,for=20", "duration"),
        ("topic=delivery,x=0.5,at=2h,for=20m", "above 1"),
        ("topic=delivery,x=5,at=25:00,for=20m", "clock time"),
        ("topic=delivery,x=5,at=2h,for=20m,colour=red", "unknown incident field"),
        ("kind=phrase_burst,topic=delivery,x=5,at=2h,for=20m", "needs phrase"),
    ],
)
def test_bad_incident_specs_say_what_was_expected(spec: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        parse_incident_spec(spec, start=START, default_id="inc-01")
    assert "expected" in str(caught.value)


def test_unknown_keys_are_refused_with_the_known_ones() -> None:
    bad = Incident("x", "topic_spike", "delivery", START, timedelta(minutes=5), 3.0, channel="ebay")
    with pytest.raises(ConfigError, match=r"unknown channel 'ebay'; expected one of .*shopee"):
        Simulator(_config(incidents=(bad,)))
    nowhere = Incident(
        "y",
        "topic_spike",
        "delivery",
        START,
        timedelta(minutes=5),
        3.0,
        channel="shopee",
        brand="MamMam",
    )
    with pytest.raises(ConfigError, match="no baseline traffic"):
        Simulator(_config(incidents=(nowhere,)))


def test_incidents_outside_the_span_are_refused() -> None:
    late = Incident(
        "late", "topic_spike", "delivery", START + timedelta(hours=7), timedelta(minutes=5), 3.0
    )
    with pytest.raises(ConfigError, match="incident late: expected a window overlapping"):
        Simulator(_config(incidents=(late,)))


def test_daily_surges_and_incidents_file(tmp_path: Path) -> None:
    end = START + timedelta(days=3)
    surges = parse_surge_spec(
        "at=20:00,for=60m,x=3,name=flash_sale,daily", start=START, end=end, default_id="s"
    )
    assert [s.start.hour for s in surges] == [13, 13, 13]
    assert surges[0].name == "flash_sale"
    path = tmp_path / "incidents.yaml"
    path.write_text(
        "incidents:\n"
        "  - {topic: delivery, channel: shopee, x: 5, at: 2h, for: 20m}\n"
        "  - {topic: payment, phrase: lỗi thanh toán momo, x: 8, at: '21:00', for: 15m}\n"
        "surges:\n"
        "  - {x: 2, at: 1h, for: 30m}\n",
        encoding="utf-8",
    )
    incidents, file_surges = load_incidents_file(path, start=START, end=end)
    assert [i.kind for i in incidents] == ["topic_spike", "phrase_burst"]
    assert incidents[1].start == datetime(2026, 11, 20, 14, tzinfo=UTC)
    assert file_surges[0].multiplier == 2.0
    path.write_text("- {topic: delivery, x: 5, at: 21:00, for: 20m}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="quote clock times"):
        load_incidents_file(path, start=START, end=end)


def test_noise_functions() -> None:
    assert strip_diacritics("Đường hòa, thuỷ ĐẸP") == "Duong hoa, thuy DEP"
    assert old_tone_marks("hòa thúy khỏe hoàng", {"òa": "oà", "úy": "uý", "ỏe": "oẻ"}) == (
        "hoà thuý khoẻ hoàng"
    )
    assert telex("được") == "dduwowcj"
    assert telex("hàng") == "hangf"
    noiser = Noiser(load_resources().noise)
    text = "giao hàng không được, cảm ơn shop"
    template = noiser.compile(text)
    assert isinstance(template, tuple)
    assert noiser.render(template, 0.0, lambda: 0.5) == text
    assert noiser.render(template, 1.0, lambda: 0.0) == "ship ko dc, cám ơn sốp"
    assert noiser.compile("hàng đẹp") == "hàng đẹp", "no site: the text itself"
    assert noiser.apply(text, "chat", lambda: 0.99) == text, "rolls above every rate"
    assert noiser.apply(text, "chat", lambda: 0.0).isascii(), "rolls below: no diacritics"


def test_import_reads_nothing() -> None:
    code = (
        "import simulator, simulator.cli, simulator.vocab as v;"
        "print(v.load_resources.cache_info().currsize)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO)},
    )
    assert out.stdout.strip() == "0"


# -- the command ------------------------------------------------------------------------


def test_cli_writes_jsonl_and_ground_truth(tmp_path: Path) -> None:
    out, truth = tmp_path / "sim.jsonl", tmp_path / "truth.json"
    result = CliRunner().invoke(
        simulate,
        [
            "--messages",
            "600",
            "--hours",
            "3",
            "--start",
            "2026-11-20T08:00:00+07:00",
            "--seed",
            "5",
            "--incident",
            "topic=delivery,channel=shopee,x=6,at=1h,for=30m",
            "--surge",
            "at=10:00,for=20m,x=3",
            "--random-incidents",
            "1",
            "--out",
            str(out),
            "--ground-truth",
            str(truth),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 600
    messages = [InboundMessage.model_validate_json(line) for line in lines]
    assert messages[0].created_at >= datetime(2026, 11, 20, 1, tzinfo=UTC)
    assert "wrote" in result.output
    events = {e.id: e for e in load_ground_truth(truth)}
    assert set(events) == {"inc-01", "surge-01", "rnd-01"}
    assert isinstance(events["surge-01"], Surge)
    again = CliRunner().invoke(
        simulate,
        [
            "--messages",
            "600",
            "--hours",
            "3",
            "--start",
            "2026-11-20T08:00:00+07:00",
            "--seed",
            "5",
            "--incident",
            "topic=delivery,channel=shopee,x=6,at=1h,for=30m",
            "--surge",
            "at=10:00,for=20m,x=3",
            "--random-incidents",
            "1",
            "--quiet",
        ],
    )
    assert again.exit_code == 0
    assert again.stdout.splitlines() == lines, "stdout carries the same stream"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--incident", "topic=delivery,x=5,at=2h"], "expected topic=TOPIC"),
        (["--incident", "topic=delivry,x=5,at=2h,for=20m"], "expected one of delivery"),
        (["--surge", "at=20:00,x=3"], "expected x=MULTIPLIER"),
        (["--start", "2026-11-20T08:00:00"], "UTC offset"),
        (["--hours", "2", "--days", "1"], "not both"),
    ],
)
def test_cli_bad_options_show_the_expected_format(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(simulate, ["--messages", "10", *args])
    assert result.exit_code == 2
    assert needle in result.output


def test_cli_partition_is_a_slice_of_the_stream() -> None:
    args = ["--messages", "300", "--hours", "1", "--start", "2026-11-20T08:00:00+07:00", "-q"]
    whole = CliRunner().invoke(simulate, args).stdout.splitlines()
    part = CliRunner().invoke(simulate, [*args, "--partition", "1", "--partitions", "2"])
    assert part.exit_code == 0
    lines = part.stdout.splitlines()
    assert 0 < len(lines) < len(whole)
    assert set(lines) <= set(whole)
    assert [line for line in whole if line in set(lines)] == lines


def test_cli_help_has_examples() -> None:
    result = CliRunner().invoke(simulate, ["--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "--incident" in result.output
