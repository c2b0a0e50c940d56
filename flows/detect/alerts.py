"""One incident's alert: its state, its stable id, its severity and its rows.

Severity (the documented rule): ``critical`` when the alert window holds at least 5x the
expected messages and 50 more than expected (negative share: 0.4 above the baseline share
with 50 negatives; emerging phrase or issue: 50 messages); ``warning`` at 3x and 15 more
(share: 0.25 above with 15 negatives; phrase or issue: 15 messages); ``info`` otherwise.
An open alert whose severity rises gets an update revision. A case is ``critical`` when
it reports a safety hazard, an account or money at risk or anything urgent, ``warning``
for a customer about to leave.

Observed, expected and the channel breakdown count the same messages: the alert's
messages (its key's, its complaints', its phrase's or its terms') from ``window_start`` to
the latest minute the alert was active, so the channels always add up to what is observed
(for a negative share: the negative messages, observed being their share).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flows.detect.config import DETECTOR_VERSION
from flows.detect.keys import ALL, COMPLAINTS
from flows.detect.monitors import ONE_MINUTE
from flows.detect.signals import Key, Signal
from flows.detect.terms import holds_two, in_scope
from schemas.rows import AlertRow

VOLUME_SPIKE = "volume_spike"
NEGATIVE_SHARE = "negative_share"
EMERGING_PHRASE = "emerging_phrase"
EMERGING_ISSUE = "emerging_issue"
CASE = "case"
KINDS = (VOLUME_SPIKE, NEGATIVE_SHARE, EMERGING_PHRASE, EMERGING_ISSUE, CASE)
SEVERITIES = ("info", "warning", "critical")

#: Sample messages kept from the revision that opened (or escalated) an alert: the
#: notification shows them, so they change only with its severity.
PINNED = 3


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


def scale_name(scale: int) -> str:
    """How a row names the window that fired: ``1m``, ``5m``, ``60m`` ('' for none)."""
    return f"{scale}m" if scale > 0 else ""


@dataclass(slots=True)
class Alert:
    """The state of one incident's alert; each change is written as a new revision.

    ``opened`` is the minute whose data completed the evidence; ``window_start`` the first
    minute of the alert's window; ``last_active`` the latest minute the primary detector
    was active. ``observed``, ``expected`` and ``breakdown`` count the alert's messages
    over the window (module docstring); minutes after ``last_active`` wait in ``pending_*``
    and join when the alert is active again. ``scale`` is the window (minutes) whose
    evidence opened it; ``primary_gram`` the lead gram of a phrase alert, ``family`` the
    volume family of a spike, ``terms`` the terms of an emerging issue.
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
    pending_breakdown: dict[str, int] = field(default_factory=dict)
    top_terms: tuple[str, ...] = ()
    breakdown: dict[str, int] = field(default_factory=dict)
    sample_ids: tuple[str, ...] = ()
    sample_texts: tuple[str, ...] = ()
    pinned: tuple[tuple[str, str], ...] = ()
    revision: int = 0
    status: str = "open"
    resolved: int | None = None
    updated: int = 0
    primary_gram: int = 0
    family: str = ALL
    scale: int = ONE_MINUTE
    terms: frozenset[int] = frozenset()
    terms_ranked: tuple[int, ...] = ()
    scope: tuple[str, str] = ("", "")
    issue_terms: tuple[str, ...] = ()
    summary: str = ""
    headline: str = ""
    conversation_id: str = ""
    described_observed: float = 0.0
    described_at: int = 0
    quiet_run: int = 0

    def covers(self, record: Signal) -> bool:
        """Whether a message belongs to this incident (its key, phrase or terms)."""
        if self.kind == EMERGING_PHRASE:
            return not self.grams.isdisjoint(record.grams)
        if self.kind == EMERGING_ISSUE:
            return in_scope(record, self.scope) and holds_two(record, self.terms)
        return self.key.matches(record)

    def counts(self, record: Signal) -> bool:
        """Whether a message is one of those the alert's observed count holds."""
        if self.kind == VOLUME_SPIKE and self.family == COMPLAINTS:
            return self.key.matches(record) and self.key in record.keyed_negatives()
        return self.covers(record)

    def track(
        self,
        observed: float,
        expected: float,
        active: bool,
        y: int,
        x: int,
        channels: dict[str, int],
    ) -> None:
        """Add one minute of the alert's messages; extend the window if it was active."""
        self.pending_observed += observed
        self.pending_expected += expected
        self.pending_negatives += y
        self.pending_messages += x
        for channel, n in channels.items():
            self.pending_breakdown[channel] = self.pending_breakdown.get(channel, 0) + n
        if not active:
            return
        self.observed += self.pending_observed
        if self.kind != NEGATIVE_SHARE:
            self.expected += self.pending_expected
        self.negatives += self.pending_negatives
        self.messages += self.pending_messages
        for channel, n in self.pending_breakdown.items():
            self.breakdown[channel] = self.breakdown.get(channel, 0) + n
        self.pending_observed = self.pending_expected = 0.0
        self.pending_negatives = self.pending_messages = 0
        self.pending_breakdown = {}

    @property
    def count(self) -> float:
        """Messages the alert holds (negatives for a negative share)."""
        return float(self.negatives) if self.kind == NEGATIVE_SHARE else self.observed

    def row(self) -> AlertRow:
        """The current revision as a row of ``alerts``."""
        key = self.key
        end = self.last_active
        observed = self.observed
        if self.kind == NEGATIVE_SHARE:
            observed = self.negatives / self.messages if self.messages else 0.0
        breakdown = sorted(self.breakdown.items(), key=lambda kv: (-kv[1], kv[0]))
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
            channel_breakdown=dict(breakdown),
            sample_ids=self.sample_ids,
            sample_texts=self.sample_texts,
            opened_at=minute_start(self.opened + 1),
            updated_at=minute_start(self.updated + 1),
            resolved_at=minute_start(self.resolved + 1) if self.resolved is not None else None,
            detector_version=DETECTOR_VERSION,
            scale=scale_name(self.scale),
            summary=self.summary,
            headline=self.headline or self.summary,
            conversation_id=self.conversation_id,
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
    if alert.kind in (EMERGING_PHRASE, EMERGING_ISSUE):
        if alert.observed >= 50:
            return "critical"
        return "warning" if alert.observed >= 15 else "info"
    if alert.kind == CASE:
        return "warning" if set(alert.top_terms) <= {"churn_risk"} else "critical"
    expected = max(alert.expected, 1.0)
    excess = alert.observed - alert.expected
    if alert.observed >= 5 * expected and excess >= 50:
        return "critical"
    if alert.observed >= 3 * expected and excess >= 15:
        return "warning"
    return "info"
