"""Every threshold of the detectors, in one frozen, documented dataclass."""

from __future__ import annotations

from dataclasses import dataclass, fields

from schemas.errors import ConfigError

#: Recorded on every alert row; bump it when a rule below changes meaning.
DETECTOR_VERSION = "detect-1"


@dataclass(frozen=True)
class DetectConfig:
    """Settings of the emerging-issue detectors (times in minutes of event time unless noted).

    Stream and state:

    - ``wait_s``: lateness tolerated inside one input partition (seconds of event time).
      A message more than this behind the newest one of its partition is a late item.
    - ``idle_grace_s``: wall-clock seconds after which a silent partition no longer holds
      back the minute clock (its watermark then follows the wall clock).
    - ``startup_grace_s``: wall-clock seconds to wait for every partition to report before
      the first minute is closed.
    - ``history_minutes``: minutes of customer messages kept for evidence (the last
      ``persist_n`` minutes) and sample messages; memory holds rate x this many minutes
      (about 0.7 KB a message).
    - ``evict_after``: a key with no message for this long (and no alert) is forgotten.
    - ``max_keys``: keys tracked at most (about 2.7 KB each); past it, the keys seen longest
      ago (not hot, no alert) are forgotten down to 90% of it. A forgotten key starts again
      with no baseline (``warmup``) when it comes back.
    - ``max_gap``: a gap in event time longer than this is skipped in one step.

    Volume spikes (per key, on counts and on share of all customer messages):

    - ``share_half_life``: half-life of the key's share of traffic (its baseline).
    - ``count_half_life``: half-life of the mean and variance of its per-minute count.
    - ``warmup``: minutes a key must have been seen before it may alert, and
      ``min_baseline``: decayed messages its baseline must hold.
    - ``persist_k`` of ``persist_n``: elevated minutes needed before firing.
    - ``elevated_score``: ``-log10 p`` of one minute's count against its expected count
      (share baseline x the rest of traffic, dispersion-scaled Poisson) to be *elevated*;
      ``min_ratio``: observed / expected of an elevated minute; ``count_z``: how many
      Poisson standard deviations (dispersion-scaled) the raw count must exceed its own
      recent mean by (a surge raises counts but not shares, a drop of other traffic raises
      shares but not counts: both must rise). The count's half-life is short so the
      diurnal curve does not hide a night-time incident behind the evening's mean.
    - ``fire_score``: score of the elevated minutes taken together to fire;
      ``strong_score``: one minute this strong fires at once.
    - ``min_volume``: messages of the key in the firing minutes; ``min_minute_volume``:
      messages in one elevated minute; ``expected_floor``: noise floor of the expectation.
    - ``group_window``: a spike on another topic of the same channel or brand as an alert
      opened less than this many minutes ago, and smaller than it, joins that alert (one
      outage of a channel, one bad batch of a brand, shows up in several topics);
      ``onset_window``: so does a smaller rise anywhere that started within this many
      minutes of an open alert's first elevated minute.
    - ``resolve_after``: quiet minutes before an alert resolves; ``cooldown``: minutes
      after resolving during which the same incident does not open a new alert.
    - ``drill_coverage``: share of a key's excess a narrower key must explain for the alert
      to name the narrower key.
    - ``adapt_after``: minutes an elevated key is hot before its baseline learns the new
      level (a lasting change then resolves instead of alerting forever).

    Negative share:

    - ``negative_half_life``, ``negative_min_minute`` (messages in an elevated minute),
      ``negative_min_total`` (negative messages in the firing minutes), ``negative_min_lift``
      (share above the baseline share).

    Emerging phrases:

    - ``gram_half_life``: half-life of phrase baselines; ``gram_warmup``: minutes of traffic
      before any phrase may alert; ``gram_capacity``: phrases with a baseline kept (the
      smallest are evicted; the largest evicted value is the baseline of unknown phrases).
    - ``phrase_min_count``: messages with the phrase in an elevated minute;
      ``phrase_min_total``: in the firing minutes; ``phrase_min_ratio``: observed / expected;
      ``phrase_elevated_score``, ``phrase_fire_score``, ``phrase_strong_score``: as above.
    - ``phrase_topic_ratio``: a phrase concentrated in one topic must grow this many times
      faster than that topic, or it is the topic's spike, not an emerging phrase.

    Alerts: ``samples`` messages and ``top_terms`` terms per alert.
    """

    wait_s: float = 20.0
    idle_grace_s: float = 10.0
    startup_grace_s: float = 10.0
    history_minutes: int = 5
    evict_after: int = 1440
    max_keys: int = 100_000
    max_gap: int = 120

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

    samples: int = 6
    top_terms: int = 5

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if not isinstance(value, int | float) or value < 0:
                msg = f"DetectConfig.{spec.name} must be a number >= 0, got {value!r}"
                raise ConfigError(msg)
        if not 1 <= self.persist_k <= self.persist_n:
            msg = (
                f"DetectConfig needs 1 <= persist_k <= persist_n, got persist_k="
                f"{self.persist_k}, persist_n={self.persist_n}"
            )
            raise ConfigError(msg)
        if self.max_keys < 1:
            msg = f"DetectConfig.max_keys must be at least 1, got {self.max_keys}"
            raise ConfigError(msg)
        if self.samples < 5:
            msg = f"DetectConfig.samples must be at least 5, got {self.samples}"
            raise ConfigError(msg)
        if self.history_minutes < self.persist_n + 1:
            msg = (
                f"DetectConfig.history_minutes must exceed persist_n ({self.persist_n}), "
                f"got {self.history_minutes}"
            )
            raise ConfigError(msg)
