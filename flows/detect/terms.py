"""Emerging issues: the words of complaints bursting together, whatever the wording.

A wave of complaints about something no taxonomy topic covers ("tài khoản bị hack", "mất
OTP", "bị trừ tiền" in a hundred wordings) shares words, not a phrase. Each minute the
detector gets, for every term (a syllable or a 2-gram, :func:`~flows.detect.phrases.term_ids`),
the number of complaint units containing it. :class:`TermBursts` keeps each term's decayed
share of complaints (its baseline, bounded: at most ``term_capacity`` terms, the smallest
evicted, the largest evicted value the baseline of unknown terms, as for phrases) and its
counts of the last minutes, and scores every term seen this minute on the sliding windows
of ``scales`` minutes: a term is *bursting* when a window holds at least
``term_min_count`` complaints with it, ``term_min_ratio`` times its expectation, at a
Poisson score of ``term_score``. The expectation uses the upper end of the baseline (its
decayed count plus one standard error): a rare term's baseline is uncertain.

:func:`group_terms` then groups the bursting terms by co-occurrence in the complaints of
the last minutes (connected components of "the complaints of the rarer term mostly hold
the other too"). A group is an emerging issue when it holds two terms that share no word
(a 2-gram and its own syllables are one piece of evidence, not two) and enough complaints
hold two of its terms (:class:`Issue`); the detector decides whether it is new.

Per-minute work is proportional to the distinct terms of the minute's complaints, never
to the number of terms ever seen.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flows.detect.config import DetectConfig
from flows.detect.phrases import term_spans
from flows.detect.signals import Signal
from flows.detect.stats import MinuteCounts, decay, poisson_score

_RENORMALIZE_HALVES = 40.0
_PRIOR = 0.5
#: Complaints whose text is re-read to find which words a group's terms are made of.
_TEXT_SAMPLE = 40


@dataclass(frozen=True, slots=True)
class TermWindow:
    """A term's strongest window this minute: complaints with it, expected, score."""

    term: int
    scale: int
    observed: int
    expected: float
    score: float


@dataclass(slots=True)
class TermBursts:
    """Baselines and recent counts of complaint terms (see the module docstring).

    Baselines are stored multiplied by ``2 ** (minute / half_life)`` (no per-minute decay);
    ``recent`` holds ``(minute, count)`` of each term's minutes within the longest scale,
    ``units`` the complaint units of those minutes.
    """

    half_life: float
    table: dict[int, float] = field(default_factory=dict)
    total: float = 0.0
    base_minute: int | None = None
    floor: float = 0.0
    first_minute: int | None = None
    recent: dict[int, MinuteCounts] = field(default_factory=dict)
    units: dict[int, int] = field(default_factory=dict)
    bursting: dict[int, TermWindow] = field(default_factory=dict)
    minute: int = 0

    def __deepcopy__(self, memo: dict[int, object]) -> TermBursts:
        return TermBursts(
            self.half_life,
            dict(self.table),
            self.total,
            self.base_minute,
            self.floor,
            self.first_minute,
            {term: copy.deepcopy(counts) for term, counts in self.recent.items()},
            dict(self.units),
            dict(self.bursting),
            self.minute,
        )

    def _scale(self, minute: int) -> float:
        if self.base_minute is None:
            self.base_minute = minute
        halves = (minute - self.base_minute) / self.half_life
        if halves > _RENORMALIZE_HALVES:
            factor = decay(self.half_life, minute - self.base_minute)
            for term in self.table:
                self.table[term] *= factor
            self.total *= factor
            self.floor *= factor
            self.base_minute = minute
            return 1.0
        return 2.0**halves

    def share(self, term: int, minute: int) -> float:
        """Baseline share of complaints holding ``term`` (half a unit for an unknown one)."""
        scale = self._scale(minute)
        return (self.table.get(term, self.floor) / scale + _PRIOR) / (self.total / scale + 1.0)

    def warm(self, minute: int, config: DetectConfig) -> bool:
        """Whether enough complaints have been seen for a term to count as bursting."""
        return self.first_minute is not None and minute - self.first_minute >= config.term_warmup

    def step(
        self, minute: int, units: int, counts: Mapping[int, int], config: DetectConfig
    ) -> dict[int, TermWindow]:
        """Score one minute of term counts among ``units`` complaints; learn; the bursting."""
        if self.first_minute is None:
            self.first_minute = minute
        self.minute = minute
        scale = self._scale(minute)
        longest = config.longest_scale
        self.units[minute] = units
        if len(self.units) > longest:
            for old in [m for m in self.units if m <= minute - longest]:
                del self.units[old]
        windows = {
            w: sum(u for m, u in self.units.items() if m > minute - w) for w in config.scales
        }
        share_base = self.total / scale + 1.0
        warm = self.warm(minute, config)
        bursting: dict[int, TermWindow] = {}
        recent = self.recent
        oldest = minute - longest + 1
        least = config.term_min_count
        for term, count in counts.items():
            mine = recent.get(term)
            if mine is None:
                mine = recent[term] = MinuteCounts()
            mine.add(minute, count)
            mine.trim(oldest, longest)
            if not warm or mine.total(oldest, minute) < least:
                continue
            found = self._score(term, mine, minute, windows, share_base, scale, config)
            if found is not None:
                bursting[term] = found
        self.bursting = bursting
        self._learn(counts, units, scale, config)
        if minute % max(longest, 1) == 0:
            self._prune(minute, longest)
        return bursting

    def _score(
        self,
        term: int,
        mine: MinuteCounts,
        minute: int,
        windows: Mapping[int, int],
        share_base: float,
        scale: float,
        config: DetectConfig,
    ) -> TermWindow | None:
        seen = self.table.get(term, self.floor) / scale
        # the upper end of what the baseline allows: a term seen twice yesterday may well
        # be four times as common, and a burst of it must beat that
        share = (seen + _PRIOR + math.sqrt(seen + _PRIOR)) / share_base
        best: TermWindow | None = None
        for w in config.scales:
            observed = mine.total(minute - w + 1, minute)
            if observed < config.term_min_count:
                continue
            expected = share * windows[w]
            if observed < config.term_min_ratio * expected:
                continue
            score = poisson_score(observed, expected)
            if score >= config.term_score and (best is None or score > best.score):
                best = TermWindow(term, w, observed, expected, score)
        return best

    def _learn(
        self, counts: Mapping[int, int], units: int, scale: float, config: DetectConfig
    ) -> None:
        table = self.table
        base = self.total / scale + 1.0
        for term, count in counts.items():
            if term in self.bursting:  # an incident must not become the baseline
                e = units * (table.get(term, self.floor) / scale + _PRIOR) / base
                count = min(count, int(e + 2.0 * math.sqrt(e) + 1.0))
            table[term] = table.get(term, 0.0) + count * scale
        self.total += units * scale
        if len(table) > config.term_capacity:
            self._evict(config.term_capacity * 3 // 4)

    def _evict(self, keep: int) -> None:
        values = sorted(self.table.values())
        cut = len(values) - keep
        if cut <= 0:
            return
        limit = values[cut - 1]
        self.floor = max(self.floor, limit)
        for term in [t for t, v in self.table.items() if v <= limit and t not in self.bursting]:
            del self.table[term]
            self.recent.pop(term, None)

    def _prune(self, minute: int, longest: int) -> None:
        """Forget the recent counts of terms not seen within the longest scale."""
        stale = [t for t, counts in self.recent.items() if (counts.last or 0) <= minute - longest]
        for term in stale:
            del self.recent[term]

    def skip(self) -> None:
        """A long gap without messages: recent counts are forgotten (baselines decay)."""
        self.recent.clear()
        self.units.clear()
        self.bursting = {}


@dataclass(frozen=True, slots=True)
class Issue:
    """A group of co-occurring bursting terms: its terms (strongest first) and complaints."""

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


def group_terms(
    bursting: Mapping[int, TermWindow], complaints: Sequence[Signal], config: DetectConfig
) -> list[Issue]:
    """Group bursting terms by co-occurrence among ``complaints``; the groups that qualify.

    A group qualifies with two terms that share no word and ``issue_min_messages``
    complaints holding two of its terms; its strongest term must reach
    ``issue_fire_score``. Largest groups first.
    """
    if len(bursting) < 2:
        return []
    units_of: dict[int, set[str]] = {t: set() for t in bursting}
    for record in complaints:
        for term in bursting.keys() & set(record.terms):
            units_of[term].add(record.unit)
    terms = sorted((t for t, u in units_of.items() if len(u) >= 2), key=lambda t: -len(units_of[t]))
    parent = {t: t for t in terms}

    def root(t: int) -> int:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for i, a in enumerate(terms):
        units_a = units_of[a]
        for b in terms[i + 1 :]:
            units_b = units_of[b]
            shared = len(units_a & units_b)
            if shared >= 2 and shared >= config.term_overlap * min(len(units_a), len(units_b)):
                ra, rb = root(a), root(b)
                if ra != rb:
                    parent[rb] = ra
    groups: dict[int, list[int]] = {}
    for t in terms:
        groups.setdefault(root(t), []).append(t)
    issues = []
    for group in groups.values():
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
        issues.append(Issue(ranked, members, strongest))
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
