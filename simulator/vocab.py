"""The simulator's readable tables, loaded from ``simulator/resources/*.yaml``.

``mix.yaml`` (traffic: sources, channels, brands, topic and sentiment weights, diurnal
curve), ``texts.yaml`` (clauses per topic and sentiment, openers, closers, phrase frames),
``chat.yaml`` (support-chat turns), ``noise.yaml`` (teencode, emoji, tone marks, rates)
and ``people.yaml`` (slot values and handle parts). Every text in them was written by the
project. Nothing is read at import: :func:`load_resources` reads them on first use.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from schemas.errors import ConfigError

RESOURCE_FILES = ("mix", "texts", "chat", "noise", "people")

TOPICS: tuple[str, ...] = (
    "delivery",
    "packaging",
    "product_quality",
    "price",
    "promotion",
    "customer_service",
    "payment",
    "refund_return",
    "warranty",
    "app_website",
    "authenticity",
)


def _nfc(value: Any) -> Any:
    """Return ``value`` with every string NFC-normalized, tuples instead of lists."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return tuple(_nfc(v) for v in value)
    if isinstance(value, dict):
        return {(_nfc(k) if isinstance(k, str) else k): _nfc(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Resources:
    """The raw simulator tables, one mapping per YAML file, strings in NFC."""

    mix: dict[str, Any]
    texts: dict[str, Any]
    chat: dict[str, Any]
    noise: dict[str, Any]
    people: dict[str, Any]


def _read(name: str) -> dict[str, Any]:
    resource = resources.files("simulator").joinpath("resources", f"{name}.yaml")
    try:
        data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        msg = f"simulator resource {name}.yaml cannot be read: {exc}"
        raise ConfigError(msg) from exc
    if not isinstance(data, dict):
        msg = f"simulator resource {name}.yaml: expected a mapping, got {type(data).__name__}"
        raise ConfigError(msg)
    out: dict[str, Any] = _nfc(data)
    return out


@cache
def load_resources() -> Resources:
    """Read and cache every simulator table (the first call reads five small files)."""
    tables = {name: _read(name) for name in RESOURCE_FILES}
    texts_topics = set(tables["texts"]["topics"])
    if texts_topics != set(TOPICS):
        msg = (
            f"texts.yaml must cover exactly the topics {', '.join(TOPICS)}; "
            f"got {', '.join(sorted(texts_topics))}"
        )
        raise ConfigError(msg)
    return Resources(**tables)
