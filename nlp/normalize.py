"""Vietnamese text normalization: the text every rule and model of voc-stream sees.

:func:`normalize` is a pure function driven by readable tables in ``nlp/resources/``:

1. ``charmap.tsv`` (odd spaces, invisible characters, quotes, dashes, full-width forms,
   ``ð`` typed for ``đ``, rating stars "5⭐" -> "5 sao") and ``emoji.tsv`` (emoji to tokens
   such as ``emopos``/``emoneg``; unlisted emoji are removed) in one pass; then Unicode NFC,
   and combining marks still left over after NFC are dropped.
2. HTML: entities unescaped and tags replaced by a space (block tags such as ``<br>`` and
   ``<p>`` by a line break), repeated with step 1 until nothing changes. The placeholders of
   :data:`PLACEHOLDERS` (``<phone>``, ``<email>``, ``<url>``...) are not tags.
3. Line breaks become sentence ends (". ") unless punctuation already ends the line, so
   clause-level rules do not run across lines.
4. Each whitespace-separated chunk (memoized, so a stream pays for a chunk once):

   - URLs become ``<url>`` ("https://...", "www...", "shop.vn/path"); a bare domain without
     a path ("tiki.vn") is kept, because it names a shop or a brand;
   - runs of "!" or "?" are capped at three ("!!!" carries urgency, more adds nothing),
     "...." becomes "...", other repeated symbols ("~~~~", "----") become one; brackets,
     "^" and "@" are left for the emoticons;
   - emoticons of ``emoji.tsv`` (":))", "=))", "<3", ":((", "T_T"...) become tokens;
   - ``#HashTags`` become their words ("#GiaoHangNhanh" -> "giao hang nhanh"), and
     ``@handles`` become ``<user>``;
   - lowercase;
   - each word: laughter of ``laughter.tsv`` ("hahahaa" -> "haha", "kkkk" -> "kkk");
     ``teencode.tsv`` on the whole token ("ko" -> "không", "sp" -> "sản phẩm"); elongation,
     where a letter repeated 3 or more times becomes one ("quáaaa" -> "quá", "đẹpppp" ->
     "đẹp"), comparing letters without their tone mark so the toned copy is kept, and never
     touching doubled letters ("good", "xoong", "freeship") or the tokens of
     ``elongation_keep.txt`` ("xxxl"); tone-mark placement (below); then ``teencode.tsv``
     again on the collapsed word ("kooo" -> "không"). A single teencode letter repeated
     ("eeee") becomes three copies ("eee"), an interjection, not "em".
   - The units of ``number_units.txt`` stay as written right after a number ("50 k",
     "8 h"); prices written as one token ("50k", "1tr2", "199.000đ") are never touched.

5. Whitespace collapsed and trimmed.

Tone-mark convention: one placement for every syllable, the one underthesea's
``text_normalize`` produces (the traditional placement): in an open syllable with
the glide-vowel pairs oa, oe, uy the mark goes on the FIRST vowel ("hòa", "khỏe", "thúy",
not "hoà", "khoẻ", "thuý"); with a final consonant it goes on the last vowel ("hoàn",
"thuyền"); a vowel with a hat or horn (â ê ô ơ ă ư; ơ in "ươ") always carries it ("người",
"thuở"); three open vowels take it in the middle ("ngoài", "khuỷu"). "qu" and "gi" are
initial consonants, so "quý", "quà", "già", "giữ" mark the vowel after them, while "gì" and
"gìn" mark the i. A word whose letters are not one Vietnamese syllable, or that carries
more than one tone mark, is left as it is ("café", "pokémon"). Spellings are not changed:
"quí"/"quý" and "kĩ"/"kỹ" stay as typed (the phrase matcher of :mod:`nlp.rules` compares
them in one spelling).

Text typed without diacritics keeps none: restoring diacritics is a model's job, not the
normalizer's. :func:`fold` gives the accent-insensitive key that makes both forms match.

The output is NFC and ``normalize(normalize(x)) == normalize(x)``.

:func:`canonical` is the other form of a text: the text as a reader sees it, which is what
the flow stores and what personal data is looked for in (``nlp.pii``). It decodes what hides
characters (JSON unicode escapes, HTML entities and tags), applies Unicode NFKC (full-width
and styled digits become ASCII digits, odd spaces a space), turns every other decimal digit
into its ASCII digit, and removes what is invisible (zero-width characters, bidi controls,
control characters, stray combining marks). Unlike :func:`normalize` it keeps the words,
their case and the emoji as written. :func:`separator_view` shows, character for character,
which characters of a canonical text :func:`normalize` turns into separators (an emoji or a
symbol between two digit groups becomes a space), so a number split by one is found before
normalization can join it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from nlp._tables import read_lines, read_tsv, resource_path
from schemas.errors import ConfigError

__all__ = [
    "PLACEHOLDERS",
    "canonical",
    "fold",
    "normalize",
    "place_tone",
    "separator_view",
    "strip_diacritics",
    "teencode_table",
]

PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "<url>",
        "<user>",
        "<phone>",
        "<email>",
        "<id_number>",
        "<bank_account>",
        "<card>",
        "<address>",
        "<order_code>",
    }
)
"""Tokens that normalize() passes through unchanged: its own and those of nlp.pii."""

# --------------------------------------------------------------------------------------------
# Vietnamese letters: base vowel (with its hat/horn/breve) x tone mark.

_BASE_VOWELS = "aăâeêioôơuưy"
_TONE_MARKS = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
"""No mark, huyền (grave), sắc (acute), hỏi (hook above), ngã (tilde), nặng (dot below)."""


def _build_vowels() -> tuple[dict[str, tuple[str, int]], dict[tuple[str, int], str]]:
    info: dict[str, tuple[str, int]] = {}
    compose: dict[tuple[str, int], str] = {}
    for base in _BASE_VOWELS:
        for tone, mark in enumerate(_TONE_MARKS):
            char = unicodedata.normalize("NFC", base + mark)
            info[char] = (base, tone)
            compose[(base, tone)] = char
    return info, compose


_VOWEL_INFO, _COMPOSE = _build_vowels()
"""Pure-computation tables (no I/O): lowercase vowel -> (base, tone) and back."""

_SYLLABLE_RE = re.compile(
    r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx]?)"  # initial consonant(s)
    r"([aăâeêioôơuưy]{1,3})"  # vowels
    r"(ch|ng|nh|[cmnpt]?)"  # final consonant
)
_SHAPED = frozenset("ăâêôơư")


def place_tone(syllable: str) -> str:
    """Put the tone mark of one lowercase syllable where the module's convention says.

    ``place_tone("hoà") == "hòa"``, ``place_tone("gìa") == "già"``; anything that is not one
    Vietnamese syllable with one tone mark comes back unchanged.
    """
    return _retone(syllable)


def teencode_table() -> dict[str, str]:
    """Return a copy of the teencode table (``teencode.tsv``): token -> expansion."""
    return dict(_tables().teencode)


def emoji_tokens() -> frozenset[str]:
    """Return the tokens emoji and emoticons become (``emoji.tsv``: "emolove", "emosad"...)."""
    return _tables().emoji_tokens


def _retone(word: str) -> str:
    """Move the tone mark of one lowercase syllable to the documented position."""
    tone = 0
    bases: list[str] = []
    for char in word:
        found = _VOWEL_INFO.get(char)
        if found is None:
            bases.append(char)
            continue
        if found[1]:
            if tone:
                return word  # two tone marks: not one syllable
            tone = found[1]
        bases.append(found[0])
    if not tone:
        return word
    plain = "".join(bases)
    match = _SYLLABLE_RE.fullmatch(plain)
    if match is None:
        return word
    start, end = match.span(2)
    vowels = plain[start:end]
    shaped = [i for i, v in enumerate(vowels) if v in _SHAPED]
    if shaped:
        at = shaped[-1]
    elif len(vowels) == 1:
        at = 0
    elif match.group(3):
        at = len(vowels) - 1
    elif len(vowels) == 3:
        at = 1
    else:
        at = 0
    marked = _COMPOSE[(vowels[at], tone)]
    out = plain[: start + at] + marked + plain[start + at + 1 :]
    return word if out == word else out


# --------------------------------------------------------------------------------------------
# strip_diacritics / fold


@lru_cache(maxsize=1)
def _strip_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    ranges = (range(0x00C0, 0x0250), range(0x1E00, 0x1F00))
    for block in ranges:
        for code in block:
            decomposed = unicodedata.normalize("NFD", chr(code))
            head = decomposed[0]
            if head.isascii() and head.isalpha() and len(decomposed) > 1:
                table[code] = head
    for code in range(0x0300, 0x0370):  # combining marks left in decomposed input
        table[code] = None
    table.update({ord("đ"): "d", ord("Đ"): "D", ord("ð"): "d", ord("Ð"): "D"})
    return table


def strip_diacritics(text: str) -> str:
    """Remove every Vietnamese diacritic: tone marks, hats, horns, breves, and đ -> d, Đ -> D.

    Works on composed and decomposed input, keeps case, and also strips the marks of other
    Latin letters (é, ñ, ü). Used for accent-insensitive matching and the stored search column.
    """
    return text.translate(_strip_table())


def fold(text: str) -> str:
    """Return the accent-insensitive key ``strip_diacritics(normalize(text))``."""
    return strip_diacritics(normalize(text))


# --------------------------------------------------------------------------------------------
# Tables from nlp/resources, loaded once on first use.


def _code_points(cell: str, where: str) -> str:
    try:
        return "".join(chr(int(part.removeprefix("U+"), 16)) for part in cell.split())
    except ValueError as exc:
        msg = f"{where}: expected code points like U+00A0, got {cell!r}"
        raise ConfigError(msg) from exc


@dataclass(frozen=True, slots=True)
class _Tables:
    translate: dict[int, str | None]
    special_re: re.Pattern[str]
    emoticon_re: re.Pattern[str] | None
    angle_re: re.Pattern[str] | None
    emoticons: dict[str, str]
    emoji_tokens: frozenset[str]
    teencode: dict[str, str]
    units: frozenset[str]
    laughter: tuple[tuple[re.Pattern[str], str], ...]
    keep: re.Pattern[str] | None


_EMOJI_RANGES = (
    (0x1F000, 0x1FB00),  # emoticons, pictographs, transport, supplemental symbols, flags
    (0x2600, 0x27C0),  # miscellaneous symbols and dingbats
    (0x2B00, 0x2C00),  # miscellaneous symbols and arrows
    (0x2190, 0x2200),  # arrows
    (0xE0020, 0xE0080),  # tag characters of flag sequences
    (0x2300, 0x2400),  # miscellaneous technical (⌚ ⌛ ⏰)
)


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    translate: dict[int, str | None] = {}
    for low, high in _EMOJI_RANGES:
        for code in range(low, high):
            translate[code] = " "
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII forms, except the HTML-significant
        if chr(code - 0xFEE0) not in "<>&":
            translate[code] = chr(code - 0xFEE0)
    path = resource_path("charmap.tsv")
    for char, replacement, _note in read_tsv(path, ("char", "replacement", "note"), required=1):
        source = _code_points(char, f"{path} row {char}")
        if len(source) != 1:
            msg = f"{path}: expected one code point per row, got {char!r}"
            raise ConfigError(msg)
        translate[ord(source)] = _code_points(replacement, f"{path} row {char}") or None

    emoticons: dict[str, str] = {}
    tokens: set[str] = set()
    path = resource_path("emoji.tsv")
    for symbol, token, _note in read_tsv(path, ("symbol", "token", "note"), required=2):
        if not re.fullmatch(r"emo[a-z]+", token):
            msg = f"{path}: token of {symbol!r} must look like emoxxx, got {token!r}"
            raise ConfigError(msg)
        tokens.add(token)
        core = symbol.replace("\ufe0f", "")
        if len(core) == 1 and not core.isascii():
            translate[ord(core)] = f" {token} "
        else:
            emoticons[core.lower()] = token
    emoticon_re = _emoticon_pattern(emoticons) if emoticons else None
    angled = {k: v for k, v in emoticons.items() if "<" in k or ">" in k}
    angle_re = _emoticon_pattern(angled) if angled else None

    path = resource_path("teencode.tsv")
    teencode: dict[str, str] = {}
    for token, expansion, _note in read_tsv(path, ("token", "expansion", "note"), required=2):
        if token in teencode:
            msg = f"{path}: token {token!r} is listed twice"
            raise ConfigError(msg)
        teencode[token] = expansion
    units = frozenset(text.strip() for _, text in read_lines(resource_path("number_units.txt")))

    path = resource_path("laughter.tsv")
    laughter: list[tuple[re.Pattern[str], str]] = []
    for pattern, token, _note in read_tsv(path, ("pattern", "token", "note"), required=2):
        laughter.append((_compile(pattern, f"{path} pattern {pattern!r}"), token))

    keep_lines = [text.strip() for _, text in read_lines(resource_path("elongation_keep.txt"))]
    keep = _compile("|".join(f"(?:{p})" for p in keep_lines), "elongation_keep.txt")
    return _Tables(
        translate=translate,
        special_re=_char_class(translate),
        emoticon_re=emoticon_re,
        angle_re=angle_re,
        emoticons=emoticons,
        emoji_tokens=frozenset(tokens),
        teencode=teencode,
        units=units,
        laughter=tuple(laughter),
        keep=keep if keep_lines else None,
    )


def _char_class(table: Iterable[int]) -> re.Pattern[str]:
    """Build a pattern matching any one character that ``table`` maps."""
    ranges: list[tuple[int, int]] = []
    for code in sorted(table):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    parts = [
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    ]
    return re.compile("[" + "".join(parts) + "]")


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        msg = f"{where}: not a valid regular expression: {exc}"
        raise ConfigError(msg) from exc


def _emoticon_pattern(emoticons: dict[str, str]) -> re.Pattern[str]:
    parts = []
    for symbol in sorted(emoticons, key=len, reverse=True):
        body = re.escape(symbol[:-1]) + re.escape(symbol[-1]) + "+"
        if symbol[0].isalnum():
            body = r"(?<!\w)" + body
        if symbol[-1].isalnum():
            body += r"(?!\w)"
        parts.append(body)
    return re.compile("|".join(parts), re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Regular expressions of the pipeline (compiled once, at import: pure computation).

_PLACEHOLDER_NAMES = "|".join(p[1:-1] for p in sorted(PLACEHOLDERS))
_BLOCK_TAG_RE = re.compile(r"<\s*/?\s*(?:br|p|div|li|tr|h[1-6])\b[^<>]{0,200}>", re.IGNORECASE)
_TAG_RE = re.compile(
    rf"<(?!(?:{_PLACEHOLDER_NAMES})>)/?[a-zA-Z][^<>]{{0,200}}>|<!--.{{0,2000}}?-->",
    re.IGNORECASE | re.DOTALL,
)
_URL_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']*[^\s<>\"'.,!?;:)\]}]"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|vn|net|org|info|io|me|ly|gl|co|shop|store|app|xyz|asia|link)"
    r"(?:\.vn)?/[^\s<>\"']*[^\s<>\"'.,!?;:)\]}]",
    re.IGNORECASE,
)
_HANDLE_RE = re.compile(r"(?<![\w.@])(?:@\w+(?:\.\w+)*)+")
_HASHTAG_RE = re.compile(r"(?<![&#])#+([^\W\d_]\w*)")
_NEWLINE_RE = re.compile(r"\s*\n\s*")
_BANG_RE = re.compile(r"([!?])\1{3,}")
_DOTS_RE = re.compile(r"\.{4,}")
_SYMBOL_RUN_RE = re.compile(r"([^\w\s!?.<>()^@])\1+")
_PLACEHOLDER_RE = re.compile(f"(<(?:{_PLACEHOLDER_NAMES})>)", re.IGNORECASE)
_STRAY_MARK_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_WORD_RE = re.compile(r"<[a-z_]+>|\w+(?:[-'.&/]\w+)*")
_SPLIT_COMPOUND_RE = re.compile(r"([-'.&/])")


def _unescape_html(text: str) -> str:
    while True:  # "&amp;lt;" needs two rounds; every round shortens the text
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    text = _BLOCK_TAG_RE.sub("\n", text)
    while True:  # "<a<b>>" hides a second tag; every round shortens the text
        stripped = _TAG_RE.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    return text


def _hashtag_words(match: re.Match[str]) -> str:
    tag = match.group(1).replace("_", " ")
    out: list[str] = []
    previous = ""
    for char in tag:
        if char.isupper() and (previous.islower() or previous.isdigit()):
            out.append(" ")
        out.append(char)
        previous = char
    return " " + "".join(out) + " "


def _newline(match: re.Match[str]) -> str:
    before = match.string[: match.start()].rstrip()
    if not before or before[-1] in ".!?,;:" or match.end() == len(match.string):
        return " "
    return ". "


# --------------------------------------------------------------------------------------------
# Words


def _base_key(char: str) -> str:
    found = _VOWEL_INFO.get(char)
    return found[0] if found else char


def _collapse(word: str, keep: re.Pattern[str] | None) -> str:
    """Collapse letters repeated 3+ times (ignoring tone marks) to the one carrying a tone."""
    if len(word) < 3 or (keep is not None and keep.fullmatch(word)):
        return word
    keys = [_base_key(c) for c in word]
    out: list[str] = []
    i = 0
    n = len(word)
    changed = False
    while i < n:
        j = i + 1
        while j < n and keys[j] == keys[i]:
            j += 1
        run = word[i:j]
        if j - i >= 3 and word[i].isalpha():
            toned = [c for c in run if _VOWEL_INFO.get(c, ("", 0))[1]]
            out.append(toned[0] if toned else run[0])
            changed = True
        else:
            out.append(run)
        i = j
    return "".join(out) if changed else word


def _laugh(word: str, tables: _Tables) -> str | None:
    for pattern, token in tables.laughter:
        if pattern.fullmatch(word):
            return token
    return None


def _normalize_word(word: str, tables: _Tables) -> str:
    laugh = _laugh(word, tables)
    if laugh is not None:
        return laugh
    expansion = tables.teencode.get(word)
    if expansion is not None:
        return expansion
    collapsed = _collapse(word, tables.keep)
    if collapsed != word:
        laugh = _laugh(collapsed, tables)
        if laugh is not None:
            return laugh
        if len(collapsed) == 1 and collapsed in tables.teencode:
            return collapsed * 3  # "eeee" is an interjection, not "em": "eee", a fixed point
    retoned = _retone(collapsed)
    return tables.teencode.get(retoned, retoned)


def _normalize_token(token: str, tables: _Tables) -> str:
    if token in tables.teencode:
        return tables.teencode[token]
    if not _SPLIT_COMPOUND_RE.search(token):
        return _normalize_word(token, tables)
    parts = _SPLIT_COMPOUND_RE.split(token)
    return "".join(
        part if i % 2 else _retone(_collapse(part, tables.keep)) for i, part in enumerate(parts)
    )


_CHUNK_CACHE: dict[str, str] = {}
_UNIT_CACHE: dict[str, str] = {}
_CACHE_LIMIT = 200_000
_TRAILING = ".,!?;:)]}\"'"


def _normalize_chunk(chunk: str, tables: _Tables, *, unit: bool = False) -> str:
    """Normalize one whitespace-free chunk of text (steps 3-6 of the module docstring)."""
    if "<" in chunk and _PLACEHOLDER_RE.search(chunk):
        out = ""
        for i, piece in enumerate(_PLACEHOLDER_RE.split(chunk)):
            done = piece.lower() if i % 2 else _normalize_chunk(piece, tables, unit=unit)
            if out and done and (out[-1].isalnum() or done[0].isalnum()):
                out += " "
            out += done
        return out
    text = chunk
    if "/" in text or "www." in text or "WWW." in text:
        text = _URL_RE.sub(" <url> ", text)
    if not text.isalnum():
        text = _BANG_RE.sub(r"\1\1\1", text)
        text = _DOTS_RE.sub("...", text)
        text = _SYMBOL_RUN_RE.sub(r"\1", text)
        if tables.emoticon_re is not None:
            emoticons = tables.emoticons
            text = tables.emoticon_re.sub(
                lambda m: f" {_emoticon_token(m.group().lower(), emoticons)} ", text
            )
        if "#" in text:
            text = _HASHTAG_RE.sub(_hashtag_words, text)
        if "@" in text:
            text = _HANDLE_RE.sub(" <user> ", text)
    text = text.lower()

    def word(match: re.Match[str]) -> str:
        token = match.group()
        if token[0] == "<" or (unit and token in tables.units):
            return token
        return _normalize_token(token, tables)

    text = _WORD_RE.sub(word, text)
    return " ".join(text.split())


def _normalize_chunks(chunks: list[str], tables: _Tables) -> str:
    cache = _CHUNK_CACHE
    units = tables.units
    out: list[str] = []
    previous = ""
    for chunk in chunks:
        if previous[-1:].isdigit() and chunk.lower().rstrip(_TRAILING) in units:
            done = _UNIT_CACHE.get(chunk)
            if done is None:
                done = _normalize_chunk(chunk, tables, unit=True)
                if len(_UNIT_CACHE) >= _CACHE_LIMIT:
                    _UNIT_CACHE.clear()
                _UNIT_CACHE[chunk] = done
        else:
            done = cache.get(chunk)
            if done is None:
                done = _normalize_chunk(chunk, tables)
                if tables.emoticon_re is not None and tables.emoticon_re.search(done):
                    # squeezing a word can reveal an emoticon ("ooo_o" -> "o_o"): read it again
                    done = " ".join(_normalize_chunk(part, tables) for part in done.split())
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[chunk] = done
        if done:
            out.append(done)
            previous = done
    return " ".join(out)


# --------------------------------------------------------------------------------------------


def _prepare(text: str, tables: _Tables) -> str:
    """Character map and emoji (one pass), NFC, and combining marks left over after NFC."""
    if tables.special_re.search(text):
        translate = tables.translate
        text = tables.special_re.sub(lambda m: translate[ord(m.group())] or "", text)
    if not text.isascii():
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        text = _STRAY_MARK_RE.sub("", text)
    if tables.angle_re is not None and ("<" in text or ">" in text):
        # Emoticons with angle brackets ("<3", ">.<") are replaced before HTML is read, so
        # "<a<3>" can never turn into a tag later.
        emoticons = tables.emoticons
        text = tables.angle_re.sub(
            lambda m: f" {_emoticon_token(m.group().lower(), emoticons)} ", text
        )
    return text


# --------------------------------------------------------------------------------------------
# canonical: the text as a reader sees it

_JSON_ESCAPE_RE = re.compile(
    r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})"
)
_CANONICAL_ASCII_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f&<\\]")
_CANONICAL_ROUNDS = 8
_DROPPED_MARKS = (
    (0x0300, 0x0370),  # combining diacritical marks (left over after composition)
    (0x1AB0, 0x1B00),  # combining diacritical marks extended
    (0x1DC0, 0x1E00),  # combining diacritical marks supplement
    (0x20D0, 0x2100),  # combining marks for symbols (keycap U+20E3)
    (0xFE00, 0xFE10),  # variation selectors (emoji and text presentation)
    (0xFE20, 0xFE30),  # combining half marks
    (0xE0100, 0xE01F0),  # variation selectors supplement
)
_SCANNED = (range(0x80, 0x30000), range(0xE0000, 0xE1000))
"""Planes scanned for format characters, digits, spaces and surrogates (the rest: none)."""


@dataclass(frozen=True, slots=True)
class _Canonical:
    table: dict[int, str | None]
    special_re: re.Pattern[str]
    view: dict[int, str]
    view_re: re.Pattern[str] | None


@lru_cache(maxsize=1)
def _canonical_tables() -> _Canonical:
    table: dict[int, str | None] = {code: None for code in range(0x20)}
    table.update({0x09: " ", 0x0B: "\n", 0x0C: "\n", 0x0D: "\n", 0x7F: None})
    del table[0x0A]
    for block in _SCANNED:
        for code in block:
            category = unicodedata.category(chr(code))
            if category in ("Cf", "Cc"):
                table[code] = None  # zero-width characters, bidi controls, BOM, C1 controls
            elif category == "Nd":
                table[code] = str(unicodedata.decimal(chr(code)))
            elif category == "Zs":
                table[code] = " "
            elif category == "Cs":
                table[code] = "\ufffd"  # a lone surrogate (from a JSON "\\udfff")
    for low, high in _DROPPED_MARKS:
        for code in range(low, high):
            table[code] = None
    table.update({0x85: "\n", 0x2028: "\n", 0x2029: "\n"})
    view: dict[int, str] = {}
    for code, replacement in _tables().translate.items():
        if code in table:
            continue  # canonical() already replaced or removed it
        if replacement is None or not replacement.strip():
            view[code] = " "
        elif len(replacement) == 1:
            view[code] = replacement
        elif replacement[0] == " " and replacement[-1] == " ":
            view[code] = " "  # an emoji token: a separator between digits
    return _Canonical(
        table=table,
        special_re=_char_class(table),
        view=view,
        view_re=_char_class(view) if view else None,
    )


def _json_escape(match: re.Match[str]) -> str:
    high, low, single = match.groups()
    if single is not None:
        code = int(single, 16)
        return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)
    return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))


def canonical(text: str) -> str:
    r"""Return ``text`` as a reader sees it: the form that is stored and searched for PII.

    In rounds, until nothing changes: JSON escapes (``\u0030``) and HTML entities
    (``&#48;``, ``&nbsp;``) decoded and HTML tags replaced as :func:`normalize` does; Unicode
    NFKC (full-width, circled and styled digits become ASCII digits); every other decimal digit
    (Arabic-Indic, Devanagari...) its ASCII digit; every space character a space, line
    separators and carriage returns a line break, tabs a space; format characters
    (zero-width spaces and joiners, bidi controls, BOM, soft hyphen, tag characters), control
    characters, variation selectors and combining marks left after composition removed; a
    lone surrogate becomes U+FFFD. Words, case, punctuation and emoji stay as written.

    >>> canonical("sđt ０９１２\u200b345&#54;78")
    'sđt 0912345678'

    Pure, idempotent, and the output is NFC (and NFKC).
    """
    if text.isascii() and not _CANONICAL_ASCII_RE.search(text):
        return text
    tables = _canonical_tables()
    for _ in range(_CANONICAL_ROUNDS):  # each step can reveal what another one hid
        before = text
        if "\\u" in text:
            text = _JSON_ESCAPE_RE.sub(_json_escape, text)
        if "&" in text or "<" in text:
            text = _unescape_html(text)
        if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        if "\r\n" in text:
            text = text.replace("\r\n", "\n")
        if tables.special_re.search(text):
            text = text.translate(tables.table)
        if text == before:
            break
    return text


def separator_view(text: str) -> str:
    """Return ``text`` (canonical) with the characters :func:`normalize` separates words by.

    Character for character: an emoji or symbol that normalization replaces by a space or a
    token becomes a space, a dash or a quote its ASCII form; everything else is unchanged.
    ``len(separator_view(t)) == len(t)``, so positions in the view are positions in ``t``.
    """
    tables = _canonical_tables()
    if tables.view_re is None or not tables.view_re.search(text):
        return text
    return text.translate(tables.view)


def normalize(text: str) -> str:
    """Return the normalized form of ``text`` (see the module docstring for every step).

    >>> normalize("Sp đẹp quáaaa 😍, ship nhanh, hoà tiền ko??")
    'sản phẩm đẹp quá emolove , ship nhanh, hòa tiền không??'
    """
    out = _normalize_once(text)
    for _ in range(_ENTITY_ROUNDS):
        # squeezing repeated marks can reveal an entity ("&##0" -> "&#0"): read it again
        if "&" not in out or html.unescape(out) == out:
            break
        out = _normalize_once(out)
    return out


_ENTITY_ROUNDS = 4
"""Times the whole normalization is repeated at most while its output still holds an HTML
entity (each round consumes one)."""


def _normalize_once(text: str) -> str:
    """One pass of every step of :func:`normalize`."""
    tables = _tables()
    text = _prepare(text, tables)
    while True:  # HTML can hide characters of step 2, and step 2 can reveal tags
        if "<" not in text and "&" not in text:
            break
        stripped = _unescape_html(text)
        if stripped == text:
            break
        text = _prepare(stripped, tables)
    if "\n" in text:
        text = _NEWLINE_RE.sub(_newline, text)
    return _normalize_chunks(text.split(), tables)


def _emoticon_token(symbol: str, emoticons: dict[str, str]) -> str:
    token = emoticons.get(symbol)
    if token is not None:
        return token
    trimmed = symbol
    while len(trimmed) > 1 and trimmed[-1] == trimmed[-2]:
        trimmed = trimmed[:-1]
        token = emoticons.get(trimmed)
        if token is not None:
            return token
    return emoticons.get(trimmed, "emowow")
