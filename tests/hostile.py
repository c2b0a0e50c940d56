"""Hostile payloads: the crashes found by attacking the flow, and hypothesis strategies.

Used by the flow's fuzz and regression tests (``tests/db/test_hostile_flow.py``) and by
``bench/fuzz.py``. Every payload is one line of JSON Lines input (bytes, no line break).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

#: Event times of well-formed messages: recent, so the flow's clock takes them.
RECENT = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def line(value: Any, *, ascii_only: bool = True) -> bytes:
    """``value`` as one JSON line; lone surrogates escaped (ASCII) or passed through raw."""
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


def review(n: int, **fields: Any) -> dict[str, Any]:
    """A valid review, number ``n``, one second apart from ``RECENT``; fields override."""
    base: dict[str, Any] = {
        "id": f"h{n}",
        "source": "review",
        "channel": "shopee",
        "text": "Giao hàng chậm quá, shop ơi",
        "created_at": (RECENT + timedelta(seconds=n)).isoformat(),
    }
    base.update(fields)
    return base


#: The payloads that stopped, stalled or corrupted the flow (issue 12), each with the
#: ``error_type`` of the dead letter it must now become (``None``: it must be stored).
CRASHES: list[tuple[str, bytes, str | None]] = [
    ("JSON nested 10,000 deep", b"[" * 10_000 + b"]" * 10_000, "invalid_json"),
    ("a number of 4,301 digits", b'{"id": "n", "reach": ' + b"9" * 4_301 + b"}", "invalid_json"),
    (
        "created_at before year 1 in UTC",
        line(review(1, id="y1", created_at="0001-01-01T00:00:00+07:00")),
        "bad_event_time",
    ),
    (
        "created_at after year 9999 in UTC",
        line(review(2, id="y9", created_at="9999-12-31T23:00:00-07:00")),
        "bad_event_time",
    ),
    ("reach of 2**64", line(review(3, id="r64", reach=2**64)), "out_of_range"),
    ("likes of 10**30", line(review(4, id="l30", likes=10**30)), "out_of_range"),
    (
        "a lone surrogate in attributes",
        line(review(5, id="sa", attributes={"note": "\udfff"})),
        "invalid_unicode",
    ),
    (
        "a lone surrogate in an unknown field",
        line(review(6, id="su", shop_note="a\udfffb")),
        "invalid_unicode",
    ),
    ("a lone surrogate in text", line(review(7, id="st", text="hỏng \udfff")), "invalid_unicode"),
    (
        "a lone surrogate as raw bytes",
        line(review(8, id="sr", text="hỏng \udfff"), ascii_only=False),
        "invalid_utf8",
    ),
    ("NaN", line(review(9, id="nan", rating=float("nan"))), "invalid_json"),
    ("Infinity", line(review(10, id="inf", reach=float("inf"))), "invalid_json"),
    (
        "a message a day ahead",
        line(
            review(11, id="ahead", created_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
        ),
        "bad_event_time",
    ),
    (
        "a message 9 months ahead",
        line(
            review(
                12, id="ahead9", created_at=(datetime.now(UTC) + timedelta(days=270)).isoformat()
            )
        ),
        "bad_event_time",
    ),
    (
        "a message from 1999",
        line(review(13, id="old", created_at="1999-06-01T00:00:00+00:00")),
        "bad_event_time",
    ),
    (
        "1 MB of attributes",
        line(review(14, id="big-attrs", attributes={"blob": "x" * 1_000_000})),
        "payload_too_large",
    ),
    (
        "100 kB of attributes",
        line(review(15, id="attrs", attributes={"blob": "x" * 100_000})),
        "attributes_too_large",
    ),
    (
        "zero-width text only",
        line(review(16, id="zw", text="\u200b\u200c\u200d\ufeff")),
        "empty_text",
    ),
]


# -- hypothesis strategies ------------------------------------------------------------------------

#: Characters that broke or fooled text handling somewhere: zero-width and bidi controls,
#: fullwidth digits, combining marks, NBSP, RTL scripts, emoji, Vietnamese, surrogates.
EDGE_CHARACTERS = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad"  # zero-width and soft hyphen
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidi
    "０１２３４５６７８９＠．"  # fullwidth
    "\u0300\u0301\u0303\u0309\u0323"  # combining tone marks
    "\u00a0\u2007\u202f\u3000"  # non-breaking and wide spaces
    "مرحباשלום"  # RTL scripts
    "😡👍🏽👨‍👩‍👧\ufe0f"  # emoji, skin tone, ZWJ sequence, variation selector
    "ăâđêôơưàảãáạằẳẵắặ"  # Vietnamese
    "\x00\x07\x1b\x7f\u0085\u2028\u2029"  # controls and line separators
    "<>&;#[]/\\\"'"  # markup
)

edge_text = st.text(
    alphabet=st.one_of(st.sampled_from(EDGE_CHARACTERS), st.characters(codec="utf-8")),
    max_size=40,
)
filled_text = st.text(
    alphabet=st.one_of(st.sampled_from(EDGE_CHARACTERS), st.characters(codec="utf-8")),
    min_size=1,
    max_size=40,
).map(lambda text: f"{text} hàng")  # mostly not blank: what people write, with noise
surrogate_text = st.builds(  # a lone surrogate somewhere: not Unicode text
    lambda before, lone, after: before + lone + after,
    edge_text,
    st.characters(categories=["Cs"]),
    edge_text,
)
any_text = st.one_of(edge_text, edge_text, edge_text, surrogate_text)
huge_int = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -1, 10**30]),
)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    huge_int,
    st.floats(allow_nan=True, allow_infinity=True),
    any_text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
recent_time = st.integers(min_value=0, max_value=30 * 24 * 3600).map(
    lambda s: (RECENT - timedelta(seconds=s)).isoformat()
)
event_time = st.one_of(
    recent_time,  # the flow takes these
    recent_time,
    recent_time,
    # anywhere in the representable range, with any offset
    st.datetimes(  # hypothesis takes naive bounds and adds the offsets itself
        min_value=datetime(1, 1, 1),  # noqa: DTZ001
        max_value=datetime(9999, 12, 31, 23, 59),  # noqa: DTZ001
        timezones=offsets,
    ).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+07:00",
            "9999-12-31T23:59:59-07:00",
            "1969-12-31T23:59:59Z",
            "2106-02-07T06:28:16Z",
            "2299-12-31T23:59:59Z",
            "2026-02-30T00:00:00Z",
            "2026-11-20T14:03:00",
            "",
        ]
    ),
    json_value,
)
counts = st.one_of(
    st.integers(min_value=1, max_value=5), st.integers(min_value=0, max_value=10**6).map(str),
    huge_int, st.floats(allow_nan=True, allow_infinity=True), st.booleans(), any_text,
)  # fmt: skip


#: A plausible value of each field of the inbound message (optional ones may be left out).
GOOD_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "source": st.sampled_from(["review", "review", "social", "chat"]),
    "channel": st.sampled_from(["shopee", "tiki", " Zalo ", "facebook", "app_store"]),
    "text": st.one_of(filled_text, edge_text, st.just("Sản phẩm tốt, giao hàng nhanh")),
    "created_at": recent_time,
    "id": st.one_of(filled_text, st.integers(min_value=0, max_value=2**70)),
    "brand": filled_text,
    "product": filled_text,
    "rating": st.one_of(st.integers(min_value=1, max_value=5), st.sampled_from(["4", 3.0])),
    "reach": st.one_of(st.integers(min_value=0, max_value=2**64 - 1), st.just("1200")),
    "likes": st.integers(min_value=0, max_value=10**9),
    "author": st.one_of(filled_text, st.integers(min_value=0, max_value=10**20)),
    "conversation_id": st.one_of(filled_text, st.integers(min_value=0, max_value=10**20)),
    "role": st.sampled_from(["customer", "agent"]),
    "url": filled_text,
    "attributes": st.dictionaries(edge_text, json_value, max_size=3),
    "extra_field": json_value,
}
#: What a corrupted field takes instead: any JSON value, a lone surrogate, a hostile count
#: or event time.
BAD_FIELD: dict[str, st.SearchStrategy[Any]] = {
    "created_at": event_time,
    "rating": counts,
    "reach": counts,
    "likes": counts,
}
_REQUIRED = ("source", "channel", "text", "created_at")


@st.composite
def message_like(draw: st.DrawFn) -> dict[str, Any]:
    """A message: plausible fields, some left out, none to three of them hostile."""
    names = [*_REQUIRED, *draw(st.sets(st.sampled_from(sorted(set(GOOD_FIELDS) - set(_REQUIRED)))))]
    bad = draw(st.sets(st.sampled_from(names), max_size=3)) if draw(st.booleans()) else set()
    message: dict[str, Any] = {}
    for name in names:
        if name in bad:
            message[name] = draw(BAD_FIELD.get(name, st.one_of(json_value, surrogate_text)))
        else:
            message[name] = draw(GOOD_FIELDS[name])
    if message.get("source") == "chat" and draw(st.booleans()):
        message.setdefault("conversation_id", "c-1")
        message.setdefault("role", "customer")
    if draw(st.sampled_from([False] * 7 + [True])):  # hypothesis favours the first
        del message[draw(st.sampled_from(_REQUIRED))]
    return message


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    """One hostile line: arbitrary bytes, any JSON, a message-like object, or a deep one."""
    kind = draw(st.sampled_from(["bytes", "json", "message", "message", "message", "deep", "big"]))
    if kind == "bytes":
        raw = draw(st.binary(max_size=200))
    elif kind == "json":
        raw = line(draw(json_value), ascii_only=draw(st.booleans()))
    elif kind == "message":
        raw = line(draw(message_like()), ascii_only=draw(st.booleans()))
    elif kind == "deep":
        depth = draw(st.integers(min_value=500, max_value=20_000))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
        raw = opener * depth + b"1" + closer * depth
    else:
        digits = draw(st.integers(min_value=4_290, max_value=5_000))
        raw = b'{"source": "social", "reach": ' + b"7" * digits + b"}"
    if draw(st.booleans()) and draw(st.booleans()):
        raw = b"\xef\xbb\xbf" + raw  # a byte-order mark, as Windows editors write one
    return raw.replace(b"\n", b" ")


def expected_payloads(lines: list[bytes]) -> int:
    """How many payloads the file source hands over for these lines (blank lines are none)."""
    return sum(1 for raw in lines if raw.rstrip(b"\r\n").strip())
