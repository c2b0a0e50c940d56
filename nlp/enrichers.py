"""The registry of enrichers: ``load_enricher("baseline")``.

Each name maps to a ``"module:function"`` factory, imported only when that enricher is
asked for, so choosing the baseline never imports torch. A factory takes the keyword
arguments ``model_path`` and ``taxonomy_path`` and returns an :class:`nlp.types.Enricher`.
Adding a backend is one line in :data:`ENRICHERS`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol, cast

from nlp.types import Enricher
from schemas.errors import ConfigError

__all__ = ["ENRICHERS", "build_baseline", "load_enricher"]

ENRICHERS: dict[str, str] = {
    "baseline": "nlp.enrichers:build_baseline",
    "fast": "nlp.fast:build_fast",
    "transformer": "nlp.fast:build_transformer",
}
"""Enricher name -> ``"module:function"`` of its factory."""


class _Factory(Protocol):
    def __call__(self, *, model_path: str | None, taxonomy_path: Path | None) -> Enricher: ...


def load_enricher(
    name: str, *, model_path: str | None = None, taxonomy_path: Path | None = None
) -> Enricher:
    """Build the enricher called ``name`` (one of :data:`ENRICHERS`)."""
    target = ENRICHERS.get(name)
    if target is None:
        msg = f"unknown enricher {name!r}; expected one of {sorted(ENRICHERS)}"
        raise ConfigError(msg)
    module_name, _, function = target.partition(":")
    factory = cast(_Factory, getattr(importlib.import_module(module_name), function))
    return factory(model_path=model_path, taxonomy_path=taxonomy_path)


def build_baseline(*, model_path: str | None, taxonomy_path: Path | None) -> Enricher:
    """Build the rule-and-lexicon baseline.

    ``model_path``, if given, is a directory whose ``sentiment_lexicon.tsv``,
    ``sentiment_rules.yaml`` and ``flags.yaml`` (any of them) replace the packaged tables.
    """
    from nlp.baseline import BaselineEnricher
    from nlp.flags import load_flag_rules
    from nlp.lexicon import load_lexicon
    from nlp.taxonomy import load_taxonomy

    lexicon = flags = None
    if model_path is not None:
        folder = Path(model_path)
        if not folder.is_dir():
            msg = f"baseline enricher: model_path must be a directory of tables, got {model_path!r}"
            raise ConfigError(msg)
        terms, rules, cues = (
            folder / "sentiment_lexicon.tsv",
            folder / "sentiment_rules.yaml",
            folder / "flags.yaml",
        )
        if not any(p.exists() for p in (terms, rules, cues)):
            msg = (
                f"baseline enricher: {model_path} holds none of sentiment_lexicon.tsv, "
                "sentiment_rules.yaml, flags.yaml"
            )
            raise ConfigError(msg)
        if terms.exists() or rules.exists():
            lexicon = load_lexicon(
                terms if terms.exists() else None, rules if rules.exists() else None
            )
        if cues.exists():
            flags = load_flag_rules(cues)
    return BaselineEnricher(load_taxonomy(taxonomy_path), lexicon, flags)
