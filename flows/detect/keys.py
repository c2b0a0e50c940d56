"""The keys the detector watches: exact state for active keys, a bounded table for the tail.

Real traffic names hundreds of thousands of products; most appear once or twice a day and
can never make an alert (a key needs a baseline first). :class:`KeyTable` gives a key its
monitors (:class:`KeyState`, about 3 KB) only once it has had ``promote_after`` messages;
until then it is a :class:`Candidate`, a few numbers in a table of at most
``candidate_keys`` entries where the key seen longest ago is forgotten first (like the
sketches of heavy-hitter algorithms, what it remembers is the recent heavy part of the
stream). The keys with state are kept in order of their last message, so forgetting the
stalest (past ``max_keys``, or silent for ``evict_after`` minutes) costs nothing per
minute: every operation here is proportional to the keys of the minute, never to the
number of keys ever seen.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from flows.detect.config import DetectConfig
from flows.detect.monitors import NegativeMonitor, Traffic, VolumeMonitor
from flows.detect.signals import Key
from flows.detect.stats import decay

#: Volume monitor families: all of a key's messages, or its negative ones.
ALL = "all"
COMPLAINTS = "complaints"


@dataclass(slots=True)
class KeyState:
    """The monitors of one key: all its messages, its negative ones, its negative share."""

    all: VolumeMonitor
    complaints: VolumeMonitor
    negative: NegativeMonitor

    @classmethod
    def new(cls, candidate: Candidate) -> KeyState:
        """Fresh monitors for a key, starting from what its candidate entry counted."""
        first, before = candidate.first, candidate.before
        return cls(
            VolumeMonitor(first, candidate.last, candidate.updated, before, candidate.seen),
            VolumeMonitor(first, candidate.last, candidate.updated, before, candidate.negatives),
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


@dataclass(slots=True)
class Candidate:
    """A key without monitors yet: its decayed messages and negative ones, as of ``updated``.

    ``before`` is the traffic's decayed total before its first minute (the baseline its
    monitors will start from).
    """

    first: int
    last: int
    updated: int
    before: float
    seen: float = 0.0
    negatives: float = 0.0


@dataclass
class KeyTable:
    """Keys with state (``exact``) and candidates, each in order of last message.

    Both are ordered dicts: moving a key to the end and forgetting the first are O(1) (a
    plain dict whose first entry is deleted again and again scans its deleted slots each
    time, which made a stream of new keys quadratic once the candidates were full).
    """

    exact: OrderedDict[Key, KeyState] = field(default_factory=OrderedDict)
    candidates: OrderedDict[Key, Candidate] = field(default_factory=OrderedDict)
    hot: set[Key] = field(default_factory=set)
    promoted: int = 0
    forgotten: int = 0
    dropped: int = 0

    def touch(
        self, key: Key, minute: int, x: int, y: int, traffic: Traffic, config: DetectConfig
    ) -> KeyState | None:
        """A key has ``x`` messages (``y`` negative) this minute: its state, or None.

        A candidate is promoted once its decayed messages, with these, reach
        ``promote_after``; its state then starts from them.
        """
        exact = self.exact
        state = exact.get(key)
        if state is not None:
            exact.move_to_end(key)
            return state
        candidates = self.candidates
        found = candidates.pop(key, None)
        if found is None:
            found = Candidate(minute, minute, minute - 1, traffic.before)
        else:
            factor = decay(config.share_half_life, minute - 1 - found.updated)
            found.seen *= factor
            found.negatives *= factor
            found.updated = minute - 1
        if found.seen + x >= config.promote_after:
            state = exact[key] = KeyState.new(found)
            self.promoted += 1
            return state
        found.seen += x
        found.negatives += y
        found.last = found.updated = minute
        candidates[key] = found
        if len(candidates) > config.candidate_keys:
            candidates.popitem(last=False)
            self.forgotten += 1
        return None

    def __len__(self) -> int:
        return len(self.exact)

    def __iter__(self) -> Iterator[Key]:
        return iter(self.exact)

    def shrink(self, minute: int, keep: set[Key], config: DetectConfig) -> int:
        """Forget keys silent for ``evict_after`` minutes, then the stalest past ``max_keys``.

        Keys in ``keep`` (alerting) and hot ones stay (they move to the end of the order).
        Returns how many keys with state were forgotten for being silent.
        """
        exact = self.exact
        horizon = minute - config.evict_after
        limit = config.max_keys if len(exact) <= config.max_keys else config.max_keys * 9 // 10
        evicted = 0
        moved = 0
        while exact and moved < len(exact):
            key = next(iter(exact))
            state = exact[key]
            stale = state.all.last_seen < horizon
            if not stale and len(exact) <= limit:
                break
            del exact[key]
            if key in keep or key in self.hot:
                exact[key] = state  # to the end: not forgotten
                moved += 1
                continue
            if stale:
                evicted += 1
            else:
                self.dropped += 1
        while self.candidates:
            key = next(iter(self.candidates))
            if self.candidates[key].last >= horizon:
                break
            del self.candidates[key]
            self.forgotten += 1
        return evicted

    def __deepcopy__(self, memo: dict[int, object]) -> KeyTable:
        return KeyTable(
            OrderedDict((key, copy.deepcopy(state)) for key, state in self.exact.items()),
            OrderedDict((key, copy.copy(c)) for key, c in self.candidates.items()),
            set(self.hot),
            self.promoted,
            self.forgotten,
            self.dropped,
        )
