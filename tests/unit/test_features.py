import numpy as np
import pytest

from nlp.features import FeatureSpec, Featurizer, tokenize
from nlp.normalize import strip_diacritics as fold
from schemas.errors import ModelError

TEXTS = [
    "pin trâu , camera đẹp",
    "pin yếu quá , camera mờ",
    "giao hàng nhanh , pin trâu",
    "pin trau lam",
]


def _fit(spec: FeatureSpec | None = None) -> Featurizer:
    return Featurizer.fit([tokenize(t) for t in TEXTS], spec or FeatureSpec(min_df=1))


def _row(featurizer: Featurizer, text: str) -> set[int]:
    return set(featurizer.transform([tokenize(text)]).indices.tolist())


def test_tokenize_splits_syllables_and_punctuation() -> None:
    assert tokenize("pin trâu,giá ok!! <url>") == [
        "pin",
        "trâu",
        ",",
        "giá",
        "ok",
        "!",
        "!",
        "<",
        "url",
        ">",
    ]


def test_fold_removes_every_diacritic() -> None:
    assert fold("Điện thoại dùng được, rất ổn") == "Dien thoai dung duoc, rat on"
    assert fold("plain ascii") == "plain ascii"


def test_rows_are_l2_normalized_and_empty_text_gives_empty_row() -> None:
    featurizer = _fit()
    matrix = featurizer.transform([tokenize(t) for t in [*TEXTS, "", "xyz hoàn toàn mới"]])
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms[: len(TEXTS)], 1.0, rtol=1e-5)
    assert matrix[len(TEXTS)].nnz == 0
    assert matrix[len(TEXTS) + 1].nnz == 0
    assert matrix.shape == (len(TEXTS) + 2, featurizer.n_features)


def test_bigrams_only_match_inside_one_text() -> None:
    featurizer = _fit(FeatureSpec(min_df=1, fold_view=False))
    together = _row(featurizer, "pin trâu")
    apart = featurizer.transform([tokenize("pin"), tokenize("trâu")])
    # "pin trâu" has a bigram column that two separate one-word texts never get
    assert len(together) == 3
    assert set(apart.indices.tolist()) < together


def test_fold_view_matches_text_typed_without_diacritics() -> None:
    featurizer = _fit()
    accented = _row(featurizer, "pin trâu")
    plain = _row(featurizer, "pin trau")
    assert accented & plain  # the fold n-grams are shared
    word_only = _fit(FeatureSpec(min_df=1, fold_view=False))
    assert _row(word_only, "camera đẹp") & _row(word_only, "camera dep") == _row(
        word_only, "camera"
    )


def test_unknown_token_still_gets_its_fold_feature() -> None:
    featurizer = _fit()
    # "trầu" never occurs in training, but its fold "trau" does: it gets the fold column only
    unknown = _row(featurizer, "trầu")
    assert len(unknown) == 1
    assert unknown < _row(featurizer, "trau")
    assert unknown < _row(featurizer, "trâu")


def test_min_df_drops_rare_ngrams() -> None:
    rare = _fit(FeatureSpec(min_df=1)).n_features
    common = _fit(FeatureSpec(min_df=2)).n_features
    assert common < rare


def test_trigrams_add_columns() -> None:
    assert _fit(FeatureSpec(min_df=1, ngram_max=3)).n_features > _fit().n_features


def test_batch_result_equals_one_by_one() -> None:
    featurizer = _fit()
    batch = featurizer.transform([tokenize(t) for t in TEXTS]).toarray()
    single = np.vstack([featurizer.transform([tokenize(t)]).toarray() for t in TEXTS])
    np.testing.assert_allclose(batch, single)


def test_arrays_round_trip_gives_the_same_features() -> None:
    featurizer = _fit(FeatureSpec(min_df=1, ngram_max=3))
    arrays = featurizer.to_arrays()
    assert all(a.dtype != object for a in arrays.values())
    again = Featurizer.from_arrays(featurizer.spec, arrays)
    probe = [tokenize(t) for t in [*TEXTS, "pin trầu camera dep"]]
    np.testing.assert_array_equal(
        featurizer.transform(probe).toarray(), again.transform(probe).toarray()
    )


def test_bad_spec_and_corrupt_arrays_raise_model_error() -> None:
    with pytest.raises(ModelError, match="ngram_max"):
        FeatureSpec(ngram_max=4)
    arrays = _fit().to_arrays()
    del arrays["col_uni_fold"]
    with pytest.raises(ModelError, match="uni_fold"):
        Featurizer.from_arrays(FeatureSpec(min_df=1), arrays)
