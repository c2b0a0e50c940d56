"""Traffic of the simulator: the key mix, the diurnal curve and the event schedule.

The schedule works in one-minute buckets. Bucket ``b`` gets a number of baseline messages
(a multinomial split of the requested total along the diurnal curve, or Poisson counts for a
rate), Poisson counts of surge and incident extras, and uniform arrival times inside the
bucket (so arrivals are a Poisson process). Each event is a review, a social post or a whole
chat conversation (2-8 messages). Everything in a bucket is drawn from a numpy generator
seeded by ``(seed, bucket)``, so any bucket can be rebuilt alone and cheaply; events are
numbered ``k = 0, 1, ...`` in time order over the whole span.

With a total of ``messages``, the baseline holds exactly that many messages (a chat
conversation counts all its turns; the last event of a minute is trimmed to fit). A surge
``x`` adds Poisson extras at ``(x - 1)`` times the baseline rate of every key; an incident
``x`` adds Poisson extras at ``(x - 1)`` times its key's rate (surges included), drawn from
the key's own mix of channels and brands. Chat turns after the first can fall after the
span's end.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from schemas.errors import ConfigError
from simulator.incidents import Incident, Surge
from simulator.vocab import TOPICS, Resources

BUCKET_S = 60.0
VIETNAM_OFFSET_S = 7 * 3600  # Asia/Ho_Chi_Minh has no daylight saving time
SOURCES = ("review", "chat", "social")
_SEED_MASK = (1 << 63) - 1

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Product:
    """A product of a fictional brand, with its list price in VND (0: a free app)."""

    name: str
    price: int


@dataclass(frozen=True, slots=True)
class Brand:
    """A fictional brand: its kind picks vocabulary and topic weights."""

    name: str
    kind: str
    handle: str
    products: tuple[Product, ...]


@dataclass(frozen=True, slots=True)
class Combo:
    """One cell of the mix: a channel, a brand and a topic, with its share of messages."""

    source: str
    channel: str
    brand: Brand
    topic: str
    share: float


def _handle(name: str) -> str:
    """Make an ASCII slug of a brand name: ``Chợ Nhanh`` -> ``chonhanh``."""
    base = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in base.lower() if c.isascii() and c.isalnum())


def _normalized(weights: Mapping[str, float], what: str) -> dict[str, float]:
    total = float(sum(weights.values()))
    if total <= 0 or any(w < 0 for w in weights.values()):
        msg = f"{what}: expected non-negative weights with a positive sum, got {dict(weights)}"
        raise ConfigError(msg)
    return {k: float(w) / total for k, w in weights.items()}


class Mix:
    """Who writes where, about which brand and topic: the table of :class:`Combo` cells."""

    def __init__(
        self,
        resources: Resources,
        source_mix: Mapping[str, float] | None = None,
        channel_mix: Mapping[str, float] | None = None,
    ) -> None:
        mix = resources.mix
        sources = dict(mix["sources"])
        if source_mix:
            unknown = set(source_mix) - set(SOURCES)
            if unknown:
                msg = (
                    f"source_mix: expected sources among {', '.join(SOURCES)}, "
                    f"got {', '.join(sorted(unknown))}"
                )
                raise ConfigError(msg)
            sources.update(source_mix)
        source_share = _normalized(sources, "source_mix")
        channels_by_source: dict[str, dict[str, float]] = {
            s: dict(mix["channels"][s]) for s in SOURCES
        }
        self.channel_source = {c: s for s, chs in channels_by_source.items() for c in chs}
        if channel_mix:
            unknown = set(channel_mix) - set(self.channel_source)
            if unknown:
                msg = (
                    f"channel_mix: expected channels among "
                    f"{', '.join(sorted(self.channel_source))}, got {', '.join(sorted(unknown))}"
                )
                raise ConfigError(msg)
            for channel, weight in channel_mix.items():
                channels_by_source[self.channel_source[channel]][channel] = weight
        self.brands: tuple[Brand, ...] = tuple(
            Brand(
                name=b["name"],
                kind=b["kind"],
                handle=_handle(b["name"]),
                products=tuple(Product(p["name"], int(p["price"])) for p in b["products"]),
            )
            for b in mix["brands"]
        )
        brand_weight = {b["name"]: float(b["weight"]) for b in mix["brands"]}
        brand_channel = {b["name"]: dict(b.get("channels") or {}) for b in mix["brands"]}
        turns = {int(k): float(v) for k, v in mix["chat_turns"].items()}
        if min(turns) < 2 or max(turns) > 8:
            msg = f"mix.yaml chat_turns: expected turns between 2 and 8, got {sorted(turns)}"
            raise ConfigError(msg)
        turn_p = _normalized({str(k): v for k, v in turns.items()}, "chat_turns")
        self.turn_values = np.array(sorted(turns), dtype=np.int64)
        self.turn_cum = np.cumsum([turn_p[str(t)] for t in sorted(turns)])
        self.avg_turns = float(sum(t * turn_p[str(t)] for t in turns))

        combos: list[Combo] = []
        for source in SOURCES:
            if source_share.get(source, 0.0) == 0.0:
                continue
            channel_share = _normalized(channels_by_source[source], f"channels of {source}")
            for channel, ch_share in channel_share.items():
                if ch_share == 0.0:
                    continue
                raw = {
                    b.name: brand_weight[b.name] * float(brand_channel[b.name].get(channel, 1.0))
                    for b in self.brands
                }
                brand_share = _normalized(raw, f"brands on {channel}")
                for brand in self.brands:
                    if brand_share[brand.name] == 0.0:
                        continue
                    topic_share = self._topic_share(mix, source, channel, brand.kind)
                    for topic, t_share in topic_share.items():
                        share = source_share[source] * ch_share * brand_share[brand.name] * t_share
                        if share > 0:
                            combos.append(Combo(source, channel, brand, topic, share))
        self.combos: tuple[Combo, ...] = tuple(combos)
        self.is_chat = np.array([c.source == "chat" for c in combos], dtype=bool)
        event_weight = np.array(
            [c.share / (self.avg_turns if c.source == "chat" else 1.0) for c in combos]
        )
        self.event_cum = np.cumsum(event_weight / event_weight.sum())
        nonchat = np.where(~self.is_chat, event_weight, 0.0)
        self.nonchat_cum = np.cumsum(nonchat / nonchat.sum()) if nonchat.sum() > 0 else None
        self.channels = tuple(self.channel_source)
        self.brand_names = tuple(b.name for b in self.brands)

    @staticmethod
    def _topic_share(
        mix: Mapping[str, Any], source: str, channel: str, kind: str
    ) -> dict[str, float]:
        base = mix["topics_by_kind"][kind]
        src_f = mix["topic_factors_by_source"].get(source, {})
        ch_f = mix["topic_factors_by_channel"].get(channel, {})
        raw = {
            t: float(base.get(t, 0.0)) * float(src_f.get(t, 1.0)) * float(ch_f.get(t, 1.0))
            for t in TOPICS
        }
        return _normalized(raw, f"topics of {kind} on {channel}")

    def matches(self, topic: str, channel: str | None, brand: str | None) -> list[int]:
        """Return the indices of the combos of a key (None matches anything)."""
        return [
            i
            for i, c in enumerate(self.combos)
            if c.topic == topic
            and (channel is None or c.channel == channel)
            and (brand is None or c.brand.name == brand)
        ]

    def share(self, topic: str, channel: str | None = None, brand: str | None = None) -> float:
        """Share of baseline messages that belong to a key."""
        return float(sum(self.combos[i].share for i in self.matches(topic, channel, brand)))

    def validate_key(self, what: str, topic: str, channel: str | None, brand: str | None) -> None:
        """Raise :class:`ConfigError` unless the key is known and has baseline traffic."""
        if topic not in TOPICS:
            msg = f"{what}: unknown topic {topic!r}; expected one of {', '.join(TOPICS)}"
            raise ConfigError(msg)
        if channel is not None and channel not in self.channel_source:
            msg = f"{what}: unknown channel {channel!r}; expected one of {', '.join(self.channels)}"
            raise ConfigError(msg)
        if brand is not None and brand not in self.brand_names:
            msg = f"{what}: unknown brand {brand!r}; expected one of {', '.join(self.brand_names)}"
            raise ConfigError(msg)
        if self.share(topic, channel, brand) <= 0:
            msg = (
                f"{what}: the key topic={topic}, channel={channel or 'any'}, "
                f"brand={brand or 'any'} has no baseline traffic in this mix, so it cannot be "
                f"multiplied"
            )
            raise ConfigError(msg)


def diurnal_weight(
    times: FloatArray, hourly: Sequence[float], weekday: Sequence[float]
) -> FloatArray:
    """Relative traffic at UTC epoch seconds ``times``, following Vietnam local time."""
    local = times + VIETNAM_OFFSET_S
    hour = (local % 86_400.0) / 3_600.0
    curve = np.interp(hour, np.arange(25, dtype=np.float64), [*hourly, hourly[0]])
    day = ((np.floor(local / 86_400.0).astype(np.int64) + 3) % 7).astype(
        np.int64
    )  # 1970-01-01: Thu
    out: FloatArray = curve * np.asarray(weekday, dtype=np.float64)[day]
    return out


@dataclass(frozen=True, slots=True)
class Bucket:
    """The events of one minute, in time order: parallel lists (``k`` = ``first_k + j``)."""

    index: int
    first_k: int
    times: list[float]
    combos: list[int]
    turns: list[int]
    origins: list[int]
    rng: np.random.Generator
    """The bucket's generator, past the schedule's draws: texts draw their uniforms next."""


@dataclass(frozen=True, slots=True)
class _IncidentPlan:
    incident: Incident
    share: float
    cum: npt.NDArray[np.float64]
    combo_index: IntArray
    nonchat_cum: npt.NDArray[np.float64] | None
    nonchat_index: IntArray
    start_s: float
    end_s: float


class Schedule:
    """When each event happens and what it is: baseline, surge extra or incident extra.

    Origins: ``0`` baseline, ``1..S`` surge ``s-1``, ``S+1..S+J`` incident ``j-S-1``.
    """

    def __init__(
        self,
        mix: Mix,
        *,
        seed: int,
        start_s: float,
        end_s: float,
        messages: int | None,
        rate_per_minute: float | None,
        diurnal: bool,
        hourly: Sequence[float],
        weekday: Sequence[float],
        surges: Sequence[Surge],
        incidents: Sequence[Incident],
    ) -> None:
        self.mix = mix
        self.seed = seed & _SEED_MASK
        self.start_s, self.end_s = start_s, end_s
        n = max(1, math.ceil((end_s - start_s) / BUCKET_S - 1e-9))
        self.lo = start_s + BUCKET_S * np.arange(n, dtype=np.float64)
        self.hi = np.minimum(self.lo + BUCKET_S, end_s)
        width = self.hi - self.lo
        shape = diurnal_weight((self.lo + self.hi) / 2, hourly, weekday) if diurnal else np.ones(n)
        weight = shape * width
        if messages is not None:
            p = weight / weight.sum()
            self.expected: FloatArray = messages * p
            counts_rng = np.random.default_rng([self.seed, 0xC0DE])
            self.counts: IntArray = counts_rng.multinomial(messages, p).astype(np.int64)
        elif rate_per_minute is not None:
            self.expected = rate_per_minute / BUCKET_S * weight * (width.sum() / weight.sum())
            counts_rng = np.random.default_rng([self.seed, 0xC0DE])
            self.counts = counts_rng.poisson(self.expected).astype(np.int64)
        else:
            msg = "a schedule needs messages (a total) or rate_per_minute, got neither"
            raise ConfigError(msg)
        self.surges = tuple(surges)
        self.surge_windows = [
            (s.start.timestamp(), s.end.timestamp(), s.multiplier) for s in self.surges
        ]
        # Multiplier of every key's rate in each bucket due to surges (bucket average).
        self.surge_factor = np.ones(n)
        for lo_s, hi_s, x in self.surge_windows:
            self.surge_factor += (x - 1) * self._overlap(lo_s, hi_s) / width
        self.plans: list[_IncidentPlan] = []
        for inc in incidents:
            idx = np.array(mix.matches(inc.topic, inc.channel, inc.brand), dtype=np.int64)
            shares = np.array([mix.combos[i].share for i in idx])
            weights = shares / np.where(mix.is_chat[idx], mix.avg_turns, 1.0)
            nonchat_mask = ~mix.is_chat[idx]
            nc_w = weights[nonchat_mask]
            self.plans.append(
                _IncidentPlan(
                    incident=inc,
                    share=float(shares.sum()),
                    cum=np.cumsum(weights / weights.sum()),
                    combo_index=idx,
                    nonchat_cum=np.cumsum(nc_w / nc_w.sum()) if nc_w.size else None,
                    nonchat_index=idx[nonchat_mask],
                    start_s=inc.start.timestamp(),
                    end_s=inc.end.timestamp(),
                )
            )
        self.n_buckets = n
        self._width = width

    def _overlap(self, lo_s: float, hi_s: float) -> FloatArray:
        out: FloatArray = np.clip(np.minimum(self.hi, hi_s) - np.maximum(self.lo, lo_s), 0.0, None)
        return out

    def expected_key_messages(self, share: float, lo_s: float, hi_s: float) -> float:
        """Expect this many baseline messages (surges included) of a key in a window."""
        frac = self._overlap(lo_s, hi_s) / self._width
        return float(share * (self.expected * self.surge_factor * frac).sum())

    def _fill(
        self,
        rng: np.random.Generator,
        target: int,
        cum: npt.NDArray[np.float64],
        index: IntArray | None,
        nonchat_cum: npt.NDArray[np.float64] | None,
        nonchat_index: IntArray | None,
        lo_s: float,
        hi_s: float,
    ) -> tuple[FloatArray, IntArray, IntArray]:
        """Draw events until they hold exactly ``target`` messages (chats hold several)."""
        u = rng.random(target)
        pos = np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
        combos = pos if index is None else index[pos]
        is_chat = self.mix.is_chat[combos]
        turn_pos = np.searchsorted(self.mix.turn_cum, rng.random(target), side="right")
        turns = np.where(
            is_chat, self.mix.turn_values[np.minimum(turn_pos, len(self.mix.turn_cum) - 1)], 1
        )
        total = np.cumsum(turns)
        n = int(np.searchsorted(total, target)) + 1
        combos, turns = combos[:n].copy(), turns[:n].copy()
        over = int(total[n - 1]) - target
        if over:
            turns[n - 1] -= over
            if turns[n - 1] == 1 and is_chat[n - 1]:
                if nonchat_cum is not None:
                    p = min(
                        int(np.searchsorted(nonchat_cum, u[n - 1], side="right")),
                        len(nonchat_cum) - 1,
                    )
                    combos[n - 1] = p if nonchat_index is None else nonchat_index[p]
                else:
                    turns[n - 1] = 2  # a chat-only key: one message more than asked
        times = lo_s + (hi_s - lo_s) * rng.random(n)
        return times, combos.astype(np.int64), turns.astype(np.int64)

    def bucket_arrays(
        self, b: int
    ) -> tuple[FloatArray, IntArray, IntArray, IntArray, np.random.Generator]:
        """Draw the events of bucket ``b``.

        Returns their times, combos, turns and origins, sorted by time, and the bucket's
        generator (its next draws are the events' uniforms).
        """
        rng = np.random.default_rng([self.seed, b, 0xB0C])
        lo_s, hi_s = float(self.lo[b]), float(self.hi[b])
        parts: list[tuple[FloatArray, IntArray, IntArray, int]] = []
        if self.counts[b]:
            parts.append(
                (
                    *self._fill(
                        rng,
                        int(self.counts[b]),
                        self.mix.event_cum,
                        None,
                        self.mix.nonchat_cum,
                        None,
                        lo_s,
                        hi_s,
                    ),
                    0,
                )
            )
        width = hi_s - lo_s
        for s, (s_lo, s_hi, x) in enumerate(self.surge_windows, start=1):
            o_lo, o_hi = max(lo_s, s_lo), min(hi_s, s_hi)
            if o_hi <= o_lo:
                continue
            lam = (x - 1) * self.expected[b] * (o_hi - o_lo) / width
            m = int(rng.poisson(lam))
            if m:
                parts.append(
                    (
                        *self._fill(
                            rng, m, self.mix.event_cum, None, self.mix.nonchat_cum, None, o_lo, o_hi
                        ),
                        s,
                    )
                )
        base = len(self.surge_windows) + 1
        for j, plan in enumerate(self.plans):
            o_lo, o_hi = max(lo_s, plan.start_s), min(hi_s, plan.end_s)
            if o_hi <= o_lo:
                continue
            x = plan.incident.multiplier
            lam = (
                (x - 1)
                * self.expected[b]
                * self.surge_factor[b]
                * plan.share
                * (o_hi - o_lo)
                / width
            )
            m = int(rng.poisson(lam))
            if m:
                parts.append(
                    (
                        *self._fill(
                            rng,
                            m,
                            plan.cum,
                            plan.combo_index,
                            plan.nonchat_cum,
                            plan.nonchat_index,
                            o_lo,
                            o_hi,
                        ),
                        base + j,
                    )
                )
        if not parts:
            empty_f: FloatArray = np.empty(0)
            empty_i: IntArray = np.empty(0, dtype=np.int64)
            return empty_f, empty_i, empty_i, empty_i, rng
        times = np.concatenate([p[0] for p in parts])
        combos = np.concatenate([p[1] for p in parts])
        turns = np.concatenate([p[2] for p in parts])
        origins = np.concatenate([np.full(len(p[0]), p[3], dtype=np.int64) for p in parts])
        order = np.argsort(times, kind="stable")
        return times[order], combos[order], turns[order], origins[order], rng

    def buckets(self) -> Iterator[Bucket]:
        """Every bucket in time order, with global event numbers."""
        k = 0
        for b in range(self.n_buckets):
            times, combos, turns, origins, rng = self.bucket_arrays(b)
            yield Bucket(
                b, k, times.tolist(), combos.tolist(), turns.tolist(), origins.tolist(), rng
            )
            k += len(times)
