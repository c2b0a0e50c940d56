"""Recall and precision of PII redaction: on generated texts, and everywhere after a real run.

1. **Texts** (``nlp.pii`` alone): per kind, how many generated items of personal data were
   fully covered by a redaction (recall) and by a redaction of the right kind, first as
   customers write them, then written to hide them (full-width digits, zero-width
   characters or no-break spaces inside, HTML entities, JSON unicode escapes, bidi controls,
   mixes; ``tests.support.pii_synth.EVASIONS``); then the share of generated PII-free
   messages (prices, dates, sizes, model codes...) that got any redaction.
2. **Everywhere** (``--flow``, on by default): messages with personal data planted in every
   field (text, brand, product, url, conversation id, id, author, attributes nested, as keys
   and as escaped JSON), some written evasively, a burst of them so the detectors open
   alerts with samples, PII-free messages around them, and broken payloads carrying personal
   data (dead letters: bad JSON, a bad event time, a phone as channel, an email as id...).
   ``voc migrate`` and ``voc run`` (with a recovery directory) stream them into a fresh
   embedded ClickHouse; then every table, the output of ``voc query``, ``voc alerts`` and
   ``voc messages`` (tables and JSON), ``voc conversation`` (20 chats), ``voc dead-letters``,
   ``voc sql`` (every stored message), ``voc config`` and the run's own log, and every file
   of the recovery directory are searched for each planted item (its
   digits with any separators, its text, lower-cased and without diacritics). Recall is the
   share of planted items found nowhere; precision is the share of PII-free messages stored
   with no placeholder and their own id.

    PYTHONPATH=. python bench/pii.py                       # texts, then everywhere
    PYTHONPATH=. python bench/pii.py --no-flow --texts 7000 --seed 5 --show-misses 5
    PYTHONPATH=. python bench/pii.py --messages 3000 --json figures.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nlp.normalize import canonical, strip_diacritics
from nlp.pii import KINDS, find_pii, redact
from tests.support.pii_synth import SyntheticText, clean_texts, pii_texts, planted_fields

REPO = Path(__file__).resolve().parent.parent

# -- 1. texts ---------------------------------------------------------------------------------


def coverage(texts: list[SyntheticText]) -> tuple[Counter[str], Counter[str], Counter[str], dict]:
    """Items per kind, covered, covered by the right kind; misses per kind."""
    total: Counter[str] = Counter()
    covered: Counter[str] = Counter()
    right: Counter[str] = Counter()
    misses: dict[str, list[str]] = defaultdict(list)
    for item in texts:
        spans = find_pii(item.text)
        plain = canonical(item.text)
        for start, end, kind in item.canonical_items:
            total[kind] += 1
            chars: set[int] = set()
            kinds = set()
            for span in spans:
                if span.start < end and span.end > start:
                    chars.update(range(max(start, span.start), min(end, span.end)))
                    kinds.add(span.kind)
            if len(chars) == end - start:
                covered[kind] += 1
                right[kind] += kinds == {kind}
            else:
                misses[kind].append(f"{plain[start:end]!r} in {redact(item.text).text!r}")
    return total, covered, right, misses


def print_coverage(title: str, texts: list[SyntheticText], show: int) -> float:
    started = time.perf_counter()
    total, covered, right, misses = coverage(texts)
    elapsed = time.perf_counter() - started
    print(f"{title}: {len(texts)} messages, {sum(total.values())} items")
    print(f"{'kind':<14}{'items':>7}{'recall':>9}{'right kind':>12}")
    for kind in KINDS:
        n = total[kind]
        if n:
            print(f"{kind:<14}{n:>7}{covered[kind] / n:>9.4f}{right[kind] / n:>12.4f}")
    items = sum(total.values())
    recall = sum(covered.values()) / items
    print(f"{'all':<14}{items:>7}{recall:>9.4f}{sum(right.values()) / items:>12.4f}")
    print(f"find_pii: {elapsed / len(texts) * 1e6:.0f} µs per message with PII")
    for kind in KINDS:
        for line in misses[kind][:show]:
            print(f"  missed {kind}: {line}")
    return recall


def text_level(args: argparse.Namespace) -> dict[str, float]:
    plain = pii_texts(args.texts, seed=args.seed)
    recall = print_coverage(f"PII recall, as written (seed {args.seed})", plain, args.show_misses)
    hidden = pii_texts(args.texts, seed=args.seed, evasions=1.0)
    print()
    evaded_recall = print_coverage("PII recall, every item written to hide it", hidden, 0)
    by_style: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in hidden:
        spans = find_pii(item.text)
        for (start, end, _kind), style in zip(item.canonical_items, item.evasions, strict=True):
            chars = {
                c
                for s in spans
                if s.start < end and s.end > start
                for c in range(max(start, s.start), min(end, s.end))
            }
            by_style[style][0] += 1
            by_style[style][1] += len(chars) == end - start
    print("  by evasion: " + ", ".join(f"{s} {h / n:.4f} ({n})" for s, (n, h) in by_style.items()))

    clean = clean_texts(args.clean, seed=args.seed + 1)
    flagged = [t for t in clean if find_pii(t)]
    by_kind: Counter[str] = Counter(s.kind for t in flagged for s in find_pii(t))
    precision = 1 - len(flagged) / len(clean)
    print(
        f"\nPII-free messages: {len(clean)}, with any redaction: {len(flagged)} "
        f"({len(flagged) / len(clean):.4f}); precision {precision:.4f}"
    )
    if by_kind:
        print("  false redactions by kind: " + ", ".join(f"{k} {v}" for k, v in by_kind.items()))
    for text in flagged[: args.show_misses]:
        print(f"  flagged: {text!r} -> {redact(text).text!r}")
    return {
        "text_recall": recall,
        "text_recall_evasions": evaded_recall,
        "text_precision": precision,
    }


# -- 2. everywhere ----------------------------------------------------------------------------

NUMBER_KINDS = frozenset({"phone", "id_number", "bank_account", "card"})
CLEAN_BRANDS = ("Zenta", "Mộc Lam", "Lumia", "Hải Hà", "MamMam", "Bếp Xanh")
CLEAN_PRODUCTS = ("Zenta S12", "áo thun basic", "nồi chiên 5L", "sữa rửa mặt", "tai nghe X2")
CHANNELS = ("shopee", "tiki", "lazada", "zalo", "facebook")


@dataclass
class Planted:
    """Every planted item (secret, kind, where it was put) and the PII-free message ids."""

    secrets: list[tuple[str, str, str]] = field(default_factory=list)
    clean_ids: list[str] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)


def _message(i: int, at: datetime, rng: random.Random, **fields: Any) -> dict[str, Any]:
    channel = fields.pop("channel", rng.choice(CHANNELS))
    source = "chat" if channel == "zalo" else rng.choice(("review", "social"))
    message: dict[str, Any] = {
        "id": f"m-{i:06d}",
        "source": source,
        "channel": channel,
        "brand": rng.choice(CLEAN_BRANDS),
        "product": rng.choice(CLEAN_PRODUCTS),
        "author": f"user{rng.randrange(10**6, 10**7)}",
        "created_at": at.isoformat(),
    }
    if source == "chat":
        message.update(conversation_id=f"c-{rng.randrange(10**5)}", role="customer")
    if source == "social":
        message["url"] = f"https://facebook.com/groups/voc/posts/{rng.randrange(10**15, 10**16)}"
    message.update(fields)
    return message


def plant(n: int, seed: int, end: datetime) -> Planted:
    """PII-free traffic over 6 hours, a burst of messages with PII, and broken payloads."""
    rng = random.Random(seed)
    planted = Planted()
    n_pii = n // 4
    n_dead = n // 20
    n_clean = n - n_pii - n_dead
    clean = clean_texts(n_clean, seed=seed + 1)
    texts = pii_texts(n_pii + n_dead, seed=seed + 2, evasions=0.3)
    start = end - timedelta(hours=6)
    lines: list[tuple[datetime, bytes]] = []
    for i, text in enumerate(clean):
        at = start + timedelta(seconds=rng.uniform(0, 6 * 3600 - 1500))
        message = _message(i, at, rng, text=text)
        planted.clean_ids.append(message["id"])
        planted.secrets.append((message["author"], "identifier", "author"))
        lines.append((at, json.dumps(message, ensure_ascii=False).encode()))
    burst = end - timedelta(minutes=22)
    for j, item in enumerate(texts):
        i = n_clean + j
        at = burst + timedelta(seconds=rng.uniform(0, 20 * 60))
        message = _message(i, at, rng, channel="shopee", source="review")
        for key in ("conversation_id", "role", "url"):
            message.pop(key, None)
        message["text"] = f"giao hàng chậm quá, {item.text}"
        pairs = zip(item.secrets, item.items, strict=True)
        planted.secrets.extend((secret, kind, "text") for secret, (_, _, kind) in pairs)
        puts = planted_fields(rng)
        for put in puts:
            if put.field == "attributes":
                message.setdefault("attributes", {}).update(put.value)  # type: ignore[call-overload]
            elif put.field == "conversation_id":
                message.update(source="chat", role="customer", conversation_id=put.value)
            else:
                message[put.field] = put.value
            found = zip(put.secrets, put.kinds, strict=True)
            planted.secrets.extend((secret, kind, put.field) for secret, kind in found)
        if all(put.field != "author" for put in puts):
            planted.secrets.append((message["author"], "identifier", "author"))
        if j >= n_pii:  # broken on purpose: a dead letter that carries the personal data
            lines.append((at, _broken(message, j - n_pii, rng, planted)))
        else:
            lines.append((at, json.dumps(message, ensure_ascii=False).encode()))
    planted.payloads = [line for _, line in sorted(lines, key=lambda pair: pair[0])]
    return planted


def _broken(message: dict[str, Any], k: int, rng: random.Random, planted: Planted) -> bytes:
    style = k % 6
    phone = rng.choice(("090", "091", "093", "097", "098", "086")) + f"{rng.randrange(10**7):07d}"
    if style == 0:  # cut JSON
        return json.dumps(message, ensure_ascii=False).encode()[:-5]
    if style == 1:  # a bad event time that holds a phone
        planted.secrets.append((phone, "phone", "created_at"))
        return json.dumps({**message, "created_at": f"sđt {phone}"}, ensure_ascii=False).encode()
    if style == 2:  # a phone as channel
        planted.secrets.append((phone, "phone", "channel"))
        return json.dumps({**message, "channel": phone}, ensure_ascii=False).encode()
    if style == 3:  # an email as id
        email = f"kh.{rng.randrange(10**5)}@gmail.com"
        planted.secrets.append((email, "email", "id"))
        return json.dumps({**message, "id": email}, ensure_ascii=False).encode()
    if style == 4:  # a phone as rating
        planted.secrets.append((phone, "phone", "rating"))
        return json.dumps({**message, "rating": phone}, ensure_ascii=False).encode()
    # every character of every string escaped, then cut
    escaped = json.dumps(message, ensure_ascii=True)
    escaped = re.sub(r"(?<=[\w ])([0-9])", lambda m: f"\\u{ord(m.group()):04x}", escaped)
    return escaped.encode()[:-3]


def voc(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "250", **env},
        check=False,
        timeout=1800,
    )


def outputs(folder: Path, planted: Planted, start: datetime, end: datetime) -> dict[str, str]:
    """Run the flow and every read command; return each output by name."""
    dsn = f"chdb://{folder / 'chdb'}"
    env = {"VOC_CLICKHOUSE_DSN": dsn, "VOC_AUTHOR_SALT": "bench-salt-" + str(os.getpid())}
    path = folder / "in.jsonl"
    path.write_bytes(b"\n".join(planted.payloads) + b"\n")
    recovery = folder / "recovery"
    got: dict[str, str] = {}
    ran = voc("migrate", env=env)
    if ran.returncode != 0:
        msg = f"voc migrate failed: {ran.stderr}"
        raise SystemExit(msg)
    ran = voc("run", "--input", str(path), "-r", str(recovery), "-s", "1", env=env)
    if ran.returncode != 0:
        msg = f"voc run failed: {ran.stderr[-2000:]}"
        raise SystemExit(msg)
    got["voc run (log)"] = ran.stdout + ran.stderr
    window = ("--from", (start - timedelta(hours=1)).isoformat(), "--to", end.isoformat())
    for name, args in (
        ("voc query", ("query", *window, "--negatives", "200", "--top", "100")),
        ("voc query --json", ("query", *window, "--negatives", "200", "--json")),
        ("voc alerts", ("alerts", "--last", "30d", "--limit", "1000")),
        ("voc alerts --json", ("alerts", "--last", "30d", "--limit", "1000", "--json")),
        ("voc dead-letters", ("dead-letters", "--limit", "1000")),
        ("voc messages", ("messages", *window, "--limit", "100000")),
        ("voc messages --json", ("messages", *window, "--limit", "100000", "--json")),
        ("voc sql", ("sql", "-e", "SELECT * FROM messages FINAL", "--max-rows", "100000")),
        ("voc config", ("config",)),
    ):
        ran = voc(*args, env=env)
        failed = "" if ran.returncode == 0 else f" [exit {ran.returncode}]"
        got[name] = ran.stdout + ran.stderr + failed
    conversations = re.findall(r'"conversation_id": "([^"]+)"', got["voc messages --json"])
    shown = max(3, min(20, len(planted.payloads) // 150))  # 20 at the default size
    for conversation in sorted(set(conversations))[:shown]:
        ran = voc("conversation", conversation, env=env)
        got[f"voc conversation {conversation}"] = ran.stdout + ran.stderr
    for file in sorted(recovery.rglob("*")):
        if file.is_file():
            got[f"recovery/{file.name}"] = file.read_bytes().decode("utf-8", errors="ignore")
    got.update(tables(dsn))
    return got


def tables(dsn: str) -> dict[str, str]:
    """Every table of the database, as text (aggregate states included, as bytes)."""
    from flows.clickhouse import close_deferred, connect
    from flows.settings import load_settings

    client = connect(load_settings(clickhouse_dsn=dsn))
    try:
        names = [
            str(r[0])
            for r in client.query(
                "SELECT name FROM system.tables WHERE database = currentDatabase() "
                "AND engine NOT IN ('View', 'MaterializedView') ORDER BY name"
            ).result_rows
        ]
        out = {}
        for name in names:
            data = client.raw_query(f"SELECT * FROM {name} FORMAT TSVRaw")  # noqa: S608 - names from system.tables
            out[f"table {name}"] = bytes(data).decode("utf-8", errors="ignore")
        counts = {
            name: int(client.query(f"SELECT count() FROM {name}").result_rows[0][0])  # noqa: S608
            for name in names
        }
        stored = client.query(
            "SELECT id, brand, product, url, conversation_id, attributes, text, text_normalized "
            "FROM messages FINAL"
        ).result_rows
    finally:
        client.close()
        close_deferred()
    out["_counts"] = json.dumps(counts)
    out["_messages"] = json.dumps([[str(v) for v in row] for row in stored], ensure_ascii=False)
    return out


_PLACEHOLDER = re.compile(r"<(?:phone|email|id_number|bank_account|card|address|order_code)>")


_CHAIN = re.compile(r"\d(?:[\s.\-()/+]{0,3}\d)*")
_TOKEN = re.compile(r"[\w.@+\-#:/%]+")


def _found_in(secret: str, kind: str, text: str) -> bool:
    """Whether ``secret`` shows in ``text``, lower-cased or folded, or as digits in a chain.

    A number is found as its digits with up to three separators between any two.
    """
    plain = canonical(secret).lower()
    low = text.lower()
    if plain in low or strip_diacritics(plain) in strip_diacritics(low):
        return True
    digits = re.sub(r"\D", "", plain)
    if kind in NUMBER_KINDS and len(digits) >= 9:
        return any(digits in re.sub(r"\D", "", m) for m in _CHAIN.findall(text))
    return False


def leaks(planted: Planted, found: dict[str, str]) -> tuple[list[tuple[str, str, str, str]], int]:
    """Planted items found in an output: (secret, kind, field, where); and items checked.

    Indexed once: the lower-cased and folded text of every output, its tokens, and the
    digits of every run of digit groups; an item found there is then looked up output by
    output to say where.
    """
    corpora = {k: v for k, v in found.items() if not k.startswith("_")}
    lowered = "\n".join(corpora.values()).lower()
    folded = strip_diacritics(lowered)
    tokens = {t.strip(".-+:/#%") for t in _TOKEN.findall(lowered) + _TOKEN.findall(folded)}
    chains = "|".join(re.sub(r"\D", "", m) for m in _CHAIN.findall(lowered))
    out = []
    for secret, kind, where_put in planted.secrets:
        plain = canonical(secret).lower()
        digits = re.sub(r"\D", "", plain)
        if " " in plain:
            hit = plain in lowered or strip_diacritics(plain) in folded
        else:
            hit = plain in tokens or strip_diacritics(plain) in tokens
            # inside a longer token too, but an identifier only stands alone (it is hashed)
            hit = hit or (kind != "identifier" and len(plain) >= 6 and plain in lowered)
        if not hit and kind in NUMBER_KINDS and len(digits) >= 9:
            hit = digits in chains
        if hit:
            where = next((n for n, t in corpora.items() if _found_in(secret, kind, t)), "?")
            out.append((secret, kind, where_put, where))
    return out, len(planted.secrets)


def false_redactions(planted: Planted, found: dict[str, str]) -> list[list[str]]:
    """Stored PII-free messages with a placeholder in any stored field."""
    clean = set(planted.clean_ids)
    rows = json.loads(found["_messages"])
    return [row for row in rows if row[0] in clean and any(_PLACEHOLDER.search(v) for v in row)]


def everywhere(args: argparse.Namespace) -> dict[str, Any]:
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    planted = plant(args.messages, args.seed, end)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="voc-pii-") as tmp:
        found = outputs(Path(tmp), planted, end - timedelta(hours=6), end + timedelta(minutes=1))
    elapsed = time.perf_counter() - started
    counts = json.loads(found["_counts"])
    leaked, checked = leaks(planted, found)
    flagged = false_redactions(planted, found)
    stored_ids = {row[0] for row in json.loads(found["_messages"])}
    clean_stored = [i for i in planted.clean_ids if i in stored_ids]
    recall = 1 - len(leaked) / checked
    precision = 1 - len(flagged) / max(len(clean_stored), 1)
    print(
        f"\nEverywhere: {len(planted.payloads)} payloads ({len(planted.clean_ids)} PII-free), "
        f"{checked} planted items, one voc run with recovery, seed {args.seed}, {elapsed:.0f} s"
    )
    print("  rows: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"  searched: {len(found) - 2} outputs, {sum(len(v) for v in found.values()):,} chars")
    by_field: Counter[str] = Counter(w for _, _, w in planted.secrets)
    leaked_by_field: Counter[str] = Counter(w for _, _, w, _ in leaked)
    print(
        "  planted by field: "
        + ", ".join(f"{f} {n} ({leaked_by_field[f]} found)" for f, n in sorted(by_field.items()))
    )
    print(f"  recall (planted items found nowhere): {recall:.4f} ({len(leaked)} found)")
    print(
        f"  precision (PII-free messages stored without any placeholder): {precision:.4f} "
        f"({len(flagged)} of {len(clean_stored)} with one)"
    )
    for secret, kind, where_put, where in leaked[: args.show_misses * 3]:
        print(f"  found {kind} planted in {where_put}: {secret!r} in {where}")
    for row in flagged[: args.show_misses]:
        print(f"  flagged: {row[0]} {row[1:4]} {row[6]!r}")
    return {
        "payloads": len(planted.payloads),
        "planted_items": checked,
        "found": len(leaked),
        "recall": recall,
        "precision": precision,
        "clean_messages": len(clean_stored),
        "rows": counts,
        "outputs": sorted(k for k in found if not k.startswith("_")),
        "leaks": [list(x) for x in leaked],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2400, help="messages holding PII")
    parser.add_argument("--clean", type=int, default=2000, help="PII-free messages")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show-misses", type=int, default=3, help="misses printed per kind")
    parser.add_argument("--messages", type=int, default=3000, help="payloads of the flow run")
    parser.add_argument("--no-flow", dest="flow", action="store_false", help="texts only")
    parser.add_argument("--no-texts", dest="texts_part", action="store_false", help="flow only")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    if args.texts_part:
        figures.update(text_level(args))
    if args.flow:
        figures["everywhere"] = everywhere(args)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
