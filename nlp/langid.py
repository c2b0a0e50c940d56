"""Offline language id for Vietnamese customer feedback: vi, vi_nodiac, en or other.

:func:`detect_language` reads words and weighs evidence from three tables in
``nlp/resources/``:

- ``vi_syllables.txt``: the Vietnamese syllables (about 7,500). A word with Vietnamese
  diacritics that is one of them, or that carries a letter only Vietnamese uses (ă, đ, ơ,
  ư, ả, ạ, ẫ...), is Vietnamese typed with diacritics. A plain ASCII word that is one of
  them with its diacritics stripped ("duoc", "khong", "giao") is Vietnamese typed without;
  teencode ("ko", "dc", "sp") counts the same way.
- ``en_words.txt``: common English words. A word in both lists ("to", "me", "can",
  "hang") counts half for each language.
- ``langid_neutral.txt``: loanwords every Vietnamese shopper uses (ok, shop, ship, sale,
  voucher, app...): they count for nothing.

Placeholders (``<phone>``...), emoji tokens (``emopos``...), numbers and one-letter words
are ignored. Then:

- mostly non-Latin letters (Chinese, Thai, Korean, Cyrillic...) -> ``"other"``;
- no Vietnamese or English evidence: three or more unknown Latin words (French,
  Indonesian...) -> ``"other"``; otherwise ``"vi"``. **Short texts** with no evidence ("ok",
  "👍", "5 sao", "<phone>") are ``"vi"``: the stream is Vietnamese, so a text is called
  something else only on positive evidence;
- ``"en"`` when English evidence is more than twice the Vietnamese: Vietnamese mixed with
  English words ("ship nhanh, good quality") stays Vietnamese, while Vietnamese names in
  English ("a hotel near Hoàn Kiếm lake": capitalized inside a sentence, half weight) do
  not make English Vietnamese;
- Vietnamese: ``"vi"`` when typed with diacritics, ``"vi_nodiac"`` when no word has
  diacritics and at least two words are Vietnamese ("giao hang nhanh"), or when words
  that need diacritics but lack them ("duoc", "khong") outnumber the diacritic words
  more than two to one. One plain Vietnamese word alone ("oke", "giao") is ``"vi"``.

Call it on the text as typed (after :func:`nlp.pii.redact`, before :func:`nlp.normalize.
normalize`): normalizing expands teencode ("ko" -> "không") and so adds diacritics to text
typed without them, which blurs ``vi`` and ``vi_nodiac`` (``vi``/``en``/``other`` are read the
same either way). ``bench/text.py`` prints the accuracy on ``langid_samples.tsv``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Literal

from nlp._tables import read_lines, resource_path
from nlp.normalize import PLACEHOLDERS, place_tone, strip_diacritics, teencode_table

__all__ = ["LANGUAGES", "Language", "build_syllables", "detect_language"]

Language = Literal["vi", "vi_nodiac", "en", "other"]
LANGUAGES: tuple[Language, ...] = ("vi", "vi_nodiac", "en", "other")

_WORD_RE = re.compile(r"[^\W\d_]+")
_PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in sorted(PLACEHOLDERS)))
_EMO_RE = re.compile(r"emo[a-z]+")
_VI_ONLY = frozenset("ăđơưĩũ" + "".join(chr(c) for c in range(0x1EA0, 0x1EFA)))
"""Letters no other Latin-script language uses: a word holding one is Vietnamese."""
_VI_WEIGHT = 2.0
"""A Vietnamese word outweighs an English one: Vietnamese writers mix English words in."""


@dataclass(frozen=True)
class _Tables:
    syllables: frozenset[str]
    plain: frozenset[str]
    """Syllables that need no diacritics ("giao", "nhanh")."""
    stripped: frozenset[str]
    """Every syllable with its diacritics stripped ("duoc", "khong", "giao")."""
    english: frozenset[str]
    neutral: frozenset[str]
    teencode: frozenset[str]


def _words(name: str) -> frozenset[str]:
    return frozenset(line.strip().lower() for _, line in read_lines(resource_path(name)))


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    syllables = _words("vi_syllables.txt")
    teencode = frozenset(k for k in teencode_table() if k.isascii() and k.isalpha())
    return _Tables(
        syllables=syllables,
        plain=frozenset(s for s in syllables if s.isascii()),
        stripped=frozenset(strip_diacritics(s) for s in syllables),
        english=_words("en_words.txt"),
        neutral=_words("langid_neutral.txt"),
        teencode=teencode,
    )


def _is_latin(char: str) -> bool:
    code = ord(char)
    return code < 0x0250 or 0x1E00 <= code < 0x1F00


def detect_language(text: str) -> Language:
    """Return the language of ``text``: ``"vi"``, ``"vi_nodiac"``, ``"en"`` or ``"other"``.

    >>> detect_language("Giao hàng nhanh, sản phẩm tốt")
    'vi'
    >>> detect_language("giao hang nhanh, san pham tot")
    'vi_nodiac'
    >>> detect_language("Fast delivery, great product")
    'en'
    """
    if "<" in text:
        text = _PLACEHOLDER_RE.sub(" ", text)
    lower = text.lower()
    chunks = lower.split()
    count = Counter(chain.from_iterable(map(_CHUNKS.__getitem__, chunks)))
    if not count:
        return "vi"
    diacritic = count[_DIACRITIC]
    missing = count[_MISSING]
    plain_vi = count[_PLAIN] + missing
    unknown = count[_UNKNOWN]
    foreign = count[_FOREIGN]
    both = count[_BOTH]
    vi = diacritic + plain_vi + 0.5 * both
    en = count[_ENGLISH] + 0.5 * both
    if diacritic and lower != text:
        vi -= 0.5 * _names(text.split(), chunks)
    latin = vi + en + unknown
    if foreign and foreign >= latin:
        return "other"
    if vi == 0 and en == 0:
        return "other" if unknown >= 3 else "vi"
    if unknown >= 3 and unknown > 2 * (vi + en):
        return "other"
    if en > _VI_WEIGHT * vi:
        return "en"
    if diacritic == 0:
        return "vi_nodiac" if plain_vi >= 2 else "vi"
    return "vi_nodiac" if missing > 2 * diacritic else "vi"


def _names(original: list[str], chunks: list[str]) -> int:
    """Count capitalized Vietnamese words inside sentences: names ("near Hoàn Kiếm lake")."""
    if len(original) != len(chunks):
        return 0
    names = 0
    for i in range(1, len(original)):
        word = original[i]
        if (
            word[0].isupper()
            and original[i - 1][-1] not in ".!?:\"'(-"
            and _CHUNKS[chunks[i]][:1] == (_DIACRITIC,)
        ):
            names += 1
    return names


# Word kinds, small ints so that counting them stays in C.
_SKIP = 0  # no evidence: neutral loanwords, emoji tokens, one-letter words, numbers
_DIACRITIC = 1  # Vietnamese typed with diacritics
_PLAIN = 2  # Vietnamese that needs no diacritics ("giao"), or teencode ("ko")
_MISSING = 3  # Vietnamese typed without the diacritics it needs ("duoc", "khong")
_ENGLISH = 4
_BOTH = 5  # English and Vietnamese without diacritics ("to", "can", "hang")
_FOREIGN = 6  # a word in another script
_UNKNOWN = 7  # a Latin word of neither list: a brand, a typo, another language


class _ChunkKinds(dict[str, tuple[int, ...]]):
    """Memo of whitespace-separated chunks to the kinds of the words in them."""

    def __missing__(self, chunk: str) -> tuple[int, ...]:
        tables = _tables()
        kinds = tuple(
            kind for word in _WORD_RE.findall(chunk) if (kind := _word_kind(word, tables)) != _SKIP
        )
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[chunk] = kinds
        return kinds


_CHUNKS = _ChunkKinds()
_CACHE_LIMIT = 100_000


def _word_kind(word: str, tables: _Tables) -> int:
    if word.isascii():
        if len(word) == 1 or word in tables.neutral or _EMO_RE.fullmatch(word):
            return _SKIP
        in_en = word in tables.english
        in_vi = word in tables.stripped or word in tables.teencode
        if in_en and in_vi:
            return _BOTH
        if in_en:
            return _ENGLISH
        if in_vi:
            return _PLAIN if word in tables.plain or word in tables.teencode else _MISSING
        return _UNKNOWN
    if not _is_latin(word[0]):
        return _FOREIGN
    if (
        word in tables.syllables
        or place_tone(word) in tables.syllables
        or any(c in _VI_ONLY for c in word)
    ):
        return _DIACRITIC
    return _UNKNOWN


def build_syllables(source: Path | None = None, out: Path | None = None) -> int:
    """Rebuild ``vi_syllables.txt`` from a Vietnamese word list (offline tool, not a runtime step).

    ``source`` defaults to ``Viet74K.txt`` bundled with underthesea; returns the number of
    syllables written. Kept so the table can be regenerated and audited.
    """
    if source is None:
        import underthesea

        source = Path(underthesea.__file__).parent / "corpus" / "data" / "Viet74K.txt"
    out = out or resource_path("vi_syllables.txt")
    from nlp.normalize import _SYLLABLE_RE, _VOWEL_INFO

    nuclei = set(
        [
            "a",
            "ă",
            "â",
            "e",
            "ê",
            "i",
            "o",
            "ô",
            "ơ",
            "u",
            "ư",
            "y",
            "ai",
            "ao",
            "au",
            "ay",
            "âu",
            "ây",
            "eo",
            "êu",
            "ia",
            "iê",
            "iu",
            "oa",
            "oă",
            "oe",
            "oi",
            "ôi",
            "ơi",
            "oo",
            "ua",
            "uâ",
            "uê",
            "ui",
            "uô",
            "uơ",
            "ưa",
            "ưi",
            "ưu",
            "ươ",
            "uy",
            "yê",
            "iêu",
            "oai",
            "oay",
            "oeo",
            "uây",
            "uôi",
            "ươi",
            "ươu",
            "uya",
            "uyê",
            "uyu",
            "yêu",
        ]
    )
    letters = set("abcdđeghiklmnopqrstuvxy") | set(_VOWEL_INFO)
    found: set[str] = set()
    for line in source.read_text(encoding="utf-8").splitlines():
        entry = unicodedata.normalize("NFC", line.strip().lower())
        if not entry or "-" in entry:
            continue
        for word in entry.split():
            if not set(word) <= letters:
                continue
            if sum(1 for c in word if _VOWEL_INFO.get(c, ("", 0))[1]) > 1:
                continue
            word = place_tone(word)
            base = "".join(_VOWEL_INFO.get(c, (c, 0))[0] for c in word)
            match = _SYLLABLE_RE.fullmatch(base)
            if match and match.group(2) in nuclei:
                found.add(word)
    header = [line for line in out.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    out.write_text("\n".join([*header, *sorted(found)]) + "\n", encoding="utf-8")
    return len(found)
