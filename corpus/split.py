"""Assign every record of the CX corpus slices to a fixed split and write the split files.

    python corpus/split.py SLICE.jsonl [SLICE.jsonl ...]   # writes corpus/cx/{train,dev,test}.jsonl

To add a slice to the existing corpus, pass the current split files first (a text already in
them is kept where it is):

    python corpus/split.py corpus/cx/{test,dev,train}.jsonl NEW_SLICE.jsonl

Within each slice (the part of the id between ``cx-`` and the number), records are ordered
by the SHA-256 of their id; the first 20% are ``test``, the next 15% ``dev``, the rest
``train``. Supplement slices (named ``sup...``, written later to add training data where
the models were weak) never go to ``test``: 15% ``dev``, the rest ``train``, so the test
split stays the one every earlier figure was measured on. A record's split depends only
on its id and its slice's size, so re-running on the same slices gives the same files. A
text written twice (short chat fillers such as "dạ" or "ok" come up in several slices; case
and spacing aside) is kept once, the first time, so that no text is in two splits. The
test split is never used for training, model selection, thresholds or rule tuning
(docs/labelling.md).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).resolve().parent / "cx"
SHARES = (("test", 0.20), ("dev", 0.15))
SUPPLEMENT_SHARES = (("dev", 0.15),)
"""Shares of a supplement slice (``cx-sup...``): it adds to train and dev, never to test."""


def slice_of(record_id: str) -> str:
    """``cx-chatA-0042`` -> ``chatA``."""
    return record_id.split("-")[1]


def assign(records: list[dict]) -> dict[str, list[dict]]:
    """Split records per slice by the hash of their id."""
    by_slice: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_slice[slice_of(record["id"])].append(record)
    splits: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    for name in sorted(by_slice):
        ordered = sorted(by_slice[name], key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
        start = 0
        for split, share in SUPPLEMENT_SHARES if name.startswith("sup") else SHARES:
            count = round(len(ordered) * share)
            splits[split] += ordered[start : start + count]
            start += count
        splits["train"] += ordered[start:]
    for split in splits.values():
        split.sort(key=lambda r: r["id"])
    return splits


def main(paths: list[str]) -> int:
    """Read the slices, drop repeated texts, write the three split files."""
    records = [
        json.loads(line)
        for path in paths
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    seen: set[str] = set()
    unique = []
    for record in records:
        text = " ".join(record["text"].lower().split())
        if text not in seen:
            seen.add(text)
            unique.append(record)
    print(f"{len(records) - len(unique)} repeated texts dropped", file=sys.stderr)
    records = unique
    ids = [r["id"] for r in records]
    if len(ids) != len(set(ids)):
        print("duplicate ids", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    for split, rows in assign(records).items():
        with (OUT / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{split}: {len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
