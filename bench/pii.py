"""Recall and precision of nlp.pii on seeded synthetic Vietnamese messages.

Prints, per kind, how many generated items of personal data were fully covered by a
redaction (recall) and how many by a redaction of the right kind, then the share of
generated PII-free messages (prices, dates, sizes, model codes...) that got any redaction.

    PYTHONPATH=. python bench/pii.py                 # 2,800 items, 2,000 PII-free texts
    PYTHONPATH=. python bench/pii.py --texts 7000 --seed 5 --show-misses 5
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict

from nlp.pii import KINDS, find_pii, redact
from tests.support.pii_synth import clean_texts, pii_texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2400, help="messages holding PII")
    parser.add_argument("--clean", type=int, default=2000, help="PII-free messages")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show-misses", type=int, default=3, help="misses printed per kind")
    args = parser.parse_args(argv)

    texts = pii_texts(args.texts, seed=args.seed)
    total: Counter[str] = Counter()
    covered: Counter[str] = Counter()
    right_kind: Counter[str] = Counter()
    misses: dict[str, list[str]] = defaultdict(list)
    started = time.perf_counter()
    for item in texts:
        spans = find_pii(item.text)
        for start, end, kind in item.items:
            total[kind] += 1
            chars: set[int] = set()
            kinds = set()
            for span in spans:
                if span.start < end and span.end > start:
                    chars.update(range(max(start, span.start), min(end, span.end)))
                    kinds.add(span.kind)
            if len(chars) == end - start:
                covered[kind] += 1
                right_kind[kind] += kinds == {kind}
            else:
                misses[kind].append(f"{item.text[start:end]!r} in {redact(item.text).text!r}")
    elapsed = time.perf_counter() - started

    print(
        f"PII recall on {len(texts)} generated messages ({sum(total.values())} items), "
        f"seed {args.seed}"
    )
    print(f"{'kind':<14}{'items':>7}{'recall':>9}{'right kind':>12}")
    for kind in KINDS:
        n = total[kind]
        print(f"{kind:<14}{n:>7}{covered[kind] / n:>9.4f}{right_kind[kind] / n:>12.4f}")
    all_items = sum(total.values())
    print(
        f"{'all':<14}{all_items:>7}{sum(covered.values()) / all_items:>9.4f}"
        f"{sum(right_kind.values()) / all_items:>12.4f}"
    )
    print(f"find_pii: {elapsed / len(texts) * 1e6:.0f} µs per message with PII")

    clean = clean_texts(args.clean, seed=args.seed + 1)
    started = time.perf_counter()
    flagged = [t for t in clean if find_pii(t)]
    elapsed = time.perf_counter() - started
    by_kind: Counter[str] = Counter(s.kind for t in flagged for s in find_pii(t))
    print(
        f"\nPII-free messages: {len(clean)}, with any redaction: {len(flagged)} "
        f"({len(flagged) / len(clean):.4f}); precision {1 - len(flagged) / len(clean):.4f}"
    )
    if by_kind:
        print("  false redactions by kind: " + ", ".join(f"{k} {v}" for k, v in by_kind.items()))
    print(f"find_pii: {elapsed / len(clean) * 1e6:.0f} µs per PII-free message")
    for text in flagged[: args.show_misses]:
        print(f"  flagged: {text!r} -> {redact(text).text!r}")

    if args.show_misses:
        for kind in KINDS:
            for line in misses[kind][: args.show_misses]:
                print(f"  missed {kind}: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
