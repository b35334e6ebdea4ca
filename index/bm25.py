"""In-memory BM25 over German stems, built once per committed generation from the catalog's term bags.

A query touches only the postings of its own terms: a few thousand numpy additions at 100,000 chunks, a few
hundred thousand at a million, instead of SQLite FTS5 scoring every matching row through an auxiliary function.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

K1, B = 1.2, 0.75
BAG_DTYPE = np.dtype("<i4")  # a chunk's bag: (term id, count) pairs, flattened


def encode_bag(term_ids: dict[str, int], terms: Sequence[str]) -> bytes:
    """The bag of `terms` (one chunk's stems) as stored in the catalog."""
    pairs = [(term_ids[term], count) for term, count in Counter(terms).items()]
    return np.asarray(pairs, dtype=BAG_DTYPE).tobytes()


@dataclass(frozen=True)
class KeywordIndex:
    """Term-major postings with precomputed BM25 term-frequency parts (k1=1.2, b=0.75)."""

    generation: int
    chunk_ids: np.ndarray  # row -> chunk id, ascending
    columns: dict[str, int]  # term -> column, only terms that occur
    indptr: np.ndarray  # column -> its postings in rows/weights
    rows: np.ndarray
    weights: np.ndarray
    idf: np.ndarray
    sorted_terms: list[str]

    @classmethod
    def build(cls, generation: int, bags: Iterable[tuple[int, bytes]], vocabulary: dict[int, str]) -> KeywordIndex:
        from scipy.sparse import csr_matrix

        chunk_ids, blobs = [], []
        for chunk_id, blob in bags:
            chunk_ids.append(chunk_id)
            blobs.append(blob)
        pairs = np.frombuffer(b"".join(blobs), dtype=BAG_DTYPE).reshape(-1, 2)
        indptr = np.zeros(len(blobs) + 1, dtype=np.int64)
        np.cumsum([len(blob) // (2 * BAG_DTYPE.itemsize) for blob in blobs], out=indptr[1:])
        del blobs
        width = int(pairs[:, 0].max()) + 1 if len(pairs) else 1
        by_chunk = csr_matrix((pairs[:, 1].astype(np.float32), pairs[:, 0].copy(), indptr),
                              shape=(len(chunk_ids), width))
        del pairs
        lengths = np.asarray(by_chunk.sum(axis=1)).ravel()
        by_term = by_chunk.tocsc()
        del by_chunk
        return cls._from_postings(generation, np.asarray(chunk_ids, dtype=np.int64), by_term, lengths, vocabulary)

    @classmethod
    def _from_postings(cls, generation: int, chunk_ids: np.ndarray, by_term, lengths: np.ndarray,
                       vocabulary: dict[int, str]) -> KeywordIndex:
        chunks = len(chunk_ids)
        counts = np.diff(by_term.indptr)
        idf = np.log1p((chunks - counts + 0.5) / (counts + 0.5)).astype(np.float32)
        norm = (K1 * (1 - B + B * lengths / max(float(lengths.mean()) if chunks else 1.0, 1e-9))).astype(np.float32)
        tf = by_term.data
        weights = tf * (K1 + 1) / (tf + norm[by_term.indices])
        columns = {vocabulary[int(i)]: int(i) for i in np.flatnonzero(counts) if int(i) in vocabulary}
        return cls(generation, chunk_ids, columns, by_term.indptr.astype(np.int64), by_term.indices.astype(np.int32),
                   weights.astype(np.float32), idf, sorted(columns))

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def search(self, terms: Sequence[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The `k` best (chunk id, BM25 score) pairs for the stemmed `terms`, optionally among `allowed` ids."""
        columns = [self.columns[term] for term in dict.fromkeys(terms) if term in self.columns]
        if not columns or k <= 0:
            return []
        scores = np.zeros(len(self.chunk_ids), dtype=np.float32)
        for column in columns:
            start, end = self.indptr[column], self.indptr[column + 1]
            scores[self.rows[start:end]] += self.idf[column] * self.weights[start:end]
        candidates = np.flatnonzero(scores)
        if allowed is not None:
            candidates = candidates[np.isin(self.chunk_ids[candidates], allowed)]
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        best = candidates[np.argsort(-scores[candidates], kind="stable")]
        return list(zip(self.chunk_ids[best].tolist(), scores[best].tolist()))

    def known(self, term: str, prefix_letters: int) -> bool:
        """Whether `term` occurs in the index; terms longer than `prefix_letters` also match by prefix."""
        if term in self.columns:
            return True
        if len(term) <= prefix_letters:
            return False
        prefix = term[:prefix_letters]
        position = bisect.bisect_left(self.sorted_terms, prefix)
        return position < len(self.sorted_terms) and self.sorted_terms[position].startswith(prefix)
