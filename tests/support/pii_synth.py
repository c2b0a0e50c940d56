"""A seeded generator of synthetic Vietnamese texts with and without personal data.

Used by ``bench/pii.py`` (recall and precision of :mod:`nlp.pii` on thousands of texts) and
by the unit tests (a smaller sample). Everything here is written for this project: names,
streets and numbers are random combinations, not records of real people.

:func:`pii_texts` embeds one or two items of personal data in customer messages, with the
exact span and kind of each item, in varied formats (spacing, separators, prefixes, case,
with and without diacritics), at varied positions and with surrounding noise (prices,
dates, emoji, teencode); a third of the card numbers after a card cue ("thẻ", "số thẻ",
"card", "visa"...) are mistyped so that the Luhn check fails (still a ``card``), and some
order codes follow a bare "Đơn" ("Đơn 2404TX8K2PLM"). :func:`clean_texts` writes messages that have no personal data
but are full of what looks like it: prices, dates, times, quantities, sizes, product and
model codes, percentages and versions.

The generator was written from how Vietnamese customers write these items, not from the
redaction rules: some formats are expected to be missed (the benchmark says how many).

``pii_texts(..., evasions=0.3)`` writes that share of the items the way someone hiding them
would (:data:`EVASIONS`: full-width digits, zero-width characters or no-break spaces inside,
HTML entities, JSON unicode escapes, bidi controls, a mix); ``SyntheticText.canonical_items``
then gives each item's span in ``canonical(text)``, where the redactor looks.
:func:`planted_fields` plants an item in any other field of a message (brand, product, url,
conversation id, id, attributes, nested or as escaped JSON) for the end-to-end benchmark.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from nlp.normalize import canonical, strip_diacritics

__all__ = [
    "EVASIONS",
    "PlantedField",
    "SyntheticText",
    "clean_texts",
    "evade",
    "pii_texts",
    "planted_fields",
]


@dataclass(frozen=True, slots=True)
class SyntheticText:
    """A generated message and the personal data in it: ``(start, end, kind)`` spans.

    ``items`` index ``text``; ``canonical_items`` index ``canonical(text)``; ``secrets``
    are the items as written before any evasion; ``evasions`` name the evasion of each item
    ("" for none).
    """

    text: str
    items: tuple[tuple[int, int, str], ...]
    canonical_items: tuple[tuple[int, int, str], ...] = ()
    secrets: tuple[str, ...] = ()
    evasions: tuple[str, ...] = ()


FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE = [
    "Văn",
    "Thị",
    "Minh",
    "Ngọc",
    "Thanh",
    "Hữu",
    "Đức",
    "Thu",
    "Hoài",
    "Quốc",
    "Gia",
    "Bảo",
    "Kim",
]
GIVEN = [
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Hà",
    "Hải",
    "Hạnh",
    "Hùng",
    "Hương",
    "Khoa",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Phúc",
    "Quân",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vy",
    "Yến",
]

MOBILE = [
    "090",
    "091",
    "093",
    "094",
    "096",
    "097",
    "098",
    "086",
    "088",
    "089",
    "032",
    "033",
    "034",
    "035",
    "036",
    "037",
    "038",
    "039",
    "070",
    "076",
    "077",
    "078",
    "079",
    "081",
    "082",
    "083",
    "084",
    "085",
    "056",
    "058",
    "059",
    "092",
    "099",
]
LANDLINE = ["024", "028", "0236", "0225", "0251", "0274", "0292", "0258", "0263", "0234"]

STREETS = [
    "Nguyễn Trãi",
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Nguyễn Văn Cừ",
    "Phan Đình Phùng",
    "Hoàng Diệu",
    "Cách Mạng Tháng 8",
    "Điện Biên Phủ",
    "Võ Văn Tần",
    "Lê Văn Sỹ",
    "Nguyễn Thị Minh Khai",
    "Trường Chinh",
    "Quang Trung",
    "Bạch Đằng",
    "Hùng Vương",
    "Nam Kỳ Khởi Nghĩa",
    "Phạm Văn Đồng",
    "Xuân Thủy",
    "Cầu Giấy",
    "Kim Mã",
    "Giải Phóng",
    "Láng Hạ",
    "Tôn Đức Thắng",
    "Lạc Long Quân",
    "Âu Cơ",
    "Phố Huế",
    "Bà Triệu",
    "Đội Cấn",
    "Nguyễn Huệ",
    "Pasteur",
    "Cộng Hòa",
    "Lê Duẩn",
    "Ngô Quyền",
    "Trần Phú",
    "Hoàng Văn Thụ",
    "Nguyễn Chí Thanh",
]
WARDS = [
    "Bến Nghé",
    "Bến Thành",
    "Đa Kao",
    "Tân Định",
    "Dịch Vọng",
    "Láng Thượng",
    "Bạch Mai",
    "Thạc Gián",
    "Hòa Cường Bắc",
    "An Hải Tây",
    "Linh Trung",
    "Thảo Điền",
    "Phúc Xá",
    "Trung Hòa",
    "Mỹ Đình 1",
    "Tân Phong",
    "Hiệp Phú",
]
DISTRICTS_NAMED = [
    "Cầu Giấy",
    "Đống Đa",
    "Ba Đình",
    "Hoàn Kiếm",
    "Hai Bà Trưng",
    "Thanh Xuân",
    "Hoàng Mai",
    "Long Biên",
    "Tây Hồ",
    "Nam Từ Liêm",
    "Bình Thạnh",
    "Phú Nhuận",
    "Tân Bình",
    "Gò Vấp",
    "Tân Phú",
    "Bình Tân",
    "Hải Châu",
    "Thanh Khê",
    "Sơn Trà",
    "Ninh Kiều",
]
CITIES = [
    "Hà Nội",
    "TP.HCM",
    "TP HCM",
    "TP. Hồ Chí Minh",
    "Hồ Chí Minh",
    "Sài Gòn",
    "Đà Nẵng",
    "Hải Phòng",
    "Cần Thơ",
    "HN",
    "tp Thủ Đức",
    "Bình Dương",
    "Đồng Nai",
    "Khánh Hòa",
]
BANKS = [
    "Vietcombank",
    "VCB",
    "Techcombank",
    "TCB",
    "MB",
    "MBBank",
    "ACB",
    "BIDV",
    "VietinBank",
    "Agribank",
    "TPBank",
    "VPBank",
    "Sacombank",
    "HDBank",
    "VIB",
    "OCB",
    "SHB",
    "MSB",
]
DOMAINS = [
    "gmail.com",
    "yahoo.com",
    "yahoo.com.vn",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "fpt.com.vn",
    "vnpt.vn",
    "congty.vn",
    "shopabc.vn",
]
CCCD_PROVINCES = [
    "001",
    "024",
    "031",
    "036",
    "038",
    "040",
    "048",
    "052",
    "056",
    "075",
    "079",
    "092",
]

EMOJI = ["😡", "😢", "🙏", "😍", "👍", "", "", "", ""]
NOISE = [
    "giá 199.000đ",
    "ship 30k",
    "đặt 2 cái",
    "từ 20/11",
    "lúc 9h30",
    "size 42",
    "hôm qua",
    "2 tuần rồi",
    "gấp lắm",
    "cảm ơn shop",
    "ko ai nghe máy",
    "mã giảm 50%",
]


def _name(rng: random.Random) -> str:
    return " ".join((rng.choice(FAMILY), rng.choice(MIDDLE), rng.choice(GIVEN)))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _group(digits: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        out.append(digits[i : i + size])
        i += size
    if i < len(digits):
        out.append(digits[i:])
    return sep.join(p for p in out if p)


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.15:
        area = rng.choice(LANDLINE)
        digits = area + _digits(rng, 11 - len(area))
        style = rng.randrange(4)
        if style == 0:
            return digits
        if style == 1:
            return f"({area}) {_group(digits[len(area) :], [4, 4], ' ')}"
        if style == 2:
            return f"{area} {_group(digits[len(area) :], [4, 4], rng.choice([' ', '.']))}"
        return f"{area}.{digits[len(area) :]}"
    if rng.random() < 0.04:
        digits = rng.choice(["0168", "0169", "0123", "0128", "0166"]) + _digits(rng, 7)
        return rng.choice([digits, _group(digits, [4, 3, 4], " ")])
    national = rng.choice(MOBILE) + _digits(rng, 7)
    style = rng.randrange(13)
    if style == 12:
        return rng.choice(
            [
                _group(national, [2, 4, 4], " "),  # "09 1234 5678"
                _group(national, [3, 4, 3], " "),
                _group(national, [4, 6], " "),
                "+84 (0)" + _group(national[1:], [3, 3, 3], " "),
            ]
        )
    if style <= 2:
        return national
    if style == 3:
        return _group(national, [4, 3, 3], " ")
    if style == 4:
        return _group(national, [4, 3, 3], ".")
    if style == 5:
        return _group(national, [4, 3, 3], "-")
    if style == 6:
        return _group(national, [3, 3, 4], rng.choice([" ", "."]))
    if style == 7:
        return _group(national, [4, 2, 2, 2], rng.choice([" ", "."]))
    rest = national[1:]
    if style == 8:
        return "+84" + rest
    if style == 9:
        return "+84 " + _group(rest, [3, 3, 3], rng.choice([" ", "."]))
    if style == 10:
        return "(+84) " + _group(rest, [3, 3, 3], " ")
    return "84" + rest


def _email(rng: random.Random) -> str:
    family = strip_diacritics(rng.choice(FAMILY)).lower()
    given = strip_diacritics(rng.choice(GIVEN)).lower()
    middle = strip_diacritics(rng.choice(MIDDLE)).lower()
    local = rng.choice(
        [
            f"{family}{middle}{given}",
            f"{given}.{family}",
            f"{given}{family}{rng.randrange(80, 100)}",
            f"{family}_{given}{rng.randrange(1, 2005)}",
            f"{given}.{middle}.{family}",
            f"{given[0]}{family}{rng.randrange(10, 99)}",
            f"cskh.{given}",
        ]
    )
    if rng.random() < 0.1:
        local = local.capitalize()
    return f"{local}@{rng.choice(DOMAINS)}"


def _id_number(rng: random.Random) -> tuple[str, str]:
    """Return an ID number and its context words (which may be empty for a CCCD)."""
    if rng.random() < 0.35:
        digits = rng.choice("0123") + _digits(rng, 8)
        lead = rng.choice(
            [
                "CMND",
                "cmnd",
                "số CMND",
                "CMND số",
                "chứng minh nhân dân",
                "CMT",
                "số cmt",
                "chứng minh thư số",
                "so cmnd",
            ]
        )
    else:
        century = rng.choice("0123")
        digits = rng.choice(CCCD_PROVINCES) + century + _digits(rng, 2) + _digits(rng, 6)
        lead = rng.choice(
            [
                "CCCD",
                "cccd",
                "số CCCD",
                "CCCD số",
                "căn cước công dân",
                "căn cước",
                "số định danh",
                "can cuoc",
                "số định danh cá nhân",
                "",
                "",
            ]
        )
    style = rng.randrange(4)
    if style == 0 and len(digits) == 12:
        digits = _group(digits, [3, 3, 3, 3], " ")
    elif style == 1 and len(digits) == 12:
        digits = _group(digits, [4, 4, 4], rng.choice([" ", "."]))
    elif style == 2 and len(digits) == 9:
        digits = _group(digits, [3, 3, 3], " ")
    return digits, lead


def _bank_account(rng: random.Random) -> tuple[str, str, str]:
    """Return an account number, the words before it and the words after it."""
    length = rng.choice([8, 9, 10, 11, 12, 13, 13, 14, 14, 16])
    digits = rng.choice("0123456789") + _digits(rng, length - 1)
    if rng.random() < 0.1:
        digits = rng.choice(MOBILE) + _digits(rng, 7)  # phone number used as account (MB, MoMo)
    if rng.random() < 0.25 and len(digits) >= 12:
        digits = _group(digits, [4] * 5, rng.choice([" ", "-"]))
    bank = rng.choice(BANKS)
    style = rng.randrange(8)
    if style == 0:
        return (
            digits,
            rng.choice(["STK", "stk", "Số TK", "so tk"]) + rng.choice([": ", " ", " là "]),
            "",
        )
    if style == 1:
        return digits, "số tài khoản " + rng.choice(["", "của em ", "là "]), f" {bank}"
    if style == 2:
        return digits, f"{bank} ", rng.choice(["", f" chủ TK {_name(rng)}"])
    if style == 3:
        return digits, f"chuyển khoản vào {bank} ", ""
    if style == 4:
        return digits, rng.choice(["ck qua ", "CK vào stk ", "chuyen khoan "]), f" ({bank})"
    if style == 5:
        return digits, "", f" - {bank}"
    if style == 6:
        return digits, f"tài khoản {bank} số ", ""
    return digits, rng.choice(["momo ", "MoMo: ", "ví momo "]), ""


def _luhn_complete(body: str) -> str:
    total = 0
    for i, char in enumerate(reversed(body)):
        d = int(char)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def _card(rng: random.Random, *, mistype: bool = True) -> tuple[str, str]:
    kind = rng.randrange(5)
    if kind == 0:
        number = _luhn_complete("4" + _digits(rng, 14))
    elif kind == 1:
        number = _luhn_complete(rng.choice(["51", "52", "53", "54", "55"]) + _digits(rng, 13))
    elif kind == 2:
        number = _luhn_complete("35" + _digits(rng, 13))
    elif kind == 3:
        number = _luhn_complete("9704" + _digits(rng, 11))
    else:
        number = _luhn_complete(rng.choice(["34", "37"]) + _digits(rng, 12))
    style = rng.randrange(4)
    if style == 0:
        written = number
    elif len(number) == 15:
        written = _group(number, [4, 6, 5], rng.choice([" ", "-"]))
    else:
        written = _group(number, [4, 4, 4, 4], rng.choice([" ", "-"]))
    lead = rng.choice(
        [
            "thẻ",
            "số thẻ",
            "thẻ visa",
            "thẻ Visa",
            "thẻ tín dụng",
            "thẻ ATM",
            "card",
            "thẻ master",
            "the",
            "",
            "",
        ]
    )
    if mistype and lead and int(number[-2]) % 3 == 0:
        # a third of the cards after a card cue are mistyped: the Luhn check fails, and a
        # number after "thẻ" is a card all the same (no extra draw: the texts stay the same)
        wrong = str((int(written[-1]) + 1) % 10)
        written = written[:-1] + wrong
    return written, lead


def _house(rng: random.Random) -> str:
    n = rng.randrange(1, 400)
    style = rng.randrange(6)
    if style == 0:
        return f"{n}{rng.choice('ABCD')}"
    if style == 1:
        return f"{n}/{rng.randrange(1, 60)}"
    if style == 2:
        return f"{n}/{rng.randrange(1, 30)}/{rng.randrange(1, 20)}"
    return str(n)


def _ward(rng: random.Random) -> str:
    if rng.random() < 0.5:
        n = rng.randrange(1, 21)
        return rng.choice([f"Phường {n}", f"P.{n}", f"P{n}", f"phường {n}", f"P. {n}"])
    return rng.choice(["Phường ", "P. ", "phường ", "P."]) + rng.choice(WARDS)


def _district(rng: random.Random) -> str:
    if rng.random() < 0.4:
        n = rng.randrange(1, 13)
        return rng.choice([f"Quận {n}", f"Q.{n}", f"Q{n}", f"quận {n}", f"Q. {n}"])
    return rng.choice(["Quận ", "Q. ", "quận ", "Q.", "huyện ", "Huyện "]) + rng.choice(
        DISTRICTS_NAMED
    )


VILLAGES = ["Đông Hòa", "Yên Sở", "Nghi Phong", "Tân Lập", "Hòa Bình", "Phú Mỹ", "An Thạnh"]
RURAL_DISTRICTS = ["Hoài Đức", "Nghi Lộc", "Củ Chi", "Đức Hòa", "Thanh Oai", "Chương Mỹ"]
PROVINCES = ["Nghệ An", "Long An", "Hà Nội", "Thanh Hóa", "Bình Định", "Tiền Giang"]


def _address(rng: random.Random) -> str:
    street = rng.choice(STREETS)
    style = rng.randrange(11)
    if style == 9:
        parts = [
            f"{rng.choice(['xóm', 'thôn', 'ấp', 'tổ'])} {rng.randrange(1, 15)}",
            f"xã {rng.choice(VILLAGES)}",
            f"huyện {rng.choice(RURAL_DISTRICTS)}",
            rng.choice(PROVINCES),
        ]
        return _case(rng, ", ".join(parts))
    if style == 10:
        tower = f"{rng.choice('ABCS')}{rng.randrange(1, 9)}"
        parts = [
            f"{rng.choice(['căn hộ', 'phòng', 'P.'])} {rng.randrange(101, 3012)} tòa {tower}",
            rng.choice(["chung cư Sunrise", "Vinhomes Grand Park", "KĐT Linh Đàm"]),
            _district(rng) if rng.random() < 0.5 else "TP Thủ Đức",
            rng.choice(CITIES),
        ]
        return _case(rng, ", ".join(parts))
    if style == 0:
        parts = [f"{_house(rng)} {street}", _ward(rng), _district(rng), rng.choice(CITIES)]
    elif style == 1:
        parts = [
            f"số {rng.randrange(1, 200)} ngõ {rng.randrange(1, 300)} "
            f"{rng.choice(['phố ', 'đường ', ''])}{street}",
            _district(rng),
            rng.choice(["Hà Nội", "HN"]),
        ]
    elif style == 2:
        parts = [
            f"hẻm {rng.randrange(1, 400)}/{rng.randrange(1, 50)} {street}",
            _ward(rng),
            _district(rng),
        ]
    elif style == 3:
        parts = [
            f"kiệt {rng.randrange(1, 200)} {street}",
            rng.choice(["Hải Châu", "Thanh Khê", "Sơn Trà"]),
            "Đà Nẵng",
        ]
    elif style == 4:
        parts = [f"{_house(rng)} đường {street}", _ward(rng), _district(rng)]
    elif style == 5:
        parts = [f"số nhà {_house(rng)} {street}", _district(rng), rng.choice(CITIES)]
    elif style == 6:
        parts = [f"{_house(rng)} {street}", _district(rng)]
    elif style == 7:
        parts = [f"ngách {rng.randrange(1, 90)}/{rng.randrange(1, 40)} {street}", _district(rng)]
    else:
        parts = [
            f"{_house(rng)} {street}",
            rng.choice(DISTRICTS_NAMED),
            rng.choice(["Hà Nội", "TP.HCM", "Đà Nẵng"]),
        ]
    return _case(rng, rng.choice([", ", ", ", " - ", " "]).join(parts))


def _case(rng: random.Random, text: str) -> str:
    """Write ``text`` as typed: as is, lowercase, or without diacritics."""
    roll = rng.random()
    if roll < 0.2:
        return text.lower()
    if roll < 0.35:
        return strip_diacritics(text).lower()
    if roll < 0.4:
        return strip_diacritics(text)
    return text


def _order_code(rng: random.Random) -> tuple[str, str]:
    upper = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    style = rng.randrange(7)
    if style == 0:
        day = f"{rng.randrange(22, 27):02d}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        tail = "".join(rng.choice(upper) for _ in range(7)) + rng.choice("ABCDEFGHJK")
        code = day + "".join(rng.sample(tail, len(tail)))
    elif style == 1:
        code = "SPXVN0" + _digits(rng, 11)
    elif style == 2:
        code = rng.choice(["GHN", "LEX", "VTP", "JT", "NJV"]) + _digits(rng, rng.randrange(9, 13))
    elif style == 3:
        hub = f"{rng.choice(['SGN', 'HN', 'DN'])}{rng.randrange(1, 20):02d}"
        code = (
            f"S{_digits(rng, 8)}.{hub}.{rng.choice('ABCD')}{rng.randrange(1, 9)}.{_digits(rng, 5)}"
        )
    elif style == 4:
        code = rng.choice(["EE", "RR", "CP", "EA"]) + _digits(rng, 9) + "VN"
    elif style == 5:
        code = _digits(rng, rng.randrange(9, 16))
    else:
        code = "".join(rng.choice(upper) for _ in range(rng.randrange(8, 13)))
        code = code[:3] + _digits(rng, 3) + code[3:]
    lead = rng.choice(
        [
            "mã đơn",
            "mã đơn hàng",
            "Mã vận đơn",
            "mã vận đơn:",
            "đơn hàng",
            "đơn hàng số",
            "order id",
            "Order ID:",
            "MVĐ",
            "ma don",
            "mã đơn #",
            "tracking",
        ]
    )
    if style in (0, 1, 2, 3, 4) and rng.random() < 0.3:
        lead = rng.choice(["đơn", "kiện hàng", "bill", ""])
    if style == 0 and rng.random() < 0.3:
        code = code.lower()
    if style == 0 and lead == "đơn" and int(code[3]) % 2 == 0:
        # "Đơn 2404TX8K2PLM": a bare "Đơn" and a code of the year and month and 8 characters
        lead, code = "Đơn", code[:4] + code[6:]
    return code, lead


_TEMPLATES: dict[str, list[str]] = {
    "phone": [
        "sđt của em là {x} ạ",
        "SĐT: {x}",
        "gọi cho em qua số {x} nhé shop",
        "{x} - gọi trước khi giao giúp em",
        "Liên hệ {x} (gọi giờ hành chính)",
        "shipper gọi {x} mà không ai nghe",
        "zalo {x} ib em nha",
        "em để số {x}, có gì gọi em",
        "Người nhận {name}, {x}",
        "hotline cá nhân {x}",
        "đt {x} hoặc nhắn tin",
        "số mới của em {x}, số cũ bỏ rồi",
    ],
    "email": [
        "email của em: {x}",
        "gửi hóa đơn về {x} giúp em",
        "Mail {x} nhé shop",
        "em đã gửi mail từ {x} mà chưa ai trả lời",
        "liên hệ qua {x}",
        "{x} là email đăng ký tài khoản",
    ],
    "id_number": [
        "{lead} {x} ạ",
        "{lead}: {x}",
        "em gửi {lead} {x} để xác minh",
        "{lead} của em là {x}, cần thêm gì không",
        "xác thực tài khoản bằng {lead} {x} mãi không được",
        "số giấy tờ {lead} {x}",
    ],
    "bank_account": [
        "hoàn tiền vào {lead}{x}{tail} giúp em",
        "{lead}{x}{tail}",
        "em đã {lead}{x}{tail} rồi mà chưa thấy xác nhận",
        "Refund về {lead}{x}{tail} nhé",
        "chuyển lại tiền cho em theo {lead}{x}{tail}",
    ],
    "card": [
        "{lead} {x} bị trừ tiền 2 lần",
        "em thanh toán bằng {lead} {x} mà đơn vẫn chưa thanh toán",
        "{lead} số {x} hết hạn 12/27",
        "trừ tiền {lead} {x} nhưng không có đơn",
        "hoàn tiền về {lead} {x} giúp em",
    ],
    "address": [
        "giao tới {x} giúp em",
        "Địa chỉ: {x}",
        "dc nhận hàng {x}",
        "em đổi địa chỉ sang {x} nhé",
        "ship về {x} trước 5h chiều",
        "{x} - người nhận {name}",
        "nhà em ở {x}, shipper tìm không ra",
        "giao hàng đến {x} mà báo không liên lạc được",
    ],
    "order_code": [
        "{lead} {x} giao chậm quá",
        "{lead} {x} chưa nhận được hàng",
        "kiểm tra giúp em {lead} {x}",
        "{lead} {x} bị hủy không lý do",
        "hoàn tiền {lead} {x} chưa về",
        "em đặt {lead} {x} từ tuần trước",
    ],
}


def _make(kind: str, rng: random.Random) -> tuple[str, str, str]:
    """One item: the template text before it, the item, the template text after it."""
    lead, tail = "", ""
    if kind == "phone":
        x = _phone(rng)
    elif kind == "email":
        x = _email(rng)
    elif kind == "id_number":
        x, lead = _id_number(rng)
    elif kind == "bank_account":
        x, lead, tail = _bank_account(rng)
    elif kind == "card":
        x, lead = _card(rng)
    elif kind == "address":
        x = _address(rng)
    else:
        x, lead = _order_code(rng)
    template = rng.choice(_TEMPLATES[kind])
    template = template.replace("{name}", _name(rng))
    if not lead and "{lead} " in template:
        template = template.replace("{lead} ", "")
    before, after = template.split("{x}")
    before = before.replace("{lead}", lead)
    after = after.replace("{tail}", tail)
    return " ".join(before.split(" ")) if before else "", x, after


def pii_texts(
    n: int, seed: int = 0, kinds: tuple[str, ...] | None = None, *, evasions: float = 0.0
) -> list[SyntheticText]:
    """``n`` messages holding personal data, cycling through the kinds; seeded.

    ``evasions`` is the share of items written to hide them (:func:`evade`); the texts
    without evasions are the same whatever its value.
    """
    rng = random.Random(seed)
    hiding = random.Random(seed + 7919)  # a separate stream: the same texts at evasions=0
    order = list(kinds or _TEMPLATES)
    out: list[SyntheticText] = []
    for i in range(n):
        pieces: list[tuple[str, str | None]] = []
        count = 2 if rng.random() < 0.2 else 1
        for c in range(count):
            kind = order[(i + c * 3) % len(order)] if c == 0 else rng.choice(order)
            before, x, after = _make(kind, rng)
            if pieces:
                pieces.append((rng.choice([", ", ". ", "; ", " và ", "\n"]), None))
            pieces.append((before, None))
            pieces.append((x, kind))
            pieces.append((after, None))
        if rng.random() < 0.3:
            pieces.insert(0, (rng.choice(NOISE) + rng.choice([", ", ". ", " - "]), None))
        if rng.random() < 0.3:
            pieces.append((rng.choice([", ", ". ", " "]) + rng.choice(NOISE), None))
        pieces.append((rng.choice(EMOJI), None))
        if rng.random() < 0.1:
            pieces.insert(0, (rng.choice(["Shop ơi, ", "Chào shop. ", "Ad ơi ", "Dạ "]), None))
        out.append(_assemble(pieces, hiding, evasions))
    return out


def _assemble(
    pieces: list[tuple[str, str | None]], rng: random.Random, evasions: float
) -> SyntheticText:
    text = plain = ""
    items: list[tuple[int, int, str]] = []
    spans: list[tuple[int, int, str]] = []
    secrets: list[str] = []
    styles: list[str] = []
    for piece, item_kind in pieces:
        if item_kind is None:
            text += piece
            plain += canonical(piece)
            continue
        if text and not text.endswith((" ", "\n", "(")):
            text += " "
            plain += " "
        style = rng.choice(EVASIONS) if evasions and rng.random() < evasions else ""
        # an order code has no separators to space out: spaced, it would be another code
        written = evade(piece, style, rng, spaced=item_kind != "order_code") if style else piece
        seen = canonical(written)  # what a reader sees: the item, perhaps spaced differently
        items.append((len(text), len(text) + len(written), item_kind))
        spans.append((len(plain), len(plain) + len(seen), item_kind))
        secrets.append(piece)
        styles.append(style)
        text += written
        plain += seen
    if canonical(text) != plain:  # an evasion merged with its neighbours: keep it plain
        return _assemble([(p, None) if k is None else (p, k) for p, k in pieces], rng, 0.0)
    return SyntheticText(text, tuple(items), tuple(spans), tuple(secrets), tuple(styles))


# --------------------------------------------------------------------------------------------
# Evasions: the same item, written to slip past a plain reading

EVASIONS: tuple[str, ...] = (
    "fullwidth",
    "zero_width",
    "nbsp",
    "entities",
    "json_escapes",
    "bidi",
    "mixed",
)
"""How :func:`evade` may hide an item; each one leaves the item as a reader sees it."""

_INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
_BIDI = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2069")
_SEPARATED = re.compile(r"(?<=\d)[ .\-](?=\d)")
_LONG_RUN = re.compile(r"\d{9,19}")
_SPACES = ("\u00a0", "\u202f", "\u2007", "\u2009", "\u3000")


def evade(item: str, style: str, rng: random.Random, *, spaced: bool = True) -> str:
    """``item`` written in an evasive ``style`` (one of :data:`EVASIONS`).

    ``spaced=False`` (order codes) writes ``nbsp`` as ``zero_width``: the item has no
    separators, and one put inside would make it another item.
    """
    if style == "nbsp" and not spaced:
        style = "zero_width"
    if style == "fullwidth":  # ０９１２ ３４５ ６７８, ａ＠ｂ.ｖｎ
        return "".join(
            chr(ord(c) + 0xFEE0) if c.isascii() and (c.isalnum() or c == "@") else c for c in item
        )
    if style == "zero_width":
        return "".join(
            c + (rng.choice(_INVISIBLE) if c.isalnum() and rng.random() < 0.4 else "") for c in item
        )
    if style == "nbsp":  # the separators, or new ones between digit groups, no-break
        if _SEPARATED.search(item):
            return _SEPARATED.sub(lambda _: rng.choice(_SPACES), item)
        if " " in item:
            return "".join(rng.choice(_SPACES) if c == " " else c for c in item)
        if _LONG_RUN.fullmatch(item):
            return "\u00a0".join(item[i : i + 4] for i in range(0, len(item), 4))
        return evade(item, "zero_width", rng)  # nothing to space out
    if style == "entities":  # &#48;9&#x31;2...
        return "".join(
            rng.choice((f"&#{ord(c)};", f"&#x{ord(c):x};"))
            if (c.isdigit() or c in "@.") and rng.random() < 0.5
            else c
            for c in item
        )
    if style == "json_escapes":  # \u0030\u0039...: an escaped JSON string pasted as text
        return "".join(
            f"\\u{ord(c):04x}" if c.isascii() and c.isalnum() and rng.random() < 0.5 else c
            for c in item
        )
    if style == "bidi":
        return "".join(c + (rng.choice(_BIDI) if rng.random() < 0.2 else "") for c in item)
    if style == "mixed":
        first, second = rng.sample([e for e in EVASIONS if e != "mixed"], 2)
        if first == "entities":  # entities last, or another evasion would split them
            first, second = second, first
        return evade(evade(item, first, rng, spaced=spaced), second, rng, spaced=spaced)
    msg = f"unknown evasion {style!r}; expected one of {EVASIONS}"
    raise ValueError(msg)


# --------------------------------------------------------------------------------------------
# Personal data in any field of a message


@dataclass(frozen=True, slots=True)
class PlantedField:
    """A value for one field of a message and the items planted in it."""

    field: str
    value: object
    secrets: tuple[str, ...]
    kinds: tuple[str, ...]


_FIELD_KINDS: dict[str, tuple[str, ...]] = {
    "brand": ("phone", "email", "card", "id_number", "order_code"),
    "product": ("phone", "email", "card", "id_number", "order_code"),
    "attributes": ("phone", "email", "card", "id_number", "order_code"),
    # a URL or an identifier may hold a long object id or an order id: no bare card there
    "url": ("phone", "email", "id_number", "order_code"),
    "conversation_id": ("phone", "email", "id_number"),
    "id": ("phone", "id_number"),
    "author": ("identifier",),
}
"""The kinds planted in each field: the personal data that field is checked for."""


def planted_fields(rng: random.Random, *, evasions: float = 0.3) -> list[PlantedField]:
    """Personal data for 1-3 fields other than ``text``, some of it written evasively.

    ``author`` and identifier keys of ``attributes`` hold identifiers (kind ``identifier``),
    stored only as hashes; the other fields hold items of the PII kinds (:data:`_FIELD_KINDS`).
    """
    out: list[PlantedField] = []
    for name in rng.sample(sorted(_FIELD_KINDS), rng.randint(1, 3)):
        kind = rng.choice(_FIELD_KINDS[name])

        def hide(value: str, spaced: bool = kind != "order_code") -> str:
            if rng.random() < evasions:
                return evade(value, rng.choice(EVASIONS), rng, spaced=spaced)
            return value

        if name == "author":
            handle = f"{strip_diacritics(_name(rng)).lower().replace(' ', '.')}{rng.randrange(99)}"
            out.append(PlantedField("author", handle, (handle,), ("identifier",)))
            continue
        item = _field_item(kind, rng)
        if name == "id":  # an id is written plainly, in the id alphabet
            value = item.replace(" ", "").replace("+", "").replace("(", "").replace(")", "")
            out.append(PlantedField("id", value, (value,), (kind,)))
        elif name == "conversation_id":
            out.append(PlantedField(name, hide(item), (item,), (kind,)))
        elif name == "url":
            value = rng.choice(
                (
                    f"https://shop.vn/don?sdt={item}",
                    f"https://zalo.me/{item}",
                    f"https://x.vn/u/{item}",
                )
            )
            if rng.random() < 0.3:  # percent-encoded
                value = value.split("?")[0] + "?q=" + quote(item, safe="")
            out.append(PlantedField("url", value, (item,), (kind,)))
        elif name == "attributes":
            out.append(_planted_attributes(item, kind, rng, hide))
        else:
            words = {"brand": ("Shop", "Cửa hàng", "Store"), "product": ("Áo", "Tai nghe", "Gói")}
            value = f"{rng.choice(words[name])} {hide(item)}"
            out.append(PlantedField(name, value, (item,), (kind,)))
    return out


def _field_item(kind: str, rng: random.Random) -> str:
    if kind == "phone":
        return _phone(rng)
    if kind == "email":
        return _email(rng)
    if kind == "card":
        return _card(rng, mistype=False)[0]  # planted alone: no card word before it
    if kind == "id_number":
        return rng.choice(CCCD_PROVINCES) + rng.choice("0123") + _digits(rng, 8)
    day = f"{rng.randrange(22, 27):02d}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    return day + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))


def _planted_attributes(
    item: str, kind: str, rng: random.Random, hide: Callable[[str], str]
) -> PlantedField:
    style = rng.randrange(5)
    customer = f"KH{rng.randrange(10**7, 10**8)}"
    if style == 0:  # a nested value
        value: object = {"order": {"notes": [f"khách dặn: {hide(item)}"]}}
    elif style == 1:  # escaped JSON in a string
        escaped = "".join(f"\\u{ord(c):04x}" if c.isalnum() else c for c in item)
        value = {"raw": '{"contact": "' + escaped + '"}'}
    elif style == 2:  # the item as a key
        value = {f"ghi chú {hide(item)}": True}
    elif style == 3:  # a customer id: an identifier, and an item beside it
        value = {"customer_id": customer, "note": hide(item)}
        return PlantedField("attributes", value, (customer, item), ("identifier", kind))
    else:  # a JSON document as a string
        value = {"payload": json.dumps({"sdt": item, "ok": 1}, ensure_ascii=True)}
    return PlantedField("attributes", value, (item,), (kind,))


_CLEAN_TEMPLATES = [
    "giá {price} mà chất lượng như hàng {price2}",
    "mua {qty} cái {product}, giao ngày {date} lúc {time}",
    "{product} {model} giá {price}, giảm {pct}",
    "size {size} vừa, kích thước {dims}",
    "đặt hôm {date}, {days} ngày sau mới nhận",
    "{model} dùng {months} tháng thì hỏng, bảo hành {months2} tháng",
    "cập nhật phiên bản {version} xong app lỗi",
    "pin {mah}mAh, sạc {watt}W, màn {inch} inch",
    "giao về quận {district} mất {days} ngày",
    "tổng đơn {price}, phí ship {ship}, voucher giảm {price2}",
    "khuyến mãi {pct} đến hết {date}, mua {qty} tặng 1",
    "{model} {storage}GB giá {price} còn hàng không shop",
    "hàng về lúc {time} ngày {date}, mở ra thiếu {qty} món",
    "nặng {kg}kg, dài {cm}cm, giá {price}",
    "mã giảm giá {coupon} không dùng được",
    "đánh giá {stars} sao vì giao chậm {days} ngày",
    "ram {ram}GB rom {storage}GB chip {chip} chạy mượt",
    "tầng {floor} chung cư nhưng shipper để ở sảnh",
    "tuần {week} của năm {year} đợt sale {date}",
    "điểm thưởng {points} điểm, hạng thành viên {tier}",
    "lô sản xuất {lot}, hạn dùng {date2}",
]
PRODUCTS = ["áo thun", "quần jean", "tai nghe", "ốp lưng", "nồi chiên", "sữa rửa mặt", "giày"]
MODELS = [
    "iPhone 15 Pro Max",
    "Galaxy A55",
    "SM-A556",
    "RTX 4060",
    "Redmi Note 13",
    "AirPods Pro 2",
    "MacBook Air M2",
    "Xiaomi 14T",
    "Oppo Reno11 F",
    "Vivo Y36",
    "Dell XPS 13 9340",
    "Sony WH-1000XM5",
    "LG OLED55C3",
    "Asus TUF A15 FA507NV",
]


def _price(rng: random.Random) -> str:
    value = rng.randrange(10, 5000) * 1000
    style = rng.randrange(7)
    if style == 0:
        return f"{value:,}".replace(",", ".") + "đ"
    if style == 1:
        return f"{value // 1000}k"
    if style == 2:
        return f"{value / 1_000_000:.1f}".replace(".", ",") + " triệu"
    if style == 3:
        return f"{value // 1_000_000 or 1}tr{rng.randrange(1, 10)}"
    if style == 4:
        return f"{value:,}".replace(",", ".") + " VNĐ"
    if style == 5:
        return f"{value:,}".replace(",", ".")
    return f"{value:,} đồng"


def clean_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` messages without personal data, full of numbers that look like it; seeded."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        template = rng.choice(_CLEAN_TEMPLATES)
        values = {
            "price": _price(rng),
            "price2": _price(rng),
            "ship": _price(rng),
            "qty": str(rng.randrange(1, 20)),
            "product": rng.choice(PRODUCTS),
            "model": rng.choice(MODELS),
            "date": rng.choice(
                [
                    f"{rng.randrange(1, 29)}/{rng.randrange(1, 13)}/{rng.randrange(2024, 2028)}",
                    f"{rng.randrange(1, 29):02d}-{rng.randrange(1, 13):02d}",
                    f"{rng.randrange(1, 29):02d}.{rng.randrange(1, 13):02d}."
                    f"{rng.randrange(2024, 2028)}",
                    f"{rng.randrange(1, 29)}/{rng.randrange(1, 13)}",
                    f"{rng.randrange(2024, 2028)}-{rng.randrange(1, 13):02d}-"
                    f"{rng.randrange(1, 29):02d}",
                ]
            ),
            "date2": f"{rng.randrange(1, 13):02d}/{rng.randrange(2025, 2030)}",
            "time": rng.choice(
                [
                    f"{rng.randrange(0, 24)}:{rng.randrange(0, 60):02d}",
                    f"{rng.randrange(1, 12)}h{rng.randrange(0, 60):02d}",
                    f"{rng.randrange(1, 12)}h",
                ]
            ),
            "pct": f"{rng.randrange(5, 90)}%",
            "size": str(rng.choice([38, 39, 40, 41, 42, 43, "M", "L", "XL", "XXL"])),
            "dims": f"{rng.randrange(10, 100)}x{rng.randrange(10, 100)}cm",
            "days": str(rng.randrange(1, 15)),
            "months": str(rng.randrange(1, 24)),
            "months2": str(rng.choice([6, 12, 18, 24])),
            "version": f"{rng.randrange(1, 20)}.{rng.randrange(0, 10)}.{rng.randrange(0, 30)}",
            "mah": str(rng.choice([4000, 4500, 5000, 6000])),
            "watt": str(rng.choice([18, 25, 33, 45, 65, 120])),
            "inch": rng.choice(["6.1", "6.7", "6,5", "13.3"]),
            "district": str(rng.randrange(1, 13)),
            "storage": str(rng.choice([64, 128, 256, 512, 1024])),
            "ram": str(rng.choice([4, 6, 8, 12, 16])),
            "chip": rng.choice(["Snapdragon 8 Gen 3", "Dimensity 7200", "A17 Pro", "Helio G99"]),
            "kg": rng.choice(["1.5", "2", "0,8", "12"]),
            "cm": str(rng.randrange(10, 200)),
            "coupon": rng.choice(["FREESHIP50", "SALE1111", "GIAM30K", "NEWUSER", "TET2026"]),
            "stars": str(rng.randrange(1, 6)),
            "floor": str(rng.randrange(1, 40)),
            "week": str(rng.randrange(1, 53)),
            "year": str(rng.randrange(2024, 2028)),
            "points": f"{rng.randrange(100, 99999):,}".replace(",", "."),
            "tier": rng.choice(["Bạc", "Vàng", "Kim Cương"]),
            "lot": rng.choice(["L2405", "LOT 2311-A", "B24"]) + str(rng.randrange(10, 99)),
        }
        text = template.format(**values)
        roll = rng.random()
        if roll < 0.2:
            text = strip_diacritics(text)
        elif roll < 0.3:
            text = text.capitalize()
        if rng.random() < 0.3:
            text += rng.choice([" 😡", " :((", "!!!", " =))", " 👍", "", " huhu"])
        out.append(text)
    return out
