"""How simulated customers write: pure functions that add realistic noise to clean text.

Each function takes the text and, where it is random, a ``rand`` callable returning floats
in ``[0, 1)`` (a message's own ``random.Random().random``), so a message's noise depends on
its own generator only. The rules and rates live in ``resources/noise.yaml``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nlp.normalize import strip_diacritics

Rand = Callable[[], float]
#: A teencode site in a compiled template: the original words and what users type instead.
Site = tuple[str, tuple[str, ...]]
#: A compiled template: a plain string, or literal strings and sites.
Template = str | tuple[str | Site, ...]

_TONE_KEYS = {"\u0300": "f", "\u0301": "s", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
_VOWEL_MARKS = {"\u0302", "\u0306", "\u031b"}  # circumflex, breve, horn


def telex(word: str) -> str:
    """Spell ``word`` the way a Telex keyboard left unconverted would: ``được`` -> ``dduwowcj``."""
    out: list[str] = []
    tone = ""
    for char in unicodedata.normalize("NFD", word):
        if char in _TONE_KEYS:
            tone = _TONE_KEYS[char]
        elif char == "\u0302" and out:
            out.append(out[-1])
        elif char in ("\u0306", "\u031b"):
            out.append("w")
        elif char in ("đ", "Đ"):
            out.append("dd" if char == "đ" else "DD")
        else:
            out.append(char)
    return "".join(out) + tone


_OLD_TONE_RE = re.compile(r"[òóỏõọùúủũụ][aey]")


def old_tone_marks(text: str, table: Mapping[str, str]) -> str:
    """Move tone marks to the old-style position at syllable end: ``hòa`` -> ``hoà``."""

    def move(match: re.Match[str]) -> str:
        end = match.end()
        if end < len(text) and text[end].isalpha():
            return match.group(0)  # not a syllable end: hoàng keeps its mark
        return table.get(match.group(0), match.group(0))

    return _OLD_TONE_RE.sub(move, text)


def elongate(word: str, times: int) -> str:
    """Repeat the last letter of ``word``: ``quá`` -> ``quáaaa`` (its base letter repeats)."""
    return word + strip_diacritics(word[-1]) * times


_PUNCT = ",.!?;:"


def _split_punct(token: str) -> tuple[str, str]:
    """``"được,"`` -> ``("được", ",")``."""
    core = token.rstrip(_PUNCT)
    return core, token[len(core) :]


class Noiser:
    """Applies the noise rules of ``noise.yaml`` to one message at a time.

    Texts are handled as space-separated tokens (a token may end with punctuation): it is
    several times faster than word-boundary regular expressions on Vietnamese strings.
    """

    def __init__(self, noise: Mapping[str, Any]) -> None:
        self.cfg = noise
        # first word -> [(all words, variants)], longest phrase first
        first: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        for phrase, variants in noise["teencode"].items():
            words = tuple(phrase.split(" "))
            first.setdefault(words[0], []).append((words, tuple(variants)))
        for options in first.values():
            options.sort(key=lambda item: -len(item[0]))
        self._teen_first = first
        self._elongate = frozenset(noise["elongate_words"])
        self._old_tones = dict(noise["old_tones"])
        self._profiles = {
            s: (tuple(p), tuple(_cumulative(p.values()))) for s, p in noise["profiles"].items()
        }
        self._teen_rate = dict(noise["teencode_rate"])
        self._elongate_rate = float(noise["elongate"])
        self._old_tone_rate = float(noise["old_tone_marks"])
        self._typo_rate = float(noise["typo"])
        self._telex_rate = float(noise["telex_typo"])
        self._strip_rate = {k: float(v) for k, v in noise["strip_diacritics"].items()}
        self._partial_rate = float(noise["partial_diacritics"])
        self._partial_word = float(noise["partial_word"])

    def profile(self, source: str, rand: Rand) -> str:
        """Draw a noise profile (clean, light or heavy) for a message of ``source``."""
        names, cum = self._profiles[source]
        return str(names[_index(cum, rand())])

    def _match(self, tokens: Sequence[str], i: int) -> tuple[int, tuple[str, ...], str] | None:
        """Find the teencode phrase at token ``i``: (its size, variants, punctuation)."""
        token = tokens[i]
        options = self._teen_first.get(token)
        if options is None and token[-1:] in _PUNCT:
            options = self._teen_first.get(token.rstrip(_PUNCT))
        if options is None:
            return None
        for words, variants in options:
            size = len(words)
            if i + size > len(tokens):
                continue
            core, tail = _split_punct(tokens[i + size - 1])
            if core != words[-1]:
                continue
            if size > 1 and tuple(tokens[i : i + size - 1]) != words[:-1]:
                continue
            return size, variants, tail
        return None

    def teencode(self, text: str, rate: float, rand: Rand) -> str:
        """Replace each teencode-able word or phrase with probability ``rate``."""
        if rate <= 0:
            return text
        return self.render(self.compile(text), rate, rand)

    def compile(self, text: str) -> Template:
        """Pre-split a template at its teencode sites, so rendering needs no scanning.

        The result is ``text`` itself when it has no site, else a tuple of literal strings
        and ``(original, variants)`` sites.
        """
        tokens = text.split(" ")
        pieces: list[str | Site] = []

        def literal(part: str) -> None:
            if pieces and isinstance(pieces[-1], str):
                pieces[-1] += part
            else:
                pieces.append(part)

        i, found = 0, False
        while i < len(tokens):
            if i:
                literal(" ")
            match = self._match(tokens, i)
            if match is None:
                literal(tokens[i])
                i += 1
                continue
            size, variants, tail = match
            original = " ".join(tokens[i : i + size])
            pieces.append((original[: len(original) - len(tail)], variants))
            if tail:
                literal(tail)
            found = True
            i += size
        return tuple(pieces) if found else text

    @staticmethod
    def render(template: Template, rate: float, rand: Rand) -> str:
        """Render a compiled template, replacing each site with probability ``rate``."""
        if isinstance(template, str):
            return template
        out: list[str] = []
        for piece in template:
            if isinstance(piece, str):
                out.append(piece)
            elif rate and rand() < rate:
                variants = piece[1]
                out.append(variants[int(rand() * len(variants))])
            else:
                out.append(piece[0])
        return "".join(out)

    def _pick_token(self, tokens: list[str], rand: Rand, keep: Callable[[str], bool]) -> int:
        """Index of a random token whose word satisfies ``keep``, or -1."""
        chosen = [i for i, t in enumerate(tokens) if keep(t.rstrip(_PUNCT))]
        return chosen[int(rand() * len(chosen))] if chosen else -1

    def elongate_one(self, text: str, rand: Rand) -> str:
        """Stretch the first emphatic word found (``quá`` -> ``quáaa``), if any."""
        tokens = text.split(" ")
        for i, token in enumerate(tokens):
            core, tail = _split_punct(token)
            if core in self._elongate:
                tokens[i] = elongate(core, 2 + int(rand() * 4)) + tail
                return " ".join(tokens)
        return text

    def typo(self, text: str, rand: Rand) -> str:
        """Swap, double or drop one letter in one word of four letters or more."""
        tokens = text.split(" ")
        i = self._pick_token(tokens, rand, lambda w: len(w) >= 4 and w.isalpha())
        if i < 0:
            return text
        word, tail = _split_punct(tokens[i])
        j = 1 + int(rand() * (len(word) - 2))
        kind = rand()
        if kind < 0.4:
            word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
        elif kind < 0.7:
            word = word[:j] + word[j] + word[j:]
        else:
            word = word[:j] + word[j + 1 :]
        tokens[i] = word + tail
        return " ".join(tokens)

    def telex_typo(self, text: str, rand: Rand) -> str:
        """Leave one accented word as raw Telex keystrokes: ``hàng`` -> ``hangf``."""
        tokens = text.split(" ")
        i = self._pick_token(tokens, rand, lambda w: w.isalpha() and not w.isascii())
        if i < 0:
            return text
        word, tail = _split_punct(tokens[i])
        tokens[i] = telex(word) + tail
        return " ".join(tokens)

    def partial_strip(self, text: str, rand: Rand, word_rate: float) -> str:
        """Drop diacritics on some words only, each with probability ``word_rate``."""
        words = text.split(" ")
        return " ".join(strip_diacritics(w) if rand() < word_rate else w for w in words)

    def teencode_rate(self, source: str, rand: Rand) -> float:
        """Draw a message's noise profile and return its teencode rate."""
        return float(self._teen_rate[self.profile(source, rand)])

    def post(self, text: str, source: str, rand: Rand) -> str:
        """Add the noise that follows composition to a message.

        Stretched words, old tone marks, typos, Telex leftovers and missing diacritics
        (on the whole message or on some words).
        """
        if rand() < self._elongate_rate:
            text = self.elongate_one(text, rand)
        if rand() < self._old_tone_rate:
            text = old_tone_marks(text, self._old_tones)
        if rand() < self._typo_rate:
            text = self.typo(text, rand)
        if rand() < self._telex_rate:
            text = self.telex_typo(text, rand)
        roll = rand()
        strip = self._strip_rate[source]
        if roll < strip:
            text = strip_diacritics(text)
        elif roll < strip + self._partial_rate:
            text = self.partial_strip(text, rand, self._partial_word)
        return text

    def apply(self, text: str, source: str, rand: Rand) -> str:
        """Apply all the noise of ``noise.yaml`` to a clean customer text."""
        return self.post(self.teencode(text, self.teencode_rate(source, rand), rand), source, rand)


def _cumulative(weights: Any) -> list[float]:
    values = [float(w) for w in weights]
    total = sum(values)
    out, acc = [], 0.0
    for v in values:
        acc += v / total
        out.append(acc)
    return out


def _index(cum: Sequence[float], u: float) -> int:
    for i, edge in enumerate(cum):
        if u < edge:
            return i
    return len(cum) - 1
