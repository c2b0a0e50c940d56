import random
from pathlib import Path

import pytest

from nlp.normalize import normalize
from nlp.perturb import (
    PERTURBATIONS,
    Teencoder,
    default_teencode_reverse,
    perturb_all,
    read_teencode_table,
    remove_diacritics,
    teencode,
)
from schemas.errors import ConfigError


def test_remove_diacritics_drops_every_mark() -> None:
    assert remove_diacritics("Điện thoại dùng được, PIN TRÂU") == "Dien thoai dung duoc, PIN TRAU"


def test_table_is_read_in_reverse(tmp_path: Path) -> None:
    table = tmp_path / "teencode.tsv"
    table.write_text(
        "# comment\ntoken\texpansion\tnote\nko\tkhông\tneg\nk\tkhông\t\ndc\tđược\n\nsp\tsản phẩm\n",
        encoding="utf-8",
    )
    assert read_teencode_table(table) == {
        "không": ("ko", "k"),
        "được": ("dc",),
        "sản phẩm": ("sp",),
    }


def test_bad_table_lines_are_reported(tmp_path: Path) -> None:
    table = tmp_path / "bad.tsv"
    table.write_text("ko không\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.tsv:1"):
        read_teencode_table(table)
    with pytest.raises(ConfigError, match="does not exist"):
        read_teencode_table(tmp_path / "missing.tsv")


def test_teencoder_replaces_whole_words_only_and_is_seeded() -> None:
    coder = Teencoder({"không": ("ko", "k"), "sản phẩm": ("sp",)})
    text = "Sản phẩm KHÔNG tốt, khôngx vẫn giữ"
    first = coder(text, random.Random(1))
    assert first.startswith("sp ")
    assert "khôngx" in first  # not a whole word
    assert first.split()[1] in {"ko", "k"}
    assert coder(text, random.Random(1)) == first


def test_rate_zero_changes_nothing() -> None:
    coder = Teencoder({"không": ("ko",)}, rate=0.0)
    assert coder("không không", random.Random(0)) == "không không"
    with pytest.raises(ConfigError, match="rate"):
        Teencoder({}, rate=2.0)


def test_packaged_table_reverses_common_words() -> None:
    reverse = default_teencode_reverse()
    assert {"ko", "k"} <= set(reverse["không"])
    assert {"dc", "đc"} <= set(reverse["được"])


def test_normalize_undoes_the_teencode_copy() -> None:
    # the teencode copy exercises exactly what the normalizer knows how to undo
    text = "Sản phẩm không tốt nhưng giao hàng được, nhân viên nhiệt tình"
    noisy = teencode(text, random.Random(4))
    assert noisy != text
    assert normalize(noisy) == normalize(text)


def test_perturb_all_is_reproducible() -> None:
    texts = ["không được", "sản phẩm không tốt"] * 3
    assert perturb_all(texts, teencode, seed=7) == perturb_all(texts, teencode, seed=7)
    assert set(PERTURBATIONS) == {"no_diacritics", "teencode"}
