"""In-memory BM25 over German stems, built once per committed generation from the catalog's term bags.

A query touches only the postings of its own terms, so its cost grows with those postings, not with the number
of chunks that merely match (which is what made SQLite FTS5's ranking slow at scale).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

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
    weights: np.ndarray  # float16: plenty for ranking, half the memory
    idf: np.ndarray
    sorted_terms: list[str]

    @classmethod
    def build(cls, generation: int, chunks: int, postings: int, bags: Iterable[list[tuple[int, bytes]]],
              vocabulary: dict[int, str]) -> KeywordIndex:
        """From `bags`, blocks of (chunk id, bag) rows in chunk id order: `chunks` rows, `postings` pairs in all.

        Memory stays near the final size (2 x 6 bytes per posting while transposing), which matters at 10^8.
        """
        from scipy.sparse import csr_matrix

        index_type = np.int32 if postings < 2**31 else np.int64
        chunk_ids = np.empty(chunks, dtype=np.int64)
        indptr = np.zeros(chunks + 1, dtype=index_type)
        term_ids = np.empty(postings, dtype=index_type)
        counts = np.empty(postings, dtype=np.uint16)
        row = filled = 0
        for block in bags:
            pairs = np.frombuffer(b"".join(blob for _, blob in block), dtype=BAG_DTYPE).reshape(-1, 2)
            chunk_ids[row:row + len(block)] = [chunk_id for chunk_id, _ in block]
            indptr[row + 1:row + len(block) + 1] = filled + np.cumsum([len(blob) // 8 for _, blob in block])
            term_ids[filled:filled + len(pairs)] = pairs[:, 0]
            counts[filled:filled + len(pairs)] = np.minimum(pairs[:, 1], np.iinfo(np.uint16).max)
            row, filled = row + len(block), filled + len(pairs)
        width = int(term_ids.max()) + 1 if postings else 1
        by_chunk = csr_matrix((counts, term_ids, indptr), shape=(chunks, width), copy=False)
        lengths = np.asarray(by_chunk.sum(axis=1, dtype=np.float64)).ravel()
        del term_ids, counts
        by_term = by_chunk.tocsc()
        del by_chunk
        return cls._from_postings(generation, chunk_ids, by_term, lengths, vocabulary)

    @classmethod
    def _from_postings(cls, generation: int, chunk_ids: np.ndarray, by_term, lengths: np.ndarray,
                       vocabulary: dict[int, str]) -> KeywordIndex:
        chunks = len(chunk_ids)
        containing = np.diff(by_term.indptr)
        idf = np.log1p((chunks - containing + 0.5) / (containing + 0.5)).astype(np.float32)
        norm = (K1 * (1 - B + B * lengths / max(float(lengths.mean()) if chunks else 1.0, 1e-9))).astype(np.float32)
        weights = np.empty(len(by_term.data), dtype=np.float16)
        for start in range(0, len(weights), 1 << 22):  # in slices: no full-size temporaries
            end = start + (1 << 22)
            tf = by_term.data[start:end].astype(np.float32)
            weights[start:end] = tf * (K1 + 1) / (tf + norm[by_term.indices[start:end]])
        columns = {vocabulary[int(i)]: int(i) for i in np.flatnonzero(containing) if int(i) in vocabulary}
        return cls(generation, chunk_ids, columns, by_term.indptr, by_term.indices, weights, idf, sorted(columns))

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
            scores[self.rows[start:end]] += self.idf[column] * self.weights[start:end].astype(np.float32)
        candidates = np.flatnonzero(scores)
        if allowed is not None:
            candidates = candidates[np.isin(self.chunk_ids[candidates], allowed)]
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        best = candidates[np.argsort(-scores[candidates], kind="stable")]
        return list(zip(self.chunk_ids[best].tolist(), scores[best].tolist()))

    @cached_property
    def max_idf(self) -> float:
        """The rarest term's idf: the weight of a term the index never saw."""
        return float(self.idf.max()) if len(self.idf) else 1.0

    def known(self, term: str, prefix_letters: int) -> bool:
        """Whether `term` occurs in the index; terms longer than `prefix_letters` also match by prefix."""
        if term in self.columns:
            return True
        if len(term) <= prefix_letters:
            return False
        prefix = term[:prefix_letters]
        position = bisect.bisect_left(self.sorted_terms, prefix)
        return position < len(self.sorted_terms) and self.sorted_terms[position].startswith(prefix)
