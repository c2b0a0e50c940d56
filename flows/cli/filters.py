"""The filters the read commands share: case-insensitive values checked against the store.

A filter value is compared without case. A value the store has never seen (and the
configuration does not name, such as a taxonomy topic without messages yet) is a user error
that lists the known values: ``unknown topic 'shipping'; known: delivery, packaging, …``.
Fixed vocabularies (source, sentiment) are checked when the options are parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from schemas.errors import ConfigError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from flows.settings import Settings

SOURCES = ("review", "chat", "social")
SENTIMENTS = ("negative", "neutral", "positive")

#: How many known values an unknown-value error lists.
LISTED = 20


def fixed_choice(name: str, choices: Sequence[str]) -> Callable[..., Any]:
    """A click callback: one value (or several) of a fixed vocabulary, lower-cased."""

    def check(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        values = value if isinstance(value, tuple) else (value,)
        out = []
        for item in values:
            if item is None:
                continue
            lowered = str(item).strip().lower()
            if lowered not in choices:
                msg = f"unknown {name} {item!r}; known: {', '.join(choices)}"
                raise click.BadParameter(msg)
            out.append(lowered)
        return tuple(out) if isinstance(value, tuple) else (out[0] if out else None)

    return check


def configured_values(settings: Settings, field_name: str) -> tuple[str, ...]:
    """Values the configuration knows for a field even without messages: topics, flags."""
    if field_name == "topic":
        from nlp.taxonomy import load_taxonomy

        return load_taxonomy(settings.taxonomy_path).ids
    if field_name == "flag":
        from nlp.types import FLAGS

        return FLAGS
    if field_name == "source":
        return SOURCES
    return ()


def resolve(client: Client, settings: Settings, field_name: str, value: str) -> list[str]:
    """The stored spellings of ``value`` for a field, compared without case.

    A value only the configuration knows resolves to itself (it matches no message yet); a
    value nobody knows raises :class:`~schemas.errors.ConfigError` listing the known ones.
    """
    from flows.queries import known_values, match_values

    wanted = value.strip()
    found = set(match_values(client, field_name, wanted))
    configured = configured_values(settings, field_name)
    found |= {v for v in configured if v.lower() == wanted.lower()}
    if found:
        return sorted(found)
    known = known_values(client, field_name, LISTED)
    names = sorted(set(known.values) | set(configured), key=str.lower)
    label = "conversation id" if field_name == "conversation" else field_name
    if not names:
        msg = f"unknown {label} {value!r}: the store has no {label} yet"
    elif known.total > LISTED:
        shown = ", ".join(known.values)
        msg = f"unknown {label} {value!r}; the {LISTED} most frequent of {known.total:,}: {shown}"
    else:
        msg = f"unknown {label} {value!r}; known: {', '.join(names)}"
    raise ConfigError(msg)


def resolve_all(
    client: Client, settings: Settings, field_name: str, values: Sequence[str]
) -> tuple[str, ...]:
    """:func:`resolve` for each value; the spellings of all of them, in order, once each."""
    out: dict[str, None] = {}
    for value in values:
        out.update(dict.fromkeys(resolve(client, settings, field_name, value)))
    return tuple(out)


def parse_ratings(text: str | None) -> tuple[int, ...]:
    """``--rating``: ``1``, ``1-2`` or ``4,5`` as the star ratings it means."""
    if not text:
        return ()
    ratings: set[int] = set()
    for part in text.replace(" ", "").split(","):
        low, _, high = part.partition("-")
        bounds = (low, high or low)
        if not all(b.isdigit() for b in bounds) or not 1 <= int(low) <= int(bounds[1]) <= 5:
            msg = f"expected ratings from 1 to 5 like 1, 1-2 or 4,5, got {text!r}"
            raise click.BadParameter(msg, param_hint="--rating")
        ratings.update(range(int(low), int(bounds[1]) + 1))
    return tuple(sorted(ratings))
