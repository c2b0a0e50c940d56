"""Scheduled incidents and site-wide surges: the ground truth of a simulation.

An :class:`Incident` multiplies the baseline rate of one key (a topic, optionally narrowed
to a channel and/or a brand) for a while, with extra messages of a given sentiment; a
``phrase_burst`` incident also puts a phrase never seen before into every extra message.
A :class:`Surge` multiplies the traffic of every key at once (a flash sale): it is not an
incident, and a good detector does not page for it.

Both are written in a small ``key=value`` language on the command line::

    topic=delivery,channel=shopee,x=5,at=2h,for=20m
    kind=phrase_burst,topic=payment,phrase="lỗi thanh toán momo",x=8,at=14:30,for=15m
    at=20:00,for=60m,x=3,name=flash_sale,daily          (a surge)

``at`` is an offset from the simulation start (``2h``, ``1h30m``, ``90m``), a clock time in
Vietnam time (``20:00``: the first one at or after the start) or an ISO 8601 time with an
offset. Durations take ``d``, ``h``, ``m`` and ``s`` units.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

import yaml

from schemas.errors import ConfigError

IncidentKind = Literal["topic_spike", "phrase_burst"]
INCIDENT_KINDS: tuple[IncidentKind, ...] = ("topic_spike", "phrase_burst")
SentimentName = Literal["negative", "neutral", "positive"]
SENTIMENT_NAMES: tuple[SentimentName, ...] = ("negative", "neutral", "positive")

#: Time zone of clock times in specs (``at=20:00``) and of the diurnal curve.
VIETNAM = "Asia/Ho_Chi_Minh"  # a ZoneInfo reads the tz database: build it when used

INCIDENT_SPEC_HELP = (
    "topic=TOPIC,x=MULTIPLIER,at=WHEN,for=DURATION"
    "[,channel=CHANNEL][,brand=BRAND][,phrase=TEXT][,kind=topic_spike|phrase_burst]"
    "[,sentiment=negative|neutral|positive][,id=ID]"
    ' e.g. "topic=delivery,channel=shopee,x=5,at=2h,for=20m"'
)
SURGE_SPEC_HELP = (
    "x=MULTIPLIER,at=WHEN,for=DURATION[,name=NAME][,id=ID][,daily]"
    ' e.g. "at=20:00,for=60m,x=3,name=flash_sale"'
)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")
_UNIT_SECONDS = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_duration(text: str) -> timedelta:
    """Parse ``20m``, ``2h``, ``1h30m``, ``1.5h``, ``90s`` or ``2d`` into a timedelta.

    Raises :class:`ConfigError` for anything else, including zero or negative durations.
    """
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        msg = f"expected a duration such as 20m, 2h, 1h30m or 2d, got {text!r}"
        raise ConfigError(msg)
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0:
        msg = f"expected a positive duration, got {text!r}"
        raise ConfigError(msg)
    return timedelta(seconds=seconds)


def parse_when(value: object, start: datetime) -> datetime:
    """Resolve ``at`` against the simulation ``start`` into an aware UTC datetime.

    Accepts an offset (``2h``, ``+90m``), a Vietnam clock time (``20:00``, the first at or
    after ``start``), an ISO 8601 string with an offset, or an aware datetime.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            msg = f"expected a time with a UTC offset, got naive {value.isoformat()}"
            raise ConfigError(msg)
        return value.astimezone(UTC)
    if not isinstance(value, str):
        hint = " (quote clock times in YAML: at: '20:00')" if isinstance(value, int) else ""
        msg = f"expected an offset (2h), a clock time (20:00) or an ISO time, got {value!r}{hint}"
        raise ConfigError(msg)
    text = value.strip()
    clock = _CLOCK.match(text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            msg = f"expected a clock time HH:MM, got {text!r}"
            raise ConfigError(msg)
        local = start.astimezone(ZoneInfo(VIETNAM))
        candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if candidate < local:
            candidate += timedelta(days=1)
        return candidate.astimezone(UTC)
    if _DURATION_PART.match(text.lstrip("+").lower()):
        return (start + parse_duration(text.lstrip("+"))).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        msg = (
            f"expected an offset (2h), a clock time (20:00) or an ISO time with offset, "
            f"got {text!r}"
        )
        raise ConfigError(msg) from None
    if parsed.tzinfo is None:
        msg = f"expected an ISO time with a UTC offset (+07:00 or Z), got {text!r}"
        raise ConfigError(msg)
    return parsed.astimezone(UTC)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_utc(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        msg = f"{what}: expected an ISO 8601 string, got {value!r}"
        raise ConfigError(msg)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        msg = f"{what}: expected an ISO 8601 time, got {value!r}"
        raise ConfigError(msg) from None
    if parsed.tzinfo is None:
        msg = f"{what}: expected a time with a UTC offset, got {value!r}"
        raise ConfigError(msg)
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Incident:
    """A scheduled issue: the rate of one key is multiplied for a while.

    The key is ``topic`` narrowed by ``channel`` and ``brand`` when given. During
    ``[start, start + duration)`` extra messages on that key are generated so that its rate
    becomes ``multiplier`` times its baseline (diurnal curve and surges included). The extra
    messages carry ``sentiment`` (nine in ten; the rest are neutral) and, for a
    ``phrase_burst``, contain ``phrase`` verbatim.
    """

    id: str
    kind: IncidentKind
    topic: str
    start: datetime
    duration: timedelta
    multiplier: float
    channel: str | None = None
    brand: str | None = None
    phrase: str | None = None
    sentiment: SentimentName = "negative"

    def __post_init__(self) -> None:
        if self.kind not in INCIDENT_KINDS:
            msg = (
                f"incident {self.id}: kind must be one of {', '.join(INCIDENT_KINDS)}, "
                f"got {self.kind!r}"
            )
            raise ConfigError(msg)
        if self.kind == "phrase_burst" and not self.phrase:
            msg = f"incident {self.id}: a phrase_burst needs phrase=..."
            raise ConfigError(msg)
        if self.sentiment not in SENTIMENT_NAMES:
            msg = (
                f"incident {self.id}: sentiment must be one of {', '.join(SENTIMENT_NAMES)}, "
                f"got {self.sentiment!r}"
            )
            raise ConfigError(msg)
        if not math.isfinite(self.multiplier) or self.multiplier <= 1:
            msg = (
                f"incident {self.id}: multiplier x must be a number above 1, "
                f"got {self.multiplier!r}"
            )
            raise ConfigError(msg)
        if self.start.tzinfo is None:
            msg = f"incident {self.id}: start must be timezone-aware"
            raise ConfigError(msg)
        if self.duration <= timedelta(0):
            msg = f"incident {self.id}: duration must be positive"
            raise ConfigError(msg)
        object.__setattr__(self, "start", self.start.astimezone(UTC))

    @property
    def end(self) -> datetime:
        """End of the incident window (exclusive), UTC."""
        return self.start + self.duration

    @property
    def key(self) -> dict[str, str | None]:
        """The key whose rate is multiplied: topic, channel, brand (None: any)."""
        return {"topic": self.topic, "channel": self.channel, "brand": self.brand}

    def overlaps(self, other: Incident) -> bool:
        """Whether both incidents hit a common key at a common moment."""
        same_key = (
            self.topic == other.topic
            and (self.channel is None or other.channel is None or self.channel == other.channel)
            and (self.brand is None or other.brand is None or self.brand == other.brand)
        )
        return same_key and self.start < other.end and other.start < self.end

    def to_json(self) -> dict[str, Any]:
        """Return the incident as a JSON-ready dict (times as UTC ISO 8601 strings)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "topic": self.topic,
            "channel": self.channel,
            "brand": self.brand,
            "phrase": self.phrase,
            "start": _utc_text(self.start),
            "end": _utc_text(self.end),
            "duration_s": self.duration.total_seconds(),
            "multiplier": self.multiplier,
            "sentiment": self.sentiment,
            "key": self.key,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Incident:
        """Rebuild an incident from :meth:`to_json` output (extra fields are ignored)."""
        try:
            return cls(
                id=str(data["id"]),
                kind=data["kind"],
                topic=str(data["topic"]),
                start=_parse_utc(data["start"], "incident start"),
                duration=timedelta(seconds=float(data["duration_s"])),
                multiplier=float(data["multiplier"]),
                channel=data.get("channel"),
                brand=data.get("brand"),
                phrase=data.get("phrase"),
                sentiment=data.get("sentiment", "negative"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"expected an incident object, got {dict(data)!r}: {exc}"
            raise ConfigError(msg) from exc


@dataclass(frozen=True)
class Surge:
    """A site-wide traffic surge (e.g. a flash sale): every key's rate times ``multiplier``.

    A surge is not an incident; ground truth lists it with kind ``surge`` so that alert
    benchmarks can count the pages it caused as false alarms.
    """

    id: str
    start: datetime
    duration: timedelta
    multiplier: float
    name: str = "surge"

    def __post_init__(self) -> None:
        if not math.isfinite(self.multiplier) or self.multiplier <= 1:
            msg = f"surge {self.id}: multiplier x must be a number above 1, got {self.multiplier!r}"
            raise ConfigError(msg)
        if self.start.tzinfo is None:
            msg = f"surge {self.id}: start must be timezone-aware"
            raise ConfigError(msg)
        if self.duration <= timedelta(0):
            msg = f"surge {self.id}: duration must be positive"
            raise ConfigError(msg)
        object.__setattr__(self, "start", self.start.astimezone(UTC))

    @property
    def end(self) -> datetime:
        """End of the surge window (exclusive), UTC."""
        return self.start + self.duration

    def to_json(self) -> dict[str, Any]:
        """Return the surge as a JSON-ready dict (times as UTC ISO 8601 strings)."""
        return {
            "id": self.id,
            "kind": "surge",
            "name": self.name,
            "start": _utc_text(self.start),
            "end": _utc_text(self.end),
            "duration_s": self.duration.total_seconds(),
            "multiplier": self.multiplier,
            "key": {},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Surge:
        """Rebuild a surge from :meth:`to_json` output (extra fields are ignored)."""
        try:
            return cls(
                id=str(data["id"]),
                start=_parse_utc(data["start"], "surge start"),
                duration=timedelta(seconds=float(data["duration_s"])),
                multiplier=float(data["multiplier"]),
                name=str(data.get("name", "surge")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"expected a surge object, got {dict(data)!r}: {exc}"
            raise ConfigError(msg) from exc


def event_from_json(data: Mapping[str, Any]) -> Incident | Surge:
    """Rebuild an incident or a surge from a ground-truth entry, by its ``kind``."""
    if data.get("kind") == "surge":
        return Surge.from_json(data)
    return Incident.from_json(data)


# -- the key=value spec language ---------------------------------------------------------


def _split_spec(spec: str, expected: str) -> dict[str, str]:
    """Split ``a=1,b="x, y",flag`` into a dict; a bare word maps to ``"true"``.

    Commas inside double quotes belong to the value (``phrase="lỗi, momo"``).
    """
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for char in spec:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        msg = f"expected {expected}, got {spec!r} (a double quote is not closed)"
        raise ConfigError(msg)
    items.append("".join(current))
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        name = name.strip().lower()
        if not name:
            msg = f"expected {expected}, got {spec!r} (empty field)"
            raise ConfigError(msg)
        if name in out:
            msg = f"expected {expected}, got {spec!r} ({name} given twice)"
            raise ConfigError(msg)
        out[name] = value.strip().strip('"').strip() if eq else "true"
    return out


def _number(value: object, name: str, expected: str) -> float:
    try:
        return float(str(value).lower().lstrip("x"))
    except ValueError:
        msg = f"{name} must be a number in {expected}, got {value!r}"
        raise ConfigError(msg) from None


_INCIDENT_FIELDS = {
    "id",
    "kind",
    "topic",
    "channel",
    "brand",
    "phrase",
    "x",
    "multiplier",
    "at",
    "start",
    "for",
    "duration",
    "sentiment",
}
_SURGE_FIELDS = {"id", "name", "x", "multiplier", "at", "start", "for", "duration", "daily"}


def _pick(fields: Mapping[str, object], *names: str) -> object | None:
    for name in names:
        if fields.get(name) is not None:
            return fields[name]
    return None


def _duration_of(value: object, expected: str) -> timedelta:
    if isinstance(value, int | float) and not isinstance(value, bool):
        msg = f"for= needs a unit in {expected}, got {value!r} (e.g. 20m)"
        raise ConfigError(msg)
    return parse_duration(str(value))


def incident_from_fields(
    fields: Mapping[str, object], *, start: datetime, default_id: str
) -> Incident:
    """Build an incident from parsed spec fields or a YAML mapping (see module docs)."""
    unknown = set(fields) - _INCIDENT_FIELDS
    if unknown:
        msg = (
            f"unknown incident field(s) {', '.join(sorted(unknown))}; expected {INCIDENT_SPEC_HELP}"
        )
        raise ConfigError(msg)
    missing = [
        name
        for name, keys in (
            ("topic", ("topic",)),
            ("x", ("x", "multiplier")),
            ("at", ("at", "start")),
            ("for", ("for", "duration")),
        )
        if _pick(fields, *keys) is None
    ]
    if missing:
        msg = f"incident is missing {', '.join(missing)}; expected {INCIDENT_SPEC_HELP}"
        raise ConfigError(msg)
    phrase = fields.get("phrase")
    kind = str(fields.get("kind") or ("phrase_burst" if phrase else "topic_spike"))
    try:
        return Incident(
            id=str(fields.get("id") or default_id),
            kind=cast(IncidentKind, kind),
            topic=str(fields["topic"]),
            start=parse_when(_pick(fields, "at", "start"), start),
            duration=_duration_of(_pick(fields, "for", "duration"), INCIDENT_SPEC_HELP),
            multiplier=_number(_pick(fields, "x", "multiplier"), "x", INCIDENT_SPEC_HELP),
            channel=str(fields["channel"]).lower() if fields.get("channel") else None,
            brand=str(fields["brand"]) if fields.get("brand") else None,
            phrase=str(phrase) if phrase else None,
            sentiment=cast(SentimentName, str(fields.get("sentiment") or "negative")),
        )
    except ConfigError as exc:
        msg = f"{exc}; expected {INCIDENT_SPEC_HELP}"
        raise ConfigError(msg) from exc


def parse_incident_spec(spec: str, *, start: datetime, default_id: str) -> Incident:
    """Parse one ``--incident`` spec such as ``topic=delivery,channel=shopee,x=5,at=2h,for=20m``.

    ``start`` is the simulation start that offsets and clock times are resolved against.
    Raises :class:`ConfigError` whose message shows the expected format.
    """
    return incident_from_fields(
        _split_spec(spec, INCIDENT_SPEC_HELP), start=start, default_id=default_id
    )


def surges_from_fields(
    fields: Mapping[str, object], *, start: datetime, end: datetime, default_id: str
) -> list[Surge]:
    """Build one surge, or one per day up to ``end`` when ``daily`` is set."""
    unknown = set(fields) - _SURGE_FIELDS
    if unknown:
        msg = f"unknown surge field(s) {', '.join(sorted(unknown))}; expected {SURGE_SPEC_HELP}"
        raise ConfigError(msg)
    at, duration_value = _pick(fields, "at", "start"), _pick(fields, "for", "duration")
    multiplier = _pick(fields, "x", "multiplier")
    if at is None or duration_value is None or multiplier is None:
        msg = f"a surge needs x, at and for; expected {SURGE_SPEC_HELP}"
        raise ConfigError(msg)
    try:
        first = parse_when(at, start)
        duration = _duration_of(duration_value, SURGE_SPEC_HELP)
        factor = _number(multiplier, "x", SURGE_SPEC_HELP)
    except ConfigError as exc:
        msg = f"{exc}; expected {SURGE_SPEC_HELP}"
        raise ConfigError(msg) from exc
    base_id = str(fields.get("id") or default_id)
    name = str(fields.get("name") or "surge")
    daily = str(fields.get("daily", "false")).lower() in ("true", "1", "yes")
    if not daily:
        return [Surge(id=base_id, start=first, duration=duration, multiplier=factor, name=name)]
    out: list[Surge] = []
    moment, day = first, 1
    while moment < end:
        out.append(
            Surge(
                id=f"{base_id}-d{day}",
                start=moment,
                duration=duration,
                multiplier=factor,
                name=name,
            )
        )
        moment += timedelta(days=1)
        day += 1
    if not out:
        msg = f"surge {base_id}: a daily surge at {at} has no occurrence before the span ends"
        raise ConfigError(msg)
    return out


def parse_surge_spec(spec: str, *, start: datetime, end: datetime, default_id: str) -> list[Surge]:
    """Parse one ``--surge`` spec such as ``at=20:00,for=60m,x=3,name=flash_sale[,daily]``."""
    return surges_from_fields(
        _split_spec(spec, SURGE_SPEC_HELP), start=start, end=end, default_id=default_id
    )


def load_incidents_file(
    path: Path, *, start: datetime, end: datetime
) -> tuple[list[Incident], list[Surge]]:
    """Read incidents (and surges) from YAML.

    The file holds either a list of incident mappings, or a mapping with ``incidents`` and
    ``surges`` lists. Each mapping uses the fields of the spec language; quote clock
    times (``at: '20:00'``), which YAML would otherwise read as a number.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"cannot read incidents file {path}: {exc}"
        raise ConfigError(msg) from exc
    except yaml.YAMLError as exc:
        msg = f"incidents file {path} is not valid YAML: {exc}"
        raise ConfigError(msg) from exc
    if isinstance(data, list):
        incident_items: object = data
        surge_items: object = []
    elif isinstance(data, dict):
        incident_items = data.get("incidents") or []
        surge_items = data.get("surges") or []
    else:
        msg = (
            f"incidents file {path}: expected a list of incidents or a mapping with "
            f"'incidents' and 'surges', got {type(data).__name__}"
        )
        raise ConfigError(msg)
    if not isinstance(incident_items, list) or not isinstance(surge_items, list):
        msg = f"incidents file {path}: 'incidents' and 'surges' must be lists"
        raise ConfigError(msg)
    incidents: list[Incident] = []
    for n, item in enumerate(incident_items, 1):
        if not isinstance(item, dict):
            msg = f"incidents file {path}: incident {n} is not a mapping: {item!r}"
            raise ConfigError(msg)
        try:
            incidents.append(
                incident_from_fields(item, start=start, default_id=f"file-inc-{n:02d}")
            )
        except ConfigError as exc:
            msg = f"incidents file {path}, incident {n}: {exc}"
            raise ConfigError(msg) from exc
    surges: list[Surge] = []
    for n, item in enumerate(surge_items, 1):
        if not isinstance(item, dict):
            msg = f"incidents file {path}: surge {n} is not a mapping: {item!r}"
            raise ConfigError(msg)
        try:
            surges.extend(
                surges_from_fields(item, start=start, end=end, default_id=f"file-surge-{n:02d}")
            )
        except ConfigError as exc:
            msg = f"incidents file {path}, surge {n}: {exc}"
            raise ConfigError(msg) from exc
    return incidents, surges


# -- random incidents ----------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentCandidate:
    """A key that a random incident may hit, with its share of baseline messages."""

    topic: str
    channel: str | None
    brand: str | None
    share: float
    phrases: tuple[str, ...] = field(default=())


def plan_random_incidents(
    count: int,
    *,
    seed: int,
    start: datetime,
    end: datetime,
    candidates: Sequence[IncidentCandidate],
    existing: Iterable[Incident] = (),
    expected_baseline: Callable[[float, float, float], float] | None = None,
    min_extra: float = 12.0,
) -> list[Incident]:
    """Draw ``count`` incidents for ``seed``, spread over time and keys.

    Start times are stratified over the span (one incident per stratum, away from the
    edges), keys are drawn among ``candidates`` (weighted by the square root of their share,
    so smaller keys get incidents too), and no two incidents (nor an explicit one) overlap
    on the same key. About one in four is a phrase burst with a phrase from the key's
    emerging phrases. ``expected_baseline(share, start_s, end_s)`` (expected baseline
    messages of a key in a window) lets the planner prefer draws that add at least
    ``min_extra`` messages; when none of 200 draws does, the draw adding the most is kept.
    """
    if count <= 0:
        return []
    if not candidates:
        msg = "random incidents need at least one key with baseline traffic"
        raise ConfigError(msg)
    rng = random.Random(f"voc-sim-incidents:{seed}")  # noqa: S311 (simulation, not secrets)
    span = (end - start).total_seconds()
    margin = min(1800.0, span * 0.08)
    usable = span - 2 * margin
    stratum = usable / count
    weights = [math.sqrt(c.share) for c in candidates]
    placed = list(existing)
    out: list[Incident] = []
    for n in range(count):
        best: tuple[float, Incident] | None = None
        for _attempt in range(200):
            minutes = rng.choice((10, 15, 15, 20, 20, 25, 30, 40))
            duration = min(float(minutes * 60), max(60.0, usable * 0.5))
            multiplier = float(rng.choice((3, 4, 5, 5, 6, 8, 10)))
            candidate = rng.choices(candidates, weights=weights)[0]
            lo = margin + n * stratum
            hi = max(lo, lo + stratum - duration)
            offset = round(rng.uniform(lo, hi))
            phrase = None
            if candidate.phrases and rng.random() < 0.25:
                phrase = rng.choice(candidate.phrases)
            incident = Incident(
                id=f"rnd-{n + 1:02d}",
                kind="phrase_burst" if phrase else "topic_spike",
                topic=candidate.topic,
                start=start + timedelta(seconds=offset),
                duration=timedelta(seconds=duration),
                multiplier=multiplier,
                channel=candidate.channel,
                brand=candidate.brand,
                phrase=phrase,
            )
            if any(incident.overlaps(other) for other in placed):
                continue
            if expected_baseline is None:
                best = (math.inf, incident)
                break
            begin = start.timestamp() + offset
            extra = (multiplier - 1) * expected_baseline(candidate.share, begin, begin + duration)
            if best is None or extra > best[0]:
                best = (extra, incident)
            if extra >= min_extra:
                break
        if best is None:
            msg = (
                f"could not place random incident {n + 1} of {count} without overlapping "
                f"another on the same key; ask for fewer or simulate a longer span"
            )
            raise ConfigError(msg)
        placed.append(best[1])
        out.append(best[1])
    return out


def write_ground_truth_file(
    path: Path, header: Mapping[str, Any], events: list[dict[str, Any]]
) -> None:
    """Write ground truth as one JSON document: ``header`` fields plus ``ground_truth``."""
    document = {**header, "ground_truth": events}
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        msg = f"cannot write ground truth to {path}: {exc}"
        raise ConfigError(msg) from exc


def load_ground_truth(path: Path) -> list[Incident | Surge]:
    """Read the incidents and surges of a ground-truth file written by the simulator."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"cannot read ground truth {path}: {exc}"
        raise ConfigError(msg) from exc
    entries = document.get("ground_truth") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        msg = f"ground truth {path}: expected an object with a 'ground_truth' list"
        raise ConfigError(msg)
    return [event_from_json(entry) for entry in entries]
