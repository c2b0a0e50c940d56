"""Model artifacts on disk: weights as ``.npz`` arrays, a JSON manifest and a model card.

An artifact is one directory named ``<name>-<version>`` (e.g. ``sentiment-fast-1.0.0``)::

    weights.npz      numpy arrays only, read with allow_pickle=False
    manifest.json    what it is, what data trained it, its settings, scores and libraries
    MODEL_CARD.md    the same for people: data and its terms, intended use, limitations

No pickles are written or read. The manifest records the sha256 of ``weights.npz`` and
loading checks it. The default artifacts ship in ``nlp/models/``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from schemas.errors import ModelError

WEIGHTS_FILE = "weights.npz"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "MODEL_CARD.md"
FORMAT_VERSION = 1

MODELS_DIR = Path(__file__).resolve().parent / "models"
"""Where the default artifacts ship."""

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9\-]*[a-z0-9]$")
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")

Arrays = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True)
class Manifest:
    """Everything that identifies and describes one artifact."""

    name: str
    """e.g. ``sentiment-fast``; the directory is ``<name>-<version>``."""
    version: str
    """Semantic version, e.g. ``1.0.0``."""
    kind: str
    """``sentiment`` or ``aspects``."""
    labels: dict[str, Any]
    """What the outputs mean (classes, aspect names, domain)."""
    features: dict[str, Any]
    """The :class:`nlp.features.FeatureSpec` as a dict."""
    hyperparameters: dict[str, Any]
    data: dict[str, Any]
    """Datasets used per split and their revisions (sha256 of each ``meta.json``)."""
    scores: dict[str, Any]
    """Evaluation on the dev splits used for model selection (never test)."""
    preprocessing: str
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    libraries: dict[str, str] = field(default_factory=lambda: library_versions())
    weights_sha256: str = ""
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            msg = f"artifact name must be lowercase letters, digits and dashes, got {self.name!r}"
            raise ModelError(msg)
        if not _VERSION_RE.match(self.version):
            msg = f"artifact version must look like 1.0.0, got {self.version!r}"
            raise ModelError(msg)

    @property
    def versioned_name(self) -> str:
        """``<name>-<version>``, the string stored on every enriched row."""
        return f"{self.name}-{self.version}"

    def to_json(self) -> str:
        """Return the manifest as indented JSON."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Rebuild a manifest from its JSON object."""
        try:
            return cls(**data)
        except TypeError as exc:
            msg = f"manifest has unknown or missing fields: {exc}"
            raise ModelError(msg) from exc


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape training and inference."""
    versions = {"python": platform.python_version()}
    for package in ("numpy", "scipy", "scikit-learn", "voc-stream"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_artifact(out_dir: Path, manifest: Manifest, arrays: Arrays, card: str) -> Path:
    """Write an artifact under ``out_dir/<name>-<version>/`` and return that directory.

    An existing artifact of the same name and version is replaced.
    """
    target = out_dir / manifest.versioned_name
    target.mkdir(parents=True, exist_ok=True)
    weights = target / WEIGHTS_FILE
    for key, value in arrays.items():
        if value.dtype == object:
            msg = f"array {key!r} has dtype object; only numeric arrays are saved"
            raise ModelError(msg)
    np.savez_compressed(weights, allow_pickle=False, **arrays)
    manifest = _with_sha(manifest, _sha256(weights))
    (target / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    (target / CARD_FILE).write_text(card, encoding="utf-8")
    return target


def _with_sha(manifest: Manifest, sha: str) -> Manifest:
    data = asdict(manifest)
    data["weights_sha256"] = sha
    return Manifest(**data)


def read_manifest(path: Path) -> Manifest:
    """Read ``manifest.json`` of the artifact directory ``path``."""
    file = path / MANIFEST_FILE
    if not file.is_file():
        msg = f"{path} is not a model artifact: it has no {MANIFEST_FILE}"
        raise ModelError(msg)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"cannot read {file}: {exc}"
        raise ModelError(msg) from exc
    if not isinstance(data, dict):
        msg = f"{file}: expected a JSON object, got {type(data).__name__}"
        raise ModelError(msg)
    manifest = Manifest.from_dict(data)
    if manifest.format_version != FORMAT_VERSION:
        msg = f"{file}: artifact format {manifest.format_version}, this code reads {FORMAT_VERSION}"
        raise ModelError(msg)
    return manifest


def load_artifact(path: Path, *, kind: str | None = None) -> tuple[Manifest, Arrays]:
    """Read an artifact directory: its manifest and its arrays (checked against the sha256)."""
    manifest = read_manifest(path)
    if kind is not None and manifest.kind != kind:
        msg = f"{path} holds a {manifest.kind} model, expected a {kind} model"
        raise ModelError(msg)
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        msg = f"{path} has a manifest but no {WEIGHTS_FILE}"
        raise ModelError(msg)
    sha = _sha256(weights)
    if manifest.weights_sha256 and sha != manifest.weights_sha256:
        msg = (
            f"{weights} does not match its manifest: sha256 {sha[:12]}..., "
            f"expected {manifest.weights_sha256[:12]}..."
        )
        raise ModelError(msg)
    try:
        with np.load(weights, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as exc:
        msg = f"cannot read {weights}: {exc}"
        raise ModelError(msg) from exc
    return manifest, arrays


def find_artifacts(directory: Path, kind: str | None = None) -> list[Path]:
    """Artifact directories directly under ``directory`` (or ``directory`` itself), sorted."""
    if (directory / MANIFEST_FILE).is_file():
        candidates = [directory]
    elif directory.is_dir():
        candidates = sorted(p for p in directory.iterdir() if (p / MANIFEST_FILE).is_file())
    else:
        msg = f"model path {directory} does not exist"
        raise ModelError(msg)
    if kind is None:
        return candidates
    return [p for p in candidates if read_manifest(p).kind == kind]


def version_key(manifest: Manifest) -> tuple[int, ...]:
    """Sort key that orders versions numerically (1.10.0 after 1.9.0)."""
    return tuple(int(part) for part in manifest.version.split("."))


def pack_matrix(prefix: str, matrix: npt.NDArray[Any], *, prune_below: float = 0.0) -> Arrays:
    """Store a dense weight matrix as int8-quantized sparse rows.

    Each column is scaled so its largest absolute weight maps to 127; weights that round to
    zero, or are below ``prune_below`` (absolute), are dropped. Linear models over sparse
    n-grams have mostly tiny weights, so this keeps the committed artifacts a few MB while
    changing no dev figure measurably (see ``voc train`` dev scores, computed after it).
    """
    dense = np.atleast_2d(np.asarray(matrix, dtype=np.float32).T).T
    dense = np.where(np.abs(dense) >= prune_below, dense, 0.0)
    peak = np.abs(dense).max(axis=0) if dense.size else np.zeros(dense.shape[1])
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    quantized = np.rint(dense / scale).astype(np.int8)
    rows, cols = np.nonzero(quantized)
    indptr = np.zeros(dense.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=indptr[1:])
    return {
        f"{prefix}_shape": np.array(dense.shape, dtype=np.int64),
        f"{prefix}_indptr": indptr.astype(np.int32),
        f"{prefix}_cols": cols.astype(np.uint16 if dense.shape[1] <= 2**16 else np.int32),
        f"{prefix}_values": quantized[rows, cols],
        f"{prefix}_scale": scale,
    }


def unpack_matrix(prefix: str, arrays: Arrays) -> npt.NDArray[np.float32]:
    """Rebuild the dense float32 matrix written by :func:`pack_matrix`."""
    try:
        shape = tuple(int(v) for v in arrays[f"{prefix}_shape"])
        indptr = arrays[f"{prefix}_indptr"].astype(np.int64)
        cols = arrays[f"{prefix}_cols"].astype(np.int64)
        values = arrays[f"{prefix}_values"].astype(np.float32)
        scale = arrays[f"{prefix}_scale"].astype(np.float32)
    except KeyError as exc:
        msg = f"weights lack the matrix {prefix!r} ({exc} missing)"
        raise ModelError(msg) from exc
    consistent = (
        len(shape) == 2
        and len(indptr) == shape[0] + 1
        and len(cols) == len(values) == indptr[-1]
        and len(scale) == shape[1]
    )
    if not consistent:
        msg = f"matrix {prefix!r} is corrupt: shape {shape}, {len(values)} entries"
        raise ModelError(msg)
    dense = np.zeros(shape, dtype=np.float32)
    rows = np.repeat(np.arange(shape[0]), np.diff(indptr))
    dense[rows, cols] = values * scale[cols]
    return dense


def default_artifact(kind: str, name: str | None = None) -> Path:
    """Return the newest packaged artifact of ``kind`` (optionally named ``name``)."""
    candidates = find_artifacts(MODELS_DIR, kind) if MODELS_DIR.is_dir() else []
    manifests = [(read_manifest(p), p) for p in candidates]
    if name is not None:
        manifests = [(m, p) for m, p in manifests if m.name == name]
    if not manifests:
        msg = f"no packaged {kind} model in {MODELS_DIR}; train one with `voc train {kind}`"
        raise ModelError(msg)
    return max(manifests, key=lambda mp: version_key(mp[0]))[1]


def record_scores(path: Path, key: str, value: dict[str, Any]) -> Manifest:
    """Store ``value`` as ``scores[key]`` in the manifest of the artifact at ``path``.

    Used by ``voc eval --record`` to keep test figures beside the dev ones; the weights and
    their sha256 are untouched.
    """
    manifest = read_manifest(path)
    data = asdict(manifest)
    data["scores"] = {**manifest.scores, key: value}
    updated = Manifest(**data)
    (path / MANIFEST_FILE).write_text(updated.to_json(), encoding="utf-8")
    return updated
