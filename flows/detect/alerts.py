"""One incident's alert: its state, its stable id, its severity and its rows.

Severity (the documented rule): ``critical`` when the alert window holds at least 5x the
expected messages and 50 more than expected (negative share: 0.4 above the baseline share
with 50 negatives; emerging phrase: 50 messages); ``warning`` at 3x and 15 more (share:
0.25 above with 15 negatives; phrase: 15 messages); ``info`` otherwise. An open alert whose
severity rises gets an update revision.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flows.detect.config import DETECTOR_VERSION
from flows.detect.signals import Key, Signal
from schemas.rows import AlertRow

VOLUME_SPIKE = "volume_spike"
NEGATIVE_SHARE = "negative_share"
EMERGING_PHRASE = "emerging_phrase"
KINDS = (VOLUME_SPIKE, NEGATIVE_SHARE, EMERGING_PHRASE)
SEVERITIES = ("info", "warning", "critical")

#: Volume monitor families: all of a key's messages, or its negative ones.
ALL = "all"
COMPLAINTS = "complaints"


def minute_start(minute: int) -> datetime:
    """The UTC start of an event-time minute index (minutes since the Unix epoch)."""
    return datetime.fromtimestamp(minute * 60, UTC)


def alert_id(kind: str, key: Key, phrase: str, opened_minute: int) -> str:
    """Stable incident id: the same kind, key (and phrase) and opening minute, the same id."""
    text = (
        "|".join((kind, key.type, key.topic, key.channel, key.brand, key.product, phrase))
        + f"|{opened_minute}"
    )
    return hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()


@dataclass(slots=True)
class Alert:
    """The state of one incident's alert; each change is written as a new revision.

    ``opened`` is the minute whose data completed the evidence; ``window_start`` the first
    elevated minute; ``last_active`` the latest minute the primary detector was elevated.
    ``observed`` and ``expected`` sum the primary detector over the window (for a negative
    share: negatives over ``messages``, against the baseline share). ``primary_gram`` is the
    lead gram of a phrase alert, ``family`` the volume family of a spike.
    """

    id: str
    kind: str
    key: Key
    phrase: str
    grams: frozenset[int]
    opened: int
    window_start: int
    last_active: int
    severity: str
    score: float
    observed: float
    expected: float
    negatives: int = 0
    messages: int = 0
    pending_observed: float = 0.0
    pending_expected: float = 0.0
    pending_negatives: int = 0
    pending_messages: int = 0
    top_terms: tuple[str, ...] = ()
    breakdown: dict[str, int] = field(default_factory=dict)
    sample_ids: tuple[str, ...] = ()
    sample_texts: tuple[str, ...] = ()
    revision: int = 0
    status: str = "open"
    resolved: int | None = None
    updated: int = 0
    primary_gram: int = 0
    family: str = ALL

    def covers(self, record: Signal) -> bool:
        """Whether a message belongs to this incident (its key, or its phrase)."""
        if self.kind == EMERGING_PHRASE:
            return not self.grams.isdisjoint(record.grams)
        return self.key.matches(record)

    def track(self, observed: float, expected: float, elevated: bool, y: int, x: int) -> None:
        """Add one minute of the primary detector; extend the window if it was elevated."""
        self.pending_observed += observed
        self.pending_expected += expected
        self.pending_negatives += y
        self.pending_messages += x
        if not elevated:
            return
        self.observed += self.pending_observed
        if self.kind != NEGATIVE_SHARE:
            self.expected += self.pending_expected
        self.negatives += self.pending_negatives
        self.messages += self.pending_messages
        self.pending_observed = self.pending_expected = 0.0
        self.pending_negatives = self.pending_messages = 0

    def row(self) -> AlertRow:
        """The current revision as a row of ``alerts``."""
        key = self.key
        end = self.last_active if self.status == "resolved" else self.updated
        observed = self.observed
        if self.kind == NEGATIVE_SHARE:
            observed = self.negatives / self.messages if self.messages else 0.0
        return AlertRow(
            id=self.id,
            revision=self.revision,
            kind=self.kind,
            status=self.status,
            severity=self.severity,
            key_type=key.type,
            topic=key.topic,
            channel=key.channel,
            brand=key.brand,
            product=key.product,
            phrase=self.phrase,
            window_start=minute_start(self.window_start),
            window_end=minute_start(max(end, self.window_start) + 1),
            observed=round(observed, 4),
            expected=round(self.expected, 4),
            score=round(min(self.score, 1e6), 3),
            top_terms=self.top_terms,
            channel_breakdown=dict(self.breakdown),
            sample_ids=self.sample_ids,
            sample_texts=self.sample_texts,
            opened_at=minute_start(self.opened + 1),
            updated_at=minute_start(self.updated + 1),
            resolved_at=minute_start(self.resolved + 1) if self.resolved is not None else None,
            detector_version=DETECTOR_VERSION,
        )


def severity_of(alert: Alert) -> str:
    """The documented severity rule (module docstring)."""
    if alert.kind == NEGATIVE_SHARE:
        share = alert.negatives / alert.messages if alert.messages else 0.0
        lift = share - alert.expected
        if lift >= 0.4 and alert.negatives >= 50:
            return "critical"
        if lift >= 0.25 and alert.negatives >= 15:
            return "warning"
        return "info"
    if alert.kind == EMERGING_PHRASE:
        if alert.observed >= 50:
            return "critical"
        return "warning" if alert.observed >= 15 else "info"
    expected = max(alert.expected, 1.0)
    excess = alert.observed - alert.expected
    if alert.observed >= 5 * expected and excess >= 50:
        return "critical"
    if alert.observed >= 3 * expected and excess >= 15:
        return "warning"
    return "info"
