"""Per-message cost of the text layer on one core, and language-id accuracy.

Builds batches of 512 realistic customer messages (80-200 characters, generated from
templates written for this benchmark: reviews, support chats and social posts, with and
without diacritics, teencode, emoji, prices, English words, ~5% with personal data) and
times, per message:

- ``redact`` (nlp.pii), ``detect_language`` (nlp.langid), ``normalize`` (nlp.normalize),
  each alone and the three together the way the flow calls them;
- the baseline enricher's ``enrich_batch`` on batches of 512 normalized messages.

"cold" is the first pass over messages never seen (normalize memoizes chunks, langid
memoizes words); "warm" is a later pass over a fresh batch drawn from the same templates,
which is what a running stream sees. Timings are the median of ``--repeat`` runs; other
work on the machine disturbs them, so run it twice.

With ``--data-dir`` (the labelled sets of ../shared/data, research use only) it also prints
the baseline's sentiment accuracy and macro-F1 on VLSP 2016 and AIVIVN 2019 and the
expected calibration error; ``--calibrate`` fits the lexicon's temperature and neutral bias
on the VLSP 2016 dev split (grid search on negative log-likelihood) and prints them.

    PYTHONPATH=. python bench/text.py
    PYTHONPATH=. python bench/text.py --batches 20 --repeat 7
    PYTHONPATH=. python bench/text.py --data-dir ../shared/data --calibrate
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nlp._tables import read_tsv, resource_path
from nlp.langid import detect_language
from nlp.normalize import normalize, strip_diacritics
from nlp.pii import redact

BATCH = 512

OPENERS = ["", "", "", "Shop ơi, ", "Ad ơi ", "Dạ ", "Mình ", "Em ", "Cho hỏi "]
PRAISE = [
    "giao hàng nhanh, đóng gói cẩn thận",
    "sản phẩm đúng mô tả, chất vải đẹp",
    "nhân viên tư vấn nhiệt tình, dễ thương",
    "pin trâu, máy chạy mượt, chụp ảnh đẹp",
    "giá hợp lý, sẽ ủng hộ shop lần sau",
    "hàng chính hãng, có tem bảo hành đầy đủ",
    "app dễ dùng, thanh toán qua ví nhanh gọn",
]
COMPLAINT = [
    "giao hàng chậm quá, đặt {days} ngày rồi chưa nhận được",
    "sản phẩm bị lỗi, màn hình có điểm chết",
    "shop giao sai màu, nhắn tin không ai trả lời",
    "hộp bị móp méo, hàng bên trong vỡ hết",
    "hoàn tiền mãi chưa thấy về tài khoản",
    "app bị văng khi thanh toán, trừ tiền 2 lần",
    "nhân viên cskh trả lời cộc lốc, không giải quyết",
    "hàng fake, không giống hình quảng cáo",
    "bảo hành {days} tuần vẫn chưa trả máy",
]
TAILS = [
    "",
    "",
    "!!!",
    " 😡",
    " 😍",
    " :((",
    " =))",
    " 👍",
    ", thất vọng quá",
    ", rất hài lòng",
    ", giá {price}",
    ", mua lúc sale {pct}",
    ", ko mua nữa",
    ", sẽ quay lại",
    ", chuyển sang shopee",
]
ENGLISH = [
    "Fast delivery and good packaging, the product works well and the seller replied quickly",
    "Item arrived damaged and nobody answers my messages, very disappointed with this shop",
    "Good quality for the price, would buy again, but the app crashed twice at checkout",
]
PII = [
    " sđt 0912 345 678",
    " giao tới 12 Nguyễn Trãi, P.2, Q.5 giúp em",
    " mã đơn 240517QWERTY12",
    " stk 0071000123456 VCB",
]


def _message(rng: random.Random) -> str:
    if rng.random() < 0.05:
        return rng.choice(ENGLISH)
    parts = [rng.choice(OPENERS)]
    for _ in range(rng.choice([1, 2, 2, 3])):
        pool = PRAISE if rng.random() < 0.45 else COMPLAINT
        parts.append(rng.choice(pool))
    text = parts[0] + ", ".join(parts[1:])
    text += rng.choice(TAILS)
    if rng.random() < 0.05:
        text += rng.choice(PII)
    text = text.format(
        days=rng.randrange(2, 15),
        price=rng.choice(["199.000đ", "1tr2", "50k", "2,5 triệu"]),
        pct=f"{rng.randrange(5, 70)}%",
    )
    roll = rng.random()
    if roll < 0.2:
        text = strip_diacritics(text)
    elif roll < 0.3:
        text = text.replace("không", "ko").replace("được", "dc").replace("sản phẩm", "sp")
    if rng.random() < 0.1:
        text = text.replace("quá", "quáaaa").replace("lắm", "lắmmm")
    while len(text) < 80:
        text += ", " + rng.choice(PRAISE + COMPLAINT).format(days=3)
    return text[:200]


def messages(n: int, seed: int) -> list[str]:
    """``n`` generated customer messages, seeded."""
    rng = random.Random(seed)
    return [_message(rng) for _ in range(n)]


def _per_message(fn: Callable[[Sequence[str]], object], batch: Sequence[str]) -> float:
    started = time.perf_counter_ns()
    fn(batch)
    return (time.perf_counter_ns() - started) / len(batch) / 1000


def _each(step: Callable[[str], object]) -> Callable[[Sequence[str]], None]:
    def run(batch: Sequence[str]) -> None:
        for text in batch:
            step(text)

    return run


def _pipeline(batch: Sequence[str]) -> None:
    for raw in batch:
        redacted = redact(raw).text
        detect_language(redacted)
        normalize(redacted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=8, help="batches of 512 for warm timings")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, help="labelled sets (../shared/data)")
    parser.add_argument("--calibrate", action="store_true", help="fit T and bias on VLSP dev")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    cold = messages(BATCH, seed=args.seed)
    lengths = [len(t) for t in cold]
    print(
        f"messages: batches of {BATCH}, {min(lengths)}-{max(lengths)} chars "
        f"(mean {statistics.mean(lengths):.0f}), one core, python {sys.version.split()[0]}"
    )
    steps: list[tuple[str, Callable[[Sequence[str]], object]]] = [
        ("redact", _each(redact)),
        ("detect_language", _each(detect_language)),
        ("normalize", _each(normalize)),
        ("redact+langid+normalize", _pipeline),
    ]
    print(f"{'step':<26}{'cold µs/msg':>12}{'warm µs/msg':>13}")
    for name, fn in steps:
        fn(["Tải bảng: sđt 0912345678, giao hàng nhanh 😍"])  # load the tables once, untimed
        first = _per_message(fn, cold)
        warm = []
        for b in range(args.batches):
            batch = messages(BATCH, seed=args.seed + 1000 + b)
            fn(batch[:32])  # the stream has seen this kind of text before
            warm.append(min(_per_message(fn, batch) for _ in range(args.repeat)))
        print(f"{name:<26}{first:>12.1f}{statistics.median(warm):>13.1f}")

    baseline = _baseline_figures(args)
    if baseline:
        print(baseline)

    if args.data_dir is not None:
        _data_figures(args.data_dir, calibrate=args.calibrate)

    rows = read_tsv(resource_path("langid_samples.tsv"), ("text", "language", "note"), required=2)
    right = sum(detect_language(text) == language for text, language, _ in rows)
    print(f"\nlangid accuracy on langid_samples.tsv: {right}/{len(rows)} = {right / len(rows):.3f}")
    for text, language, _ in rows:
        got = detect_language(text)
        if got != language:
            print(f"  {text!r}: expected {language}, got {got}")
    return 0


def _baseline_figures(args: argparse.Namespace) -> str:
    """Time the baseline enricher's enrich_batch (once nlp.enrichers exists)."""
    try:
        from nlp.enrichers import load_enricher
    except ImportError:
        return ""
    enricher = load_enricher("baseline")
    runs = []
    for b in range(args.batches):
        batch = [normalize(redact(t).text) for t in messages(BATCH, seed=args.seed + 2000 + b)]
        enricher.enrich_batch(batch[:32])
        runs.append(min(_per_message(enricher.enrich_batch, batch) for _ in range(args.repeat)))
    return f"{'baseline enrich_batch':<26}{'':>12}{statistics.median(runs):>13.1f}"


def _data_figures(data_dir: Path, *, calibrate: bool) -> None:
    """Sentiment of the baseline on the labelled sets, and its calibration."""
    from nlp.lexicon import load_lexicon

    lexicon = load_lexicon()
    sets = [
        ("vlsp2016_sa", "dev"),
        ("vlsp2016_sa", "test"),
        ("aivivn2019_sa", "dev"),
        ("aivivn2019_sa", "test"),
    ]
    scored: dict[tuple[str, str], list[tuple[float, str]]] = {}
    print(f"\nbaseline sentiment on {data_dir} (research data; see its README)")
    for name, split in sets:
        path = data_dir / name / f"{split}.jsonl"
        if not path.exists():
            print(f"  {name}/{split}: missing")
            continue
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        pairs = [
            (lexicon.score(normalize(redact(r["text"]).text)).score, r["sentiment"])
            for r in rows
            if r.get("sentiment")
        ]
        scored[(name, split)] = pairs
        labels = sorted({gold for _, gold in pairs})
        predicted = [lexicon.label(score)[0] for score, _ in pairs]
        gold = [g for _, g in pairs]
        accuracy = sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(gold)
        f1 = statistics.mean(_f1(gold, predicted, label) for label in labels)
        ece = _ece(lexicon, pairs)
        neutral = predicted.count("neutral") / len(predicted)
        print(
            f"  {name}/{split}: n={len(pairs)} classes={labels} accuracy {accuracy:.3f} "
            f"macro-F1 {f1:.3f} ECE {ece:.3f} (neutral predicted {neutral:.1%})"
        )
    if calibrate and ("vlsp2016_sa", "dev") in scored:
        dev = scored[("vlsp2016_sa", "dev")]
        best = min(
            (_nll(dev, t / 10, b / 10), t / 10, b / 10)
            for t in range(5, 61)
            for b in range(-10, 31)
        )
        print(f"  fitted on vlsp2016_sa/dev: temperature {best[1]}, neutral_bias {best[2]}")


def _f1(gold: list[str], predicted: list[str], label: str) -> float:
    tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
    fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
    fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _ece(lexicon: Any, pairs: list[tuple[float, str]], bins: int = 10) -> float:
    totals = [[0, 0.0, 0] for _ in range(bins)]
    for score, gold in pairs:
        label, probability = lexicon.label(score)
        row = totals[min(int(probability * bins), bins - 1)]
        row[0] += 1
        row[1] += probability
        row[2] += label == gold
    return sum(abs(row[1] - row[2]) for row in totals if row[0]) / len(pairs)


def _nll(pairs: list[tuple[float, str]], temperature: float, bias: float) -> float:
    total = 0.0
    for score, gold in pairs:
        z = {"positive": score / temperature, "negative": -score / temperature, "neutral": bias}
        top = max(z.values())
        norm = sum(math.exp(v - top) for v in z.values())
        total -= z[gold] - top - math.log(norm)
    return total / len(pairs)


if __name__ == "__main__":
    sys.exit(main())
