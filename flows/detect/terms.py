"""Emerging issues: the words of complaints bursting together, whatever the wording.

A wave of complaints about something no taxonomy topic covers ("tài khoản bị hack", "mất
OTP", "bị trừ tiền" in a hundred wordings) shares words, not a phrase. Each minute the
detector gets every complaint unit (a negative or complaint-flagged message; a chat
conversation once) with its terms (syllables and 2-grams, :func:`~flows.detect.phrases.term_ids`),
its channel and its brand. :class:`TermBursts` counts each term in three *scopes*: all
complaints, the complaints of the message's channel and those of its brand, because most
incidents start on one channel or one brand, where a word that is common overall may be
rare ("pin" among the complaints of a small channel). A channel or brand becomes a scope
once it has had ``term_scope_min`` complaints recently (at most ``term_scopes`` scopes, the
stalest forgotten first): a stream of one-off brands never makes one.

In each scope, each term has a decayed share of the scope's complaints (its baseline,
bounded: at most ``term_capacity`` terms overall, the smallest of a scope evicted, the
largest evicted value the baseline of its unknown terms) and its counts of the last
minutes. Every term seen this minute is scored on the sliding windows of ``scales``
minutes: it is *bursting* when a window holds at least ``term_min_count`` complaints with
it, ``term_min_ratio`` times its expectation, at a Poisson score of ``term_score``. The
expectation uses the upper end of the baseline (its decayed count plus one standard
error): a rare term's baseline is uncertain.

:func:`group_terms` then groups a scope's bursting terms by co-occurrence in its
complaints of the last minutes (connected components of "the complaints of the rarer
term mostly hold the other too"). A group is an emerging issue when it holds two terms
that share no word (a 2-gram and its own syllables are one piece of evidence, not two)
and enough complaints hold two of its terms (:class:`Issue`); the detector decides
whether it is new.

Per-minute work is proportional to the terms of the minute's complaints (three scopes
each), never to the number of terms, channels or brands ever seen.
"""

from __future__ import annotations

import copy
import math
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from flows.detect.bursts import cluster_grams
from flows.detect.config import DetectConfig
from flows.detect.monitors import tail_of
from flows.detect.phrases import term_spans
from flows.detect.signals import Signal
from flows.detect.stats import MinuteCounts, decay, poisson_score

_RENORMALIZE_HALVES = 40.0
_PRIOR = 0.5
#: Complaints whose text is re-read to find which words a group's terms are made of.
_TEXT_SAMPLE = 40

#: The scope of every complaint.
EVERYWHERE = ("", "")


class TermWindow(NamedTuple):
    """A term's strongest window this minute in one scope: complaints, expected, score."""

    term: int
    scope: tuple[str, str]
    scale: int
    observed: int
    expected: float
    score: float


class Complaint(NamedTuple):
    """What the term detector needs of a complaint unit: where it was, its terms."""

    channel: str
    brand: str
    terms: frozenset[int] | Sequence[int]


@dataclass(slots=True)
class Scope:
    """One scope's baselines (scaled decayed counts), floor, recent counts and units."""

    since: int
    table: dict[int, float] = field(default_factory=dict)
    total: float = 0.0
    floor: float = 0.0
    units: MinuteCounts = field(default_factory=MinuteCounts)
    recent: dict[int, MinuteCounts] = field(default_factory=dict)
    last: int = 0
    pending: list[tuple[int, Counter[int], int, frozenset[int]]] = field(default_factory=list)
    """The last ``term_guard`` minutes, not learned yet: (minute, counts, units, bursting)."""

    def __deepcopy__(self, memo: dict[int, object]) -> Scope:
        return Scope(
            self.since,
            dict(self.table),
            self.total,
            self.floor,
            copy.deepcopy(self.units),
            {t: copy.deepcopy(c) for t, c in self.recent.items()},
            self.last,
            list(self.pending),  # its entries are never changed in place
        )


@dataclass(slots=True)
class TermBursts:
    """Scopes of complaint terms and this minute's bursting ones (module docstring).

    Baselines are stored multiplied by ``2 ** (minute / half_life)`` (no per-minute decay).
    ``candidates`` counts, decayed, the complaints of channels and brands that are not yet
    scopes (``(count, last minute)``, least recently seen first).
    """

    half_life: float
    scopes: dict[tuple[str, str], Scope] = field(default_factory=dict)
    candidates: OrderedDict[tuple[str, str], tuple[float, int]] = field(default_factory=OrderedDict)
    base_minute: int | None = None
    first_minute: int | None = None
    bursting: dict[tuple[tuple[str, str], int], TermWindow] = field(default_factory=dict)
    size: int = 0
    minute: int = 0

    def __deepcopy__(self, memo: dict[int, object]) -> TermBursts:
        return TermBursts(
            self.half_life,
            {name: copy.deepcopy(scope) for name, scope in self.scopes.items()},
            OrderedDict(self.candidates),
            self.base_minute,
            self.first_minute,
            dict(self.bursting),
            self.size,
            self.minute,
        )

    def _scale(self, minute: int) -> float:
        if self.base_minute is None:
            self.base_minute = minute
        halves = (minute - self.base_minute) / self.half_life
        if halves > _RENORMALIZE_HALVES:
            factor = decay(self.half_life, minute - self.base_minute)
            for scope in self.scopes.values():
                for term in scope.table:
                    scope.table[term] *= factor
                scope.total *= factor
                scope.floor *= factor
            self.base_minute = minute
            return 1.0
        return float(2.0 ** max(halves, -_RENORMALIZE_HALVES))

    def share(self, term: int, minute: int, scope: tuple[str, str] = EVERYWHERE) -> float:
        """Baseline share of a scope's complaints holding ``term``."""
        found = self.scopes.get(scope) or self.scopes.get(EVERYWHERE)
        if found is None:
            return 0.0
        scale = self._scale(minute)
        seen = found.table.get(term, found.floor) / scale
        return (seen + _PRIOR) / (found.total / scale + 1.0)

    def warm(self, minute: int, config: DetectConfig) -> bool:
        """Whether enough complaints have been seen for a term to count as bursting."""
        return self.first_minute is not None and minute - self.first_minute >= config.term_warmup

    def units(self, minute: int, scope: tuple[str, str] = EVERYWHERE) -> int:
        """Complaint units of one recent minute in a scope."""
        found = self.scopes.get(scope)
        return found.units.total(minute, minute) if found is not None else 0

    def step(
        self, minute: int, complaints: Sequence[Complaint], config: DetectConfig
    ) -> dict[tuple[tuple[str, str], int], TermWindow]:
        """Score one minute of complaints' terms in every scope; learn; the bursting terms."""
        if self.first_minute is None:
            self.first_minute = minute
        self.minute = minute
        scale = self._scale(minute)
        by_scope: dict[tuple[str, str], Counter[int]] = {EVERYWHERE: Counter()}
        units: Counter[tuple[str, str]] = Counter()
        for complaint in complaints:
            by_scope[EVERYWHERE].update(complaint.terms)
            units[EVERYWHERE] += 1
            for where in (("channel", complaint.channel), ("brand", complaint.brand)):
                if where[1] and self._counts_in(where, minute, config):
                    counter = by_scope.get(where)
                    if counter is None:
                        counter = by_scope[where] = Counter()
                    counter.update(complaint.terms)
                    units[where] += 1
        warm = self.warm(minute, config)
        bursting: dict[tuple[tuple[str, str], int], TermWindow] = {}
        for name, counts in by_scope.items():
            scope = self.scopes.get(name)
            if scope is None:
                scope = self.scopes[name] = Scope(minute)
            scope.last = minute
            scope.units.add(minute, units[name])
            scope.units.trim(minute - config.longest_scale + 1, config.longest_scale)
            ready = warm and minute - scope.since >= config.term_warmup
            found = self._step_scope(name, scope, minute, counts, units[name], scale, ready, config)
            for term, window in found.items():
                bursting[(name, term)] = window
        self.bursting = bursting
        if self.size > config.term_capacity:
            self._evict(config)
        if minute % 60 == 0:
            self._prune(minute, config)
        return bursting

    def _counts_in(self, scope: tuple[str, str], minute: int, config: DetectConfig) -> bool:
        """Whether a channel or brand is a scope (after noting one more complaint of it)."""
        if scope in self.scopes:
            return True
        count, last = self.candidates.pop(scope, (0.0, minute))
        count = count * decay(config.term_half_life, minute - last) + 1.0
        if count >= config.term_scope_min and len(self.scopes) < config.term_scopes + 1:
            return True
        self.candidates[scope] = (count, minute)
        if len(self.candidates) > 4 * config.term_scopes:
            self.candidates.popitem(last=False)  # O(1), where a dict's first entry is not
        return False

    def _step_scope(
        self,
        name: tuple[str, str],
        scope: Scope,
        minute: int,
        counts: Mapping[int, int],
        units: int,
        scale: float,
        ready: bool,
        config: DetectConfig,
    ) -> dict[int, TermWindow]:
        """Score and learn one scope's terms of the minute; its bursting ones."""
        longest = config.longest_scale
        oldest = minute - longest + 1
        windows = {w: scope.units.total(minute - w + 1, minute) for w in config.scales}
        base = scope.total / scale + 1.0
        found: dict[int, TermWindow] = {}
        recent, table = scope.recent, scope.table
        least = config.term_min_count
        for term, count in counts.items():
            mine = recent.get(term)
            if mine is None:
                mine = recent[term] = MinuteCounts()
            mine.add(minute, count)
            mine.trim(oldest, longest)
            if not ready or mine.total(oldest, minute) < least:
                continue
            seen = table.get(term, scope.floor) / scale
            # the upper end of what the baseline allows: a term seen twice yesterday may
            # well be four times as common, and a burst of it must beat that
            share = (seen + _PRIOR + math.sqrt(seen + _PRIOR)) / base
            best: TermWindow | None = None
            for w in config.scales:
                observed = mine.total(minute - w + 1, minute)
                if observed < least:
                    continue
                expected = share * windows[w]
                if observed < config.term_min_ratio * expected:
                    continue
                tail = tail_of(w)
                if w > tail:  # the rise must go on: a long window holds an ended one
                    lately = mine.total(minute - tail + 1, minute)
                    lately_units = scope.units.total(minute - tail + 1, minute)
                    if lately < 2 or lately < config.term_min_ratio * share * lately_units:
                        continue
                score = poisson_score(observed, expected)
                if score >= config.term_score and (best is None or score > best.score):
                    best = TermWindow(term, name, w, observed, expected, score)
            if best is not None:
                found[term] = best
        now = frozenset(found)
        scope.pending.append((minute, Counter(counts), units, now))
        self._learn(scope, minute - config.term_guard, now)
        return found

    def _learn(self, scope: Scope, through: int, now: frozenset[int]) -> None:
        """Learn the pending minutes up to ``through`` (the guard band has passed them).

        A term that was bursting in a minute, or is bursting now, counts at most what its
        baseline expected of it then (plus two standard deviations): an incident must not
        become the baseline.
        """
        table, pending = scope.table, scope.pending
        while pending and pending[0][0] <= through:
            minute, counts, units, bursting = pending.pop(0)
            scale = self._scale_at(minute)
            base = scope.total / scale + 1.0
            for term, count in counts.items():
                if term in bursting or term in now:
                    e = units * (table.get(term, scope.floor) / scale + _PRIOR) / base
                    count = min(count, int(e + 2.0 * math.sqrt(e) + 1.0))
                if term not in table:
                    self.size += 1
                table[term] = table.get(term, 0.0) + count * scale
            scope.total += units * scale

    def _scale_at(self, minute: int) -> float:
        """The scale of a past minute (its values are stored multiplied by it)."""
        base = self.base_minute if self.base_minute is not None else minute
        return float(2.0 ** ((minute - base) / self.half_life))

    def _evict(self, config: DetectConfig) -> None:
        """Evict the smallest baselines of every scope, each down to 3/4 of its size."""
        for scope in self.scopes.values():
            table = scope.table
            keep = len(table) * 3 // 4
            values = sorted(table.values())
            cut = len(values) - keep
            if cut <= 0:
                continue
            limit = values[cut - 1]
            scope.floor = max(scope.floor, limit)
            busy = {t for (n, t) in self.bursting if scope is self.scopes.get(n)}
            for term in [t for t, v in table.items() if v <= limit and t not in busy]:
                del table[term]
                scope.recent.pop(term, None)
        self.size = sum(len(s.table) for s in self.scopes.values())

    def _prune(self, minute: int, config: DetectConfig) -> None:
        """Forget stale recent counts, and scopes silent for ``evict_after`` minutes."""
        longest = config.longest_scale
        for scope in self.scopes.values():
            stale = [t for t, c in scope.recent.items() if (c.last or 0) <= minute - longest]
            for term in stale:
                del scope.recent[term]
        silent = [
            n
            for n, s in self.scopes.items()
            if n != EVERYWHERE and s.last < minute - config.evict_after
        ]
        for name in silent:
            self.size -= len(self.scopes.pop(name).table)

    def skip(self) -> None:
        """A long gap without messages: recent counts are forgotten (baselines decay)."""
        for scope in self.scopes.values():
            scope.recent.clear()
            scope.units = MinuteCounts()
        self.bursting = {}


@dataclass(frozen=True, slots=True)
class Issue:
    """A group of co-occurring bursting terms of one scope: terms (strongest first), complaints."""

    scope: tuple[str, str]
    terms: tuple[int, ...]
    members: tuple[Signal, ...]
    strongest: TermWindow

    @property
    def score(self) -> float:
        """The strongest term's window score."""
        return self.strongest.score


def holds_two(record: Signal, terms: frozenset[int]) -> bool:
    """Whether a complaint holds at least two of ``terms``."""
    found = 0
    for term in record.terms:
        if term in terms:
            found += 1
            if found == 2:
                return True
    return False


def in_scope(record: Signal, scope: tuple[str, str]) -> bool:
    """Whether a message is in a scope (everywhere, a channel, a brand)."""
    kind, name = scope
    if kind == "channel":
        return record.channel == name
    if kind == "brand":
        return record.brand == name
    return True


def group_terms(
    scope: tuple[str, str],
    bursting: Mapping[int, TermWindow],
    complaints: Sequence[Signal],
    config: DetectConfig,
) -> list[Issue]:
    """Group a scope's bursting terms by co-occurrence in its complaints; those that qualify.

    A group qualifies with two terms that share no word and ``issue_min_messages``
    complaints holding two of its terms; its strongest term must reach
    ``issue_fire_score``. Largest groups first.
    """
    if len(bursting) < 2:
        return []
    complaints = [r for r in complaints if in_scope(r, scope)]
    units_of: dict[int, set[str]] = {t: set() for t in bursting}
    wanted = bursting.keys()
    for record in complaints:
        for term in wanted & set(record.terms):
            units_of[term].add(record.unit)
    shared = {t: u for t, u in units_of.items() if len(u) >= 2}
    groups = cluster_grams(shared, config.term_overlap, min_shared=2)
    issues = []
    for group in groups:
        if len(group) < 2:
            continue
        chosen = frozenset(group)
        members = tuple(r for r in complaints if holds_two(r, chosen))
        if len({r.unit for r in members}) < config.issue_min_messages:
            continue
        strongest = max((bursting[t] for t in group), key=lambda w: (w.score, -w.term))
        if strongest.score < config.issue_fire_score:
            continue
        words = term_words(chosen, members)
        if not has_unrelated(group, words):
            continue
        ranked = tuple(sorted(group, key=lambda t: (-bursting[t].score, t)))
        issues.append(Issue(scope, ranked, members, strongest))
    issues.sort(key=lambda i: (-len({r.unit for r in i.members}), -i.score, i.terms))
    return issues


def term_words(terms: Iterable[int], records: Sequence[Signal]) -> dict[int, frozenset[str]]:
    """The folded words each of ``terms`` is made of, read from (a sample of) ``records``."""
    wanted = set(terms)
    out: dict[int, frozenset[str]] = {}
    for record in records[:_TEXT_SAMPLE]:
        for span in term_spans(record.text_normalized):
            if span.id in wanted and span.id not in out:
                out[span.id] = frozenset(span.folded.split())
        if len(out) == len(wanted):
            break
    return out


def has_unrelated(group: Sequence[int], words: Mapping[int, frozenset[str]]) -> bool:
    """Whether two terms of ``group`` share no word (independent evidence)."""
    known = [words[t] for t in group if t in words]
    return any(a.isdisjoint(b) for i, a in enumerate(known) for b in known[i + 1 :])


def term_texts(terms: Sequence[int], records: Sequence[Signal]) -> dict[int, str]:
    """The most common written form of each term among (a sample of) ``records``."""
    wanted = set(terms)
    forms: dict[int, dict[str, int]] = {}
    for record in records[:_TEXT_SAMPLE]:
        for span in term_spans(record.text_normalized):
            if span.id in wanted:
                counter = forms.setdefault(span.id, {})
                counter[span.surface] = counter.get(span.surface, 0) + 1
    return {
        term: min(counter.items(), key=lambda kv: (-kv[1], -_marks(kv[0]), kv[0]))[0]
        for term, counter in forms.items()
    }


def _marks(text: str) -> int:
    return sum(1 for ch in text if ord(ch) > 127)
