import json
from pathlib import Path

import numpy as np
import pytest

from nlp.artifacts import (
    CARD_FILE,
    MANIFEST_FILE,
    WEIGHTS_FILE,
    Manifest,
    find_artifacts,
    load_artifact,
    pack_matrix,
    read_manifest,
    save_artifact,
    unpack_matrix,
)
from schemas.errors import ModelError


def _manifest(kind: str = "sentiment", version: str = "1.2.3") -> Manifest:
    return Manifest(
        name="sentiment-fast",
        version=version,
        kind=kind,
        labels={"classes": ["negative", "neutral", "positive"]},
        features={"ngram_max": 2, "fold_view": True, "min_df": 2},
        hyperparameters={"c": 4.0},
        data={"splits": {"train": ["a"]}, "revisions_sha256_of_meta_json": {"a": "0" * 64}},
        scores={"split": "dev", "dev": {"a": {"f1": 0.5}}},
        preprocessing="test",
    )


def test_round_trip_keeps_arrays_and_manifest(tmp_path: Path) -> None:
    arrays = {
        "w": np.arange(6, dtype=np.float32).reshape(3, 2),
        "ids": np.array([3, 1], dtype=np.int64),
    }
    path = save_artifact(tmp_path, _manifest(), arrays, "# card\n")
    assert path == tmp_path / "sentiment-fast-1.2.3"
    assert {p.name for p in path.iterdir()} == {WEIGHTS_FILE, MANIFEST_FILE, CARD_FILE}
    manifest, loaded = load_artifact(path, kind="sentiment")
    np.testing.assert_array_equal(loaded["w"], arrays["w"])
    np.testing.assert_array_equal(loaded["ids"], arrays["ids"])
    assert manifest.versioned_name == "sentiment-fast-1.2.3"
    assert len(manifest.weights_sha256) == 64


def test_manifest_records_data_revision_settings_scores_and_libraries(tmp_path: Path) -> None:
    path = save_artifact(tmp_path, _manifest(), {"w": np.zeros(2)}, "card")
    raw = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    for key in (
        "name",
        "version",
        "kind",
        "data",
        "hyperparameters",
        "scores",
        "libraries",
        "created_at",
    ):
        assert key in raw
    assert raw["data"]["revisions_sha256_of_meta_json"] == {"a": "0" * 64}
    assert {"python", "numpy", "scipy", "scikit-learn"} <= set(raw["libraries"])
    assert read_manifest(path).hyperparameters == {"c": 4.0}


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    path = save_artifact(tmp_path, _manifest(), {"w": np.ones(4)}, "card")
    np.savez_compressed(path / WEIGHTS_FILE, w=np.zeros(4))
    with pytest.raises(ModelError, match="does not match its manifest"):
        load_artifact(path)


def test_wrong_kind_and_object_arrays_are_refused(tmp_path: Path) -> None:
    path = save_artifact(tmp_path, _manifest(), {"w": np.ones(2)}, "card")
    with pytest.raises(ModelError, match="holds a sentiment model, expected a aspects model"):
        load_artifact(path, kind="aspects")
    with pytest.raises(ModelError, match="dtype object"):
        save_artifact(
            tmp_path, _manifest(version="9.9.9"), {"bad": np.array([{"a": 1}], dtype=object)}, "c"
        )


def test_names_and_versions_are_validated() -> None:
    with pytest.raises(ModelError, match="version"):
        _manifest(version="1.0")
    with pytest.raises(ModelError, match="name"):
        Manifest(**{**_manifest().__dict__, "name": "Bad Name"})


def test_find_artifacts_filters_by_kind(tmp_path: Path) -> None:
    save_artifact(tmp_path, _manifest(), {"w": np.ones(1)}, "c")
    save_artifact(tmp_path, _manifest(kind="aspects", version="2.0.0"), {"w": np.ones(1)}, "c")
    assert [p.name for p in find_artifacts(tmp_path)] == [
        "sentiment-fast-1.2.3",
        "sentiment-fast-2.0.0",
    ]
    assert [p.name for p in find_artifacts(tmp_path, "aspects")] == ["sentiment-fast-2.0.0"]
    assert find_artifacts(tmp_path / "sentiment-fast-1.2.3") == [tmp_path / "sentiment-fast-1.2.3"]
    with pytest.raises(ModelError, match="does not exist"):
        find_artifacts(tmp_path / "missing")


def test_pack_matrix_quantizes_to_int8_and_prunes() -> None:
    matrix = np.array([[0.5, 0.0001], [0.0, -2.0], [0.3, 0.02], [0.0015, 1.0]], dtype=np.float32)
    packed = pack_matrix("m", matrix, prune_below=0.001)
    assert packed["m_values"].dtype == np.int8
    # 0.0001 is pruned; 0.0015 rounds to zero at column 0's scale (0.5 / 127)
    assert len(packed["m_values"]) == 5
    dense = unpack_matrix("m", packed)
    expected = np.array([[0.5, 0.0], [0.0, -2.0], [0.3, 0.02], [0.0, 1.0]])
    # every weight is within half a quantization step of its column
    assert (np.abs(dense - expected) <= packed["m_scale"] / 2 + 1e-6).all()
    assert dense[1, 1] == pytest.approx(-2.0)
    vector = unpack_matrix("v", pack_matrix("v", np.array([1.0, 0.0, 3.0])))
    assert vector.shape == (3, 1)
    np.testing.assert_allclose(vector.ravel(), [1.0, 0.0, 3.0], atol=3.0 / 254)
    with pytest.raises(ModelError, match="lack the matrix"):
        unpack_matrix("absent", packed)
    packed["m_scale"] = packed["m_scale"][:1]
    with pytest.raises(ModelError, match="corrupt"):
        unpack_matrix("m", packed)


def test_default_artifacts_load_without_pickle() -> None:
    # every shipped artifact opens with allow_pickle=False, matches its sha256 and has a card
    shipped = find_artifacts(Path(__file__).resolve().parents[2] / "nlp" / "models")
    kinds = set()
    for path in shipped:
        manifest, arrays = load_artifact(path)
        kinds.add(manifest.kind)
        assert path.name == manifest.versioned_name
        assert manifest.weights_sha256
        assert manifest.data["revisions_sha256"]
        assert len(manifest.data["git_commit"]) == 40  # the commit that trained it
        assert manifest.scores["split"] == "dev"
        assert all(a.dtype != object for a in arrays.values())
        card = (path / CARD_FILE).read_text(encoding="utf-8")
        assert "research" in card
        assert "Intended use" in card
    assert kinds == {"sentiment", "aspects", "labels"}
    total = sum(f.stat().st_size for p in shipped for f in p.iterdir())
    assert total < 20_000_000
