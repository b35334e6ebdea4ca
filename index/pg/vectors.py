"""Chunk vectors in pgvector: an HNSW index for inner product over the normalised vectors, searched with
`hnsw.ef_search` candidates; a filter is a SQL condition that iterative index scans keep filling (pgvector 0.8)."""

from __future__ import annotations

import struct

import numpy as np

from index.pg.database import Database

FLOAT = np.dtype(">f4")


def vector_literal(vector: np.ndarray) -> str:
    """pgvector's text form; nine significant digits give back the same float32."""
    return "[" + ",".join(f"{value:.9g}" for value in np.asarray(vector, dtype=np.float32).tolist()) + "]"


def vector_binary(vector: np.ndarray) -> bytes:
    """pgvector's binary form (for COPY): dimension, a reserved zero, big-endian float32 values."""
    return struct.pack(">HH", len(vector), 0) + np.asarray(vector, dtype=FLOAT).tobytes()


def from_binary(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=FLOAT, offset=4).astype(np.float32)


class PgVectors:
    """The `VectorStore` of a database index; reads and writes join the calling thread's transaction."""

    def __init__(self, database: Database, dim: int, size: int):
        self.database = database
        self.dim = dim
        self.size = size  # as of the last refresh or commit

    def __len__(self) -> int:
        return self.size

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        with self.database.connection() as connection, connection.cursor() as cursor, cursor.copy(
                "COPY chunk_vectors (chunk_id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "bytea"])
            for chunk_id, vector in zip(ids.tolist(), vectors):
                copy.write_row((chunk_id, vector_binary(vector)))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):  # usually gone already with their chunks (ON DELETE CASCADE)
            self.database.execute("DELETE FROM chunk_vectors WHERE chunk_id = ANY(%s)", (ids.tolist(),))

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        k = max(1, min(k, self.size))
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        found = np.full((len(queries), k), -1, dtype=np.int64)
        where, params = ("", []) if allowed is None else ("WHERE chunk_id = ANY(%s)", [np.asarray(allowed).tolist()])
        query = (f"SELECT chunk_id, embedding <#> %s::vector AS distance FROM chunk_vectors {where} "
                 "ORDER BY distance LIMIT %s")
        with self.database.connection() as connection:
            for row, vector in enumerate(queries):
                hits = connection.execute(query, [vector_literal(vector), *params, k]).fetchall()
                hits.sort(key=lambda hit: hit[1])  # iterative scans may return them slightly out of order
                for column, (chunk_id, distance) in enumerate(hits):
                    found[row, column], scores[row, column] = chunk_id, -distance
        return scores, found

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.dim), "float32")
        with self.database.connection() as connection, connection.cursor(binary=True) as cursor:
            cursor.execute("SELECT chunk_id, embedding FROM chunk_vectors WHERE chunk_id = ANY(%s)", (list(ids),))
            vectors = {chunk_id: from_binary(data) for chunk_id, data in cursor}
        return np.vstack([vectors[i] for i in ids]).astype(np.float32)

    def cosines(self, ids: list[int], query: np.ndarray) -> np.ndarray:
        """Computed by the server: two numbers per row come back instead of a vector."""
        if not len(ids):
            return np.zeros(0, "float32")
        rows = dict(self.database.execute(
            "SELECT chunk_id, -(embedding <#> %s::vector) FROM chunk_vectors WHERE chunk_id = ANY(%s)",
            (vector_literal(query), list(ids))))
        return np.asarray([rows[i] for i in ids], dtype=np.float32)

    def ids(self) -> np.ndarray:
        return np.asarray([row[0] for row in self.database.execute("SELECT chunk_id FROM chunk_vectors")],
                          dtype=np.int64)
