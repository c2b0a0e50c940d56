"""Candidate phrases and terms of a message: syllable n-grams of its normalized text.

A message's ``text_normalized`` is cut into segments at punctuation, digits, emoji tokens
and PII placeholders; inside a segment every run of 2 to 4 syllables is a gram, unless it
starts or ends with an edge stop syllable ("bị", "là", "nha"...), is a stop phrase
("shop ơi", "cảm ơn"), or is made of stop syllables only. The stop list is the readable
table ``resources/stop_phrases.txt``.

Grams are compared without diacritics ("thanh toan" = "thanh toán") and identified by a
64-bit hash built from the CRC-32 of each folded syllable, so the hot path (one call per
message, in parallel on every worker) makes no string per gram and the id of a gram is the
same in every process and after a restart. :func:`gram_spans` gives the text of each gram
back for the few messages an alert shows.

*Terms* (:func:`term_ids`) are what the emerging-issue detector groups by co-occurrence:
the single syllables of a segment that are not stop syllables (nor numbers or one-letter
tokens) and its 2-grams, in the same id space (a 2-gram term is the 2-gram phrase).
Customers describing one new problem in their own words share words ("hack", "otp",
"tài khoản"), not phrases.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

from nlp.normalize import strip_diacritics
from schemas.errors import ConfigError

MIN_N = 2
MAX_N = 4

_SEGMENTS = re.compile(r"[^\w\s]+|[\d_]+")
_MASK = (1 << 64) - 1
_MULT = 0x100000001B3  # FNV-1a 64-bit prime: mixes one syllable hash into the gram hash
_SECTIONS = ("edge", "phrase", "break")
_token_hashes: dict[str, int] = {}
_TOKEN_CACHE_LIMIT = 200_000


@dataclass(frozen=True)
class StopList:
    """Folded syllables and phrases the phrase detector ignores (see the module docstring)."""

    edge: frozenset[str]
    phrases: frozenset[int]
    breaks: frozenset[str]
    edge_written: frozenset[str] = frozenset()
    """The edge syllables as written (lower case, with diacritics): terms are checked on
    these where the message has diacritics, so "tài" is a term while "tại" is not."""

    @classmethod
    def parse(cls, text: str, where: str = "stop list") -> StopList:
        """Read the ``[edge]``, ``[phrase]`` and ``[break]`` sections of a stop-list file."""
        found: dict[str, set[str]] = {name: set() for name in _SECTIONS}
        written: set[str] = set()
        section: str | None = None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("["):
                name = line.strip("[]").strip()
                if name not in found:
                    msg = (
                        f"{where}:{number}: expected a section among "
                        f"{', '.join(f'[{s}]' for s in _SECTIONS)}, got {line!r}"
                    )
                    raise ConfigError(msg)
                section = name
                continue
            if section is None:
                msg = f"{where}:{number}: expected a [section] header before {line!r}"
                raise ConfigError(msg)
            found[section].add(" ".join(fold(line).split()))
            if section == "edge":
                written.add(unicodedata.normalize("NFC", line.lower()))
        phrases = set()
        for phrase in found["phrase"]:
            words = phrase.split()
            if not MIN_N <= len(words) <= MAX_N:
                msg = f"{where}: a stop phrase has 2 to 4 syllables, got {phrase!r}"
                raise ConfigError(msg)
            phrases.add(gram_hash(words))
        return cls(
            frozenset(found["edge"]),
            frozenset(phrases),
            frozenset(found["break"]),
            frozenset(written),
        )


@lru_cache(maxsize=1)
def default_stop_list() -> StopList:
    """The packaged stop list, read on first use."""
    source = resources.files("flows.detect").joinpath("resources").joinpath("stop_phrases.txt")
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read the stop list {source}: {exc}"
        raise ConfigError(msg) from exc
    return StopList.parse(text, str(source))


def fold(text: str) -> str:
    """Lower case without diacritics: the form phrases are compared in."""
    return strip_diacritics(text).lower()


def token_hash(token: str) -> int:
    """Stable 32-bit hash of one folded syllable (cached)."""
    value = _token_hashes.get(token)
    if value is None:
        if len(_token_hashes) >= _TOKEN_CACHE_LIMIT:
            _token_hashes.clear()
        value = zlib.crc32(token.encode("utf-8"))
        _token_hashes[token] = value
    return value


def gram_hash(folded_syllables: Iterable[str]) -> int:
    """Stable 64-bit id of a gram from its folded syllables."""
    value = 0xCBF29CE484222325
    for token in folded_syllables:
        value = ((value ^ token_hash(token)) * _MULT) & _MASK
    return value


class Segment(NamedTuple):
    """Syllables of one segment: as written (normalized) and folded."""

    surface: list[str]
    folded: list[str]


def segments(text: str, stops: StopList) -> Iterator[Segment]:
    """Cut normalized text into runs of syllables that phrases may span."""
    surface_text = text.lower()
    folded_text = strip_diacritics(surface_text)
    if len(folded_text) != len(surface_text):  # decomposed input: fold syllable by syllable
        folded_text = " ".join(strip_diacritics(w) for w in surface_text.split(" "))
        surface_text = " ".join(surface_text.split(" "))
    breaks = stops.breaks
    for chunk_s, chunk_f in zip(
        _SEGMENTS.split(surface_text), _SEGMENTS.split(folded_text), strict=False
    ):
        surface, folded = chunk_s.split(), chunk_f.split()
        if len(surface) != len(folded):
            continue
        start = 0
        for i, token in enumerate(folded):
            if token in breaks:
                if i - start >= MIN_N:
                    yield Segment(surface[start:i], folded[start:i])
                start = i + 1
        if len(folded) - start >= MIN_N:
            yield Segment(surface[start:], folded[start:])


def _grams_of(folded: list[str], stops: StopList) -> Iterator[tuple[int, int, int]]:
    """``(hash, start, end)`` of every kept gram of one segment."""
    edge, stop_phrases = stops.edge, stops.phrases
    hashes = [token_hash(t) for t in folded]
    is_edge = [t in edge for t in folded]
    count = len(folded)
    for start in range(count - 1):
        if is_edge[start]:
            continue
        value = ((0xCBF29CE484222325 ^ hashes[start]) * _MULT) & _MASK
        for end in range(start + 1, min(start + MAX_N, count)):
            value = ((value ^ hashes[end]) * _MULT) & _MASK
            if is_edge[end] or value in stop_phrases:
                continue
            yield value, start, end + 1


def gram_ids(text: str, stops: StopList | None = None) -> tuple[int, ...]:
    """The distinct gram ids of a message's normalized text, in order of first occurrence.

    This is the per-message hot path of the phrase detector.
    """
    stops = stops or default_stop_list()
    breaks = stops.breaks
    seen: dict[int, None] = {}
    for chunk in _SEGMENTS.split(strip_diacritics(text.lower())):
        tokens = chunk.split()
        if len(tokens) < MIN_N:
            continue
        start = 0
        for i, token in enumerate(tokens):
            if token in breaks:
                if i - start >= MIN_N:
                    seen.update(dict.fromkeys(v for v, _, _ in _grams_of(tokens[start:i], stops)))
                start = i + 1
        if len(tokens) - start >= MIN_N:
            seen.update(dict.fromkeys(v for v, _, _ in _grams_of(tokens[start:], stops)))
    return tuple(seen)


def _kept_term(surface: str, folded: str, stops: StopList) -> bool:
    """Whether one syllable is a term: not a stop syllable, a number or a single letter."""
    if len(folded) < 2 or folded.isdigit():
        return False
    if surface == folded:  # typed without diacritics: ambiguous, judged folded
        return folded not in stops.edge
    return surface not in stops.edge_written


def _terms_of(
    surface: list[str], folded: list[str], stops: StopList
) -> Iterator[tuple[int, int, int]]:
    """``(hash, start, end)`` of every term (kept syllable, 2-gram of two) of one segment."""
    stop_phrases = stops.phrases
    hashes = [token_hash(t) for t in folded]
    keep = [_kept_term(a, b, stops) for a, b in zip(surface, folded, strict=True)]
    last = len(folded) - 1
    for i, token_id in enumerate(hashes):
        if not keep[i]:
            continue
        single = ((0xCBF29CE484222325 ^ token_id) * _MULT) & _MASK
        yield single, i, i + 1
        if i < last and keep[i + 1]:
            pair = ((single ^ hashes[i + 1]) * _MULT) & _MASK
            if pair not in stop_phrases:
                yield pair, i, i + 2


def _term_segments(text: str, stops: StopList) -> Iterator[tuple[list[str], list[str]]]:
    """Written and folded syllables of each segment of ``text`` that terms may span."""
    breaks = stops.breaks
    for surface, folded in _aligned_chunks(text):
        start = 0
        for i, token in enumerate(folded):
            if token in breaks:
                if i > start:
                    yield surface[start:i], folded[start:i]
                start = i + 1
        if len(folded) > start:
            yield surface[start:], folded[start:]


def _aligned_chunks(text: str) -> Iterator[tuple[list[str], list[str]]]:
    """The chunks of ``text`` between separators, written and folded, syllable by syllable."""
    surface_text = text.lower()
    folded_text = strip_diacritics(surface_text)
    if len(folded_text) != len(surface_text):  # decomposed input: fold syllable by syllable
        folded_text = " ".join(strip_diacritics(w) for w in surface_text.split(" "))
        surface_text = " ".join(surface_text.split(" "))
    for chunk_s, chunk_f in zip(
        _SEGMENTS.split(surface_text), _SEGMENTS.split(folded_text), strict=False
    ):
        surface, folded = chunk_s.split(), chunk_f.split()
        if len(surface) == len(folded) and surface:
            yield surface, folded


def term_ids(text: str, stops: StopList | None = None) -> tuple[int, ...]:
    """The distinct term ids of a message's normalized text, in order of first occurrence."""
    stops = stops or default_stop_list()
    seen: dict[int, None] = {}
    for surface, folded in _term_segments(text, stops):
        seen.update(dict.fromkeys(v for v, _, _ in _terms_of(surface, folded, stops)))
    return tuple(seen)


@dataclass(frozen=True, slots=True)
class GramText:
    """A gram found in a text: its id, its folded form and its form as written."""

    id: int
    folded: str
    surface: str
    syllables: int
    segment: int
    start: int


def gram_spans(text: str, stops: StopList | None = None) -> list[GramText]:
    """Every kept gram of ``text`` with its text (for the few messages an alert shows)."""
    stops = stops or default_stop_list()
    out: list[GramText] = []
    for n, segment in enumerate(segments(text, stops)):
        for value, start, end in _grams_of(segment.folded, stops):
            out.append(
                GramText(
                    value,
                    " ".join(segment.folded[start:end]),
                    " ".join(segment.surface[start:end]),
                    end - start,
                    n,
                    start,
                )
            )
    return out


def term_spans(text: str, stops: StopList | None = None) -> list[GramText]:
    """Every term of ``text`` with its text (for the few messages an alert shows)."""
    stops = stops or default_stop_list()
    out: list[GramText] = []
    for n, (surface, folded) in enumerate(_term_segments(text, stops)):
        for value, start, end in _terms_of(surface, folded, stops):
            out.append(
                GramText(
                    value,
                    " ".join(folded[start:end]),
                    " ".join(surface[start:end]),
                    end - start,
                    n,
                    start,
                )
            )
    return out


def syllable_runs(text: str, stops: StopList | None = None) -> list[Segment]:
    """The segments of ``text`` (for stitching overlapping grams into one phrase)."""
    return list(segments(text, stops or default_stop_list()))
