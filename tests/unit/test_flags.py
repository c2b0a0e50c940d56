"""Tests of the rule flags (nlp.flags) on messages written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.flags import detect_flags, load_flag_rules, rating_mismatch
from nlp.lexicon import load_lexicon
from nlp.normalize import normalize
from schemas.errors import ConfigError, SchemaError


def flags(raw: str) -> set[str]:
    text = normalize(raw)
    scored = load_lexicon().score(text)
    return set(detect_flags(scored.view, scored.sentiment, scored.probability))


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        ("tôi muốn khiếu nại về đơn hàng này", "complaint"),
        ("hàng kém chất lượng, thất vọng", "complaint"),
        ("shop giao sai màu rồi", "complaint"),
        ("bao giờ có hàng lại ạ", "question"),
        ("size này có vừa không", "question"),
        ("cho em hỏi shop ở đâu", "question"),
        ("giao được chưa vậy?", "question"),
        ("cảm ơn shop, hàng đẹp lắm", "praise"),
        ("tuyệt vời, sẽ ủng hộ dài dài", "praise"),
        ("xóa app luôn, không mua nữa", "churn_risk"),
        ("lần cuối mua ở đây", "churn_risk"),
        ("chuyển sang shopee mua cho rẻ", "churn_risk"),
        ("chuyen qua lazada cho roi", "churn_risk"),
        ("hủy đơn giúp em", "churn_risk"),
        ("gấp lắm shop ơi", "urgent"),
        ("cần xử lý ngay lập tức", "urgent"),
        ("trả lời đi!!!", "urgent"),
        ("em gọi tổng đài 5 lần rồi mà không ai nghe", "urgent"),
        ("nhắn tin lần thứ 3 rồi vẫn chưa ai trả lời", "urgent"),
        ("đặt 10 ngày rồi vẫn chưa nhận được", "urgent"),
    ],
)
def test_flag_is_raised(raw: str, flag: str) -> None:
    assert flag in flags(raw)


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        ("hàng đẹp, giao nhanh", "complaint"),
        ("không bao giờ thất vọng khi mua ở đây", "question"),
        ("giao hàng nhanh, đóng gói kỹ", "question"),
        ("cảm ơn shop nhưng hàng lỗi, thất vọng", "praise"),  # thanks is no praise here
        ("đã mua 3 lần, lần nào cũng ưng", "urgent"),  # repeat purchase, not repeat contact
        ("hàng đẹp, sẽ mua lại", "churn_risk"),
        ("giao hàng gặp trục trặc nhỏ", "urgent"),  # "gặp" typed with diacritics is not "gấp"
    ],
)
def test_flag_is_not_raised(raw: str, flag: str) -> None:
    assert flag not in flags(raw)


@pytest.mark.parametrize(
    ("rating", "sentiment", "found", "expected"),
    [
        (5, "negative", (), True),
        (4, "negative", ("complaint",), True),
        (5, "neutral", ("complaint",), False),  # a calm report: the stars may be fair
        (1, "positive", ("praise",), True),
        (2, "positive", (), True),
        (1, "neutral", ("praise",), False),
        (5, "neutral", ("complaint", "praise"), False),  # mixed: the stars may be fair
        (5, "positive", ("complaint",), False),
        (5, "positive", (), False),
        (1, "negative", ("praise",), False),
        (3, "negative", ("complaint",), False),
        (3, "positive", (), False),
        (5, "neutral", (), False),
        (None, "negative", ("complaint",), False),
    ],
)
def test_rating_mismatch(
    rating: int | None, sentiment: str, found: tuple[str, ...], expected: bool
) -> None:
    assert rating_mismatch(rating, sentiment, found) is expected


@pytest.mark.parametrize("rating", [0, 6, -1, True])
def test_rating_out_of_range_is_a_schema_error(rating: int) -> None:
    with pytest.raises(SchemaError, match="rating must be an integer from 1 to 5"):
        rating_mismatch(rating, "negative")


def test_custom_flag_file(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(
        "urgent:\n  phrases: [khẩn trương]\n  patterns: ['\\bcan ngay\\b']\n",
        encoding="utf-8",
    )
    rules = load_flag_rules(path)
    assert detect_flags("khẩn trương giúp em", "neutral", 0.5, rules) == ("urgent",)
    gated = tmp_path / "gated.yaml"
    gated.write_text(
        "churn_risk:\n  patterns: [{pattern: 'sang ben kia', needs: [kia]}]\n", encoding="utf-8"
    )
    assert detect_flags("em sang bên kia mua", "neutral", 0.5, load_flag_rules(gated)) == (
        "churn_risk",
    )
    assert detect_flags("cần ngay trong hôm nay", "neutral", 0.5, rules) == ("urgent",)
    assert detect_flags("gấp lắm", "neutral", 0.5, rules) == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("anger:\n  phrases: [x]\n", "unknown flags"),
        ("urgent:\n  phrase: [x]\n", "urgent must be a mapping with keys among"),
        ("urgent:\n  patterns: ['(unclosed']\n", "not a valid regular expression"),
        ("praise:\n  min_probability: 2\n", r"must be a number in \[0, 1\]"),
        ("[1, 2", "cannot read flag rules"),
        ("urgent:\n  patterns: [{pattern: 'x', needs: ham}]\n", "needs must be a list of words"),
        ("urgent:\n  patterns: [42]\n", "patterns must be strings"),
    ],
)
def test_invalid_flag_file_is_a_config_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_flag_rules(path)
