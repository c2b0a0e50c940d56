"""What an alert shows: samples chosen by the words that make its messages unusual."""

from __future__ import annotations

from flows.detect.describe import characteristic_terms, pick_samples, summarize
from flows.detect.phrases import term_ids
from flows.detect.signals import Signal
from tests.detect.support import make_signal

#: Everyday complaints of the key: its topic's usual words, in every complaint.
EVERYDAY = [
    "chất lượng sản phẩm kém quá",
    "sản phẩm kém chất lượng không như mô tả",
    "chất lượng sản phẩm tệ, không đáng tiền",
    "sản phẩm dùng vài ngày đã hỏng, chất lượng kém",
    "chất lượng sản phẩm quá tệ luôn",
    "sản phẩm chất lượng kém, thất vọng",
    "không hài lòng về chất lượng sản phẩm",
    "sản phẩm lỗi, chất lượng kém",
]
#: The incident: a battery problem in varied wording, rarely complained about before.
INCIDENT = [
    "pin tụt nhanh, sạc mãi không đầy",
    "máy nóng khi sạc, pin hao kinh khủng",
    "sạc qua đêm sáng ra pin còn 40%",
    "pin chai sau 1 tuần, sạc không vào",
    "pin sụt nhanh, máy nóng ran khi sạc",
    "sạc chậm, pin tụt không kiểm soát",
]


def complaint(n: int, text: str) -> Signal:
    """A complaint; the incident's (``n`` >= 100) came first in the minute."""
    second = float(n - 100) if n >= 100 else 30.0 + n
    signal = make_signal(n, 0, topics=("product_quality",), negative=True, text=text, second=second)
    signal.terms = term_ids(text.lower())
    return signal


def baseline(members: list[Signal]) -> dict[int, float]:
    """Shares of complaints: the everyday words common, the incident's words rare."""
    everyday = {t for s in members[: len(EVERYDAY)] for t in s.terms}
    return {t: 0.3 for t in everyday}


def test_samples_are_the_messages_holding_the_incidents_words() -> None:
    members = [complaint(i, t) for i, t in enumerate(EVERYDAY)]
    members += [complaint(100 + i, t) for i, t in enumerate(INCIDENT)]
    shares = baseline(members)
    weights = characteristic_terms(members, lambda t: shares.get(t, 0.002))
    assert weights
    picked = pick_samples(members, set(), "product_quality", 6, weights)
    mine = sum(1 for s in picked if int(s.id[1:]) >= 100)
    assert mine >= 5, [s.text for s in picked]
    # without the weights, the latest messages (the everyday ones) come first
    plain = pick_samples(members, set(), "product_quality", 6)
    assert sum(1 for s in plain if int(s.id[1:]) >= 100) <= 1


def test_characteristic_terms_ignore_words_as_common_as_their_baseline() -> None:
    members = [complaint(i, t) for i, t in enumerate(EVERYDAY)]
    assert characteristic_terms(members, lambda t: 1.0) == {}


def test_a_summary_never_calls_fewer_messages_than_usual_a_rise() -> None:
    def line(observed: float, expected: float) -> str:
        return summarize(
            "volume_spike",
            family="complaints",
            topic="delivery",
            channel="shopee",
            brand="",
            product="",
            phrase="",
            observed=observed,
            expected=expected,
            minutes=20,
        )

    assert "tăng 6 lần trong 20 phút" in line(60, 10)
    low = line(8, 10)  # the window a long scale fired on is not the one the line counts
    assert "tăng" not in low and "8 tin trong 20 phút, thường 10" in low
