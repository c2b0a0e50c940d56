"""Tests of the topic taxonomy (nlp.taxonomy) on messages written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp._tables import resource_path
from nlp.lexicon import clause_polarities, load_lexicon, polarity
from nlp.normalize import normalize
from nlp.taxonomy import load_taxonomy, topic_hits
from schemas.errors import ConfigError

EXPECTED_TOPICS = {
    "delivery",
    "packaging",
    "product_quality",
    "price",
    "promotion",
    "customer_service",
    "payment",
    "refund_return",
    "warranty",
    "app_website",
    "authenticity",
    "account_security",
    "product_safety",
}


def topics(raw: str) -> set[str]:
    return {m.topic for m in load_taxonomy().match(normalize(raw))}


def test_packaged_taxonomy_has_the_cx_topics() -> None:
    taxonomy = load_taxonomy()
    assert set(taxonomy.ids) == EXPECTED_TOPICS
    for topic in taxonomy.topics:
        assert topic.label_vi
        assert topic.label_en
        assert topic.description
        assert len(topic.keywords) >= 10
    assert len(taxonomy.short_hash) == 8
    assert load_taxonomy() is taxonomy  # the packaged one is cached


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Giao hàng chậm quá, 5 ngày mới tới", {"delivery"}),
        ("giao hang cham qua", {"delivery"}),
        ("gh chậm, shipper thái độ", {"delivery", "customer_service"}),
        ("sip hàng nhanh", {"delivery"}),
        ("đóng gói sơ sài, hộp bị móp", {"packaging"}),
        ("dong goi can than", {"packaging"}),
        ("sp bị lỗi, màn hình có vết trầy", {"product_quality"}),
        ("chất lượng kém, vải mỏng", {"product_quality"}),
        ("giá hơi đắt so với chất lượng", {"price", "product_quality"}),
        ("gia re, dang tien", {"price"}),
        ("mã giảm giá không dùng được", {"promotion"}),
        ("nhân viên tư vấn nhiệt tình", {"customer_service"}),
        ("nhan vien cskh tra loi coc loc", {"customer_service"}),
        ("thanh toán qua momo bị trừ tiền 2 lần", {"payment"}),
        ("đã gửi trả hàng mà chưa hoàn tiền", {"refund_return"}),
        ("bảo hành 12 tháng, mang đi sửa 2 lần chưa xong", {"warranty"}),
        ("app bị văng khi đăng nhập", {"app_website", "account_security"}),
        ("thanh toán bị lỗi, tiền trừ rồi", {"payment"}),
        ("app báo lỗi liên tục", {"app_website"}),
        ("áo bị lỗi đường may", {"product_quality"}),
        ("giao nhanh nhưng máy bị lỗi", {"delivery", "product_quality"}),
        ("nồi chiên bị giật điện", {"product_safety"}),
        ("tài khoản bị đăng nhập lạ, mất mã otp", {"account_security"}),
        ("hàng fake, không phải chính hãng", {"authenticity"}),
        ("hang gia, khong phai chinh hang", {"authenticity"}),
    ],
)
def test_topics_of_written_messages(raw: str, expected: set[str]) -> None:
    assert topics(raw) == expected


@pytest.mark.parametrize(
    ("raw", "absent"),
    [
        ("shop trả lời nhanh", "product_quality"),  # "lời" is not "lỗi"
        ("xin lỗi vì giao chậm", "product_quality"),
        ("giá trị sử dụng cao, đánh giá 5 sao", "price"),
        ("tham gia chương trình rất vui", "price"),
        ("gia dinh minh dat hang 2 cai", "price"),  # no diacritics: "gia dinh", "dat hang"
        ("giao diện đẹp", "delivery"),
        ("giả sử hàng đến sớm", "authenticity"),
        ("gia hop ly", "packaging"),  # "hop" is "hợp", not "hộp"
        ("the shipment", "delivery"),  # whole words only: "ship" is not in "shipment"
    ],
)
def test_false_friends_do_not_match(raw: str, absent: str) -> None:
    assert absent not in topics(raw)


def test_matches_carry_spans_into_the_normalized_text() -> None:
    text = normalize("Đóng gói đẹp, giao hàng nhanh")
    found = load_taxonomy().match(text)
    assert [(m.topic, m.phrase) for m in found] == [
        ("packaging", "đóng gói"),
        ("delivery", "giao hàng nhanh"),  # the longest keyword wins
    ]
    for m in found:
        assert text[m.start : m.end] == m.phrase


def test_topic_sentiment_follows_its_clause() -> None:
    text = normalize("giao hàng nhanh nhưng sản phẩm bị lỗi")
    scored = load_lexicon().score(text)
    matches = load_taxonomy().match_view(scored.view)
    hits = {h.topic: h for h in topic_hits(scored.view, matches, clause_polarities(scored), 0.0)}
    assert hits["delivery"].sentiment == "positive"
    assert hits["product_quality"].sentiment == "negative"
    assert 0 < hits["delivery"].score < 1


def test_topic_without_sentiment_in_its_clause_takes_the_message_leaning() -> None:
    text = normalize("shop giao hàng. tệ quá")
    scored = load_lexicon().score(text)
    matches = load_taxonomy().match_view(scored.view)
    (hit,) = topic_hits(scored.view, matches, clause_polarities(scored), polarity(scored.score))
    assert (hit.topic, hit.sentiment) == ("delivery", "negative")


# ------------------------------------------------------------------------------------------
# A user edits a copy of the YAML


def _copy(tmp_path: Path, extra: str) -> Path:
    text = resource_path("taxonomy.yaml").read_text(encoding="utf-8")
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_adding_a_topic_to_a_copy_makes_it_match_without_code_change(tmp_path: Path) -> None:
    path = _copy(
        tmp_path,
        """
  - id: store_visit
    label_vi: Cửa hàng
    label_en: Store visit
    description: Experience at a physical store.
    keywords: [cửa hàng, chi nhánh, showroom, bãi giữ xe, gửi xe]
    exclude: [cửa hàng online]
""",
    )
    custom = load_taxonomy(path)
    assert "store_visit" in custom.ids
    found = {m.topic for m in custom.match(normalize("Chi nhánh quận 3 không có chỗ gửi xe"))}
    assert found == {"store_visit"}
    online = {m.topic for m in custom.match(normalize("cửa hàng online này giao chậm"))}
    assert "store_visit" not in online
    assert custom.short_hash != load_taxonomy().short_hash


def test_exact_and_prefix_phrase_syntax(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        """
topics:
  - id: cost
    label_vi: Giá
    label_en: Cost
    description: Cost words.
    keywords: ["=đắt", "overcharg*"]
""",
        encoding="utf-8",
    )
    taxonomy = load_taxonomy(path)
    assert [m.topic for m in taxonomy.match("giá đắt quá")] == ["cost"]
    assert taxonomy.match("dat hang roi") == []  # "=đắt" needs diacritics
    assert [m.phrase for m in taxonomy.match("they overcharged me")] == ["overcharged"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("topics: [\n  - id: a", "not valid YAML"),
        ("version: 1\n", "list under 'topics'"),
        ("topics: []\n", "at least one topic"),
        ("topics:\n  - id: Bad Id\n", "id must be lowercase"),
        (
            "topics:\n  - {id: a, label_vi: A, label_en: A, description: d, keywords: []}\n",
            "topic 'a': keywords must be a non-empty list",
        ),
        (
            "topics:\n  - {id: a, label_vi: A, label_en: A, description: d, keywords: [x]}\n"
            "  - {id: a, label_vi: B, label_en: B, description: d, keywords: [y]}\n",
            "used twice",
        ),
        (
            "topics:\n  - {id: a, label_en: A, description: d, keywords: [x]}\n",
            "topic 'a': label_vi must be a non-empty string",
        ),
        (
            "topics:\n  - {id: a, label_vi: A, label_en: A, description: d, keywords: [x], "
            "colour: red}\n",
            r"unknown keys \['colour'\]",
        ),
    ],
)
def test_invalid_taxonomy_gives_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        load_taxonomy(path)
    assert str(path) in str(info.value)


def test_missing_taxonomy_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read taxonomy"):
        load_taxonomy(tmp_path / "nope.yaml")
