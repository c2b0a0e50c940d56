"""Sparse n-gram features for the fast models, computed on whole batches.

A :class:`Featurizer` turns tokenized, normalized texts into a sparse matrix
(``scipy.sparse.csr_matrix``) of:

- syllable uni- (and bi-, tri-) grams of the text as written (Vietnamese words are often
  two or three syllables, so syllable bigrams carry most of the word information);
- the same n-grams of its *fold*: diacritics removed and ``đ`` -> ``d`` by
  :func:`nlp.normalize.strip_diacritics` (the one fold that also serves the search column
  and the detectors), so that a message typed without tone marks shares features with the
  same words typed with them;

  (these two views form one l2-normalized tf-idf block)

- *markers*: named binary features a rule computed for the message (its source, its shape,
  what the sentiment lexicon, the taxonomy seeds and the flag cues read in it: see
  :mod:`nlp.cues`), one column each, with the value 1 and outside the l2 norm, so a model
  can learn how much to trust each rule on any wording.

Only the tokenizing and one dictionary lookup per token run in Python; n-gram keys are built
and matched with numpy on the whole batch (``searchsorted`` on sorted integer keys), which is
what keeps inference at a few microseconds per message. Every table is a plain array, so a
featurizer is saved and loaded without pickles (:meth:`Featurizer.to_arrays`,
:meth:`Featurizer.from_arrays`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from nlp.normalize import strip_diacritics
from schemas.errors import ModelError

TOKEN_RE = re.compile(r"\w+|[^\w\s]")
"""A token is a run of word characters or one other non-space character."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


def tokenize(text: str) -> list[str]:
    """Split a normalized text into syllables and single punctuation marks.

    >>> tokenize("pin trâu, giá ok!")
    ['pin', 'trâu', ',', 'giá', 'ok', '!']
    """
    return TOKEN_RE.findall(text)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """How texts become features; saved in every artifact's manifest."""

    ngram_max: int = 2
    """Longest syllable n-gram, 1 to 3, in both views."""
    fold_view: bool = True
    """Add the n-grams of the diacritics-free fold of each text."""
    min_df: int = 2
    """Keep an n-gram only if at least this many training texts contain it."""
    markers: tuple[str, ...] = ()
    """Families of marker features the model reads (:data:`nlp.cues.MARKER_FAMILIES`)."""

    def __post_init__(self) -> None:
        if not 1 <= self.ngram_max <= 3:
            msg = f"FeatureSpec.ngram_max must be 1, 2 or 3, got {self.ngram_max}"
            raise ModelError(msg)
        if self.min_df < 1:
            msg = f"FeatureSpec.min_df must be >= 1, got {self.min_df}"
            raise ModelError(msg)
        object.__setattr__(self, "markers", tuple(self.markers))

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as plain JSON values."""
        data = asdict(self)
        data["markers"] = list(self.markers)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        """Rebuild a spec written by :meth:`to_dict`."""
        try:
            return cls(**data)
        except TypeError as exc:
            msg = f"feature spec has unknown or missing fields: {data}"
            raise ModelError(msg) from exc


_VIEWS = ("word", "fold")


class Featurizer:
    """Maps token lists (and marker lists) to rows over a fixed vocabulary.

    The n-gram block of a row is l2-normalized tf-idf; each marker the featurizer knows adds
    a column of value 1 after it. Build one with :meth:`fit` on training texts; it then only
    reads its arrays.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        lexicon: Sequence[str],
        fold_of: IntArray,
        columns: dict[str, IntArray],
        idf: FloatArray,
        markers: Sequence[str] = (),
    ) -> None:
        self.spec = spec
        self.lexicon = list(lexicon)
        self._index = {token: i for i, token in enumerate(self.lexicon)}
        self.fold_of = fold_of
        self._columns = columns
        """For each (view, n): n=1 maps token id -> column (or -1); n>1 holds the sorted
        integer keys of kept n-grams (``keys_{view}_{n}``) and their first column
        (``offset_{view}_{n}``, a one-element array)."""
        self.idf = idf
        self.markers = tuple(markers)
        """Marker names, in column order after the n-gram columns."""
        self._marker_column = {m: int(idf.shape[0]) + k for k, m in enumerate(self.markers)}
        if len(self.lexicon) != len(self.fold_of):
            msg = (
                f"featurizer lexicon has {len(self.lexicon)} tokens but fold map has "
                f"{len(self.fold_of)} entries"
            )
            raise ModelError(msg)

    @property
    def n_ngrams(self) -> int:
        """Number of n-gram columns (the tf-idf block)."""
        return int(self.idf.shape[0])

    @property
    def n_features(self) -> int:
        """Number of columns of the matrices :meth:`transform` returns."""
        return self.n_ngrams + len(self.markers)

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        token_lists: Sequence[Sequence[str]],
        spec: FeatureSpec,
        marker_lists: Sequence[Sequence[str]] | None = None,
    ) -> Featurizer:
        """Build the vocabulary and idf weights from training texts (already tokenized).

        Every marker of ``marker_lists`` (one list per text) gets a column, in sorted order.
        """
        index: dict[str, int] = {}
        for tokens in token_lists:
            for token in tokens:
                if token not in index:
                    index[token] = len(index)
        for token in list(index):
            folded = strip_diacritics(token)
            if folded not in index:
                index[folded] = len(index)
        lexicon = list(index)
        fold_of = np.fromiter(
            (index[strip_diacritics(t)] for t in lexicon), dtype=np.int64, count=len(index)
        )
        n_tokens = len(lexicon)

        counters = {(view, n): Counter[int]() for view in _VIEWS for n in range(1, 4)}
        for tokens in token_lists:
            ids = np.fromiter((index[t] for t in tokens), dtype=np.int64, count=len(tokens))
            for view in cls._views(spec):
                seq = ids if view == "word" else fold_of[ids]
                for n in range(1, spec.ngram_max + 1):
                    if len(seq) >= n:
                        keys = _ngram_keys(seq, n, n_tokens)
                        counters[(view, n)].update(set(keys.tolist()))

        columns: dict[str, IntArray] = {}
        next_column = 0
        for view in cls._views(spec):
            for n in range(1, spec.ngram_max + 1):
                kept = np.array(
                    sorted(k for k, df in counters[(view, n)].items() if df >= spec.min_df),
                    dtype=np.int64,
                )
                if n == 1:
                    table = np.full(n_tokens, -1, dtype=np.int64)
                    table[kept] = np.arange(next_column, next_column + len(kept))
                    columns[f"uni_{view}"] = table
                else:
                    columns[f"keys_{view}_{n}"] = kept
                    columns[f"offset_{view}_{n}"] = np.array([next_column], dtype=np.int64)
                next_column += len(kept)

        featurizer = cls(spec, lexicon, fold_of, columns, np.ones(next_column, dtype=np.float32))
        counts = featurizer.transform(token_lists, weighted=False)
        df = np.bincount(counts.indices, minlength=next_column)
        n_docs = len(token_lists)
        idf = (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
        markers = sorted({m for found in marker_lists or () for m in found})
        return cls(spec, lexicon, fold_of, columns, idf, markers)

    @staticmethod
    def _views(spec: FeatureSpec) -> tuple[str, ...]:
        return _VIEWS if spec.fold_view else _VIEWS[:1]

    # -- inference --------------------------------------------------------------------------

    def token_ids(self, token_lists: Iterable[Sequence[str]]) -> tuple[IntArray, IntArray]:
        """Return the lexicon ids of all tokens (``-1`` when unknown) and each text's length."""
        get = self._index.get
        ids: list[int] = []
        lengths: list[int] = []
        for tokens in token_lists:
            ids.extend([get(t, -1) for t in tokens])
            lengths.append(len(tokens))
        return np.array(ids, dtype=np.int64), np.array(lengths, dtype=np.int64)

    def transform(
        self,
        token_lists: Sequence[Sequence[str]],
        marker_lists: Sequence[Sequence[str]] | None = None,
        *,
        weighted: bool = True,
    ) -> sp.csr_matrix:
        """Return one row per token list: l2-normalized tf-idf n-grams, then its markers.

        Without ``weighted``, the n-gram block holds binary counts. Markers the featurizer
        does not know are ignored.
        """
        n_docs = len(token_lists)
        ids, lengths = self.token_ids(token_lists)
        doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        known = ids >= 0
        fold_ids = np.where(known, self.fold_of[np.maximum(ids, 0)], -1)
        if not known.all():
            fold_ids = self._fold_unknown(token_lists, ids, fold_ids)

        docs: list[IntArray] = []
        cols: list[IntArray] = []
        n_tokens = len(self.lexicon)
        for view in self._views(self.spec):
            seq = ids if view == "word" else fold_ids
            table = self._columns[f"uni_{view}"]
            cols.append(np.where(seq >= 0, table[np.maximum(seq, 0)], -1))
            docs.append(doc)
            for n in range(2, self.spec.ngram_max + 1):
                if len(seq) < n:
                    continue
                keys = self._columns[f"keys_{view}_{n}"]
                offset = int(self._columns[f"offset_{view}_{n}"][0])
                valid = doc[: len(doc) - n + 1] == doc[n - 1 :]
                for k in range(n):
                    valid &= seq[k : len(seq) - n + 1 + k] >= 0
                grams = _ngram_keys(seq, n, n_tokens)
                if len(keys) == 0:
                    continue
                pos = np.minimum(np.searchsorted(keys, grams), len(keys) - 1)
                hit = valid & (keys[pos] == grams)
                cols.append(np.where(hit, pos + offset, -1))
                docs.append(doc[: len(doc) - n + 1])

        if marker_lists is not None and self.markers:
            marker_rows, marker_cols = self._marker_entries(marker_lists)
            cols.append(marker_cols)
            docs.append(marker_rows)
        col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        row = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int64)
        keep = col >= 0
        n_features = self.n_features
        flat = np.sort(row[keep] * n_features + col[keep])
        if len(flat):
            first = np.ones(len(flat), dtype=bool)
            first[1:] = flat[1:] != flat[:-1]
            flat = flat[first]
        rows = flat // n_features
        columns = flat % n_features
        ngram = columns < self.n_ngrams
        data = np.ones(len(columns), dtype=np.float32)
        if weighted:
            safe = np.minimum(columns, max(self.n_ngrams - 1, 0))
            idf = self.idf if self.n_ngrams else np.zeros(1, dtype=np.float32)
            weights = np.where(ngram, idf[safe], 0.0)
            norms = np.sqrt(np.bincount(rows, weights=np.square(weights, dtype=np.float64)))
            scaled = weights / np.maximum(norms[rows], 1e-12)
            data = np.where(ngram, scaled, 1.0).astype(np.float32)
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
        return sp.csr_matrix((data, columns.astype(np.int32), indptr), shape=(n_docs, n_features))

    def _marker_entries(self, marker_lists: Sequence[Sequence[str]]) -> tuple[IntArray, IntArray]:
        """(row, column) of every known marker of every row."""
        get = self._marker_column.get
        rows: list[int] = []
        columns: list[int] = []
        for i, found in enumerate(marker_lists):
            for marker in found:
                column = get(marker)
                if column is not None:
                    rows.append(i)
                    columns.append(column)
        return np.array(rows, dtype=np.int64), np.array(columns, dtype=np.int64)

    def _fold_unknown(
        self, token_lists: Sequence[Sequence[str]], ids: IntArray, fold_ids: IntArray
    ) -> IntArray:
        """Look up the fold of tokens missing from the lexicon (the rare, slow path)."""
        get = self._index.get
        flat = [t for tokens in token_lists for t in tokens]
        out = fold_ids.copy()
        for position in np.flatnonzero(ids < 0).tolist():
            out[position] = get(strip_diacritics(flat[position]), -1)
        return out

    # -- storage ----------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """All tables as named numpy arrays (lexicon and markers as newline-separated UTF-8)."""
        arrays: dict[str, npt.NDArray[Any]] = {
            "lexicon_utf8": _utf8_lines(self.lexicon),
            "fold_of": self.fold_of.astype(np.int32),
            "idf": self.idf.astype(np.float32),
        }
        if self.markers:
            arrays["markers_utf8"] = _utf8_lines(self.markers)
        for name, table in self._columns.items():
            arrays[f"col_{name}"] = table
        return arrays

    @classmethod
    def from_arrays(cls, spec: FeatureSpec, arrays: dict[str, npt.NDArray[Any]]) -> Featurizer:
        """Rebuild a featurizer saved by :meth:`to_arrays`."""
        try:
            lexicon = _lines_utf8(arrays["lexicon_utf8"])
            markers = _lines_utf8(arrays["markers_utf8"]) if "markers_utf8" in arrays else []
            columns = {
                name[len("col_") :]: np.asarray(table, dtype=np.int64)
                for name, table in arrays.items()
                if name.startswith("col_")
            }
            fold_of = np.asarray(arrays["fold_of"], dtype=np.int64)
            idf = np.asarray(arrays["idf"], dtype=np.float32)
        except (KeyError, UnicodeDecodeError) as exc:
            msg = f"featurizer arrays are incomplete or corrupt: {exc}"
            raise ModelError(msg) from exc
        for view in cls._views(spec):
            if f"uni_{view}" not in columns:
                msg = f"featurizer arrays lack the column table uni_{view}"
                raise ModelError(msg)
        return cls(spec, lexicon, fold_of, columns, idf, markers)


def _utf8_lines(lines: Sequence[str]) -> npt.NDArray[np.uint8]:
    return np.frombuffer("\n".join(lines).encode("utf-8"), dtype=np.uint8).copy()


def _lines_utf8(array: npt.NDArray[Any]) -> list[str]:
    text = array.astype(np.uint8).tobytes().decode("utf-8")
    return text.split("\n") if text else []


def _ngram_keys(seq: IntArray, n: int, base: int) -> IntArray:
    """Integer keys of the n-grams of ``seq`` (ids below ``base``), one per start position."""
    if n == 1:
        return seq
    keys = seq[: len(seq) - n + 1].copy()
    for k in range(1, n):
        keys = keys * base + seq[k : len(seq) - n + 1 + k]
    return keys
