"""The minute-by-minute detector: key monitors, phrase and term bursts, one alert per incident.

:class:`Detector` is fed the customer messages of each closed event-time minute, in minute
order (gaps are filled with empty minutes). Each minute it:

1. counts the distinct units (a chat conversation is one unit) of every key, the units
   negative about each key's topic, the units containing each gram and the complaints
   containing each term;
2. steps the monitors of the keys with messages this minute (and of the hot ones): a
   :class:`~flows.detect.monitors.VolumeMonitor` of all its units and one of its negative
   units (complaint volume: an issue usually shows there first), each scored on the
   minute and on sliding windows of ``scales`` minutes, and a
   :class:`~flows.detect.monitors.NegativeMonitor` of its negative share; then the
   :class:`~flows.detect.bursts.PhraseBursts` and :class:`~flows.detect.terms.TermBursts`;
3. turns their fire and resolve events into alerts, one per incident (below), and opens a
   ``case`` for every message that needs action now (:mod:`flows.detect.cases`);
4. refreshes the open alerts (observed, expected, channels, top terms, samples, summary)
   in a new revision when they grew;
5. forgets keys as :class:`~flows.detect.keys.KeyTable` says (memory and per-minute work
   do not grow with the number of keys).

One incident, one alert
-----------------------

An incident usually lights up several detectors: a delivery problem on Shopee raises the
volume of ``delivery``, ``delivery @ shopee``, the brands sold there, their complaints and
negative share, the phrases and words customers use, and the other topics the enricher
finds in the same messages. Fire events are handled in this order each minute: volume
spikes (the largest first), emerging phrases, emerging issues, negative shares. A fire
event opens an alert only if no *active* alert (open, or resolved less than ``cooldown``
minutes ago) accounts for it:

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
- **Phrases, terms and spikes.** A phrase or a group of terms whose messages are mostly
  covered by an active alert is added to it (a phrase: its ``phrase`` column and first of
  its top terms; terms: its top terms) instead of opening its own; a phrase that fires
  first opens an ``emerging_phrase`` alert, a group of terms an ``emerging_issue`` alert
  (each with the topic, channel and brand that hold at least 60% of its messages) and the
  spike of the same incident is then explained away by it. A phrase that grows less than
  ``phrase_topic_ratio`` times faster than a key holding half of its messages is that
  key's spike, not an emerging phrase. Overlapping grams of one burst ("lỗi thanh toán",
  "thanh toán momo") are clustered by shared messages and stitched into one phrase.
- **Cooldown.** After an alert resolves, what it covered does not alert again for
  ``cooldown`` minutes.

Alert rows
----------

Each state change is a new revision of the alert's row: ``open`` (revision 1), ``open``
updates (severity escalates, a phrase is attached, the incident grew by ``refresh_growth``
or ``refresh_every`` minutes passed), then ``resolved``; several changes in one minute
make one revision. ``updated_at`` is the event time of the revision (the end of the minute
that caused it); ``opened_at`` is the end of the minute whose data completed the evidence;
``scale`` the window whose evidence it was. The id is a hash of kind, key, phrase and the
opening minute, so replays and restarts give the same ids. Every revision recounts the
alert's messages since ``window_start`` (the window starts at most ``history_minutes``
before the opening, the messages the detector still holds) with their channels, picks
top terms and samples among the latest (the first :data:`~flows.detect.alerts.PINNED`
samples stay those of the opening, or of the latest change of severity, as does the
``headline``) and writes a new summary.

Severities follow the rule of :mod:`flows.detect.alerts`; top terms, samples, the
stitched phrase and the summary come from :mod:`flows.detect.describe`.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flows.detect.alerts import (
    EMERGING_ISSUE,
    EMERGING_PHRASE,
    NEGATIVE_SHARE,
    PINNED,
    SEVERITIES,
    VOLUME_SPIKE,
    Alert,
    alert_id,
    severity_of,
)
from flows.detect.bursts import GramEvent, PhraseBursts, cluster_grams, units_with
from flows.detect.cases import CaseBook
from flows.detect.config import DetectConfig
from flows.detect.describe import (
    characteristic_terms,
    dominant,
    lead_with,
    pick_samples,
    stitch,
    summarize,
    top_terms,
)
from flows.detect.keys import ALL, COMPLAINTS, KeyState, KeyTable
from flows.detect.monitors import FIRE, ONE_MINUTE, RESOLVE, Traffic, VolumeMonitor
from flows.detect.signals import ANY_TOPIC, OTHER, PHRASE, TERMS, TOPIC, Key, Signal
from flows.detect.stats import binomial_score, poisson_score
from flows.detect.terms import (
    EVERYWHERE,
    Complaint,
    Issue,
    TermBursts,
    TermWindow,
    group_terms,
    in_scope,
    term_texts,
)
from schemas.rows import AlertRow

#: A phrase whose messages are this much inside an active alert belongs to that alert.
PHRASE_COVERED = 0.6
#: Terms an emerging issue keeps at most.
MAX_ISSUE_TERMS = 12


@dataclass(slots=True)
class MinuteData:
    """The counts of one closed minute: units per key and per gram, complaints per term.

    Used for the minute's step, then dropped: the detector keeps only the messages
    (:class:`Evidence`) of its last ``history_minutes``.
    """

    minute: int
    total: int
    units: dict[Key, int]
    negatives: dict[Key, int]
    grams: Counter[int]
    complaints: list[Complaint]
    voices: int = 0
    """The units counted for keys: ``total`` less conversations counted before."""

    @classmethod
    def build(
        cls, minute: int, records: Sequence[Signal], conversations: Conversations | None = None
    ) -> MinuteData:
        """Count units per key, negative units per key, units per gram and per term.

        With ``conversations``, a chat conversation counts for a key (and in ``voices``, the
        traffic that key counts are compared with) only in the first minute it does within
        their span (:class:`Conversations`); ``total`` and the grams count every unit of the
        minute.
        """
        by_unit: dict[str, list[Signal]] = {}
        for record in records:
            found = by_unit.get(record.unit)
            if found is None:
                by_unit[record.unit] = [record]
            else:
                found.append(record)
        units: dict[Key, int] = {}
        negatives: dict[Key, int] = {}
        grams: Counter[int] = Counter()
        complaints: list[Complaint] = []
        voices = 0
        for unit, group in by_unit.items():
            if len(group) == 1:  # most units: one message
                record = group[0]
                keys: Iterable[Key] = record.counted_keys()
                negative: Iterable[Key] = record.keyed_negatives()
                grams.update(record.grams)
                if record.terms:
                    complaints.append(Complaint(record.channel, record.brand, record.terms))
            else:  # a conversation's turns of the minute count once
                keys = {k for r in group for k in r.counted_keys()}
                negative = {k for r in group for k in r.keyed_negatives()}
                grams.update({g for r in group for g in r.grams})
                unit_terms = frozenset(t for r in group for t in r.terms)
                if unit_terms:
                    first = group[0]
                    complaints.append(Complaint(first.channel, first.brand, unit_terms))
            if conversations is not None and unit != group[0].id:  # a chat conversation
                new, keys, negative = conversations.first_time(unit, minute, keys, negative)
                voices += new
            else:
                voices += 1
            get = units.get
            for key in keys:
                units[key] = get(key, 0) + 1
            get = negatives.get
            for key in negative:
                negatives[key] = get(key, 0) + 1
        return cls(minute, len(by_unit), units, negatives, grams, complaints, voices)


@dataclass(slots=True)
class Conversations:
    """The chat conversations counted in the last ``span`` minutes, and for which keys.

    A conversation is one customer voice however many minutes it spans. Counted again in
    every minute it has a turn, it would weigh in a window of 15 or 60 minutes as many
    times as it had minutes, and a chat channel's window counts would spread far more
    than a Poisson count (conversations of 1.25 minutes on average make its 10-minute
    windows 1.4 times as dispersed): its complaints would alert on noise. So a
    conversation counts for a key in the first minute it does, and not again for ``span``
    minutes (the longest scale); a key it reaches later (a new topic, a turn that
    complains) counts then, except ``other`` once the conversation has a topic. At most
    ``capacity`` conversations are remembered, the longest known forgotten first (O(1)
    each).
    """

    span: int
    capacity: int
    seen: OrderedDict[str, tuple[int, set[Key], set[Key]]] = field(default_factory=OrderedDict)

    def first_time(
        self, unit: str, minute: int, keys: Iterable[Key], negatives: Iterable[Key]
    ) -> tuple[bool, Iterable[Key], Iterable[Key]]:
        """Whether ``unit`` is new within the span; its keys and negative keys not counted yet."""
        seen = self.seen
        found = seen.get(unit)
        if found is None or found[0] <= minute - self.span:
            if found is not None:
                del seen[unit]
            seen[unit] = (minute, set(keys), set(negatives))
            while seen and (
                len(seen) > self.capacity or next(iter(seen.values()))[0] <= minute - self.span
            ):
                seen.popitem(last=False)
            return True, keys, negatives
        _first, counted, counted_negative = found
        # a later turn with no topic ("dạ", "ok shop") of a conversation about a topic is
        # not a new voice about "other" (it alerted on web chat after a flash sale)
        named = any(k.topic and k.topic != OTHER for k in counted)
        new = [k for k in keys if k not in counted and not (named and k.topic == OTHER)]
        new_negative = [
            k for k in negatives if k not in counted_negative and not (named and k.topic == OTHER)
        ]
        counted.update(new)
        counted_negative.update(new_negative)
        return False, new, new_negative

    def clear(self) -> None:
        """Forget every conversation (a long gap in the stream)."""
        self.seen.clear()


@dataclass(slots=True)
class Evidence:
    """The customer messages of one closed minute, kept for evidence and samples."""

    minute: int
    records: list[Signal]

    def __deepcopy__(self, memo: dict[int, object]) -> Evidence:
        """Built once and never changed: recovery snapshots share it."""
        return self


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
    """Emerging-issue detection over closed minutes (see the module docstring).

    ``labels`` maps topic ids to their Vietnamese labels (the taxonomy's), for summaries.
    """

    def __init__(
        self, config: DetectConfig | None = None, labels: Mapping[str, str] | None = None
    ) -> None:
        self.config = config = config or DetectConfig()
        self.labels = dict(labels or {})
        self.table = KeyTable()
        self.traffic = Traffic(config.longest_scale + config.persist_n + 1, config.share_half_life)
        self.phrases = PhraseBursts(config.gram_half_life)
        self.terms = TermBursts(config.term_half_life)
        self.cases = CaseBook()
        self.conversations = Conversations(config.longest_scale, config.conversation_memory)
        self.history: list[Evidence] = []
        self.alerts: dict[str, Alert] = {}
        self.last_minute: int | None = None
        self.stats = DetectorStats()
        self.warm = 0
        self.thresholds = self._thresholds()
        self._changed: dict[str, Alert] = {}
        self._records: list[Signal] = []

    @property
    def keys(self) -> dict[Key, KeyState]:
        """The keys with monitors (the others are candidates of :attr:`table`)."""
        return self.table.exact

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
                self._skip()
            else:
                for empty in range(self.last_minute + 1, minute):
                    rows += self._step(empty, [])
        rows += self._step(minute, sorted(records, key=lambda r: (r.created_at, r.id)))
        return rows

    def warm_keys(self) -> int:
        """Keys old enough and with enough baseline to alert."""
        minute = self.last_minute or 0
        return sum(1 for state in self.keys.values() if state.all.warm(minute, self.config))

    def _thresholds(self) -> dict[int, float]:
        """The score each scale must reach to fire (its share of the false-alarm budget)."""
        keys = self.warm
        out = {ONE_MINUTE: self.config.one_minute_threshold(keys)}
        return out | {w: self.config.scale_threshold(w, keys) for w in self.config.scales}

    def _skip(self) -> None:
        self.traffic.skip()
        self.phrases.skip(0)
        self.terms.skip()
        self.conversations.clear()
        self.history.clear()

    def _step(self, minute: int, records: list[Signal]) -> list[AlertRow]:
        config = self.config
        self.last_minute = minute
        self.stats.minutes += 1
        self.stats.messages += len(records)
        data = MinuteData.build(minute, records, self.conversations)
        self._records = records
        self.history.append(Evidence(minute, records))
        if len(self.history) > config.history_minutes:
            del self.history[0]
        self.traffic.advance(minute, data.voices, config.scales)
        volume_events: list[tuple[Key, str, str]] = []
        negative_events: list[tuple[Key, str]] = []
        table = self.table
        negatives_of = data.negatives
        stepped: set[Key] = set()
        units = data.units
        if not negatives_of.keys() <= units.keys():
            # a conversation counted earlier complains only now (Conversations)
            units = units | {k: 0 for k in negatives_of if k not in units}
        for key, x in units.items():
            y = negatives_of.get(key, 0)
            state = table.touch(key, minute, x, y, self.traffic, config)
            if state is not None:
                stepped.add(key)
                self._step_key(key, state, minute, x, y, volume_events, negative_events)
        for key in sorted(table.hot - stepped):
            state = table.exact[key]
            self._step_key(key, state, minute, 0, 0, volume_events, negative_events)
        gram_events = self.phrases.step(minute, data.total, data.grams, config)
        self.terms.step(minute, data.complaints, config)

        self._changed = {}
        self._resolve(minute, volume_events, negative_events, gram_events)
        for alert in self._active(minute):
            if alert.status == "open":
                self._track(alert, minute)
        fires = [(k, f) for k, f, e in volume_events if e == FIRE]
        fires.sort(key=lambda kf: (-self._fire_excess(kf[0], kf[1]), kf[0], kf[1]))
        for key, family in fires:  # the largest first: smaller concurrent ones may join it
            self._on_volume_fire(key, family, minute)
        for gram_event in gram_events:
            if gram_event.event == FIRE:
                self._on_phrase_fire(gram_event.gram, minute)
        self._on_issues(minute)
        for key, event in negative_events:
            if event == FIRE:
                self._on_negative_fire(key, minute)
        self._escalate(minute)
        self._refresh(minute)
        for case in self.cases.step(minute, records, config, self.labels):
            self._changed[case.id] = case
        keep = {a.key for a in self.alerts.values()}
        self.stats.evicted += table.shrink(minute, keep, config)
        self.stats.dropped = table.dropped
        if minute % 60 == 0:
            self.warm = self.warm_keys()
            self.thresholds = self._thresholds()
        rows = []
        for alert in self._changed.values():
            alert.revision += 1
            alert.updated = minute
            rows.append(alert.row())
        return rows

    def _step_key(
        self,
        key: Key,
        state: KeyState,
        minute: int,
        x: int,
        y: int,
        volume_events: list[tuple[Key, str, str]],
        negative_events: list[tuple[Key, str]],
    ) -> None:
        config, traffic, thresholds = self.config, self.traffic, self.thresholds
        event = state.all.step(minute, x, traffic, config, thresholds)
        if event and not (event == FIRE and (key.topic == OTHER or key.type in ANY_TOPIC)):
            volume_events.append((key, ALL, event))  # (their complaints alert, not chatter)
        if y or state.complaints.trigger.hot:
            event = state.complaints.step(minute, y, traffic, config, thresholds)
            if event:
                volume_events.append((key, COMPLAINTS, event))
        if x or state.negative.trigger.hot:
            warm = state.all.warm(minute, config)
            # a conversation counted for the key earlier may complain only now: y <= x
            event = state.negative.step(minute, min(y, x), x, warm, config)
            if event and not (event == FIRE and key.type in ANY_TOPIC):
                negative_events.append((key, event))  # a channel's complaints alert instead
        if state.hot():
            self.table.hot.add(key)
        else:
            self.table.hot.discard(key)

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

    def _minute_of(self, alert: Alert, records: Iterable[Signal]) -> tuple[int, dict[str, int]]:
        """The alert's units among ``records`` (one minute's) and their channels."""
        units: dict[str, str] = {}
        for record in records:
            if record.unit not in units and alert.counts(record):
                units[record.unit] = record.channel
        return len(units), dict(Counter(units.values()))

    def _negatives_of(self, alert: Alert, records: Iterable[Signal]) -> dict[str, int]:
        """The channels of a negative-share alert's negative units among ``records``."""
        units: dict[str, str] = {}
        topic = alert.key.topic
        for record in records:
            if alert.key.matches(record) and (
                topic in record.negative_topics or (not topic and record.complaint)
            ):
                units.setdefault(record.unit, record.channel)
        return dict(Counter(units.values()))

    def _expected_at(self, alert: Alert, minute: int) -> float:
        """What the alert's primary detector expected of its messages in ``minute``."""
        if alert.kind == EMERGING_PHRASE:
            share = self.phrases.share(alert.primary_gram, minute)
            return share * self.traffic.total(minute)
        if alert.kind == EMERGING_ISSUE:
            units = self.terms.units(minute, alert.scope)
            return self._issue_expected(alert.terms, units, minute, alert.scope)
        state = self.keys.get(alert.key)
        if state is None:
            return 0.0
        monitor = state.family(alert.family)
        for entry in reversed(monitor.recent):
            if entry.minute == minute:
                return entry.expected
        monitor.catch_up(self.last_minute or minute, self.traffic, self.config)
        rest = self.traffic.total(minute) - monitor.observed(minute, minute)
        return monitor.rate(self.traffic, self.config) * max(rest, 0)

    def _issue_expected(
        self, terms: frozenset[int], units: int, minute: int, scope: tuple[str, str]
    ) -> float:
        """Expected complaints holding two terms of an issue: at most the rarer's share."""
        shares = sorted(self.terms.share(t, minute, scope) for t in terms)
        return (shares[1] if len(shares) > 1 else shares[0] if shares else 0.0) * units

    def _track(self, alert: Alert, minute: int) -> None:
        """Count the alert's messages of this minute; note whether it is still active."""
        if minute <= alert.opened:
            return
        records = self._records
        if alert.kind == NEGATIVE_SHARE:
            state = self.keys[alert.key]
            y, x = state.negative.counts[-1] if state.negative.recent else (0, 0)
            current = state.negative.recent[-1] if state.negative.recent else None
            active = current is not None and current.minute == minute and current.elevated
            if current is None or current.minute != minute:
                y = x = 0
            channels = self._negatives_of(alert, records)
            alert.track(float(y), 0.0, active, y, x, channels)
        else:
            observed, channels = self._minute_of(alert, records)
            expected = self._expected_at(alert, minute)
            active = self._is_active(alert, minute, observed, expected)
            alert.track(float(observed), expected, active, 0, 0, channels)
        if active:
            alert.last_active = minute
            alert.quiet_run = 0
        else:
            alert.quiet_run += 1

    def _is_active(self, alert: Alert, minute: int, observed: int, expected: float) -> bool:
        """Whether the alert's primary detector is elevated this minute."""
        if alert.kind == EMERGING_PHRASE:
            entry = self.phrases.last.get(alert.primary_gram)
            return entry is not None and entry.elevated
        if alert.kind == EMERGING_ISSUE:
            bursting = self.terms.bursting
            shortest = self.config.scales[0]
            return (observed >= 2 and observed > 2.0 * expected) or any(
                (found := bursting.get((alert.scope, t))) is not None and found.scale == shortest
                for t in alert.terms
            )
        monitor = self.keys[alert.key].family(alert.family)
        last = monitor.recent[-1] if monitor.recent else None
        if last is not None and last.minute == minute and last.elevated:
            return True
        return monitor.trigger.scale != ONE_MINUTE and monitor.active(self.config)

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
            elif alert.kind == EMERGING_ISSUE:
                done = alert.quiet_run >= self.config.resolve_after
            elif alert.kind == NEGATIVE_SHARE:
                done = alert.key in done_negative
            else:
                done = (alert.key, alert.family) in done_volume
            if done:
                alert.status = "resolved"
                alert.resolved = minute
                self._describe(alert, minute)
                self._change(alert)

    def _escalate(self, minute: int) -> None:
        for alert in self.alerts.values():
            if alert.status != "open" or alert.opened == minute:
                continue
            severity = severity_of(alert)
            if SEVERITIES.index(severity) > SEVERITIES.index(alert.severity):
                alert.severity = severity
                self._describe(alert, minute, headline=True)
                self._change(alert)

    def _refresh(self, minute: int) -> None:
        """A new revision for each open alert that grew (module docstring)."""
        config = self.config
        for alert in self.alerts.values():
            if alert.status != "open" or alert.id in self._changed:
                continue
            grown = alert.count - alert.described_observed
            due = minute - alert.described_at >= config.refresh_every
            if (grown >= 3 and grown >= config.refresh_growth * alert.described_observed) or (
                due and grown > 0
            ):
                self._describe(alert, minute)
                self._change(alert)

    # -- evidence helpers -----------------------------------------------------------------

    def _evidence(self, minute: int) -> list[Evidence]:
        first = minute - self.config.persist_n + 1
        return [d for d in self.history if d.minute >= first]

    def _monitor(self, key: Key, family: str) -> VolumeMonitor | None:
        state = self.keys.get(key)
        if state is None:
            return None
        monitor = state.family(family)
        if self.last_minute is not None:
            monitor.catch_up(self.last_minute, self.traffic, self.config)
        return monitor

    def _range(self, key: Key, family: str) -> tuple[int, int]:
        """The minutes of what makes a key fire: its firing window, or its elevated minutes."""
        monitor = self._monitor(key, family)
        minute = self.last_minute or 0
        if monitor is None:
            return minute, minute
        if monitor.trigger.scale != ONE_MINUTE:
            window = monitor.best_window()
            if window is not None:
                return window.onset, window.minute
        hot = [m.minute for m in monitor.recent if m.elevated]
        if hot:
            return min(hot), max(hot)
        return minute, minute

    def _excess(self, key: Key, family: str, first: int, last: int) -> float:
        """Messages of a key above expectation from minute ``first`` to ``last``."""
        monitor = self._monitor(key, family)
        if monitor is None:
            return 0.0
        return monitor.excess(first, last, self.traffic, self.config)

    def _fire_excess(self, key: Key, family: str) -> float:
        """The excess of what made a key fire (fires are handled largest first)."""
        first, last = self._range(key, family)
        return self._excess(key, family, first, last)

    def _drill(self, key: Key, family: str, minute: int) -> Key:
        """The key an alert should name for a volume fire on ``key`` (module docstring)."""
        config = self.config
        start = key
        topic = Key(TOPIC, key.topic)
        topic_monitor = self._monitor(topic, family)
        if (
            key != topic
            and topic_monitor is not None
            and topic_monitor.recent
            and topic_monitor.recent[-1].minute == minute
            and topic_monitor.recent[-1].elevated
        ):
            _o, _e, score = topic_monitor.score_window(config)
            first, last = self._range(topic, family)
            topic_excess = self._excess(topic, family, first, last)
            if score >= self.thresholds[ONE_MINUTE] and (
                topic_excess <= 0
                or self._excess(key, family, first, last) < config.drill_coverage * topic_excess
            ):
                start = topic
        first, last = self._range(start, family)
        base = self._excess(start, family, first, last)
        if base <= 0:
            return start
        narrower = {
            other
            for data in self.history
            if data.minute >= first
            for record in data.records
            if start.matches(record)
            for other in record.counted_keys()
            if other != start and start.contains(other)
        }
        best: tuple[int, float, str, Key] = (start.depth, 1.0, "", start)
        for other in sorted(narrower):
            state = self.keys.get(other)
            if state is None or not state.all.warm(minute, config):
                continue
            excess = self._excess(other, family, first, last)
            coverage = excess / base
            if coverage >= config.drill_coverage and excess >= config.min_volume / 2:
                candidate = (other.depth, coverage, "|".join(other), other)
                if candidate[:3] > best[:3]:
                    best = candidate
        return best[3]

    def _inside(self, key: Key, active: Iterable[Alert]) -> Alert | None:
        """An active alert whose key contains ``key`` (its messages are that incident's)."""
        for alert in active:
            if alert.kind in (VOLUME_SPIKE, NEGATIVE_SHARE) and alert.key.contains(key):
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
                    and (family == ALL or key in r.keyed_negatives())
                }
            )
        if not covered:
            return 0.0
        if alert.kind in (EMERGING_PHRASE, EMERGING_ISSUE):
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
        monitor = self._monitor(key, family)
        if monitor is None:
            return False
        observed, expected, _score, _first = monitor.evidence(config)
        if monitor.trigger.scale == ONE_MINUTE or not monitor.trigger.hot:
            observed = sum(m.observed for m in monitor.recent)
            expected = sum(m.expected for m in monitor.recent)
            needed = self.thresholds[ONE_MINUTE]
        else:
            needed = self.thresholds.get(monitor.trigger.scale, config.fire_score)
        attributed = sum(self._attributed(key, family, alert, minute) for alert in active)
        if attributed <= 0:
            return False
        left = observed - attributed
        phi = monitor.phi()
        floor = max(expected, config.expected_floor) / phi
        return not (
            left >= config.min_volume
            and left >= config.min_ratio * expected
            and poisson_score(left / phi, floor) >= needed
        )

    def _collateral(self, key: Key, first: int, excess: float, active: list[Alert]) -> bool:
        """Whether a smaller rise belongs to a larger incident that has just opened.

        It does when an open volume, phrase or issue alert, larger than ``excess``, opened
        at most ``group_window`` minutes ago on the same channel or brand, or when both
        started rising within ``onset_window`` minutes of each other (an incident's
        messages often land in several topics: the enricher's second topic, a channel's
        outage).
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
        if self._collateral(key, first, self._fire_excess(key, family), active):
            self.stats.absorbed[VOLUME_SPIKE] += 1
            return
        scale = monitor.trigger.scale
        chosen_monitor = self.keys[chosen].family(family)
        if not chosen_monitor.trigger.hot:
            chosen_monitor.trigger.force_hot(minute, scale)
            self.table.hot.add(chosen)
        _observed, _expected, score, first = chosen_monitor.evidence(self.config)
        if chosen != key:
            first = min(first, self._range(key, family)[0])
        alert = self._open(VOLUME_SPIKE, chosen, minute, first, score, scale=scale, family=family)
        self._describe(alert, minute, headline=True)

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
                        left_y += key in record.keyed_negatives()
            if (
                left_y < config.negative_min_total
                or binomial_score(left_y, left_x, q) < config.fire_score
            ):
                self.stats.absorbed[NEGATIVE_SHARE] += 1
                return
        score = binomial_score(ys, xs, q)
        alert = self._open(NEGATIVE_SHARE, key, minute, first, score)
        alert.expected = q
        self._describe(alert, minute, headline=True)

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
        owner = self._owner(members, active)
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
            dominant(_named_topic(r) for r in members),
            channel=dominant(r.channel for r in members),
            brand=dominant(r.brand for r in members if r.brand),
        )
        alert = self._open(
            EMERGING_PHRASE,
            key,
            minute,
            min((m.minute for m in track.recent if m.elevated), default=minute),
            poisson_score(observed, expected),
            phrase=phrase,
            folded=folded,
            grams=frozenset(cluster),
            lead=lead,
        )
        self._describe(alert, minute, headline=True)

    def _owner(self, members: Sequence[Signal], active: Iterable[Alert]) -> Alert | None:
        """An active alert covering most of ``members`` (their incident), if any."""
        return next(
            (
                a
                for a in active
                if sum(1 for r in members if a.covers(r)) >= PHRASE_COVERED * len(members)
            ),
            None,
        )

    def _explains_issue(self, issue: Issue, active: Sequence[Alert]) -> Alert | None:
        """The active alert whose messages explain an issue's bursting, if one does.

        The share of the strongest term's complaints of the last minutes that an alert
        covers is taken out of its window count: if what is left no longer reaches
        ``issue_fire_score``, that alert's incident is the issue (its words are the
        incident's words).
        """
        if not active:
            return None
        strongest = issue.strongest
        term, scope = strongest.term, strongest.scope
        holding = [
            r for d in self.history for r in d.records if term in r.terms and in_scope(r, scope)
        ]
        units = {r.unit for r in holding}
        best: tuple[int, Alert] | None = None
        for alert in active:
            covered = len({r.unit for r in holding if alert.covers(r)})
            if covered and (best is None or covered > best[0]):
                best = (covered, alert)
        if best is None or not units:
            return None
        # the share of the term's recent complaints that are the alert's, over its window
        left = strongest.observed * (1.0 - best[0] / len(units))
        if poisson_score(left, strongest.expected) < self.config.issue_fire_score:
            return best[1]
        return None

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
            if count < 0.5 * len(members):
                continue
            monitor = self._monitor(key, ALL)
            if monitor is None:
                continue
            k_obs = sum(m.observed for m in monitor.recent)
            k_exp = sum(m.expected for m in monitor.recent)
            key_ratio = k_obs / max(k_exp, config.expected_floor)
            if phrase_ratio < config.phrase_topic_ratio * max(key_ratio, 1.0):
                return True
        return False

    def _on_issues(self, minute: int) -> None:
        """Open (or attach) the emerging issues of this minute's bursting terms."""
        terms = self.terms
        if len(terms.bursting) < 2 or not terms.warm(minute, self.config):
            return
        by_scope: dict[tuple[str, str], dict[int, TermWindow]] = {}
        for (scope, term), window in terms.bursting.items():
            by_scope.setdefault(scope, {})[term] = window
        complaints = [r for d in self.history for r in d.records if r.terms]
        for scope in sorted(by_scope, key=lambda s: (s != EVERYWHERE, s)):
            for issue in group_terms(scope, by_scope[scope], complaints, self.config):
                self._on_issue(issue, minute)

    def _on_issue(self, issue: Issue, minute: int) -> None:
        config = self.config
        self.stats.fires[EMERGING_ISSUE] += 1
        active = self._active(minute)
        terms = frozenset(issue.terms)
        members = list(issue.members)
        for alert in active:
            if alert.kind != EMERGING_ISSUE:
                continue
            shared = len(alert.terms & terms)
            covered = sum(1 for r in members if alert.covers(r))
            if 2 * shared >= min(len(terms), len(alert.terms)) or (
                covered >= PHRASE_COVERED * len(members)
            ):
                self.stats.absorbed[EMERGING_ISSUE] += 1
                if alert.status == "open" and not terms <= alert.terms:
                    ranked = [
                        *alert.terms_ranked,
                        *(t for t in issue.terms if t not in alert.terms),
                    ]
                    alert.terms_ranked = tuple(ranked[:MAX_ISSUE_TERMS])
                    alert.terms = frozenset(alert.terms_ranked)
                return
        others = [a for a in active if a.kind != EMERGING_ISSUE]
        owner = self._owner(members, others) or self._explains_issue(issue, others)
        if owner is not None:
            self.stats.absorbed[EMERGING_ISSUE] += 1
            if owner.status == "open" and not owner.issue_terms:
                texts = term_texts(issue.terms, members)
                words = [texts[t] for t in issue.terms if t in texts][: config.top_terms]
                owner.issue_terms = tuple(words)
                merged = list(owner.top_terms)
                for word in words:
                    if word not in merged:
                        merged.append(word)
                owner.top_terms = tuple(merged[: config.top_terms + 2])
                self._change(owner)
            return
        kind, name = issue.scope
        key = Key(
            TERMS,
            dominant(_named_topic(r) for r in members),
            channel=name if kind == "channel" else dominant(r.channel for r in members),
            brand=name if kind == "brand" else dominant(r.brand for r in members if r.brand),
        )
        texts = term_texts(issue.terms, members)
        label = " ".join(texts.get(t, "") for t in issue.terms[:3]).strip()
        alert = self._open(
            EMERGING_ISSUE,
            key,
            minute,
            min(r.minute for r in members),
            issue.score,
            folded=label,
            scale=issue.strongest.scale,
        )
        alert.terms_ranked = issue.terms[:MAX_ISSUE_TERMS]
        alert.terms = frozenset(alert.terms_ranked)
        alert.scope = issue.scope
        self._describe(alert, minute, headline=True)

    # -- opening and describing -----------------------------------------------------------

    def _open(
        self,
        kind: str,
        key: Key,
        minute: int,
        first: int,
        score: float,
        *,
        phrase: str = "",
        folded: str = "",
        grams: frozenset[int] = frozenset(),
        lead: int = 0,
        scale: int = ONE_MINUTE,
        family: str = ALL,
    ) -> Alert:
        oldest = self.history[0].minute if self.history else minute
        alert = Alert(
            id=alert_id(kind, key, folded, minute),
            kind=kind,
            key=key,
            phrase=phrase,
            grams=grams,
            opened=minute,
            window_start=max(min(first, minute), oldest),
            last_active=minute,
            severity="info",
            score=score,
            observed=0.0,
            expected=0.0,
            updated=minute,
            primary_gram=lead,
            family=family,
            scale=scale,
        )
        self.alerts[alert.id] = alert
        self.stats.opened[kind] += 1
        self._change(alert)
        return alert

    def _count_window(self, alert: Alert) -> None:
        """Count the alert's messages from ``window_start`` in the history (at opening)."""
        for data in self.history:
            if data.minute < alert.window_start:
                continue
            if alert.kind == NEGATIVE_SHARE:
                x = len({r.unit for r in data.records if alert.key.matches(r)})
                channels = self._negatives_of(alert, data.records)
                y = sum(channels.values())
                alert.track(float(y), 0.0, True, y, x, channels)
            else:
                observed, channels = self._minute_of(alert, data.records)
                expected = self._expected_at(alert, data.minute)
                alert.track(float(observed), expected, True, 0, 0, channels)

    def _describe(self, alert: Alert, minute: int, *, headline: bool = False) -> None:
        """Figures at opening, then top terms, samples and summary of the latest messages.

        ``headline``: the opening or a new severity: the pinned samples and the headline
        are taken again.
        """
        config = self.config
        if alert.revision == 0 and not alert.breakdown and not alert.pending_breakdown:
            self._count_window(alert)
            alert.severity = severity_of(alert)
        window = [d for d in self.history if alert.window_start <= d.minute <= alert.last_active]
        members = [r for d in window for r in d.records if alert.counts(r)]
        if alert.revision == 0 and len(members) < config.samples:
            older = [r for d in self.history if d.minute < alert.window_start for r in d.records]
            members = [r for r in older if alert.covers(r)][-config.samples :] + members
        if members and (headline or alert.revision == 0 or len(members) >= PINNED):
            share = self.phrases.share
            terms, term_grams = top_terms(
                members,
                lambda gram: share(gram, minute),
                alert.phrase,
                alert.grams,
                config.top_terms,
            )
            if alert.kind == EMERGING_ISSUE:
                texts = term_texts(alert.terms_ranked, members)
                words = [texts[t] for t in alert.terms_ranked if t in texts]
                terms = tuple(words[: config.top_terms]) or terms
            elif alert.issue_terms:
                terms = tuple(dict.fromkeys((*terms, *alert.issue_terms)))[: config.top_terms + 2]
            alert.top_terms = terms
            weights = characteristic_terms(members, lambda t: self.terms.share(t, minute))
            fresh = pick_samples(members, term_grams, alert.key.topic, config.samples, weights)
            if headline or not alert.pinned:
                alert.pinned = tuple((r.id, r.text) for r in fresh[:PINNED])
            pinned_ids = {i for i, _t in alert.pinned}
            rest = [(r.id, r.text) for r in reversed(fresh) if r.id not in pinned_ids]
            chosen = [*alert.pinned, *rest[: config.samples - len(alert.pinned)]]
            alert.sample_ids = tuple(i for i, _t in chosen)
            alert.sample_texts = tuple(t for _i, t in chosen)
        alert.summary = self._summary(alert, minute)
        if headline or not alert.headline:
            alert.headline = alert.summary
        alert.described_observed = alert.count
        alert.described_at = minute

    def _summary(self, alert: Alert, minute: int) -> str:
        end = alert.last_active
        key = alert.key
        return summarize(
            alert.kind,
            family=alert.family,
            topic=key.topic,
            channel=key.channel,
            brand=key.brand,
            product=key.product,
            phrase=alert.phrase,
            observed=alert.observed,
            expected=alert.expected,
            minutes=max(end, alert.window_start) - alert.window_start + 1,
            negatives=alert.negatives,
            messages=alert.messages,
            terms=alert.top_terms,
            labels=self.labels,
        )


def _named_topic(record: Signal) -> str:
    """A message's first taxonomy topic ('' when the taxonomy found none)."""
    topic = record.topics[0] if record.topics else ""
    return "" if topic == OTHER else topic
