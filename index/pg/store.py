"""The database store: `PgIndex` keeps catalog, vectors and keyword bags of an index in PostgreSQL.

Every commit is one transaction that also moves the `generation` row on; readers see it with their next query
(their snapshot reads that row first) and rebuild their in-memory BM25 once per generation, so all `lvo serve`
processes on one database answer from the same committed state. One writer at a time holds an advisory lock.
A rebuild fills the schema `lvo_neu` and swaps it in by renaming, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from psycopg import sql

from core import kill_point
from embed import Embedder
from index.pg.catalog import PgCatalog
from index.pg.database import REBUILD_SCHEMA, SCHEMA, VECTOR_INDEX, VECTOR_TABLE, Database
from index.pg.vectors import PgVectors
from index.store import Index


class PgIndex(Index):
    def __init__(self, database: Database, embedder: Embedder):
        super().__init__(database.url, PgCatalog(database), embedder)
        self.database = database

    @classmethod
    def _open(cls, location: str, embedder: Embedder, *, create: bool, schema: str = SCHEMA) -> PgIndex:
        database = Database(str(location), schema)
        try:
            database.prepare_schema(create=create)
            index = cls(database, embedder)
            index.check_model(index.catalog.get_meta("model"))
            index.refresh()
        except BaseException:
            database.close()
            raise
        return index

    @classmethod
    @contextmanager
    def _fresh(cls, location: str, embedder: Embedder) -> Iterator[PgIndex]:
        """Fill the schema `lvo_neu`, then swap it in: one transaction drops the old schema and renames the new."""
        main = Database(str(location))
        try:
            with main.writer_lock():  # no incremental ingest into the index being replaced
                main.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(REBUILD_SCHEMA)))
                index = cls._open(location, embedder, create=True, schema=REBUILD_SCHEMA)
                try:
                    yield index
                finally:
                    index.close()
                _swap_in(main)
        finally:
            main.close()

    def refresh(self) -> None:
        meta = dict(self.database.execute(
            "SELECT key, value FROM meta WHERE key IN ('generation', 'dim', 'chunks')"))
        generation = int(meta.get("generation", 0))
        if generation == self.generation:
            return
        self.generation = generation
        self.vectors = PgVectors(self.database, int(meta["dim"]), int(meta["chunks"])) if generation else None

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self.database.writer_lock():
            self.refresh()
            yield

    def commit(self, removed_ids: list[int], added_ids: list[int], added_vectors: np.ndarray) -> None:
        first = self.vectors is None
        if first:
            self._create_vectors()
        self.vectors.remove(np.asarray(removed_ids, dtype=np.int64))
        self.vectors.add(np.asarray(added_ids, dtype=np.int64), added_vectors)
        if first:  # built over the first commit's rows at once; later rows join the graph one by one
            self.database.execute(VECTOR_INDEX)
        generation = self.generation + 1
        kill_point("vectors-written", generation)
        self.vectors.size = self.catalog.chunk_count()
        self.catalog.set_meta("chunks", str(self.vectors.size))
        self.catalog.set_meta("generation", str(generation))
        self.generation = generation
        kill_point("catalog-written", generation)

    def _create_vectors(self) -> None:
        """The vector table of a fresh index (generation 0 has none: it comes with the first commit)."""
        dim = self.embedder.dim
        self.database.execute(VECTOR_TABLE.format(dim=dim))
        self.catalog.set_meta("model", self.embedder.name)
        self.catalog.set_meta("dim", str(dim))
        self.vectors = PgVectors(self.database, dim, 0)


def _swap_in(main: Database) -> None:
    """Replace the index's schema by the rebuilt one; its generation continues after the old one's."""
    fresh, current = sql.Identifier(REBUILD_SCHEMA), sql.Identifier(main.schema)
    with main.transaction():
        old = main.execute("SELECT value FROM meta WHERE key = 'generation'") if main.has_table("meta") else []
        new = main.execute(sql.SQL("SELECT value FROM {}.meta WHERE key = 'generation'").format(fresh))
        generation = max(int(old[0][0]) if old else 0, int(new[0][0]) if new else 0) + 1
        main.execute(sql.SQL("UPDATE {}.meta SET value = %s WHERE key = 'generation'").format(fresh),
                     (str(generation),))
        main.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(current))
        kill_point("swap-dropped")
        main.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(fresh, current))
