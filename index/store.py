"""Where an index lives, behind one interface: a folder (SQLite and FAISS, `index.folder`) by default, or a
PostgreSQL database with pgvector (`index.pg`) for several servers sharing one index.

`Index.open` and `Index.fresh` pick the store by the location: a `postgresql://` URL or a folder path.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from core import LvoError, is_database
from embed import Embedder
from index.bm25 import KeywordIndex
from index.vectors import VectorStore


class IndexStoreError(LvoError):
    """An index that cannot be opened or written; the message is meant for the user."""


class Index:
    """The catalog, vectors and keyword statistics of one committed generation, and the embedder they were made with.

    A store says how it loads a committed generation (`refresh`), keeps other writers out (`writing`) and commits
    vectors together with the catalog changes of the open transaction (`commit`).
    """

    location: str
    generation: int
    vectors: VectorStore | None

    def __init__(self, location: str, catalog, embedder: Embedder):
        self.location = location
        self.catalog = catalog
        self.embedder = embedder
        self.generation = -1
        self.vectors = None
        self._keywords: KeywordIndex | None = None

    @classmethod
    def open(cls, location: str | Path, embedder: Embedder, *, create: bool = False) -> Index:
        """The index at `location` (created empty with `create`, else it must exist)."""
        return _store(location)._open(location, embedder, create=create)

    @classmethod
    def fresh(cls, location: str | Path, embedder: Embedder) -> AbstractContextManager[Index]:
        """A new empty index that replaces the one at `location` when the block completes, and only then."""
        return _store(location)._fresh(location, embedder)

    @classmethod
    def _open(cls, location: str | Path, embedder: Embedder, *, create: bool) -> Index:
        raise NotImplementedError

    @classmethod
    def _fresh(cls, location: str | Path, embedder: Embedder) -> AbstractContextManager[Index]:
        raise NotImplementedError

    def close(self) -> None:
        self.catalog.close()

    def refresh(self) -> None:
        """Follow the committed generation if another writer has moved it on."""
        raise NotImplementedError

    def writing(self) -> AbstractContextManager[None]:
        """Be the only writer while the block runs, after clearing what a crashed writer left."""
        raise NotImplementedError

    def commit(self, removed_ids: list[int], added_ids: list[int], added_vectors: np.ndarray) -> None:
        """Apply vector changes and commit them with the catalog changes made in the open transaction.

        Call inside `catalog.transaction()`; the catalog commits when that block ends.
        """
        raise NotImplementedError

    def after_commit(self) -> None:
        """Tidy up once a commit is durable."""

    def after_rollback(self) -> None:
        self.generation = -1
        self.refresh()

    def check_model(self, recorded: str | None) -> None:
        """Refuse to mix the vectors of two models."""
        if recorded is not None and recorded != self.embedder.name:
            self.close()
            raise IndexStoreError(
                f"Der Index in {self.location} wurde mit dem Modell {recorded!r} erstellt, eingestellt ist "
                f"{self.embedder.name!r}. Mit `lvo ingest --rebuild` neu aufbauen oder --model {recorded} verwenden.")

    @property
    def keywords(self) -> KeywordIndex:
        """BM25 over the generation the vectors belong to; built on first use after each commit."""
        if self._keywords is None or self._keywords.generation != self.generation:
            with self.catalog.snapshot():
                self.refresh()
                self._keywords = self.catalog.keyword_index()
        return self._keywords

    def verify(self) -> list[str]:
        """Problems of the committed state (empty when catalog and vectors agree exactly)."""
        with self.catalog.snapshot():
            self.refresh()
            problems = self.catalog.integrity_problems()
            catalog_ids = set(self.catalog.chunk_ids())
            vector_ids = self.vectors.ids().tolist() if self.vectors is not None else []
        if len(vector_ids) != len(set(vector_ids)):
            problems.append(f"{len(vector_ids) - len(set(vector_ids))} doppelte Vektoren")
        if orphans := set(vector_ids) - catalog_ids:
            problems.append(f"{len(orphans)} Vektoren ohne Abschnitt im Katalog")
        if missing := catalog_ids - set(vector_ids):
            problems.append(f"{len(missing)} Abschnitte ohne Vektor")
        return problems


def _store(location: str | Path) -> type[Index]:
    if not is_database(location):
        from index.folder import FolderIndex

        return FolderIndex
    try:
        from index.pg import PgIndex
    except ImportError as error:
        raise IndexStoreError(f"Für eine PostgreSQL-Datenbank als Index fehlt {error.name}: "
                              "pip install 'lvo[postgres]'") from None
    return PgIndex

