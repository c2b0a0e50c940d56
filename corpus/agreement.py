"""Agreement between the first labels of the CX corpus and a blind second pass.

    python corpus/agreement.py corpus/cx/test.jsonl corpus/cx/second_pass.jsonl

The second pass is one object per line with ``id``, ``sentiment``, ``topics`` and ``flags``,
labelled from docs/labelling.md by someone who did not see the first labels. Prints Cohen's
kappa for sentiment (3 classes) and for each topic and flag (present or not), with the
raw agreement and how often each pass used the label.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

TOPICS = (
    "delivery", "packaging", "product_quality", "price", "promotion", "customer_service",
    "payment", "refund_return", "warranty", "app_website", "authenticity",
    "account_security", "product_safety",
)  # fmt: skip
FLAGS = ("complaint", "question", "praise", "churn_risk", "urgent")


def kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Cohen's kappa of two labellings of the same items."""
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    left, right = Counter(first), Counter(second)
    expected = sum(left[k] * right[k] for k in left) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def read(path: str) -> dict[str, dict]:
    """The records of a JSON Lines file by id."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
    return {row["id"]: row for row in rows if row}


def main(first_path: str, second_path: str) -> int:
    """Print the agreement table; exit 1 if the second pass names unknown ids."""
    first, second = read(first_path), read(second_path)
    ids = sorted(second)
    missing = [i for i in ids if i not in first]
    if missing:
        print(f"{len(missing)} ids of the second pass are not in {first_path}", file=sys.stderr)
        return 1
    print(f"{len(ids)} messages labelled twice")
    print(f"{'label':<20} {'kappa':>6} {'agree':>6} {'first':>6} {'second':>6}")

    def line(name: str, a: list[str], b: list[str], positive: str | None = None) -> None:
        agree = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
        uses = (a.count(positive), b.count(positive)) if positive else ("", "")
        print(f"{name:<20} {kappa(a, b):>6.3f} {agree:>6.1%} {uses[0]!s:>6} {uses[1]!s:>6}")

    line("sentiment", [first[i]["sentiment"] for i in ids], [second[i]["sentiment"] for i in ids])
    for group, names in (("topics", TOPICS), ("flags", FLAGS)):
        for name in names:
            a = ["yes" if name in first[i][group] else "no" for i in ids]
            b = ["yes" if name in second[i][group] else "no" for i in ids]
            line(name, a, b, "yes")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
