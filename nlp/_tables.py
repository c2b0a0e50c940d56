"""Readers for the plain-text tables under ``nlp/resources/``.

Every rule table of the text layer is a UTF-8 file a person can read and edit: ``#`` starts
a comment line, blank lines are ignored, and a ``.tsv`` table starts with a header row naming
its tab-separated columns. Readers are called lazily (on first use) by the modules that own
the tables, never at import time. A malformed table raises :class:`ConfigError` naming the
file, the line and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from schemas.errors import ConfigError

RESOURCES = Path(__file__).resolve().parent / "resources"
"""The directory of packaged tables."""


def resource_path(name: str) -> Path:
    """Path of a packaged resource file, e.g. ``resource_path("teencode.tsv")``."""
    return RESOURCES / name


def read_mapping(path: Path, what: str) -> Mapping[str, Any]:
    """The YAML mapping of ``path`` (``what``: the file's contents, for the error message)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        msg = f"cannot read {what} {path}: {exc}"
        raise ConfigError(msg) from exc
    if not isinstance(data, Mapping):
        msg = f"{path}: expected a mapping at the top level, got {type(data).__name__}"
        raise ConfigError(msg)
    return data


def read_lines(path: Path) -> list[tuple[int, str]]:
    """Return ``(line number, text)`` of the non-blank, non-comment lines of ``path``."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read table {path}: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
    except UnicodeDecodeError as exc:
        msg = f"table {path} is not UTF-8 text: {exc}"
        raise ConfigError(msg) from exc
    out: list[tuple[int, str]] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        text = line.rstrip("\r\n")
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        out.append((number, text))
    return out


def read_tsv(
    path: Path, columns: tuple[str, ...], *, required: int | None = None
) -> list[list[str]]:
    """Read a tab-separated table whose header row is exactly ``columns``.

    ``required`` is how many leading columns must be non-empty on every row (default: all).
    Rows may omit trailing optional columns; missing ones come back as ``""``.
    """
    lines = read_lines(path)
    if not lines:
        msg = f"table {path} is empty; expected a header row {list(columns)}"
        raise ConfigError(msg)
    header_no, header = lines[0]
    found = tuple(cell.strip() for cell in header.split("\t"))
    if found != columns:
        msg = f"table {path} line {header_no}: expected header {list(columns)}, got {list(found)}"
        raise ConfigError(msg)
    need = len(columns) if required is None else required
    rows: list[list[str]] = []
    for number, text in lines[1:]:
        cells = text.split("\t")
        if len(cells) > len(columns):
            msg = (
                f"table {path} line {number}: expected at most {len(columns)} tab-separated "
                f"columns {list(columns)}, got {len(cells)}"
            )
            raise ConfigError(msg)
        cells += [""] * (len(columns) - len(cells))
        if any(not cell.strip() for cell in cells[:need]):
            msg = (
                f"table {path} line {number}: columns {list(columns[:need])} must not be empty, "
                f"got {cells[:need]}"
            )
            raise ConfigError(msg)
        rows.append([cell.strip() for cell in cells])
    return rows
