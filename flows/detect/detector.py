"""The minute-by-minute detector: key monitors, phrase bursts, and one alert per incident.

:class:`Detector` is fed the customer messages of each closed event-time minute, in minute
order (gaps are filled with empty minutes). Each minute it:

1. counts the distinct units (a chat conversation is one unit) of every key, the units
   negative about each key's topic, and the units containing each gram;
2. steps, for every key seen, a :class:`~flows.detect.monitors.VolumeMonitor` of all its
   units, one of its negative units (complaint volume: an issue usually shows there
   first) and a :class:`~flows.detect.monitors.NegativeMonitor` of its negative share,
   then the :class:`~flows.detect.bursts.PhraseBursts`;
3. turns their fire and resolve events into alerts, one per incident (below);
4. forgets keys not seen for ``evict_after`` minutes, and the keys seen longest ago when
   more than ``max_keys`` are tracked (memory does not grow with the number of keys).

One incident, one alert
-----------------------

An incident usually lights up several detectors: a delivery problem on Shopee raises the
volume of ``delivery``, ``delivery @ shopee``, the brands sold there, their complaints and
negative share, the phrases customers use, and the other topics the enricher finds in the
same messages. Fire events are handled in this order each minute: volume spikes (the
largest first), emerging phrases, negative shares. A fire event opens an alert only if no
*active* alert (open, or resolved less than ``cooldown`` minutes ago) accounts for it:

- **Drill-down.** A volume spike is reported on the narrowest key that explains at least
  ``drill_coverage`` of its excess messages (topic -> topic @ channel or topic / brand ->
  topic / brand / product); when the whole topic is significant and the firing key explains
  less than that share of it, the alert names the topic.
- **Inside.** A key contained in an active alert's key (``delivery @ shopee`` when
  ``delivery`` is active) is part of that incident.
- **Explaining away.** Otherwise the active alerts' excess messages that fall in the firing
  key are subtracted from its count (all of them for ``delivery`` when ``delivery @ shopee``
  is active); if what is left is no longer significant, the fire event is absorbed.
- **Grouping.** A smaller rise that starts within ``onset_window`` minutes of an open
  alert's first elevated minute, or on another topic of the same channel or brand within
  ``group_window`` minutes of its opening, joins that alert: an outage, a bad batch or an
  enricher's second topic spreads one incident over several keys.
- **Phrases and spikes.** A phrase whose messages are mostly covered by an active alert is
  added to it (its ``phrase`` column, first of its top terms) instead of opening its own;
  a phrase that fires first opens an ``emerging_phrase`` alert (with the topic, channel and
  brand that hold at least 60% of its messages) and the spike of the same incident is then
  explained away by it. A phrase that grows less than ``phrase_topic_ratio`` times faster
  than a key holding half of its messages is that key's spike, not an emerging phrase.
  Overlapping grams of one burst ("lỗi thanh toán", "thanh toán momo") are clustered by
  shared messages and stitched into one phrase ("lỗi thanh toán momo").
- **Cooldown.** After an alert resolves, what it covered does not alert again for
  ``cooldown`` minutes.

Alert rows
----------

Each state change is a new revision of the alert's row: ``open`` (revision 1), a few
``open`` updates (severity escalates, a phrase is attached), then ``resolved``; several
changes in one minute make one revision. ``updated_at`` is the event time of the revision
(the end of the minute that caused it); ``opened_at`` is the end of the minute whose data
completed the evidence. The id is a hash of kind, key, phrase and the opening minute, so
replays and restarts give the same ids.

Severities follow the rule of :mod:`flows.detect.alerts`; top terms, samples and the
stitched phrase come from :mod:`flows.detect.describe`.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flows.detect.alerts import (
    ALL,
    COMPLAINTS,
    EMERGING_PHRASE,
    NEGATIVE_SHARE,
    SEVERITIES,
    VOLUME_SPIKE,
    Alert,
    alert_id,
    severity_of,
)
from flows.detect.bursts import GramEvent, PhraseBursts, cluster_grams, units_with
from flows.detect.config import DetectConfig
from flows.detect.describe import (
    channel_breakdown,
    dominant,
    lead_with,
    pick_samples,
    stitch,
    top_terms,
)
from flows.detect.monitors import FIRE, RESOLVE, NegativeMonitor, VolumeMonitor
from flows.detect.signals import PHRASE, TOPIC, Key, Signal
from flows.detect.stats import binomial_score, poisson_score
from schemas.rows import AlertRow

#: A phrase whose messages are this much inside an active alert belongs to that alert.
PHRASE_COVERED = 0.6


@dataclass(slots=True)
class MinuteData:
    """The counts of one closed minute: units per key, negative units per key, units per gram.

    Used for the minute's step, then dropped: the detector keeps only the messages
    (:class:`Evidence`) of its last ``history_minutes``.
    """

    minute: int
    total: int
    units: dict[Key, int]
    negatives: dict[Key, int]
    grams: Counter[int]

    @classmethod
    def build(cls, minute: int, records: Sequence[Signal]) -> MinuteData:
        """Count units per key, negative units per key and units per gram."""
        units: dict[Key, set[str]] = {}
        negatives: dict[Key, set[str]] = {}
        grams: Counter[int] = Counter()
        unit_grams: dict[str, set[int]] = {}
        for record in records:
            unit = record.unit
            for key in record.counted_keys():
                units.setdefault(key, set()).add(unit)
                if key.topic in record.negative_topics:
                    negatives.setdefault(key, set()).add(unit)
            seen = unit_grams.get(unit)
            if seen is None:
                unit_grams[unit] = set(record.grams)
                grams.update(record.grams)
            else:
                new = set(record.grams) - seen
                seen |= new
                grams.update(new)
        return cls(
            minute,
            len(unit_grams),
            {key: len(members) for key, members in units.items()},
            {key: len(members) for key, members in negatives.items()},
            grams,
        )


@dataclass(slots=True)
class Evidence:
    """The customer messages of one closed minute, kept for evidence and samples."""

    minute: int
    records: list[Signal]

    def __deepcopy__(self, memo: dict[int, object]) -> Evidence:
        """Built once and never changed: recovery snapshots share it."""
        return self


@dataclass(slots=True)
class KeyState:
    """The monitors of one key: all its messages, its negative ones, its negative share."""

    all: VolumeMonitor
    complaints: VolumeMonitor
    negative: NegativeMonitor

    @classmethod
    def new(cls, minute: int) -> KeyState:
        """Fresh monitors for a key first seen in ``minute``."""
        return cls(
            VolumeMonitor(first_minute=minute, last_seen=minute),
            VolumeMonitor(first_minute=minute, last_seen=minute),
            NegativeMonitor(),
        )

    def family(self, name: str) -> VolumeMonitor:
        """The volume monitor of all messages or of negative ones."""
        return self.complaints if name == COMPLAINTS else self.all

    def hot(self) -> bool:
        """Whether any of the key's monitors is hot (then it is stepped every minute)."""
        return self.all.trigger.hot or self.complaints.trigger.hot or self.negative.trigger.hot

    def __deepcopy__(self, memo: dict[int, object]) -> KeyState:
        return KeyState(
            copy.deepcopy(self.all), copy.deepcopy(self.complaints), copy.deepcopy(self.negative)
        )


@dataclass
class DetectorStats:
    """Counters for benchmarks and logs."""

    minutes: int = 0
    messages: int = 0
    fires: Counter[str] = field(default_factory=Counter)
    absorbed: Counter[str] = field(default_factory=Counter)
    opened: Counter[str] = field(default_factory=Counter)
    evicted: int = 0
    dropped: int = 0


class Detector:
    """Emerging-issue detection over closed minutes (see the module docstring)."""

    def __init__(self, config: DetectConfig | None = None) -> None:
        self.config = config or DetectConfig()
        self.keys: dict[Key, KeyState] = {}
        self.phrases = PhraseBursts(self.config.gram_half_life)
        self.history: list[Evidence] = []
        self.alerts: dict[str, Alert] = {}
        self.last_minute: int | None = None
        self.stats = DetectorStats()
        self._changed: dict[str, Alert] = {}

    # -- feeding ------------------------------------------------------------------------

    def process(self, minute: int, records: Sequence[Signal]) -> list[AlertRow]:
        """Process one closed minute (and the empty minutes before it); return new revisions."""
        rows: list[AlertRow] = []
        if self.last_minute is not None:
            if minute <= self.last_minute:
                msg = f"minutes must come in order: got {minute} after {self.last_minute}"
                raise ValueError(msg)
            gap = minute - self.last_minute - 1
            if gap > self.config.max_gap:
                self._skip(gap)
            else:
                for empty in range(self.last_minute + 1, minute):
                    rows += self._step(empty, [])
        rows += self._step(minute, sorted(records, key=lambda r: (r.created_at, r.id)))
        return rows

    def warm_keys(self) -> int:
        """Keys old enough and with enough baseline to alert."""
        minute = self.last_minute or 0
        return sum(1 for state in self.keys.values() if state.all.warm(minute, self.config))

    def _skip(self, gap: int) -> None:
        for state in self.keys.values():
            state.all.skip(gap, self.config)
            state.complaints.skip(gap, self.config)
        self.phrases.skip(gap)
        self.history.clear()

    def _step(self, minute: int, records: list[Signal]) -> list[AlertRow]:
        config = self.config
        self.last_minute = minute
        self.stats.minutes += 1
        self.stats.messages += len(records)
        data = MinuteData.build(minute, records)
        self.history.append(Evidence(minute, records))
        if len(self.history) > config.history_minutes:
            del self.history[0]
        for key in data.units:
            if key not in self.keys:
                self.keys[key] = KeyState.new(minute)
        if len(self.keys) > config.max_keys:
            self._shrink(config.max_keys * 9 // 10)
        volume_events: list[tuple[Key, str, str]] = []
        negative_events: list[tuple[Key, str]] = []
        total = data.total
        units_of, negatives_of = data.units, data.negatives
        for key, state in self.keys.items():
            x = units_of.get(key, 0)
            if not x and not state.hot():  # most keys, most minutes: only learn
                state.all.idle(minute, total, config)
                state.complaints.idle(minute, total, config)
                continue
            y = negatives_of.get(key, 0)
            event = state.all.step(minute, x, total, config)
            if event:
                volume_events.append((key, ALL, event))
            if y or state.complaints.trigger.hot:
                event = state.complaints.step(minute, y, total, config)
                if event:
                    volume_events.append((key, COMPLAINTS, event))
            else:
                state.complaints.idle(minute, total, config)
            event = state.negative.step(minute, y, x, state.all.warm(minute, config), config)
            if event:
                negative_events.append((key, event))
        gram_events = self.phrases.step(minute, total, data.grams, config)

        self._changed = {}
        self._resolve(minute, volume_events, negative_events, gram_events)
        for alert in self._active(minute):
            if alert.status == "open":
                self._track(alert, minute)
        fires = [(k, f) for k, f, e in volume_events if e == FIRE]
        fires.sort(key=lambda kf: (-self._excess(kf[0], kf[1]), kf[0], kf[1]))
        for key, family in fires:  # the largest first: smaller concurrent ones may join it
            self._on_volume_fire(key, family, minute)
        for gram_event in gram_events:
            if gram_event.event == FIRE:
                self._on_phrase_fire(gram_event.gram, minute)
        for key, event in negative_events:
            if event == FIRE:
                self._on_negative_fire(key, minute)
        self._escalate(minute)
        if minute % 60 == 0:
            self._evict(minute)
        rows = []
        for alert in self._changed.values():
            alert.revision += 1
            alert.updated = minute
            rows.append(alert.row())
        return rows

    def _change(self, alert: Alert) -> None:
        """Mark an alert as changed this minute: it gets one new revision."""
        self._changed[alert.id] = alert

    # -- bookkeeping of open alerts ----------------------------------------------------------

    def _active(self, minute: int) -> list[Alert]:
        """Open alerts, and resolved ones still in their cooldown."""
        cooldown = self.config.cooldown
        out = []
        for alert in list(self.alerts.values()):
            cooling = alert.resolved is not None and minute - alert.resolved <= cooldown
            if alert.status == "open" or cooling:
                out.append(alert)
            else:
                del self.alerts[alert.id]
        return out

    def _primary_minute(self, alert: Alert) -> tuple[float, float, bool, int, int]:
        """Observed, expected and elevation of an alert's primary detector this minute."""
        if alert.kind == EMERGING_PHRASE:
            entry = self.phrases.last.get(alert.primary_gram)
            if entry is None:
                return 0.0, 0.0, False, 0, 0
            return entry.observed, entry.expected, entry.elevated, 0, 0
        state = self.keys[alert.key]
        if alert.kind == NEGATIVE_SHARE:
            last = state.all.recent[-1]
            y, x = state.negative.counts[-1]
            return last.observed, last.expected, state.negative.recent[-1].elevated, y, x
        last = state.family(alert.family).recent[-1]
        return last.observed, last.expected, last.elevated, 0, 0

    def _track(self, alert: Alert, minute: int) -> None:
        if minute <= alert.opened:
            return
        observed, expected, elevated, y, x = self._primary_minute(alert)
        alert.track(observed, expected, elevated, y, x)
        if elevated:
            alert.last_active = minute

    def _resolve(
        self,
        minute: int,
        volume_events: Iterable[tuple[Key, str, str]],
        negative_events: Iterable[tuple[Key, str]],
        gram_events: Iterable[GramEvent],
    ) -> None:
        done_volume = {(k, f) for k, f, e in volume_events if e == RESOLVE}
        done_negative = {k for k, e in negative_events if e == RESOLVE}
        done_grams = {e.gram for e in gram_events if e.event == RESOLVE}
        for alert in self.alerts.values():
            if alert.status != "open":
                continue
            if alert.kind == EMERGING_PHRASE:
                done = alert.primary_gram in done_grams
            elif alert.kind == NEGATIVE_SHARE:
                done = alert.key in done_negative
            else:
                done = (alert.key, alert.family) in done_volume
            if done:
                alert.status = "resolved"
                alert.resolved = minute
                self._change(alert)

    def _escalate(self, minute: int) -> None:
        for alert in self.alerts.values():
            if alert.status != "open" or alert.opened == minute:
                continue
            severity = severity_of(alert)
            if SEVERITIES.index(severity) > SEVERITIES.index(alert.severity):
                alert.severity = severity
                self._change(alert)

    def _evict(self, minute: int) -> None:
        horizon = minute - self.config.evict_after
        keep = {a.key for a in self.alerts.values()}
        stale = [
            key
            for key, state in self.keys.items()
            if state.all.last_seen < horizon
            and key not in keep
            and not (state.all.trigger.hot or state.complaints.trigger.hot)
        ]
        for key in stale:
            del self.keys[key]
        self.stats.evicted += len(stale)

    def _shrink(self, keep: int) -> None:
        """Forget the keys seen longest ago until ``keep`` are left (alerting keys stay)."""
        alerting = {a.key for a in self.alerts.values()}
        idle = sorted(
            (state.all.last_seen, key)
            for key, state in self.keys.items()
            if key not in alerting and not state.hot()
        )
        for _seen, key in idle[: max(0, len(self.keys) - keep)]:
            del self.keys[key]
            self.stats.dropped += 1

    # -- evidence helpers -----------------------------------------------------------------

    def _evidence(self, minute: int) -> list[Evidence]:
        first = minute - self.config.persist_n + 1
        return [d for d in self.history if d.minute >= first]

    def _monitor(self, key: Key, family: str) -> VolumeMonitor | None:
        state = self.keys.get(key)
        return state.family(family) if state is not None else None

    def _excess(self, key: Key, family: str, minutes: set[int] | None = None) -> float:
        """Messages above expectation over ``minutes`` (default: the recent ones)."""
        monitor = self._monitor(key, family)
        if monitor is None:
            return 0.0
        return sum(
            m.observed - m.expected
            for m in monitor.recent
            if minutes is None or m.minute in minutes
        )

    def _hot_minutes(self, key: Key, family: str) -> set[int]:
        """The elevated recent minutes of a key (its last minute if none is)."""
        monitor = self.keys[key].family(family)
        hot = {m.minute for m in monitor.recent if m.elevated}
        return hot or {monitor.recent[-1].minute}

    def _drill(self, key: Key, family: str, minute: int) -> Key:
        """The key an alert should name for a volume fire on ``key`` (module docstring)."""
        config = self.config
        start = key
        topic = Key(TOPIC, key.topic)
        topic_monitor = self._monitor(topic, family)
        if key != topic and topic_monitor is not None and topic_monitor.recent[-1].elevated:
            _o, _e, score = topic_monitor.score_window(config)
            minutes = self._hot_minutes(topic, family)
            topic_excess = self._excess(topic, family, minutes)
            if score >= config.fire_score and (
                topic_excess <= 0
                or self._excess(key, family, minutes) < config.drill_coverage * topic_excess
            ):
                start = topic
        minutes = self._hot_minutes(start, family)
        base = self._excess(start, family, minutes)
        if base <= 0:
            return start
        best: tuple[int, float, str, Key] = (start.depth, 1.0, "", start)
        for other, state in self.keys.items():
            if other == start or not start.contains(other) or not state.all.warm(minute, config):
                continue
            excess = self._excess(other, family, minutes)
            coverage = excess / base
            if coverage >= config.drill_coverage and excess >= config.min_volume / 2:
                candidate = (other.depth, coverage, "|".join(other), other)
                if candidate[:3] > best[:3]:
                    best = candidate
        return best[3]

    def _inside(self, key: Key, active: Iterable[Alert]) -> Alert | None:
        """An active alert whose key contains ``key`` (its messages are that incident's)."""
        for alert in active:
            if alert.kind != EMERGING_PHRASE and alert.key.contains(key):
                return alert
        return None

    def _attributed(self, key: Key, family: str, alert: Alert, minute: int) -> float:
        """Excess messages of ``alert`` that fall in ``key`` over the evidence minutes."""
        covered = 0
        for data in self._evidence(minute):
            covered += len(
                {
                    r.unit
                    for r in data.records
                    if key.matches(r)
                    and alert.covers(r)
                    and (family == ALL or key.topic in r.negative_topics)
                }
            )
        if not covered:
            return 0.0
        if alert.kind == EMERGING_PHRASE:
            return float(covered)
        monitor = self._monitor(alert.key, family)
        if monitor is None:
            return float(covered)
        alert_total = sum(m.observed for m in monitor.recent)
        alert_excess = sum(m.observed - m.expected for m in monitor.recent)
        if alert_total <= 0 or alert_excess <= 0:
            return 0.0
        return alert_excess * covered / alert_total

    def _explained(self, key: Key, family: str, minute: int, active: list[Alert]) -> bool:
        """Whether the active alerts explain away a volume fire on ``key``."""
        config = self.config
        monitor = self.keys[key].family(family)
        observed = sum(m.observed for m in monitor.recent)
        expected = sum(m.expected for m in monitor.recent)
        attributed = sum(self._attributed(key, family, alert, minute) for alert in active)
        if attributed <= 0:
            return False
        left = observed - attributed
        phi = monitor.phi()
        floor = max(expected, config.expected_floor) / phi
        return not (
            left >= config.min_volume
            and left >= config.min_ratio * expected
            and poisson_score(left / phi, floor) >= config.fire_score
        )

    def _collateral(self, key: Key, first: int, excess: float, active: list[Alert]) -> bool:
        """Whether a smaller rise belongs to a larger incident that has just opened.

        It does when an open volume or phrase alert, larger than ``excess``, opened at most
        ``group_window`` minutes ago on the same channel or brand, or when both started
        rising within ``onset_window`` minutes of each other (an incident's messages often
        land in several topics: the enricher's second topic, a channel's outage).
        """
        config = self.config
        for alert in active:
            if alert.status != "open" or alert.kind == NEGATIVE_SHARE:
                continue
            if excess > alert.observed - alert.expected:
                continue
            same = (key.channel and key.channel == alert.key.channel) or (
                key.brand and key.brand == alert.key.brand
            )
            if same and first - alert.opened <= config.group_window:
                return True
            if abs(first - alert.window_start) <= config.onset_window:
                return True
        return False

    # -- fire events -----------------------------------------------------------------------

    def _on_volume_fire(self, key: Key, family: str, minute: int) -> None:
        self.stats.fires[f"{VOLUME_SPIKE}:{family}"] += 1
        active = self._active(minute)
        if self._inside(key, active) is not None:
            self.stats.absorbed[VOLUME_SPIKE] += 1
            return
        chosen = self._drill(key, family, minute)
        if chosen != key and (
            self._inside(chosen, active) is not None
            or self._explained(chosen, family, minute, active)
        ):
            self.stats.absorbed[VOLUME_SPIKE] += 1
            return
        if self._explained(key, family, minute, active):
            self.stats.absorbed[VOLUME_SPIKE] += 1
            return
        monitor = self.keys[key].family(family)
        _o, _e, _s, first = monitor.evidence(self.config)
        if self._collateral(key, first, self._excess(key, family), active):
            self.stats.absorbed[VOLUME_SPIKE] += 1
            return
        monitor = self.keys[chosen].family(family)
        if not monitor.trigger.hot:
            monitor.trigger.force_hot(minute)
        observed, expected, score, first = monitor.evidence(self.config)
        alert = self._open(VOLUME_SPIKE, chosen, minute, first, observed, expected, score)
        alert.family = family

    def _on_negative_fire(self, key: Key, minute: int) -> None:
        config = self.config
        self.stats.fires[NEGATIVE_SHARE] += 1
        active = self._active(minute)
        if self._inside(key, active) is not None:
            self.stats.absorbed[NEGATIVE_SHARE] += 1
            return
        monitor = self.keys[key].negative
        ys, xs, q = monitor.window(minute, self.config)
        first = next((m.minute for m in monitor.recent if m.elevated), minute)
        if self._collateral(key, first, ys - q * xs, active):
            self.stats.absorbed[NEGATIVE_SHARE] += 1
            return
        if active:
            left_y = left_x = 0
            for data in self.history:
                if data.minute < first:
                    continue
                for record in data.records:
                    if key.matches(record) and not any(a.covers(record) for a in active):
                        left_x += 1
                        left_y += key.topic in record.negative_topics
            if (
                left_y < config.negative_min_total
                or binomial_score(left_y, left_x, q) < config.fire_score
            ):
                self.stats.absorbed[NEGATIVE_SHARE] += 1
                return
        score = binomial_score(ys, xs, q)
        alert = self._open(NEGATIVE_SHARE, key, minute, first, float(ys), q, score)
        alert.negatives, alert.messages = ys, xs
        alert.severity = severity_of(alert)

    def _on_phrase_fire(self, gram: int, minute: int) -> None:
        config = self.config
        self.stats.fires[EMERGING_PHRASE] += 1
        active = self._active(minute)
        if any(a.kind == EMERGING_PHRASE and gram in a.grams for a in active):
            self.stats.absorbed[EMERGING_PHRASE] += 1
            return
        records = [r for d in self._evidence(minute) for r in d.records]
        hot = {g for g, m in self.phrases.last.items() if m.elevated} | {gram}
        units_of = units_with(hot, ((r.unit, r.grams) for r in records))
        units_of = {g: u for g, u in units_of.items() if u}
        cluster = next((c for c in cluster_grams(units_of) if gram in c), [gram])
        grams = set(cluster)
        members = [r for r in records if not grams.isdisjoint(r.grams)]
        track = self.phrases.tracks[gram]
        observed = sum(m.observed for m in track.recent if m.elevated)
        expected = sum(m.expected for m in track.recent if m.elevated)
        if not members or self._grows_with_its_keys(members, observed, expected):
            self.stats.absorbed[EMERGING_PHRASE] += 1
            return
        owner = next(
            (
                a
                for a in active
                if sum(1 for r in members if a.covers(r)) >= PHRASE_COVERED * len(members)
            ),
            None,
        )
        if owner is not None:
            self.stats.absorbed[EMERGING_PHRASE] += 1
            if owner.kind != EMERGING_PHRASE and owner.status == "open" and not owner.phrase:
                phrase = stitch(cluster, units_of, members)[0]
                owner.phrase = phrase
                owner.top_terms = lead_with(phrase, owner.top_terms, config.top_terms)
                self._change(owner)
            return
        phrase, folded, lead = stitch(cluster, units_of, members)
        track = self.phrases.tracks.get(lead, track)
        if not track.trigger.hot:
            track.trigger.force_hot(minute)
        observed = sum(m.observed for m in track.recent if m.elevated) or observed
        expected = sum(m.expected for m in track.recent if m.elevated) or expected
        key = Key(
            PHRASE,
            dominant(t for r in members for t in r.topics[:1]),
            channel=dominant(r.channel for r in members),
            brand=dominant(r.brand for r in members if r.brand),
        )
        self._open(
            EMERGING_PHRASE,
            key,
            minute,
            min((m.minute for m in track.recent if m.elevated), default=minute),
            observed,
            expected,
            poisson_score(observed, expected),
            phrase=phrase,
            folded=folded,
            grams=frozenset(cluster),
            lead=lead,
        )

    def _grows_with_its_keys(self, members: list[Signal], observed: float, expected: float) -> bool:
        """Whether a phrase only rises as fast as a key holding most of its messages.

        Every key (topic, or topic narrowed to a channel or brand) holding at least half of
        the phrase's messages is compared: a phrase that grows less than
        ``phrase_topic_ratio`` times faster than one of them is that key's spike.
        """
        config = self.config
        phrase_ratio = observed / max(expected, 1e-9)
        holding: Counter[Key] = Counter()
        for record in members:
            holding.update(k for k in record.counted_keys() if k.type != "topic_product")
        for key, count in holding.items():
            state = self.keys.get(key)
            if count < 0.5 * len(members) or state is None:
                continue
            k_obs = sum(m.observed for m in state.all.recent)
            k_exp = sum(m.expected for m in state.all.recent)
            key_ratio = k_obs / max(k_exp, config.expected_floor)
            if phrase_ratio < config.phrase_topic_ratio * max(key_ratio, 1.0):
                return True
        return False

    # -- opening -------------------------------------------------------------------------

    def _open(
        self,
        kind: str,
        key: Key,
        minute: int,
        first: int,
        observed: float,
        expected: float,
        score: float,
        *,
        phrase: str = "",
        folded: str = "",
        grams: frozenset[int] = frozenset(),
        lead: int = 0,
    ) -> Alert:
        alert = Alert(
            id=alert_id(kind, key, folded, minute),
            kind=kind,
            key=key,
            phrase=phrase,
            grams=grams,
            opened=minute,
            window_start=first,
            last_active=minute,
            severity="info",
            score=score,
            observed=observed,
            expected=expected,
            updated=minute,
            primary_gram=lead,
        )
        alert.severity = severity_of(alert)
        self._describe(alert, minute)
        self.alerts[alert.id] = alert
        self.stats.opened[kind] += 1
        self._change(alert)
        return alert

    def _describe(self, alert: Alert, minute: int) -> None:
        """Top terms, channel breakdown and sample messages of a new alert."""
        config = self.config
        window = [d for d in self.history if alert.window_start <= d.minute <= minute]
        members = [r for d in window for r in d.records if alert.covers(r)]
        if len(members) < config.samples:
            older = [r for d in self.history if d.minute < alert.window_start for r in d.records]
            members = [r for r in older if alert.covers(r)][-config.samples :] + members
        share = self.phrases.share
        terms, term_grams = top_terms(
            members, lambda gram: share(gram, minute), alert.phrase, alert.grams, config.top_terms
        )
        alert.top_terms = terms
        alert.breakdown = channel_breakdown(members)
        picked = pick_samples(members, term_grams, alert.key.topic, config.samples)
        alert.sample_ids = tuple(r.id for r in picked)
        alert.sample_texts = tuple(r.text for r in picked)
