"""Emerging phrases: grams that burst against their own baseline, never-seen ones included.

Each minute the detector gets the number of units (messages, a chat conversation counting
once) that contain each gram. A gram's baseline is its exponentially decayed count against
the decayed count of all units, so its expected count follows traffic (a surge raises both).
A gram never seen has the baseline of the largest count evicted so far plus half a message,
so a phrase nobody wrote before can alert as soon as a few customers write it in the same
minute, while a phrase that was common yesterday has a baseline.

Memory is bounded: at most ``gram_capacity`` baselines are kept. Counts are stored
multiplied by ``2 ** (minute / half_life)`` so decaying costs nothing per minute; when the
table is full the smallest quarter is evicted. Only grams that are elevated or hot have a
:class:`~flows.detect.monitors.Trigger` (the same k-of-n persistence as keys).

Grouping the grams of one burst into one phrase is done by the caller, which sees the
messages (:func:`cluster_grams`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from flows.detect.config import DetectConfig
from flows.detect.monitors import FIRE, RESOLVE, Minute, Trigger
from flows.detect.stats import poisson_score

_RENORMALIZE_EXPONENT = 40.0  # renormalize once the scale passes 2**40 (about 1e12)
_PRIOR = 0.5


@dataclass(slots=True)
class GramTrack:
    """Recent minutes and trigger of one elevated or hot gram."""

    recent: list[Minute] = field(default_factory=list)
    trigger: Trigger = field(default_factory=Trigger)


@dataclass(frozen=True, slots=True)
class GramEvent:
    """A gram that fired or resolved this minute, with its window evidence."""

    gram: int
    event: str
    observed: float
    expected: float
    score: float


@dataclass(slots=True)
class PhraseBursts:
    """Baselines and triggers of grams (see the module docstring)."""

    half_life: float
    table: dict[int, float] = field(default_factory=dict)
    total: float = 0.0
    base_minute: int | None = None
    floor: float = 0.0
    first_minute: int | None = None
    tracks: dict[int, GramTrack] = field(default_factory=dict)
    last: dict[int, Minute] = field(default_factory=dict)

    def __deepcopy__(self, memo: dict[int, object]) -> PhraseBursts:
        return PhraseBursts(
            self.half_life,
            dict(self.table),
            self.total,
            self.base_minute,
            self.floor,
            self.first_minute,
            {
                gram: GramTrack(list(t.recent), copy.deepcopy(t.trigger))
                for gram, t in self.tracks.items()
            },
            dict(self.last),
        )

    def _scale(self, minute: int) -> float:
        if self.base_minute is None:
            self.base_minute = minute
        exponent = (minute - self.base_minute) / self.half_life
        if exponent > _RENORMALIZE_EXPONENT:
            # 2.0 ** exponent overflows after a long jump in event time (about 256 days at
            # the default half-life); its inverse only underflows to 0, which is right
            shrink = 2.0**-exponent
            for gram in self.table:
                self.table[gram] *= shrink
            self.total *= shrink
            self.floor *= shrink
            self.base_minute = minute
            return 1.0
        return float(2.0 ** max(exponent, -_RENORMALIZE_EXPONENT))

    def baseline(self, gram: int, minute: int) -> float:
        """Decayed count of units with this gram (the eviction floor if unknown)."""
        scale = self._scale(minute)
        return self.table.get(gram, self.floor) / scale

    def expected(self, gram: int, units: int, minute: int) -> float:
        """Expected units with this gram among ``units`` this minute."""
        scale = self._scale(minute)
        decayed_total = self.total / scale
        value = self.table.get(gram, self.floor) / scale
        return units * (value + _PRIOR) / (decayed_total + units)

    def share(self, gram: int, minute: int) -> float:
        """Baseline share of units containing this gram (half a unit for an unknown one)."""
        scale = self._scale(minute)
        return (self.table.get(gram, self.floor) / scale + _PRIOR) / (self.total / scale + 1.0)

    def warm(self, minute: int, config: DetectConfig) -> bool:
        """Whether enough traffic has been seen for a phrase to count as new."""
        return self.first_minute is not None and minute - self.first_minute >= config.gram_warmup

    def step(
        self, minute: int, units: int, counts: Mapping[int, int], config: DetectConfig
    ) -> list[GramEvent]:
        """Score one minute of gram counts among ``units``; learn; return fire/resolve events."""
        if self.first_minute is None:
            self.first_minute = minute
        scale = self._scale(minute)
        warm = self.warm(minute, config)
        decayed_total = self.total / scale
        events: list[GramEvent] = []
        self.last = {}
        candidates = [g for g, c in counts.items() if c >= config.phrase_min_count] if warm else []
        for gram in sorted(set(candidates) | set(self.tracks)):
            c = counts.get(gram, 0)
            value = self.table.get(gram, self.floor) / scale
            e = units * (value + _PRIOR) / (decayed_total + units)
            score = poisson_score(c, e)
            elevated = (
                c >= config.phrase_min_count
                and c >= config.phrase_min_ratio * e
                and score >= config.phrase_elevated_score
            )
            track = self.tracks.get(gram)
            if track is None:
                if not elevated:
                    continue
                track = self.tracks[gram] = GramTrack()
            entry = Minute(minute, c, e, score, elevated)
            self.last[gram] = entry
            track.recent.append(entry)
            if len(track.recent) > config.persist_n:
                del track.recent[0]
            fire = False
            observed = sum(m.observed for m in track.recent if m.elevated)
            expected = sum(m.expected for m in track.recent if m.elevated)
            window = poisson_score(observed, expected)
            if elevated:
                persistent = track.trigger.elevated_count(minute, config) + 1 >= config.persist_k
                fire = observed >= config.phrase_min_total and (
                    (persistent and window >= config.phrase_fire_score)
                    or (score >= config.phrase_strong_score)
                )
            quiet = c < max(2.0, 3.0 * e)
            event = track.trigger.step(minute, elevated, fire, quiet, config)
            if event in (FIRE, RESOLVE):
                events.append(GramEvent(gram, event, observed, expected, window))
            if not track.trigger.hot and not any(m.elevated for m in track.recent):
                del self.tracks[gram]
        self._learn(counts, units, scale, config)
        return events

    def _learn(
        self, counts: Mapping[int, int], units: int, scale: float, config: DetectConfig
    ) -> None:
        table = self.table
        for gram, c in counts.items():
            track = self.tracks.get(gram)
            if track is not None and (track.trigger.hot or track.recent[-1].elevated):
                e = track.recent[-1].expected
                c = min(c, int(e + 2.0 * math.sqrt(e) + 1.0))
            table[gram] = table.get(gram, 0.0) + c * scale
        self.total += units * scale
        if len(table) > config.gram_capacity:
            self._evict(config.gram_capacity * 3 // 4)

    def _evict(self, keep: int) -> None:
        """Drop all but the ``keep`` largest baselines (ties: the larger gram id stays).

        Ranked in numpy: long messages bring tens of thousands of new grams a minute, and a
        sort of the table in Python each minute was most of the flow's time on them.
        """
        size = len(self.table)
        grams = np.fromiter(self.table.keys(), dtype=np.uint64, count=size)
        values = np.fromiter(self.table.values(), dtype=np.float64, count=size)
        cut = size - keep
        order = np.lexsort((grams, values))[:cut]
        self.floor = max(self.floor, float(values[order[-1]]))
        tracks, table = self.tracks, self.table
        for gram in grams[order].tolist():
            if gram not in tracks:
                del table[gram]

    def skip(self, minutes: int) -> None:
        """A gap without messages: decay happens through the clock, triggers are reset."""
        for track in self.tracks.values():
            track.recent.clear()


def cluster_grams(
    units_of: Mapping[int, set[str]], min_overlap: float = 0.6, min_shared: int = 1
) -> list[list[int]]:
    """Group grams that mostly occur in the same units (overlapping n-grams of one burst).

    Two grams join when the units they share are at least ``min_overlap`` of the smaller
    set and at least ``min_shared``; groups are the connected components, each sorted by
    descending unit count then id, largest first in that order.
    """
    grams = sorted(units_of, key=lambda g: (-len(units_of[g]), g))
    parent = {g: g for g in grams}

    def root(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    for i, a in enumerate(grams):
        units_a = units_of[a]
        for b in grams[i + 1 :]:
            units_b = units_of[b]
            smaller = min(len(units_a), len(units_b))
            shared = len(units_a & units_b)
            if smaller and shared >= min_shared and shared >= min_overlap * smaller:
                ra, rb = root(a), root(b)
                if ra != rb:
                    parent[rb] = ra
    groups: dict[int, list[int]] = {}
    for g in grams:
        groups.setdefault(root(g), []).append(g)
    return [groups[r] for r in sorted(groups, key=lambda r: grams.index(r))]


def units_with(
    grams: Iterable[int], records: Iterable[tuple[str, Iterable[int]]]
) -> dict[int, set[str]]:
    """The units whose message contains each of ``grams`` (``records``: unit, gram ids)."""
    wanted = set(grams)
    out: dict[int, set[str]] = {g: set() for g in wanted}
    for unit, ids in records:
        for gram in wanted.intersection(ids):
            out[gram].add(unit)
    return out
