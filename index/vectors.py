"""Vector stores behind one protocol; the default picks exact or approximate FAISS search by size.

`FaissStore` keeps every vector exactly once, under its stable int64 chunk id, in one of two layouts:

- below `ANN_MIN` vectors an exact flat index (`IndexIDMap2(IndexFlatIP)`): at that size a brute-force scan
  costs a few milliseconds;
- from `ANN_MIN` vectors on an inverted-file index (`IndexIVFFlat`, inner product, `nlist = 4·√n` lists,
  `nprobe = nlist / 8`, a hash-table id map): a query scans only the lists nearest to it. The vectors are stored
  uncompressed, so `vectors_of` is exact, and `remove` is native (no rebuild, no tombstones).

The layout follows the size on every change: the flat index is converted when it reaches `ANN_MIN`, the inverted
file is re-trained when it has grown or shrunk by a factor of four since its training (its lists stay balanced),
and it turns back into a flat index below `ANN_MIN / 2` (the gap avoids flapping around the threshold). New
vectors between re-trainings go to the list of their nearest centroid, as usual for IVF.

Filtered searches (`allowed`) over few ids are exact (their vectors are compared directly); over many ids the
inverted file searches with an id selector and proportionally more lists.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

ANN_MIN = 50_000  # from this many vectors on, search is approximate
REGROW_FACTOR = 4  # re-train the inverted file after growing or shrinking this much since training
TRAIN_PER_LIST = 40  # training sample: this many vectors per list (faiss recommends 30 to 256)
EXACT_FILTER_MAX = 20_000  # filtered searches over at most this many ids are exact


class VectorStore(Protocol):
    dim: int

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each of shape (len(queries), k); missing results have id -1.

        With `allowed`, only those ids are considered.
        """

    def vectors_of(self, ids: list[int]) -> np.ndarray: ...

    def cosines(self, ids: list[int], query: np.ndarray) -> np.ndarray:
        """The cosine of each of the stored vectors `ids` to `query`."""

    def write(self, path: Path) -> None:
        """Write to `path` and flush it to disk (no rename: see `save`)."""

    def save(self, path: Path) -> None: ...


def list_count(n: int) -> int:
    """Number of inverted lists for `n` vectors: 4·√n."""
    return max(1, int(4 * math.sqrt(n)))


def default_nprobe(nlist: int) -> int:
    """Lists scanned per query: an eighth of them (recall@10 ≥ 0.98 against exact search, see bench/run.py)."""
    return max(1, min(nlist, max(16, nlist // 8)))


def _flat(dim: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _is_ivf(index: faiss.Index) -> bool:
    return isinstance(index, faiss.IndexIVF)


def _ivf(vectors: np.ndarray, ids: np.ndarray, seed: int = 1234) -> faiss.IndexIVFFlat:
    """An inverted-file index trained on (a sample of) `vectors`, holding all of them under `ids`."""
    dim, nlist = vectors.shape[1], list_count(len(vectors))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    sample_size = min(len(vectors), TRAIN_PER_LIST * nlist)
    sample = vectors[np.random.default_rng(seed).choice(len(vectors), sample_size, replace=False)]
    index.cp.min_points_per_centroid = 1  # small samples are fine; no warnings
    index.cp.niter = 10  # k-means iterations: 10 balance the lists as well as the default 25, in 40 % of the time
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)
    index.nprobe = default_nprobe(nlist)
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    return index


def _ids_of(index: faiss.Index) -> np.ndarray:
    if not _is_ivf(index):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    lists = index.invlists
    parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
             for i in range(index.nlist) if lists.list_size(i)]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


class FaissStore:
    """Cosine search (normalised vectors, inner product) with stable int64 chunk ids; exact or IVF by size."""

    def __init__(self, dim: int, index: faiss.Index | None = None, *, ann_min: int = ANN_MIN):
        self.dim = dim
        self.ann_min = ann_min
        self._index = index if index is not None else _flat(dim)

    @classmethod
    def load(cls, path: Path, *, ann_min: int = ANN_MIN) -> FaissStore:
        index = faiss.read_index(str(path))
        return cls(index.d, index, ann_min=ann_min)

    @classmethod
    def from_vectors(cls, ids: np.ndarray, vectors: np.ndarray, *, ann_min: int = ANN_MIN) -> FaissStore:
        """A store holding `vectors` under `ids`, in the layout their number calls for (one bulk build)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) >= ann_min:
            return cls(vectors.shape[1], _ivf(vectors, ids), ann_min=ann_min)
        store = cls(vectors.shape[1], ann_min=ann_min)
        store.add(ids, vectors)
        return store

    @property
    def approximate(self) -> bool:
        return _is_ivf(self._index)

    @property
    def nprobe(self) -> int | None:
        return int(self._index.nprobe) if self.approximate else None

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if self.approximate:
            self._index.nprobe = max(1, min(int(value), self._index.nlist))

    def __len__(self) -> int:
        return self._index.ntotal

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
            self._adapt()

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))
            self._adapt()

    def _adapt(self) -> None:
        """Switch layout or re-train when the size has moved far from what the current layout was made for."""
        n = len(self)
        if not self.approximate:
            if n >= self.ann_min:
                self._rebuild(approximate=True)
            return
        trained_for = (self._index.nlist / 4) ** 2
        if n < self.ann_min // 2:
            self._rebuild(approximate=False)
        elif n > REGROW_FACTOR * trained_for or n * REGROW_FACTOR < trained_for:
            self._rebuild(approximate=True)

    def _rebuild(self, *, approximate: bool) -> None:
        ids = self.ids()
        vectors = self.vectors_of(ids.tolist())
        if approximate:
            self._index = _ivf(vectors, ids)
        else:
            self._index = _flat(self.dim)
            self._index.add_with_ids(vectors, ids)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, len(self)))
        if allowed is None:
            return self._index.search(queries, k)
        allowed = np.unique(np.asarray(allowed, dtype=np.int64))
        if self.approximate and len(allowed) <= EXACT_FILTER_MAX:
            return self._search_among(queries, k, allowed)
        return self._index.search(queries, k, params=self._selector_params(allowed))

    def _selector_params(self, allowed: np.ndarray) -> faiss.SearchParameters:
        selector = faiss.IDSelectorBatch(allowed)
        if not self.approximate:
            return faiss.SearchParameters(sel=selector)
        share = max(len(allowed) / max(len(self), 1), 1e-9)
        nprobe = min(self._index.nlist, math.ceil(self._index.nprobe / share))
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)

    def _search_among(self, queries: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact search over the stored ones among `allowed`."""
        present = allowed[self._present(allowed)]
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        found = np.full((len(queries), k), -1, dtype=np.int64)
        if not len(present):
            return scores, found
        similarity = queries @ self.vectors_of(present.tolist()).T
        top = min(k, len(present))
        best = np.argsort(-similarity, axis=1)[:, :top]
        scores[:, :top] = np.take_along_axis(similarity, best, axis=1)
        found[:, :top] = present[best]
        return scores, found

    def _present(self, ids: np.ndarray) -> np.ndarray:
        """Mask of the ids that are stored."""
        return np.isin(ids, self.ids())

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.dim), "float32")
        return self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def cosines(self, ids: list[int], query: np.ndarray) -> np.ndarray:
        return self.vectors_of(ids) @ query

    def ids(self) -> np.ndarray:
        return _ids_of(self._index)

    def write(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))
        with open(path, "rb+") as stream:
            os.fsync(stream.fileno())

    def save(self, path: Path) -> None:
        """Write to a temporary name, flush to disk, then rename: a crash leaves the old file intact."""
        temporary = path.with_name(path.name + ".tmp")
        self.write(temporary)
        os.replace(temporary, path)


def pack_int8(matrix: np.ndarray) -> bytes:
    """Rows as int8 with one float32 scale each (symmetric): a quarter of the bytes, cosines within ~0.5%."""
    matrix = np.asarray(matrix, dtype=np.float32)
    scales = np.maximum(np.abs(matrix).max(axis=1), 1e-12) / 127
    codes = np.rint(matrix / scales[:, None]).astype(np.int8)
    return scales.astype("<f4").tobytes() + codes.tobytes()


def closest_cosines(packed: list[bytes], query: np.ndarray) -> np.ndarray:
    """For each `pack_int8` matrix, the largest cosine of its rows to `query` (one matrix product for all)."""
    dim = len(query)
    counts = [len(blob) // (4 + dim) for blob in packed]
    scales = np.concatenate([np.frombuffer(blob, dtype="<f4", count=n) for blob, n in zip(packed, counts)])
    codes = np.concatenate([np.frombuffer(blob, dtype=np.int8, offset=4 * n) for blob, n in zip(packed, counts)])
    cosines = (codes.reshape(-1, dim).astype(np.float32) @ query) * scales
    return np.maximum.reduceat(cosines, np.cumsum([0, *counts[:-1]]))


def row_cosines(blob: bytes, query: np.ndarray) -> np.ndarray:
    """The cosine of each row of one `pack_int8` matrix to `query`."""
    dim = len(query)
    count = len(blob) // (4 + dim)
    scales = np.frombuffer(blob, dtype="<f4", count=count)
    codes = np.frombuffer(blob, dtype=np.int8, offset=4 * count).reshape(count, dim)
    return (codes.astype(np.float32) @ query) * scales
