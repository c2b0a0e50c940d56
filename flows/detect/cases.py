"""Message-level cases: one customer who needs action now, as an alert of kind ``case``.

A spike needs many messages; some need one. A negative customer message (a review or a
chat turn, per ``case_sources``) that the enricher flags with one of ``case_flags`` (urgent,
churn risk, and the product-safety and account-security flags where the enricher sets them)
or tags with one of ``case_topics`` opens a case (a message the enricher does not read as
negative never does: on replayed public reviews, flags alone opened a case for about 1 in
25 messages, too many for one customer service team to act on): a row of ``alerts`` with
``kind = 'case'``, routed to customer service by the same Grafana rules and contact points
as every alert, within the minute the message closes in.

Cases are deduplicated per *unit*: a chat conversation (or a review) has one case id,
stable across replays (a hash of channel and unit). Later qualifying turns of the same
conversation update it (their reasons and samples join, ``observed`` counts the turns);
a case resolves after ``case_close_after`` quiet minutes, and a turn after that reopens
the same id. At most ``case_memory`` conversations are remembered, the stalest forgotten
first; the work per minute is proportional to the minute's messages.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flows.detect.alerts import CASE, Alert, severity_of
from flows.detect.config import DetectConfig
from flows.detect.describe import summarize
from flows.detect.signals import CASE as CASE_KEY
from flows.detect.signals import OTHER, Key, Signal


def case_id(channel: str, unit: str) -> str:
    """The stable id of the case of one conversation (or message) on a channel."""
    text = f"{CASE}|{channel}|{unit}"
    return hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()


def reasons_of(record: Signal, config: DetectConfig) -> tuple[str, ...]:
    """Why a message is a case (flags, then topics), or () when it is not one."""
    if record.source not in config.case_sources or not record.negative:
        return ()
    found = [f for f in record.flags if f in config.case_flags]
    found += [t for t in record.topics if t in config.case_topics and t not in found]
    return tuple(found)


@dataclass
class CaseBook:
    """Open cases by unit, then closed ones, each in order of their latest update.

    Ordered dicts: forgetting the first entry again and again is O(1) (not with a dict).
    """

    open: OrderedDict[str, Alert] = field(default_factory=OrderedDict)
    closed: OrderedDict[str, Alert] = field(default_factory=OrderedDict)

    def step(
        self,
        minute: int,
        records: Sequence[Signal],
        config: DetectConfig,
        labels: Mapping[str, str],
    ) -> list[Alert]:
        """Open or update the cases of this minute's messages; close the quiet ones."""
        changed: dict[str, Alert] = {}
        for record in records:
            reasons = reasons_of(record, config)
            if not reasons:
                continue
            case = self._case_of(record, minute)
            self._add(case, record, reasons, minute, config, labels)
            changed[case.id] = case
        horizon = minute - config.case_close_after
        while self.open:
            unit = next(iter(self.open))
            case = self.open[unit]
            if case.last_active > horizon:
                break
            del self.open[unit]
            case.status, case.resolved = "resolved", minute
            case.summary = self._summary(case, labels)
            self.closed[unit] = case
            changed[case.id] = case
        while len(self.closed) > config.case_memory:
            self.closed.popitem(last=False)
        return list(changed.values())

    def _case_of(self, record: Signal, minute: int) -> Alert:
        unit = record.unit
        case = self.open.pop(unit, None) or self.closed.pop(unit, None)
        if case is None:
            topic = next((t for t in record.topics if t != OTHER), "")
            case = Alert(
                id=case_id(record.channel, unit),
                kind=CASE,
                key=Key(CASE_KEY, topic, record.channel, record.brand, record.product),
                phrase="",
                grams=frozenset(),
                opened=minute,
                window_start=minute,
                last_active=minute,
                severity="warning",
                score=0.0,
                observed=0.0,
                expected=0.0,
                updated=minute,
                scale=0,
                conversation_id=unit if unit != record.id else "",
            )
        elif case.status == "resolved":
            case.status, case.resolved = "open", None
        self.open[unit] = case
        return case

    def _add(
        self,
        case: Alert,
        record: Signal,
        reasons: tuple[str, ...],
        minute: int,
        config: DetectConfig,
        labels: Mapping[str, str],
    ) -> None:
        case.observed += 1
        # a new dict (never changed in place): a recovery snapshot shares the old one
        case.breakdown = {
            **case.breakdown,
            record.channel: case.breakdown.get(record.channel, 0) + 1,
        }
        case.last_active = minute
        case.top_terms = tuple(dict.fromkeys((*case.top_terms, *reasons)))
        samples = [*zip(case.sample_ids, case.sample_texts, strict=True), (record.id, record.text)]
        if len(samples) > config.samples:  # the first turn, then the latest ones
            samples = [samples[0], *samples[-(config.samples - 1) :]]
        case.sample_ids = tuple(i for i, _t in samples)
        case.sample_texts = tuple(t for _i, t in samples)
        severity = severity_of(case)
        case.summary = self._summary(case, labels)
        if severity != case.severity or not case.headline:
            case.severity = severity
            case.headline = case.summary

    def _summary(self, case: Alert, labels: Mapping[str, str]) -> str:
        key = case.key
        return summarize(
            CASE,
            family="",
            topic=key.topic,
            channel=key.channel,
            brand=key.brand,
            product=key.product,
            phrase="",
            observed=case.observed,
            expected=0.0,
            minutes=1,
            terms=case.top_terms,
            text=case.sample_texts[0] if case.sample_texts else "",
            labels=labels,
        )

    def __deepcopy__(self, memo: dict[int, object]) -> CaseBook:
        return CaseBook(
            OrderedDict((unit, copy.copy(c)) for unit, c in self.open.items()),
            OrderedDict((unit, copy.copy(c)) for unit, c in self.closed.items()),
        )
