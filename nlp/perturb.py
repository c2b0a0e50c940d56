"""Seeded noisy copies of test sets: how much a model loses on text typed the way people type.

Two perturbations, applied to the *raw* text before the flow's normalization:

- :func:`remove_diacritics`: every tone and vowel mark dropped, ``đ`` -> ``d`` (text typed
  on a keyboard without a Vietnamese input method);
- :func:`teencode`: words replaced by their chat spellings (``không`` -> ``ko`` / ``k`` /
  ``hok``, ``được`` -> ``dc`` / ``đc``, ...). The substitutions are the *reverse* of the
  normalizer's teencode table (``nlp/resources/teencode.tsv``: one ``variant<TAB>canonical``
  pair per line), so every spelling the normalizer knows how to undo is exercised.

Both are pure functions of their input and a seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path

from nlp.normalize import strip_diacritics
from schemas.errors import ConfigError

TEENCODE_TABLE = Path(__file__).resolve().parent / "resources" / "teencode.tsv"

Perturbation = Callable[[str, random.Random], str]


def remove_diacritics(text: str, rng: random.Random | None = None) -> str:
    """``text`` with every Vietnamese diacritic removed (``đ`` -> ``d``); ``rng`` is unused."""
    return strip_diacritics(text)


def read_teencode_table(path: Path) -> dict[str, tuple[str, ...]]:
    """Invert a ``token<TAB>expansion[<TAB>note]`` table into ``expansion -> (tokens...)``.

    Blank lines, ``#`` comments and a ``token<TAB>expansion`` header line are skipped.
    Expansions are lowercased.
    """
    if not path.is_file():
        msg = f"teencode table {path} does not exist"
        raise ConfigError(msg)
    reverse: dict[str, list[str]] = {}
    header_seen = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            msg = f"{path}:{number}: expected 'variant<TAB>canonical', got {line!r}"
            raise ConfigError(msg)
        variant, canonical = parts[0].lower(), parts[1].lower()
        if not header_seen:
            header_seen = True
            if (variant, canonical) == ("token", "expansion"):
                continue
        if variant == canonical:
            continue
        reverse.setdefault(canonical, [])
        if variant not in reverse[canonical]:
            reverse[canonical].append(variant)
    return {k: tuple(v) for k, v in reverse.items()}


@cache
def default_teencode_reverse() -> Mapping[str, tuple[str, ...]]:
    """Return the reversed packaged teencode table (read once, on first use)."""
    return read_teencode_table(TEENCODE_TABLE)


class Teencoder:
    """Replaces canonical words with chat spellings, choosing variants with a seeded rng."""

    def __init__(self, reverse: Mapping[str, Sequence[str]], rate: float = 1.0) -> None:
        if not 0.0 <= rate <= 1.0:
            msg = f"teencode rate must be in [0, 1], got {rate}"
            raise ConfigError(msg)
        self.reverse = {k.lower(): tuple(v) for k, v in reverse.items() if v}
        self.rate = rate
        words = sorted(self.reverse, key=lambda w: (-len(w), w))
        alternation = "|".join(re.escape(w) for w in words)
        self._pattern = (
            re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE) if words else None
        )

    def __call__(self, text: str, rng: random.Random) -> str:
        """Return ``text`` with (a ``rate`` share of) known words in a chat spelling."""
        if self._pattern is None:
            return text

        def substitute(match: re.Match[str]) -> str:
            if self.rate < 1.0 and rng.random() >= self.rate:
                return match.group(0)
            variants = self.reverse[match.group(0).lower()]
            return variants[rng.randrange(len(variants))]

        return self._pattern.sub(substitute, text)


def teencode(text: str, rng: random.Random) -> str:
    """``text`` with every word of the reversed packaged teencode table in a chat spelling."""
    return _default_teencoder()(text, rng)


@cache
def _default_teencoder() -> Teencoder:
    return Teencoder(default_teencode_reverse())


PERTURBATIONS: dict[str, Perturbation] = {
    "no_diacritics": remove_diacritics,
    "teencode": teencode,
}
"""The perturbed copies ``voc eval`` builds of every test set, by name."""


def perturb_all(texts: Sequence[str], perturbation: Perturbation, seed: int = 13) -> list[str]:
    """Apply ``perturbation`` to every text with one rng seeded by ``seed`` (reproducible)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible noise, not security
    return [perturbation(t, rng) for t in texts]
