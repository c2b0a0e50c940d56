"""The shipped ``fast`` enricher on messages written for these tests, the cases of issue 13.

Each case is one a CX team reads on its boards: filler chat turns, an error that is about
payment or the app, a safety hazard, a hacked account, a calm complaint, sarcasm, a topic
with a sentiment of its own, aspects kept where they belong.
"""

from __future__ import annotations

import pytest

from nlp.datasets import model_text
from nlp.enrichers import load_enricher
from nlp.fast import URGENT_FLAG_BAR, FastEnricher
from nlp.flags import rating_mismatch
from nlp.types import Enricher, Enrichment, MessageContext


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return load_enricher("fast")


def _read(
    enricher: Enricher,
    raw: str,
    source: str | None = None,
    category: str | None = None,
    rating: int | None = None,
) -> Enrichment:
    context = MessageContext(source, category, rating)
    return enricher.enrich_batch([model_text(raw)], [context])[0]


def _topics(result: Enrichment) -> set[str]:
    return {t.topic for t in result.topics}


@pytest.mark.parametrize("raw", ["dạ vâng", "da vang", "dạ", "alo", "ừ", "vâng ạ", "ok shop"])
@pytest.mark.parametrize("source", ["chat", None])
def test_filler_chat_turns_are_neutral(enricher: Enricher, raw: str, source: str | None) -> None:
    result = _read(enricher, raw, source)
    assert result.sentiment == "neutral"
    assert result.topics == ()
    assert not {"complaint", "praise", "urgent"} & set(result.flags)


def test_a_stock_question_is_not_negative(enricher: Enricher) -> None:
    for source in ("chat", None):
        result = _read(enricher, "còn hàng không shop", source)
        assert result.sentiment != "negative"
        assert "question" in result.flags
        assert "complaint" not in result.flags


def test_a_generic_error_goes_to_what_it_is_about(enricher: Enricher) -> None:
    payment = _read(enricher, "thanh toán bị lỗi, tiền trừ rồi mà đơn không lên", "chat")
    assert "payment" in _topics(payment)
    assert "product_quality" not in _topics(payment)
    app = _read(enricher, "app cứ báo lỗi rồi văng ra, không mở được", "review")
    assert "app_website" in _topics(app)
    assert "product_quality" not in _topics(app)
    product = _read(enricher, "máy xay mới dùng 2 lần đã bị lỗi, không chạy nữa", "review")
    assert "product_quality" in _topics(product)


def test_an_electric_shock_is_product_safety_and_urgent(enricher: Enricher) -> None:
    result = _read(
        enricher, "nồi chiên không dầu cắm vào là bị giật điện, ai mua cẩn thận", "social"
    )
    assert "product_safety" in _topics(result)
    assert result.sentiment == "negative"
    assert {"complaint", "urgent"} <= set(result.flags)


def test_a_hacked_account_is_account_security_and_urgent(enricher: Enricher) -> None:
    raw = "tài khoản em bị hack, có người đăng nhập lạ đặt 3 đơn, shop khóa giúp em gấp"
    result = _read(enricher, raw, "chat")
    assert "account_security" in _topics(result)
    assert "urgent" in result.flags


def test_each_topic_keeps_its_own_sentiment(enricher: Enricher) -> None:
    result = _read(enricher, "giao nhanh nhưng áo xấu, vải mỏng dính", "review")
    topics = {t.topic: t.sentiment for t in result.topics}
    assert topics.get("delivery") == "positive"
    assert topics.get("product_quality") == "negative"


def test_a_calm_complaint_is_a_complaint(enricher: Enricher) -> None:
    raw = "em nhận hàng rồi nhưng thiếu 1 cái nắp, shop gửi bù giúp em nhé"
    result = _read(enricher, raw, "chat")
    assert "complaint" in result.flags
    assert result.sentiment != "positive"


def test_praise_needs_no_great_confidence(enricher: Enricher) -> None:
    result = _read(enricher, "áo đẹp, vải mát, shop tư vấn nhiệt tình", "review")
    assert result.sentiment == "positive"
    assert "praise" in result.flags


def test_sarcasm_after_a_complaint_is_negative(enricher: Enricher) -> None:
    raw = "cảm ơn shop vì trải nghiệm 'mượt' nhé, 10 ngày mới nhận được hàng 🙂"
    assert _read(enricher, raw, "review").sentiment == "negative"


def test_rating_mismatch_fires_both_ways(enricher: Enricher) -> None:
    fake = _read(enricher, "hàng giả, không phải chính hãng", "review", rating=5)
    assert "authenticity" in _topics(fake)
    assert rating_mismatch(5, fake.sentiment, fake.flags)
    praise = _read(enricher, "shop tư vấn nhiệt tình, áo đẹp lắm", "review", rating=1)
    assert rating_mismatch(1, praise.sentiment, praise.flags)


def test_aspects_only_where_they_belong(enricher: Enricher) -> None:
    shirt = "áo thun mặc mát, form đẹp, chụp hình lên màu chuẩn"
    for category in ("fashion", None):
        assert _read(enricher, shirt, "review", category).aspects == ()
    chat = "phòng em đặt tối nay còn không ạ, lễ tân có hỗ trợ check in sớm không"
    assert _read(enricher, chat, "chat", "general").aspects == ()
    hotel = _read(
        enricher, "phòng sạch sẽ, lễ tân nhiệt tình, bữa sáng ngon", "review", "travel_hotel"
    )
    assert hotel.aspects
    assert all("#" in a.aspect for a in hotel.aspects)
    phone = _read(enricher, "pin trâu, camera chụp đêm hơi mờ", "review", "smartphone")
    assert {a.aspect for a in phone.aspects} & {"BATTERY", "CAMERA"}


@pytest.mark.parametrize(
    "raw",
    [
        "Máy chơi game hơi bị giật lag, pin trâu, camera ổn",
        "Mở khóa bằng bảo mật vân tay nhanh, rất thích",
        "Cơm cháy giòn, chà bông nhiều, ăn ngon",
        "Điện thoại xài tạm để chữa cháy trong lúc chờ máy mới",
        "Chụp ngược sáng hơi bị cháy sáng, còn lại ổn",
        "Đèn ngủ đẹp, giao nhanh, mẹ mình rất thích",
    ],
)
def test_phone_words_and_idioms_are_no_safety_or_security_topic(
    enricher: Enricher, raw: str
) -> None:
    """Urgent topics open cases for customer service: a word that only looks like one is not."""
    result = _read(enricher, raw, "review")
    assert not _topics(result) & {"product_safety", "account_security"}, result.topics
    assert "urgent" not in result.flags


@pytest.mark.parametrize(
    ("raw", "topic"),
    [
        ("Nồi cơm vừa cắm vào đã bị điện giật tê tay", "product_safety"),
        ("Dùng kem này bị dị ứng, nổi mẩn khắp mặt", "product_safety"),
        ("Tài khoản bị hack, mất mã OTP, ai đó đặt đơn lạ", "account_security"),
    ],
)
def test_real_hazards_and_takeovers_keep_their_urgent_topic(
    enricher: Enricher, raw: str, topic: str
) -> None:
    result = _read(enricher, raw, "review")
    assert topic in _topics(result), result.topics


@pytest.mark.parametrize(
    ("raw", "source", "urgent"),
    [
        ("Ốp lưng bị ố vàng sau hai tuần, chất lượng kém", "review", False),
        ("Áo giặt một lần đã phai màu, thất vọng", "review", False),
        ("Tai nghe được ba hôm thì một bên không nghe được nữa", "review", False),
        ("Bàn phím mới mua mà phím cách đã bị kẹt", "review", False),
        ("Shop ơi chiều nay em bay rồi mà đơn vẫn chưa giao, giúp em với", "chat", True),
        ("Em bị trừ tiền hai lần cho cùng một đơn, shop hoàn giúp em ngay", "chat", True),
        ("Mai em cưới rồi mà váy vẫn chưa tới, shop kiểm tra gấp giúp em", "chat", True),
    ],
)
def test_urgent_is_money_safety_or_a_deadline_not_any_complaint(
    enricher: Enricher, raw: str, source: str, urgent: bool
) -> None:
    """An urgent flag opens a case: a plain quality complaint is a complaint, not urgent."""
    result = _read(enricher, raw, source)
    assert "complaint" in result.flags
    assert ("urgent" in result.flags) is urgent, result.flags


def test_the_flag_model_alone_needs_the_urgent_bar(enricher: Enricher) -> None:
    assert isinstance(enricher, FastEnricher)
    model = enricher.flag_model
    assert model is not None
    assert model.thresholds[model.labels.index("urgent")] >= URGENT_FLAG_BAR
