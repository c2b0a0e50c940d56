"""Every setting of the detectors, in one frozen, documented dataclass.

The defaults below are what the benchmarks measured (``bench/alerts.py``). Each can be set
without code: as ``VOC_DETECT_<NAME>`` (``VOC_DETECT_FIRE_SCORE=7``,
``VOC_DETECT_SCALES=5,15,60``), or in a YAML file named by ``VOC_DETECT_FILE`` (one
``name: value`` per line; the environment wins over the file). ``voc config`` prints the
values in effect. A value that cannot work (a negative time, ``persist_k`` above
``persist_n``...) stops the flow at start with a message naming the setting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Annotated, Any

from pydantic import BeforeValidator

from schemas.errors import ConfigError

#: Recorded on every alert row; bump it when a rule below changes meaning.
DETECTOR_VERSION = "detect-4"


def _words(value: Any) -> Any:
    """A comma-separated environment value as a tuple (``5,15,60``, ``urgent,churn_risk``)."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return value


Words = Annotated[tuple[str, ...], BeforeValidator(_words)]
Minutes = Annotated[tuple[int, ...], BeforeValidator(_words)]


@dataclass(frozen=True)
class DetectConfig:
    """Settings of the emerging-issue detectors (times in minutes of event time unless noted).

    **Stream and state.**

    - ``wait_s``: lateness tolerated inside one input partition (seconds of event time).
      A message more than this behind the newest one of its partition is a late item.
    - ``idle_grace_s``: wall-clock seconds after which a silent partition no longer holds
      back the minute clock (its watermark then follows the wall clock).
    - ``startup_grace_s``: wall-clock seconds to wait for every partition to report before
      the first minute is closed.
    - ``history_minutes``: minutes of customer messages kept for evidence, sample messages
      and the co-occurrence of bursting terms; memory holds rate x this many minutes
      (about 0.8 KB a message).
    - ``evict_after``: a key with no message for this long (and no alert) is forgotten.
    - ``max_keys``: keys with exact state at most (about 3 KB each). A key gets exact
      state once it has had ``promote_after`` messages; before, it is one entry of a
      bounded table of ``candidate_keys`` (least recently seen forgotten first), so a
      stream where every message names a new product costs the same per minute as any
      other. Past ``max_keys``, the keys seen longest ago (not hot, no alert) are
      forgotten. A forgotten key starts again with no baseline when it comes back.
    - ``max_gap``: a gap in event time longer than this is skipped in one step.
    - ``conversation_memory``: chat conversations remembered at most. A conversation is
      one customer voice: it counts for a key in the first minute it does and not again
      within the longest scale (counted in every minute it has a turn, a chat channel's
      longer windows would spread 1.4 times more than a Poisson count and alert on noise).

    **Volume spikes** (per key, on all its messages and on its complaints; each key is
    scored on its last minute and on sliding windows of ``scales`` minutes):

    - ``share_half_life``: half-life of the key's share of traffic (its baseline).
    - ``count_half_life``: half-life of the mean and variance of its per-minute count;
      ``dispersion_half_life``: of its dispersion (variance over mean around the
      expectation, which scales every Poisson test).
    - ``warmup``: minutes a key must have been seen before it may alert, and
      ``min_baseline``: decayed messages its baseline must hold.
    - *One-minute scale.* ``persist_k`` of ``persist_n`` elevated minutes fire.
      ``elevated_score``: ``-log10 p`` of one minute's count against its expected count
      (share baseline x the rest of traffic, dispersion-scaled Poisson; for a key holding
      5% of traffic or more, a binomial share of the minute's units: its expectation from
      the rest of traffic is then too noisy, see :func:`~flows.detect.monitors.share_score`)
      to be *elevated*;
      ``min_ratio``: observed / expected of an elevated minute; ``count_z``: how many
      Poisson standard deviations the raw count must exceed its own recent mean by (a
      surge raises counts but not shares, a drop of other traffic raises shares but not
      counts: both must rise). The elevated minutes fire together at their share of the
      false-alarm budget (below), as a window of ``persist_n`` minutes, and at least at
      ``fire_score``; ``strong_score``: one minute this strong fires at once. ``min_volume``:
      messages in the firing minutes; ``min_minute_volume``: in one elevated minute;
      ``expected_floor``: noise floor of one minute's expectation.
    - *Longer scales.* ``scales``: the sliding windows (minutes). A window fires when its
      score reaches the key's share of the false-alarm budget (below), with at least
      ``scale_min_volume`` messages, ``scale_min_excess`` above expectation, ``scale_min_ratio``
      times it, ``scale_count_z`` Poisson standard deviations above the key's own recent
      count (a share that rises because other traffic fell is not an incident), and no
      single minute holding more than ``scale_max_minute_share`` of them (a one-minute
      burst is the one-minute scale's to judge). ``scale_expected_floor``: noise
      floor of the expectation per minute of window. A key whose window holds at least
      ``scale_watch_volume`` messages at a score of ``scale_watch_score`` is *watched*: it
      learns its baseline clipped to its expectation, so the first minutes of an incident
      on a small key do not become its baseline.
    - *The false-alarm budget.* ``false_alarms_per_day`` is shared by every key, both
      families (all messages, complaints) and every scale, the one-minute one included: a
      window of ``w`` minutes is one of ``1440 / w`` tests a day of each, so it fires at
      ``-log10 p >= log10(tests a day x keys x families x scales / budget) +
      scale_margin``, with ``keys`` the warm keys (at least ``budget_keys``). With 600 keys
      and the default scales that is 6.3 for the one-minute scale (at least
      ``fire_score``), 6.2 for 5 minutes, 5.9 for 10, 5.8 for 15 and 5.2 for 60; ten
      times more keys add 1 to each (2,000 keys: 6.9, 6.8, 6.5, 6.3, 5.7). A window is
      tested only in minutes its key has messages, and the counts of small keys are
      discrete (a key of 0.05 a minute needs 8 messages where 0.25 are expected: 1e-9), so
      the budget is rarely spent on them; ``scale_margin`` raises every threshold where the
      Poisson model is too kind (dispersed traffic, overlapping windows).
    - ``group_window``: a spike on another topic of the same channel or brand as an alert
      opened less than this many minutes ago, and smaller than it, joins that alert;
      ``onset_window``: so does a smaller rise anywhere that started within this many
      minutes of an open alert's first elevated minute.
    - ``resolve_after``: quiet minutes before an alert resolves; ``cooldown``: minutes
      after resolving during which the same incident does not open a new alert.
    - ``drill_coverage``: share of a key's excess a narrower key must explain for the alert
      to name the narrower key.
    - ``adapt_after``: minutes an elevated key is hot before its baseline learns the new
      level (a lasting change then resolves instead of alerting forever).

    **Negative share**: ``negative_half_life``, ``negative_min_minute`` (messages in an
    elevated minute), ``negative_min_total`` (negative messages in the firing minutes),
    ``negative_min_lift`` (share above the baseline share).

    **Emerging phrases** (an exact phrase, 2-4 syllables, bursting):

    - ``gram_half_life``: half-life of phrase baselines; ``gram_warmup``: minutes of traffic
      before any phrase may alert; ``gram_capacity``: phrases with a baseline kept (the
      smallest are evicted; the largest evicted value is the baseline of unknown phrases).
    - ``phrase_min_count``: messages with the phrase in an elevated minute;
      ``phrase_min_total``: in the firing minutes; ``phrase_min_ratio``: observed / expected;
      ``phrase_elevated_score``, ``phrase_fire_score``, ``phrase_strong_score``: as above.
    - ``phrase_topic_ratio``: a phrase concentrated in one topic must grow this many times
      faster than that topic, or it is the topic's spike, not an emerging phrase.

    **Emerging issues** (a complaint about something no topic covers, in varied wording):
    the words and word pairs of complaints (negative or complaint-flagged messages) are
    scored on the same ``scales`` against their own decayed baseline (``term_half_life``,
    at most ``term_capacity`` kept), among all complaints and among those of each channel
    and brand that had ``term_scope_min`` complaints recently (at most ``term_scopes``
    such scopes); a minute's counts join the baselines ``term_guard`` minutes later (a
    guard band: the first minutes of a wave never become its own baseline). A term is
    *bursting* when a window holds at least
    ``term_min_count`` complaints with it, ``term_min_ratio`` times its expectation, at a
    score of ``term_score``. Bursting terms are grouped by co-occurrence (two join when at
    least ``term_overlap`` of the complaints of the rarer one, and 2, hold both) over the
    last ``history_minutes``; a group with at least two unrelated terms (no shared word)
    and ``issue_min_messages`` complaints holding two of its terms opens an
    ``emerging_issue`` alert whose strongest term scores ``issue_fire_score``.
    ``term_warmup``: minutes of traffic before any term may alert.

    **Cases** (one message that needs action now): a negative customer message from one of
    ``case_sources`` with a flag of ``case_flags`` or a topic of ``case_topics`` opens a
    ``case`` alert, one per conversation (a chat) or message (a review); later messages of
    the same conversation update it. ``case_close_after``: quiet minutes after which a
    case is closed (resolved); ``case_memory``: conversations remembered at most.

    **Alerts.** ``samples`` messages and ``top_terms`` terms per alert. An open alert is
    re-described (observed, expected, channels, terms, samples, summary) in a new revision
    when it grew by ``refresh_growth`` (a share) and at least 3 messages since its last
    revision, or ``refresh_every`` minutes after it if anything changed.
    """

    wait_s: float = 20.0
    idle_grace_s: float = 10.0
    startup_grace_s: float = 10.0
    history_minutes: int = 5
    evict_after: int = 1440
    max_keys: int = 50_000
    candidate_keys: int = 100_000
    promote_after: int = 3
    max_gap: int = 120
    conversation_memory: int = 50_000

    share_half_life: float = 180.0
    count_half_life: float = 15.0
    dispersion_half_life: float = 720.0
    warmup: int = 60
    min_baseline: float = 3.0
    persist_k: int = 2
    persist_n: int = 4
    elevated_score: float = 1.5
    min_ratio: float = 1.5
    count_z: float = 1.5
    fire_score: float = 6.0
    strong_score: float = 10.0
    min_volume: int = 8
    min_minute_volume: int = 3
    expected_floor: float = 0.3
    scales: Minutes = (5, 10, 15, 60)
    scale_min_volume: int = 6
    scale_min_excess: float = 4.0
    scale_min_ratio: float = 1.5
    scale_max_minute_share: float = 0.6
    scale_expected_floor: float = 0.05
    scale_watch_score: float = 3.0
    scale_watch_volume: int = 4
    scale_count_z: float = 2.0
    false_alarms_per_day: float = 1.0
    budget_keys: int = 600
    scale_margin: float = 0.0
    group_window: int = 10
    onset_window: int = 2
    resolve_after: int = 5
    cooldown: int = 30
    drill_coverage: float = 0.7
    adapt_after: int = 180

    negative_half_life: float = 240.0
    negative_min_minute: int = 5
    negative_min_total: int = 10
    negative_min_lift: float = 0.2

    gram_half_life: float = 360.0
    gram_warmup: int = 120
    gram_capacity: int = 60_000
    phrase_min_count: int = 4
    phrase_min_total: int = 8
    phrase_min_ratio: float = 20.0
    phrase_elevated_score: float = 5.0
    phrase_fire_score: float = 9.0
    phrase_strong_score: float = 12.0
    phrase_topic_ratio: float = 2.0

    term_half_life: float = 720.0
    term_warmup: int = 120
    term_capacity: int = 100_000
    term_min_count: int = 4
    term_min_ratio: float = 3.0
    term_score: float = 4.5
    term_overlap: float = 0.3
    term_scope_min: float = 30.0
    term_guard: int = 15
    term_scopes: int = 500
    issue_min_messages: int = 5
    issue_fire_score: float = 7.0

    case_sources: Words = ("review", "chat")
    case_flags: Words = ("urgent", "churn_risk", "product_safety", "account_security")
    case_topics: Words = ("product_safety", "account_security")
    case_close_after: int = 60
    case_memory: int = 20_000

    samples: int = 6
    top_terms: int = 5
    refresh_growth: float = 0.2
    refresh_every: int = 5

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, tuple):
                continue
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                _refuse(spec.name, f"must be a number >= 0, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                _refuse(spec.name, f"must be finite, got {value!r}")
        for name in ("share_half_life", "count_half_life", "dispersion_half_life"):
            if getattr(self, name) <= 0:
                _refuse(name, f"must be above 0, got {getattr(self, name)!r}")
        for name in ("negative_half_life", "gram_half_life", "term_half_life"):
            if getattr(self, name) <= 0:
                _refuse(name, f"must be above 0, got {getattr(self, name)!r}")
        if not 1 <= self.persist_k <= self.persist_n:
            _refuse(
                "persist_k",
                f"needs 1 <= persist_k <= persist_n, got persist_k={self.persist_k}, "
                f"persist_n={self.persist_n}",
            )
        if self.max_keys < 1:
            _refuse("max_keys", f"must be at least 1, got {self.max_keys}")
        if self.promote_after < 1:
            _refuse("promote_after", f"must be at least 1, got {self.promote_after}")
        if self.samples < 5:
            _refuse("samples", f"must be at least 5, got {self.samples}")
        if self.history_minutes < self.persist_n + 1:
            _refuse(
                "history_minutes",
                f"must exceed persist_n ({self.persist_n}), got {self.history_minutes}",
            )
        scales = self.scales
        if any(not isinstance(s, int) or not 2 <= s <= 1440 for s in scales):
            _refuse("scales", f"must be whole minutes from 2 to 1440, got {scales!r}")
        if list(scales) != sorted(set(scales)):
            _refuse("scales", f"must be distinct and increasing, got {scales!r}")
        if self.false_alarms_per_day <= 0:
            _refuse("false_alarms_per_day", f"must be above 0, got {self.false_alarms_per_day}")
        if not 0 < self.scale_max_minute_share <= 1:
            _refuse(
                "scale_max_minute_share", f"must be in (0, 1], got {self.scale_max_minute_share}"
            )
        if not 0 < self.term_overlap <= 1:
            _refuse("term_overlap", f"must be in (0, 1], got {self.term_overlap}")

    @property
    def longest_scale(self) -> int:
        """The longest window a key is scored on (minutes of counts a key keeps)."""
        return max((*self.scales, self.persist_n))

    def scale_threshold(self, scale: int, keys: int) -> float:
        """The score a window of ``scale`` minutes must reach, ``keys`` keys being watched.

        Its share of the false-alarm budget (see the class docstring): one test of each key,
        family and scale per ``scale`` minutes, ``1 + len(scales)`` scales, two families.
        """
        tests = max(keys, self.budget_keys) * 2 * (1 + len(self.scales)) * 1440 / scale
        return math.log10(tests / self.false_alarms_per_day) + self.scale_margin

    def one_minute_threshold(self, keys: int) -> float:
        """The score the elevated minutes of the one-minute scale must reach together.

        Its share of the budget, as a window of ``persist_n`` minutes (the elevated minutes
        it adds up lie within one), and never below ``fire_score``.
        """
        return max(self.fire_score, self.scale_threshold(self.persist_n, keys))

    def describe(self) -> dict[str, Any]:
        """Every setting, as plain values (``voc config`` prints them)."""
        return {spec.name: _plain(getattr(self, spec.name)) for spec in fields(self)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _refuse(name: str, problem: str) -> None:
    msg = f"detector setting {name} (VOC_DETECT_{name.upper()}) {problem}"
    raise ConfigError(msg)


#: The names a detector setting may have (``VOC_DETECT_<NAME>`` in upper case).
SETTING_NAMES = frozenset(spec.name for spec in fields(DetectConfig))
