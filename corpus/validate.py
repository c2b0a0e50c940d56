"""Check a CX corpus file against docs/labelling.md: python corpus/validate.py FILE.jsonl"""
import json, sys, unicodedata, collections

SOURCES = {"review", "chat", "social", "survey"}
CHANNELS = {"shopee", "tiki", "lazada", "tiktok_shop", "sendo", "app_store", "google_play", "zalo",
            "messenger", "web_chat", "hotline_chat", "facebook", "tiktok", "youtube", "forum",
            "email_survey", "app_survey", "sms_survey"}
CATEGORIES = {"fashion", "cosmetics", "smartphone", "electronics", "home_appliance", "food",
              "mother_baby", "books", "services", "travel_hotel", "general"}
SENT = {"negative", "neutral", "positive"}
TOPICS = {"delivery", "packaging", "product_quality", "price", "promotion", "customer_service",
          "payment", "refund_return", "warranty", "app_website", "authenticity",
          "account_security", "product_safety"}
FLAGS = {"complaint", "question", "praise", "churn_risk", "urgent"}
TAGS = {"no_diacritics", "teencode", "emoji", "english_mix", "typos", "elongation", "sarcasm",
        "calm_complaint", "mixed", "filler", "long"}
FIELDS = ["id", "text", "source", "channel", "category", "rating", "sentiment", "topics",
          "topic_sentiments", "flags", "tags"]

def main(path):
    errors, ids, texts = [], set(), set()
    c = collections.Counter()
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except Exception as e:
            errors.append(f"line {n}: bad JSON {e}"); continue
        def bad(m): errors.append(f"line {n} ({r.get('id')}): {m}")
        if list(r) != FIELDS: bad(f"fields must be exactly, in order: {FIELDS}")
        if r.get("id") in ids: bad("duplicate id")
        ids.add(r.get("id"))
        t = r.get("text")
        if not isinstance(t, str) or not t.strip(): bad("empty text"); continue
        if unicodedata.normalize("NFC", t) != t: bad("text not NFC")
        if t.strip().lower() in texts: bad("duplicate text")
        texts.add(t.strip().lower())
        if r.get("source") not in SOURCES: bad("source")
        if r.get("channel") not in CHANNELS: bad("channel")
        if r.get("category") not in CATEGORIES: bad("category")
        rt = r.get("rating")
        if rt is not None and rt not in (1, 2, 3, 4, 5): bad("rating")
        if rt is not None and r.get("source") != "review": bad("rating only on reviews")
        if r.get("sentiment") not in SENT: bad("sentiment")
        tp = r.get("topics", [])
        if not isinstance(tp, list) or not set(tp) <= TOPICS or len(set(tp)) != len(tp): bad("topics")
        ts = r.get("topic_sentiments", {})
        if not isinstance(ts, dict) or set(ts) != set(tp) or not set(ts.values()) <= SENT: bad("topic_sentiments must have exactly the topics as keys")
        fl = r.get("flags", [])
        if not isinstance(fl, list) or not set(fl) <= FLAGS or len(set(fl)) != len(fl): bad("flags")
        tg = r.get("tags", [])
        if not isinstance(tg, list) or not set(tg) <= TAGS: bad("tags")
        if ("product_safety" in tp or "account_security" in tp) and "urgent" not in fl and "question" not in fl:
            bad("product_safety/account_security incident should be urgent (guide)")
        if "filler" in tg and (r.get("sentiment") != "neutral" or tp): bad("filler must be neutral with no topics")
        c["n"] += 1; c["src:" + r.get("source", "?")] += 1; c["sent:" + str(r.get("sentiment"))] += 1
        for x in tp: c["topic:" + x] += 1
        for x in fl: c["flag:" + x] += 1
        for x in tg: c["tag:" + x] += 1
        c["cat:" + str(r.get("category"))] += 1
    for e in errors[:50]:
        print(e)
    print(f"{len(errors)} errors")
    for k in sorted(c):
        print(f"  {k}: {c[k]}")
    return 1 if errors else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
