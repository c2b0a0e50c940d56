"""Signals are compact (the detector keeps minutes of them) and still read as plain values."""

from __future__ import annotations

import copy
import pickle
from array import array
from datetime import UTC, datetime

from flows.detect.phrases import gram_ids
from flows.detect.signals import Signal, signal_of
from schemas.rows import StoredMessage

NOW = datetime(2026, 11, 20, 1, tzinfo=UTC)


def stored(message_id: str, text: str, channel: str = "shopee") -> StoredMessage:
    return StoredMessage(
        message_id, "review", channel, "Zenta", "S12", 2, "ab", "", "", "", 0, 0, "{}",
        text, text.lower(), text, (), "vi", "negative",
        0.9, ("delivery", "price"), (0.7, 0.2), ("negative", "neutral"), (), (), (), (), "v1",
        NOW, NOW,
    )  # fmt: skip


def test_texts_with_emoji_and_diacritics_come_back_exactly() -> None:
    text = "Giao hàng CHẬM quá 😡😡 shop ơi, đơn #123"
    signal = signal_of(stored("m1", text), "p0")
    assert signal.text == text
    assert signal.text_normalized == text.lower()
    assert signal.topics == ("delivery", "price") and signal.negative_topics == ("delivery",)
    assert signal.negative and signal.unit == "m1" and signal.minute == int(NOW.timestamp()) // 60


def test_grams_are_packed_and_repeated_values_are_shared() -> None:
    a = signal_of(stored("m1", "giao hàng chậm quá trời"), "p0")
    b = signal_of(stored("m2", "giao hàng chậm lắm luôn"), "p0")
    assert isinstance(a.grams, array) and a.grams.itemsize == 8
    assert tuple(a.grams) == gram_ids("giao hàng chậm quá trời")
    assert a.channel is b.channel and a.topics is b.topics and a.origin is b.origin
    other = signal_of(stored("m3", "giao hàng chậm", channel="tiki"), "p0")
    assert other.channel == "tiki"


def test_signals_pickle_and_copy_as_equal_values() -> None:
    signal = signal_of(stored("m1", "đổi trả mãi không được 🙏"), "p0")
    signal.watermark = NOW
    # Bytewax pickles items that cross processes and recovery snapshots; our own object
    back = pickle.loads(pickle.dumps(signal))  # noqa: S301
    assert back == signal and back.text == signal.text and back.watermark == NOW
    assert copy.copy(signal) == signal
    built = Signal("x", "x", "p", "review", "shopee", "", "", (), (), False, NOW, "a", "b", (1, 2))
    assert (built.text, built.text_normalized, built.watermark) == ("a", "b", None)
