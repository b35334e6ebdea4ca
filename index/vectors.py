"""Vector stores behind one protocol; the default keeps exact inner-product search in FAISS."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np


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

    def save(self, path: Path) -> None: ...


class FaissStore:
    """Exact cosine search (normalised vectors, inner product) with stable int64 chunk ids."""

    def __init__(self, dim: int, index: faiss.Index | None = None):
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        index = faiss.read_index(str(path))
        return cls(index.d, index)

    def __len__(self) -> int:
        return self._index.ntotal

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        k = max(1, min(k, len(self)))
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)))
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        return np.vstack([self._index.reconstruct(int(i)) for i in ids]) if ids else np.zeros((0, self.dim), "float32")

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def save(self, path: Path) -> None:
        """Write to a temporary name, flush to disk, then rename: a crash leaves the old file intact."""
        temporary = path.with_name(path.name + ".tmp")
        faiss.write_index(self._index, str(temporary))
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, path)
