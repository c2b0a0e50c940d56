"""What the detectors see of a stored message: a :class:`Signal`, and the keys it counts for.

Only customer voice counts: chat turns written by an agent give no signal. A chat
conversation is one *unit*: its customer turns in the same minute count once for a key, so
a customer who writes five lines is one voice, not five.

Every message also counts for its channel and its brand, whatever its topics
(:data:`ANY_TOPIC` keys): a rise of complaints on a channel shows even when they land in
many topics. A message the taxonomy finds no topic in counts for the pseudo-topic
:data:`OTHER`, so a
rise of complaints about something the taxonomy does not know still shows as a volume
spike of complaints (``other @ zalo``); the volume of all its messages (greetings,
thanks, chit-chat) is learned but never alerts. The words of complaints (negative or
complaint-flagged messages) are kept as term ids for the emerging-issue detector.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, TypeVar

from flows.detect.phrases import StopList, default_stop_list, gram_ids, term_ids
from schemas.rows import StoredMessage

#: Key types, as stored in ``alerts.key_type``.
TOPIC = "topic"
TOPIC_CHANNEL = "topic_channel"
TOPIC_BRAND = "topic_brand"
TOPIC_PRODUCT = "topic_product"
CHANNEL = "channel"
BRAND = "brand"
PHRASE = "phrase"
TERMS = "terms"
CASE = "case"
KEY_TYPES = (TOPIC, TOPIC_CHANNEL, TOPIC_BRAND, TOPIC_PRODUCT, CHANNEL, BRAND)
#: Keys of every topic: their complaints alert, the volume of all their messages does not.
ANY_TOPIC = (CHANNEL, BRAND)
_DEPTH = {
    CHANNEL: 0,
    BRAND: 0,
    TOPIC: 0,
    TOPIC_CHANNEL: 1,
    TOPIC_BRAND: 1,
    TOPIC_PRODUCT: 2,
    PHRASE: 0,
    TERMS: 0,
    CASE: 3,
}

#: The pseudo-topic of customer messages in which the taxonomy finds no topic.
OTHER = "other"
#: The flag the enricher sets on a message reporting a problem.
COMPLAINT = "complaint"


class Key(NamedTuple):
    """A monitored key: a topic (alone or narrowed), or a whole channel or brand.

    A topic can be narrowed to a channel, a brand or a product; a channel's or a brand's key
    holds every topic (its topic is empty). Unused fields are empty. A product key keeps its
    brand (product names are only unique within a brand).
    """

    type: str
    topic: str
    channel: str = ""
    brand: str = ""
    product: str = ""

    @property
    def depth(self) -> int:
        """0 for a topic, 1 for a topic narrowed to a channel or a brand, 2 for a product."""
        return _DEPTH[self.type]

    def contains(self, other: Key) -> bool:
        """Whether every message of ``other`` is also a message of this key."""
        return (
            (not self.topic or self.topic == other.topic)
            and (not self.channel or self.channel == other.channel)
            and (not self.brand or self.brand == other.brand)
            and (not self.product or self.product == other.product)
        )

    def matches(self, signal: Signal) -> bool:
        """Whether a message counts for this key."""
        return (
            (not self.topic or self.topic in signal.topics)
            and (not self.channel or self.channel == signal.channel)
            and (not self.brand or self.brand == signal.brand)
            and (not self.product or self.product == signal.product)
        )

    def describe(self) -> str:
        """``delivery``, ``delivery @ shopee``, ``delivery / Zenta / Zenta S12``, ``* @ zalo``."""
        parts = [self.topic or "*"]
        if self.channel:
            parts.append(f"@ {self.channel}")
        if self.brand:
            parts.append(f"/ {self.brand}")
        if self.product:
            parts.append(f"/ {self.product}")
        return " ".join(parts)


@dataclass(slots=True, init=False)
class Signal:
    """One customer message as the detectors need it.

    ``unit`` is the conversation id of a chat turn and the message id otherwise.
    ``negative_topics`` are the topics the message complains about: those the enricher's
    topic-level sentiment calls negative, or all of its topics when the enricher flags it a
    complaint (a calm report of a problem is a complaint). ``grams`` are the ids of its
    candidate phrases (:func:`flows.detect.phrases.gram_ids`; an ``array`` of 64-bit ids in
    the flow).
    ``terms`` are the ids of the words and word pairs of a complaint
    (:func:`flows.detect.phrases.term_ids`; empty for other messages). ``flags`` are the
    enricher's flags. ``watermark`` is set by the window clock when the message arrives
    behind its watermark (it is then a late item).

    The detector keeps the signals of its last minutes, so the two texts, read only to
    describe an alert, are kept as UTF-8 (a third of the size of a ``str`` holding emoji)
    and decoded when read.
    """

    id: str
    unit: str
    origin: str
    source: str
    channel: str
    brand: str
    product: str
    topics: tuple[str, ...]
    negative_topics: tuple[str, ...]
    negative: bool
    created_at: datetime
    grams: Sequence[int]
    terms: Sequence[int]
    flags: tuple[str, ...]
    watermark: datetime | None
    _text: bytes
    _normalized: bytes

    def __init__(
        self,
        id: str,
        unit: str,
        origin: str,
        source: str,
        channel: str,
        brand: str,
        product: str,
        topics: tuple[str, ...],
        negative_topics: tuple[str, ...],
        negative: bool,
        created_at: datetime,
        text: str,
        text_normalized: str,
        grams: Sequence[int],
        watermark: datetime | None = None,
        terms: Sequence[int] = (),
        flags: tuple[str, ...] = (),
    ) -> None:
        self.id, self.unit, self.origin, self.source = id, unit, origin, source
        self.channel, self.brand, self.product = channel, brand, product
        self.topics, self.negative_topics, self.negative = topics, negative_topics, negative
        self.created_at, self.grams, self.watermark = created_at, grams, watermark
        self.terms, self.flags = terms, flags
        self._text = text.encode("utf-8")
        self._normalized = text_normalized.encode("utf-8")

    @property
    def text(self) -> str:
        """The message's (redacted) text."""
        return self._text.decode("utf-8")

    @property
    def text_normalized(self) -> str:
        """Its normalized text (what the enricher and the phrase detector read)."""
        return self._normalized.decode("utf-8")

    def __deepcopy__(self, memo: dict[int, object]) -> Signal:
        """Signals are values once windowed: recovery snapshots share them, not copy them."""
        return self

    @property
    def complaint(self) -> bool:
        """Negative, or flagged as reporting a problem."""
        return self.negative or COMPLAINT in self.flags

    @property
    def minute(self) -> int:
        """Event-time minute index (minutes since the Unix epoch, UTC)."""
        return int(self.created_at.timestamp() // 60)

    def counted_keys(self) -> tuple[Key, ...]:
        """Every key this message counts for (the same tuple for messages alike)."""
        where = (self.topics, self.channel, self.brand, self.product)
        found = _KEYS.get(where)
        if found is None:
            found = tuple(_keys_of(*where))
            if len(_KEYS) >= _KEYS_MAX:
                _KEYS.clear()
            _KEYS[where] = found
        return found

    def keyed_negatives(self) -> tuple[Key, ...]:
        """The keys this message counts as a complaint for.

        Those of a topic it complains about; a channel's and a brand's when it is a
        complaint at all.
        """
        if not self.negative_topics and not self.complaint:
            return ()
        negative, complaint = self.negative_topics, self.complaint
        return tuple(
            k for k in self.counted_keys() if k.topic in negative or (complaint and not k.topic)
        )


#: The keys of recent (topics, channel, brand, product) combinations, shared (bounded).
_KEYS: dict[tuple[tuple[str, ...], str, str, str], tuple[Key, ...]] = {}
_KEYS_MAX = 50_000


def _keys_of(topics: tuple[str, ...], channel: str, brand: str, product: str) -> Iterator[Key]:
    yield Key(CHANNEL, "", channel=channel)
    if brand:
        yield Key(BRAND, "", brand=brand)
    for topic in topics:
        yield Key(TOPIC, topic)
        yield Key(TOPIC_CHANNEL, topic, channel=channel)
        if brand:
            yield Key(TOPIC_BRAND, topic, brand=brand)
            if product:
                yield Key(TOPIC_PRODUCT, topic, brand=brand, product=product)
        elif product:
            yield Key(TOPIC_PRODUCT, topic, product=product)


def is_customer_voice(row: StoredMessage) -> bool:
    """Reviews, social posts and customer chat turns; not agents' turns."""
    return row.role != "agent"


def signal_of(row: StoredMessage, origin: str, stops: StopList | None = None) -> Signal:
    """Build the signal of one stored row (customer voice: check with is_customer_voice).

    The detector keeps the signals of its last minutes (at 1,000 messages a second, a few
    hundred thousand), so they are made compact: repeated strings and topic tuples are
    shared, gram ids are packed 8 bytes each.
    """
    negative = row.sentiment == "negative"
    topics: tuple[str, ...] = tuple(dict.fromkeys(row.topics)) or (OTHER,)
    flags = _shared(tuple(row.flags))
    complaint = negative or COMPLAINT in flags
    if COMPLAINT in flags:  # a complaint, calm or not, complains about what it talks about
        negative_topics = topics
    elif row.topics:
        negative_topics = tuple(
            topic
            for topic, sentiment in zip(row.topics, row.topic_sentiments, strict=False)
            if sentiment == "negative"
        )
    else:
        negative_topics = (OTHER,) if negative else ()
    text = row.text_normalized
    return Signal(
        id=row.id,
        unit=row.conversation_id or row.id,
        origin=_shared(origin),
        source=_shared(row.source),
        channel=_shared(row.channel),
        brand=_shared(row.brand),
        product=_shared(row.product),
        topics=_shared(topics),
        negative_topics=_shared(negative_topics),
        negative=negative,
        created_at=row.created_at,
        text=row.text,
        text_normalized=text,
        grams=array("Q", gram_ids(text, stops)),
        terms=array("Q", term_ids(text, stops)) if complaint else _NO_TERMS,
        flags=flags,
    )


_T = TypeVar("_T", str, tuple[str, ...])
_NO_TERMS: tuple[int, ...] = ()

#: Strings and tuples shared between signals (channels, brands, products, topic sets).
_SHARED: dict[object, object] = {}
_SHARED_MAX = 100_000


def _shared(value: _T) -> _T:
    """The one shared copy of a short, often repeated value (bounded: then the value itself)."""
    found = _SHARED.get(value)
    if found is not None:
        return found  # type: ignore[return-value]
    if len(_SHARED) < _SHARED_MAX:
        _SHARED[value] = value
    return value


def signals_of(rows: Sequence[StoredMessage], origin: str) -> list[Signal]:
    """The signals of a micro-batch of stored rows (agent turns left out)."""
    stops = default_stop_list()
    return [signal_of(row, origin, stops) for row in rows if is_customer_voice(row)]


def units_by_key(signals: Iterable[Signal]) -> dict[Key, set[str]]:
    """The distinct units of each key among ``signals``."""
    out: dict[Key, set[str]] = {}
    for signal in signals:
        for key in signal.counted_keys():
            units = out.get(key)
            if units is None:
                out[key] = {signal.unit}
            else:
                units.add(signal.unit)
    return out
