"""The product category of a message: its ``category`` attribute, or its brand's or product's.

A product-aspect model (smartphone, travel_hotel) speaks only where it belongs
(:mod:`nlp.aspects`): a message whose category is known gets the aspects of the models of
that category only. The category comes from the message's ``attributes.category`` when the
sender sets it, else from a YAML file (``VOC_PRODUCT_CATEGORIES``) mapping brands and
products to categories::

    # categories of our brands and products (names compared case-insensitively)
    brands:
      Lumia: smartphone
      Sông Hồng Resort: travel_hotel
    products:
      "Lumia Buds 2": electronics

A product entry wins over its brand's. Categories are the corpus's (``docs/labelling.md``):
fashion, cosmetics, smartphone, electronics, home_appliance, food, mother_baby, books,
services, travel_hotel, general.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from schemas.errors import ConfigError

__all__ = ["CATEGORIES", "CategoryMap", "load_category_map"]

CATEGORIES = (
    "fashion",
    "cosmetics",
    "smartphone",
    "electronics",
    "home_appliance",
    "food",
    "mother_baby",
    "books",
    "services",
    "travel_hotel",
    "general",
)
"""The product categories of the labelling guide."""


@dataclass(frozen=True)
class CategoryMap:
    """Brands and products configured to a category."""

    brands: Mapping[str, str] = field(default_factory=dict)
    products: Mapping[str, str] = field(default_factory=dict)

    def category(
        self,
        attributes: Mapping[str, Any] | None,
        brand: str | None = None,
        product: str | None = None,
    ) -> str | None:
        """The message's category: its attribute, else its product's, else its brand's."""
        given = (attributes or {}).get("category")
        if isinstance(given, str) and given.strip():
            return given.strip().lower()
        if product and (found := self.products.get(product.strip().casefold())):
            return found
        if brand and (found := self.brands.get(brand.strip().casefold())):
            return found
        return None


def load_category_map(path: Path | None) -> CategoryMap:
    """Read a brand/product category file; None gives an empty map."""
    if path is None:
        return CategoryMap()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        msg = f"cannot read the product categories {path}: {exc}"
        raise ConfigError(msg) from exc
    if not isinstance(data, Mapping) or set(data) - {"brands", "products"}:
        msg = f"{path}: expected a mapping with 'brands' and/or 'products', got {data!r}"
        raise ConfigError(msg)
    tables: dict[str, dict[str, str]] = {}
    for key in ("brands", "products"):
        table = data.get(key) or {}
        if not isinstance(table, Mapping):
            msg = f"{path}: {key} must map names to categories, got {table!r}"
            raise ConfigError(msg)
        out = {}
        for name, category in table.items():
            if category not in CATEGORIES:
                msg = (
                    f"{path}: {key} {name!r}: category must be one of {CATEGORIES}, "
                    f"got {category!r}"
                )
                raise ConfigError(msg)
            out[str(name).strip().casefold()] = str(category)
        tables[key] = out
    return CategoryMap(tables["brands"], tables["products"])
