"""What an alert shows: terms, a stitched phrase, samples, channels and a one-line summary.

Pure functions over the alert's messages (:class:`~flows.detect.signals.Signal`). Texts are
re-read (:func:`~flows.detect.phrases.gram_spans`) only for at most ``TEXT_SAMPLE``
messages, so describing an alert stays cheap however large the incident.

The summary (:func:`summarize`) says what, where and how much in one line, e.g.
"Phàn nàn giao hàng trên Shopee tăng 6 lần trong 20 phút: giao chậm, shipper không gọi":
the topic by its Vietnamese label from the taxonomy, the channel, brand and product of the
key, observed over expected in the alert's window, and the first top terms.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from flows.detect.phrases import GramText, fold, gram_spans, syllable_runs
from flows.detect.signals import Signal

#: Messages whose text is re-read to write out phrases and top terms.
TEXT_SAMPLE = 80
#: A value "dominates" a list when it holds at least this share of it.
DOMINANT = 0.6
MAX_PHRASE_SYLLABLES = 8


def folded(text: str) -> str:
    """Folded, single-spaced form of a phrase (for comparisons)."""
    return " ".join(fold(text).split())


def overlaps(a: str, b: str) -> bool:
    """Whether two folded phrases share a run of syllables (one in the other, or chained)."""
    if a in b or b in a:
        return True
    wa, wb = a.split(), b.split()
    for size in range(min(len(wa), len(wb)) - 1, 0, -1):
        if wa[-size:] == wb[:size] or wb[-size:] == wa[:size]:
            return size >= 2 or min(len(wa), len(wb)) == 2
    return False


def lead_with(phrase: str, terms: Sequence[str], limit: int) -> tuple[str, ...]:
    """``phrase`` first, then the terms that do not overlap it."""
    key = folded(phrase)
    rest = [t for t in terms if not overlaps(folded(t), key)]
    return (phrase, *rest)[:limit]


def dominant(values: Iterable[str]) -> str:
    """The value holding at least 60% of ``values`` ('' when none does)."""
    counts = Counter(values)
    total = sum(counts.values())
    if not total:
        return ""
    value, count = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return value if count >= DOMINANT * total else ""


def _marks(text: str) -> int:
    """Non-ASCII letters (diacritics): written forms with them read better."""
    return sum(1 for ch in text if ord(ch) > 127)


def gram_texts(grams: set[int], records: Sequence[Signal]) -> dict[int, GramText]:
    """The most common written form of each gram among (a sample of) ``records``."""
    forms: dict[int, Counter[str]] = {}
    found: dict[int, GramText] = {}
    read = 0
    for record in records:
        if grams.isdisjoint(record.grams):
            continue
        read += 1
        if read > TEXT_SAMPLE:
            break
        for text in gram_spans(record.text_normalized):
            if text.id in grams:
                forms.setdefault(text.id, Counter())[text.surface] += 1
                found.setdefault(text.id, text)
    out = {}
    for gram, counter in forms.items():
        surface = min(counter.items(), key=lambda kv: (-kv[1], -_marks(kv[0]), kv[0]))[0]
        base = found[gram]
        out[gram] = GramText(gram, base.folded, surface, base.syllables, 0, 0)
    return out


def _unit_scores(
    members: Sequence[Signal],
    ids_of: Callable[[Signal], Sequence[int]],
    share: Callable[[int], float],
    *,
    empty_units: bool,
) -> tuple[dict[int, float], Counter[int]]:
    """Ids held by at least 15% of the units (and two), each scored ``c * ln(c / e)``.

    ``c`` is the number of units (conversations) holding the id, ``e`` what its baseline
    ``share`` predicts for that many units; also returns every id's ``c``. A record without
    ids counts as a unit only with ``empty_units``.
    """
    counts: Counter[int] = Counter()
    per_unit: dict[str, set[int]] = {}
    for record in members:
        ids = ids_of(record)
        if not ids and not empty_units:
            continue
        seen = per_unit.setdefault(record.unit, set())
        new = set(ids) - seen
        seen |= new
        counts.update(new)
    units = len(per_unit)
    least = max(2, math.ceil(0.15 * units))
    scores = {
        key: c * math.log(c / max(units * share(key), 1e-6))
        for key, c in counts.items()
        if c >= least
    }
    return scores, counts


def top_terms(
    members: Sequence[Signal],
    share: Callable[[int], float],
    phrase: str,
    phrase_grams: frozenset[int],
    limit: int,
) -> tuple[tuple[str, ...], set[int]]:
    """Terms over-represented in an alert's messages, and the ids of the grams chosen.

    A gram in at least 15% of the messages (and two) is scored ``c * ln(c / e)``, ``c`` its
    messages and ``e`` what its baseline ``share`` predicts; overlapping grams keep one
    (the longer one when it is nearly as frequent). The alert's phrase, if any, comes first.
    """
    terms: list[str] = [phrase] if phrase else []
    chosen: set[int] = set(phrase_grams)
    if not members:
        return tuple(terms), chosen
    scores, counts = _unit_scores(members, lambda r: r.grams, share, empty_units=True)
    scored = sorted((-value, gram) for gram, value in scores.items())
    texts = gram_texts({g for _, g in scored[: 4 * limit]}, members)
    for _value, gram in scored:
        text = texts.get(gram)
        if text is None or any(overlaps(text.folded, folded(t)) for t in terms):
            continue
        longer = [
            t
            for g, t in texts.items()
            if g != gram and text.folded in t.folded and counts[g] >= 0.8 * counts[gram]
        ]
        if longer:  # "lỗi thanh" inside "lỗi thanh toán momo": keep the longer one
            text = max(longer, key=lambda t: (counts[t.id], t.syllables, t.folded))
            if any(overlaps(text.folded, folded(t)) for t in terms):
                continue
        terms.append(text.surface)
        chosen.add(text.id)
        if len(terms) >= limit:
            break
    return tuple(terms), chosen


def channel_breakdown(members: Iterable[Signal]) -> dict[str, int]:
    """Distinct units per channel, largest first."""
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    for record in members:
        if record.unit not in seen:
            seen.add(record.unit)
            counts[record.channel] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def characteristic_terms(
    members: Sequence[Signal], share: Callable[[int], float], limit: int = 8
) -> dict[int, float]:
    """The complaint terms most over-represented among an alert's messages, with weights.

    A term (:func:`~flows.detect.phrases.term_ids`: the words and word pairs of complaints)
    held by at least 15% of the complaint units (and two) is weighed ``c * ln(c / e)``,
    ``c`` its units and ``e`` what its baseline ``share`` of complaints predicts; the
    ``limit`` heaviest are kept. An incident's messages share the words of what went wrong
    (whatever topic the enricher gave them), the key's everyday messages do not.
    """
    scores, _ = _unit_scores(members, lambda r: r.terms, share, empty_units=False)
    weights = {term: value for term, value in scores.items() if value > 0}  # above baseline
    return dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])


def pick_samples(
    members: Sequence[Signal],
    term_grams: set[int],
    topic: str,
    limit: int,
    weights: Mapping[int, float] | None = None,
) -> list[Signal]:
    """Representative messages: characteristic terms, top terms, distinct, negative, latest.

    ``weights`` (:func:`characteristic_terms`) rank first: a message holding more of the
    words that make the alert's messages unusual shows what the incident is about. One
    message per unit (conversation); in time order.
    """
    weights = weights or {}

    def weight(record: Signal) -> float:
        return sum(weights.get(t, 0.0) for t in record.terms) if weights else 0.0

    ranked = sorted(
        members,
        key=lambda r: (
            -weight(r),
            term_grams.isdisjoint(r.grams),
            not (r.negative or topic in r.negative_topics),
            -r.created_at.timestamp(),
            r.id,
        ),
    )
    picked: list[Signal] = []
    texts: set[str] = set()
    units: set[str] = set()
    for with_terms, distinct in ((True, True), (True, False), (False, True), (False, False)):
        for record in ranked:
            if len(picked) == limit:
                break
            text_key = " ".join(record.text_normalized.split())
            if record.unit in units or (distinct and text_key in texts):
                continue
            if with_terms and term_grams.isdisjoint(record.grams) and weight(record) <= 0.0:
                continue
            picked.append(record)
            texts.add(text_key)
            units.add(record.unit)
    return sorted(picked, key=lambda r: (r.created_at, r.id))


def stitch(
    cluster: Sequence[int], units_of: dict[int, set[str]], members: Sequence[Signal]
) -> tuple[str, str, int]:
    """Join the overlapping grams of one burst into one phrase.

    The grams found in at least 80% as many messages as the most frequent one are located in
    each message; the run of syllables they cover (overlapping or touching, at most 8
    syllables) is the message's phrase. Returns the phrase most messages share as most often
    written, its folded form (part of the alert id) and the lead gram (the most frequent,
    then longest, gram of the cluster: its trigger resolves the alert).
    """
    top = max(len(units_of.get(g, ())) for g in cluster)
    strong = {g for g in cluster if len(units_of.get(g, ())) >= 0.8 * top}
    forms: Counter[tuple[str, str]] = Counter()
    lengths: dict[int, int] = {}
    for record in members[:TEXT_SAMPLE]:
        spans = [t for t in gram_spans(record.text_normalized) if t.id in strong]
        if not spans:
            continue
        by_segment: dict[int, list[GramText]] = {}
        for span in spans:
            by_segment.setdefault(span.segment, []).append(span)
            lengths[span.id] = span.syllables
        segment, found = max(by_segment.items(), key=lambda kv: (len(kv[1]), -kv[0]))
        found.sort(key=lambda t: t.start)
        start, end = found[0].start, found[0].start + found[0].syllables
        for span in found[1:]:
            if span.start <= end:
                end = max(end, span.start + span.syllables)
        end = min(end, start + MAX_PHRASE_SYLLABLES)
        run = syllable_runs(record.text_normalized)[segment]
        forms[(" ".join(run.folded[start:end]), " ".join(run.surface[start:end]))] += 1
    lead = min(strong, key=lambda g: (-len(units_of.get(g, ())), -lengths.get(g, 0), g))
    if not forms:
        text = gram_texts({lead}, members).get(lead)
        return (text.surface, text.folded, lead) if text else ("", "", lead)
    by_folded: Counter[str] = Counter()
    for (key, _surface), count in forms.items():
        by_folded[key] += count
    key = min(by_folded.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))[0]
    surface = min(
        ((s, c) for (f, s), c in forms.items() if f == key),
        key=lambda kv: (-kv[1], -_marks(kv[0]), kv[0]),
    )[0]
    return surface, key, lead


#: How a summary names a channel (others: as stored).
CHANNEL_NAMES = {
    "shopee": "Shopee",
    "tiki": "Tiki",
    "lazada": "Lazada",
    "sendo": "Sendo",
    "zalo": "Zalo",
    "facebook": "Facebook",
    "messenger": "Messenger",
    "tiktok": "TikTok",
    "youtube": "YouTube",
    "app_store": "App Store",
    "google_play": "Google Play",
    "hotline_chat": "hotline chat",
    "web_chat": "web chat",
    "forum": "diễn đàn",
}
#: How a summary names the reasons of a case (flags and topics).
CASE_REASONS = {
    "urgent": "khẩn cấp",
    "churn_risk": "nguy cơ rời bỏ",
    "product_safety": "an toàn sản phẩm",
    "account_security": "bảo mật tài khoản",
    "complaint": "phàn nàn",
}
#: The label of the pseudo-topic of messages without a taxonomy topic.
OTHER_LABEL = "chủ đề chưa phân loại"
SUMMARY_TERMS = 3
CASE_QUOTE = 90


def topic_label(topic: str, labels: Mapping[str, str]) -> str:
    """The Vietnamese label of a topic, in running text ("giao hàng", "thanh toán")."""
    if topic == "other":
        return OTHER_LABEL
    label = labels.get(topic) or topic.replace("_", " ")
    return label[:1].lower() + label[1:] if label[1:2].islower() or len(label) == 1 else label


def place(channel: str, brand: str, product: str) -> str:
    """Where, in running text: ' trên Shopee', ' của Lumia (tai nghe L1)' or ''."""
    out = ""
    if channel:
        out += f" trên {CHANNEL_NAMES.get(channel, channel)}"
    if brand:
        out += f" của {brand}"
    if product:
        out += f" ({product})"
    return out


RISE_SHOWN = 1.1
"""A summary says "tăng N lần" only from this ratio up; below, it gives the two counts."""


def times(ratio: float) -> str:
    """A ratio the Vietnamese way: "6", "2,5"."""
    if ratio >= 10:
        return f"{ratio:.0f}"
    text = f"{ratio:.1f}".replace(".", ",")
    return text[:-2] if text.endswith(",0") else text


def summarize(
    kind: str,
    *,
    family: str,
    topic: str,
    channel: str,
    brand: str,
    product: str,
    phrase: str,
    observed: float,
    expected: float,
    minutes: int,
    negatives: int = 0,
    messages: int = 0,
    terms: Sequence[str] = (),
    text: str = "",
    labels: Mapping[str, str] | None = None,
) -> str:
    """One line in Vietnamese: what, where, how much (module docstring)."""
    labels = labels or {}
    where = place(channel, brand, product)
    about = topic_label(topic, labels) if topic else ""
    span = f"trong {minutes} phút"
    if kind == "case":
        reasons = ", ".join(CASE_REASONS.get(t, t.replace("_", " ")) for t in terms)
        quote = " ".join(text.split())
        if len(quote) > CASE_QUOTE:
            quote = quote[: CASE_QUOTE - 1].rstrip() + "…"
        line = f"Khách hàng cần xử lý ngay{where}"
        line += f" ({reasons})" if reasons else ""
        return f"{line}: “{quote}”" if quote else line
    if kind == "negative_share":
        share = negatives / messages if messages else 0.0
        line = f"Tỉ lệ tiêu cực về {about}{where} lên {share:.0%} (thường {expected:.0%}) {span}"
    else:
        if kind == "emerging_phrase":
            what = f"Cụm từ mới “{phrase}”" + (f" về {about}" if about else "")
        elif kind == "emerging_issue":
            what = "Vấn đề mới" + (f" về {about}" if about and topic != "other" else "")
        elif family == "complaints":
            what = f"Phàn nàn {about}" if about else "Phàn nàn"
        else:
            what = f"Tin nhắn về {about}" if about else "Tin nhắn"
        if expected < 0.5:
            how = f": {observed:.0f} tin {span}, thường gần như không có"
        elif observed >= RISE_SHOWN * expected:
            how = f" tăng {times(observed / expected)} lần {span}"
        else:  # the rise that fired is not in this window: say the counts
            how = f": {observed:.0f} tin {span}, thường {expected:.0f}"
        line = f"{what}{where}{how}"
    shown = [t for t in terms if t and t != phrase][:SUMMARY_TERMS]
    if shown:
        line += (" – " if ":" in line else ": ") + ", ".join(shown)
    return line
