"""Tests of nlp.pii on texts written for these tests and on the seeded generator."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.normalize import normalize
from nlp.pii import DEFAULT_PII, KINDS, PiiConfig, PiiSpan, Redaction, find_pii, redact
from schemas.errors import ConfigError
from tests.support.pii_synth import clean_texts, pii_texts

POSITIVE: list[tuple[str, str, tuple[str, ...]]] = [
    # phones
    ("gọi em 0987 654 321 nha", "gọi em <phone> nha", ("phone",)),
    ("SĐT:0362.118.447", "SĐT:<phone>", ("phone",)),
    ("zalo +84 37 922 1180 ạ", "zalo <phone> ạ", ("phone",)),
    ("(+84) 903-111-222 là số em", "<phone> là số em", ("phone",)),
    ("máy bàn (0236) 3821 555", "máy bàn <phone>", ("phone",)),
    ("gọi 84987654321 giúp", "gọi <phone> giúp", ("phone",)),
    ("số cũ 0168 234 5678 bỏ rồi", "số cũ <phone> bỏ rồi", ("phone",)),
    ("sdt 09 8765 4321", "sdt <phone>", ("phone",)),
    # emails
    ("mail: Tran.Minh_92@gmail.com", "mail: <email>", ("email",)),
    ("gửi về abc.xyz@congty.com.vn nhé", "gửi về <email> nhé", ("email",)),
    # ID numbers
    ("CCCD 001203004567 của em", "CCCD <id_number> của em", ("id_number",)),
    ("số cmnd: 012 345 678", "số cmnd: <id_number>", ("id_number",)),
    ("căn cước 0790 9200 1234 ạ", "căn cước <id_number> ạ", ("id_number",)),
    ("em gửi 079092001234 để xác minh", "em gửi <id_number> để xác minh", ("id_number",)),
    # bank accounts
    ("stk 19034567890123 techcombank", "stk <bank_account> techcombank", ("bank_account",)),
    ("CK vào VCB 0071 0001 2345 6", "CK vào VCB <bank_account>", ("bank_account",)),
    (
        "hoàn tiền về 123456789 - ACB giúp em",
        "hoàn tiền về <bank_account> - ACB giúp em",
        ("bank_account",),
    ),
    (
        "MB Bank 0987654321 chủ tk Lê Văn A",
        "MB Bank <bank_account> chủ tk Lê Văn A",
        ("bank_account",),
    ),
    # cards
    ("thẻ 4532 0151 1283 0366 bị trừ tiền", "thẻ <card> bị trừ tiền", ("card",)),
    ("visa 4532015112830366 hết hạn", "visa <card> hết hạn", ("card",)),
    ("amex 3714 496353 98431", "amex <card>", ("card",)),
    # addresses
    ("giao 27B Lê Thánh Tôn, P. Bến Nghé, Q.1 giúp em", "giao <address> giúp em", ("address",)),
    ("nhà ở số 5 ngõ 42 Trần Duy Hưng, Cầu Giấy nhé", "nhà ở <address> nhé", ("address",)),
    ("hẻm 88/12 Phan Xích Long, phường 2, quận Phú Nhuận", "<address>", ("address",)),
    ("kiet 12 hoang dieu, hai chau, da nang", "<address>", ("address",)),
    ("dc: 145/3 nguyen van troi, p.8, q.phu nhuan, tphcm", "dc: <address>", ("address",)),
    ("xóm 2, xã Hưng Lộc, huyện Hưng Nguyên, Nghệ An", "<address>", ("address",)),
    # order codes
    ("mã đơn 240517QWERTY12 chưa giao", "mã đơn <order_code> chưa giao", ("order_code",)),
    ("mã vận đơn: GHN8841207755", "mã vận đơn: <order_code>", ("order_code",)),
    ("tracking EE123456789VN", "tracking <order_code>", ("order_code",)),
    ("đơn hàng #7781234567 bị hủy", "đơn hàng #<order_code> bị hủy", ("order_code",)),
    # cards after a card cue, even when the Luhn check fails; a card, not a bank account
    ("thẻ 4532 0151 1283 0367 bị trừ tiền", "thẻ <card> bị trừ tiền", ("card",)),
    ("số thẻ 4532015112830367 hết hạn", "số thẻ <card> hết hạn", ("card",)),
    ("card 1234567890123 bị khóa", "card <card> bị khóa", ("card",)),
    ("thẻ Vietcombank 4532-0151-1283-0367", "thẻ Vietcombank <card>", ("card",)),
    # grouped like a card and passing the Luhn check: a card even near an account word
    (
        "stk 86490063915, 9704 0555 5864 6059 bị trừ 2 lần",
        "stk <bank_account>, <card> bị trừ 2 lần",
        ("bank_account", "card"),
    ),
    # order codes after an order cue
    ("Đơn 2404TX8K2PLM chưa giao", "Đơn <order_code> chưa giao", ("order_code",)),
    ("đơn của em là 2404TX8K2PLM ạ", "đơn của em là <order_code> ạ", ("order_code",)),
    ("order 2404TX8K2PLM bị hủy", "order <order_code> bị hủy", ("order_code",)),
    ("mã vận đơn 2404TX8K2PLM", "mã vận đơn <order_code>", ("order_code",)),
    # several kinds
    (
        "sđt 0912345678, email a.b@x.vn, giao 10 Lý Tự Trọng, Q.1",
        "sđt <phone>, email <email>, giao <address>",
        ("email", "phone", "address"),
    ),
]

NEGATIVE = [
    "giá 199.000đ, giảm còn 149.000 đồng",
    "1tr2 mà chất lượng như 50k",
    "tổng 2.500.000 VNĐ, ship 30.000",
    "giao ngày 20/11/2026 lúc 10:30, hẹn 21-11",
    "đặt 09.10.2025 10 giờ sáng",
    "size 42, áo 38x25cm, nặng 1,5kg",
    "iPhone 15 Pro Max 256GB, SM-A556, RTX 4060, Redmi Note 13",
    "giảm 20%, còn 3 ngày, mua 2 tặng 1",
    "cập nhật phiên bản 17.2.1 xong lỗi",
    "pin 5000mAh sạc 120W màn 6.7 inch",
    "2 cái áo, quận 7 giao chậm",
    "giao về quận 7, TP.HCM mất 3 ngày",
    "tầng 5 chung cư, shipper để ở sảnh",
    "mã giảm giá FREESHIP50 không dùng được",
    "đánh giá 5 sao, điểm thưởng 12.500",
    "nguyên 1 đường trầy dài trên màn hình",
    "hsd: 26-10-2026, lô L240512",
    "hotline 1900 6035 không ai nghe",
    "em mua hôm 2024-05-17, 3 tuần chưa tới",
    "model 2023 đời mới, năm 2024 ra bản 15",
    "iPhone 15 Pro Max 256GB giá 28.990.000đ, SM-A546E 8GB",
    "đơn 2 cái áo size L, đơn 150000 đồng, mã đơn 250000đ",
    "đơn iphone15 giao chậm, đơn hôm 20/11/2026",
    "thẻ thành viên hạng vàng, có thể dùng 2 lần",
]

# The same personal data, hidden from a plain reading: each must still be found, in the
# canonical text that is stored (and from which every derived text is made).
EVASIONS: list[tuple[str, str]] = [
    ("sđt ０９１２ ３４５ ６７８", "sđt <phone>"),
    ("sđt 0912\u200b345\u200b678", "sđt <phone>"),
    ("sđt 0912\u00a0345\u00a0678", "sđt <phone>"),
    ("sđt &#48;&#57;12&#32;345&#32;678", "sđt <phone>"),
    ("sđt \\u0030\\u0039\\u0031\\u0032345678", "sđt <phone>"),
    ("sđt 0912\u202e345\u202c678", "sđt <phone>"),
    ("sđt 0912😍345😍678", "sđt <phone>"),
    ("sđt 0912–345–678", "sđt <phone>"),
    ("sđt 0912   345   678", "sđt <phone>"),
    ("sđt <b>0912</b>345678", "sđt <phone>"),
    ("mail a\u200b.b@x\uff0evn", "mail <email>"),
    ("mail a.b＠gmail.com", "mail <email>"),
    ("thẻ ４５３２ ０１５１ １２８３ ０３６６", "thẻ <card>"),
]


@pytest.mark.parametrize(("raw", "expected"), EVASIONS)
def test_evasions_are_redacted_in_the_canonical_text(raw: str, expected: str) -> None:
    assert " ".join(redact(raw).text.split()) == expected


NUMBERS = PiiConfig(kinds=frozenset({"phone", "email", "id_number", "bank_account", "card"}))
PIECES = [
    *"0123456789",
    *"０９٠٩①",
    *" .-–()+@\n\t/#*_|·…<>&",
    "  ",
    "\u200b",
    "\u00a0",
    "\u202e",
    "\ufe0f\u20e3",
    "😍",
    "🂡",
    "⭐",
    "→",
    "<b>",
    "</b>",
    "<!-- -->",
    "&#48;",
    "&amp;",
    "&nbsp;",
    "\\u0030",
    "<3",
    ":))",
    "#a",
    "@a ",
    "sđt ",
    "stk ",
    "thẻ ",
    "cmnd ",
    "x.vn",
    "+84",
    "k",
    "đ",
]


@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=30).map("".join))
@settings(max_examples=400, deadline=None)
def test_normalization_reveals_nothing_redaction_missed(text: str) -> None:
    """No number or email appears in normalize(redact(x)) that redaction did not replace."""
    redacted = redact(text).text
    assert not find_pii(normalize(redacted), NUMBERS), redacted


@pytest.mark.parametrize(("raw", "expected", "kinds"), POSITIVE)
def test_redacts_written_examples(raw: str, expected: str, kinds: tuple[str, ...]) -> None:
    result = redact(raw)
    assert result.text == expected
    assert result.kinds == tuple(k for k in KINDS if k in kinds)


@pytest.mark.parametrize("text", NEGATIVE)
def test_leaves_pii_free_text_alone(text: str) -> None:
    assert redact(text) == Redaction(text, ())


def test_find_pii_spans_index_the_text() -> None:
    text = "sđt 0987 654 321, mail a@b.vn"
    spans = find_pii(text)
    assert spans == (PiiSpan(4, 16, "phone"), PiiSpan(23, 29, "email"))
    assert [text[s.start : s.end] for s in spans] == ["0987 654 321", "a@b.vn"]


def test_text_without_digits_or_at_sign_is_returned_as_is() -> None:
    text = "Shop giao hàng nhanh, đóng gói cẩn thận"
    assert redact(text) == Redaction(text, ())


def test_redact_returns_the_canonical_text() -> None:
    assert redact("Giao&nbsp;nhanh\u200b ｏｋ") == Redaction("Giao nhanh ok", ())
    spans = find_pii("sđt ０９１２\u200b345678")
    assert spans == (PiiSpan(4, 14, "phone"),)


def test_decomposed_input_is_redacted_in_nfc() -> None:
    import unicodedata

    raw = unicodedata.normalize("NFD", "sđt 0912345678 giao 12 Nguyễn Trãi, Quận 5")
    assert redact(raw).text == "sđt <phone> giao <address>"


def test_placeholders_survive_normalize_and_redact_again() -> None:
    raw = "SĐT 0912 345 678, giao 12 Nguyễn Trãi, Q.5, mã đơn 240517QWERTY12 nha"
    once = redact(raw)
    assert redact(once.text) == Redaction(once.text, ())
    normalized = normalize(once.text)
    assert normalized == "số điện thoại <phone>, giao <address>, mã đơn <order_code> nha"


# ------------------------------------------------------------------------------------------
# Configuration


def test_disabled_kinds_are_left_in_place() -> None:
    config = PiiConfig(kinds=frozenset({"email"}))
    assert redact("sđt 0912345678, a@b.vn", config).text == "sđt 0912345678, <email>"


def test_custom_order_pattern_with_code_group() -> None:
    config = PiiConfig(extra_order_patterns=(r"phiếu\s+(?P<code>PX-\d{4})",))
    assert redact("phiếu PX-1234 chưa xử lý", config).text == "phiếu <order_code> chưa xử lý"


def test_replacing_the_order_patterns_drops_the_defaults() -> None:
    config = PiiConfig(order_patterns=(r"\bPX-\d{4}\b",))
    result = redact("PX-1234 và EE123456789VN", config)
    assert result.text == "<order_code> và EE123456789VN"


def test_a_pattern_that_matches_placeholder_words_cannot_loop() -> None:
    config = PiiConfig(order_patterns=(r"[a-z_]+",), kinds=frozenset({"order_code", "phone"}))
    result = redact("0912345678", config)
    assert result.text == "<phone>"


def test_from_mapping_reads_settings() -> None:
    config = PiiConfig.from_mapping(
        {"kinds": "phone, email", "extra_order_patterns": [r"\bPX-\d+\b"]}
    )
    assert config.kinds == frozenset({"phone", "email"})
    assert config.extra_order_patterns == (r"\bPX-\d+\b",)
    assert PiiConfig.from_mapping({}) == DEFAULT_PII


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"kinds": ["phone", "passport"]}, "passport"),
        ({"colour": "red"}, "colour"),
        ({"order_patterns": "abc"}, "list of strings"),
        ({"extra_order_patterns": ["(unclosed"]}, "not a valid regular expression"),
    ],
)
def test_bad_settings_raise_config_error(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PiiConfig.from_mapping(mapping)


# ------------------------------------------------------------------------------------------
# Generated texts (bench/pii.py runs the same check on 2,000+ items)


def _coverage(n: int, seed: int, evasions: float = 0.0) -> tuple[Counter[str], Counter[str]]:
    total: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    for item in pii_texts(n, seed=seed, evasions=evasions):
        spans = find_pii(item.text)
        for start, end, kind in item.canonical_items:
            total[kind] += 1
            covered = set()
            for span in spans:
                covered.update(range(max(start, span.start), min(end, span.end)))
            if len(covered) == end - start:
                hit[kind] += 1
    return total, hit


def test_recall_on_generated_texts() -> None:
    total, hit = _coverage(700, seed=11)
    assert set(total) == set(KINDS)
    for kind in KINDS:
        assert total[kind] >= 80
        assert hit[kind] / total[kind] >= 0.99, (kind, hit[kind], total[kind])
    assert sum(hit.values()) / sum(total.values()) >= 0.99


def test_recall_on_generated_texts_written_to_hide_them() -> None:
    total, hit = _coverage(700, seed=15, evasions=1.0)
    for kind in KINDS:
        assert hit[kind] / total[kind] >= 0.99, (kind, hit[kind], total[kind])


def test_evasions_hide_the_item_from_a_plain_reading_only() -> None:
    import random

    from nlp.normalize import canonical
    from tests.support.pii_synth import EVASIONS, evade

    rng = random.Random(4)
    for style in EVASIONS:
        for item in ("0912 345 678", "an.nguyen@gmail.com", "4532015112830366", "2404TX8K2PLM"):
            written = evade(item, style, rng, spaced=item != "2404TX8K2PLM")
            assert written != item, (style, item)
            seen = canonical(written)
            assert seen.replace(" ", "") == item.replace(" ", ""), (style, written, seen)
    hidden = pii_texts(50, seed=3, evasions=1.0)
    assert all(style for t in hidden for style in t.evasions)
    assert [t.text for t in pii_texts(50, seed=3)] != [t.text for t in hidden]


def test_precision_on_generated_pii_free_texts() -> None:
    texts = clean_texts(700, seed=12)
    flagged = [t for t in texts if find_pii(t)]
    assert len(flagged) / len(texts) < 0.01, flagged[:5]


def test_generator_is_seeded() -> None:
    assert pii_texts(20, seed=3) == pii_texts(20, seed=3)
    assert clean_texts(20, seed=3) == clean_texts(20, seed=3)
    assert pii_texts(20, seed=3) != pii_texts(20, seed=4)


def test_redact_is_idempotent_on_generated_texts() -> None:
    for item in pii_texts(200, seed=13):
        once = redact(item.text)
        assert redact(once.text) == Redaction(once.text, ())


@given(st.text(alphabet=st.sampled_from(list("0123456789 .-+()/:,@abcđxyzPQ\n")), max_size=80))
@settings(max_examples=300, deadline=None)
def test_never_raises_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once.text).text == once.text
