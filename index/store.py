"""An index directory: the SQLite catalog plus the FAISS vectors of one committed generation.

Catalog and vectors are committed together: the vectors of generation N+1 are written to their own file
first, then the catalog switches to N+1 in one SQLite transaction, and only then is file N deleted. A crash
at any moment leaves a catalog that names a complete vector file.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from index.catalog import Catalog
from index.embedders import Embedder
from index.vectors import FaissStore

CATALOG_FILE = "catalog.sqlite3"
LOCK_FILE = "write.lock"


class IndexStoreError(Exception):
    """An index that cannot be opened or written; the message is meant for the user."""


def _vectors_path(directory: Path, generation: int) -> Path:
    return directory / f"vectors-{generation}.faiss"


class Index:
    """Catalog, vectors and the embedder they were made with."""

    def __init__(self, directory: Path, catalog: Catalog, embedder: Embedder):
        self.directory = directory
        self.catalog = catalog
        self.embedder = embedder
        self.generation = -1
        self.vectors: FaissStore | None = None

    @classmethod
    def open(cls, directory: Path, embedder: Embedder, *, create: bool = False) -> Index:
        catalog_path = directory / CATALOG_FILE
        if not catalog_path.is_file():
            if not create:
                raise IndexStoreError(f"Kein Index in {directory}. Zuerst `lvo ingest` ausführen.")
            directory.mkdir(parents=True, exist_ok=True)
        try:
            catalog = Catalog(catalog_path)
        except Exception as error:
            raise IndexStoreError(f"Der Katalog {catalog_path} kann nicht geöffnet werden: {error}") from None
        recorded = catalog.get_meta("model")
        if recorded is not None and recorded != embedder.name:
            catalog.close()
            raise IndexStoreError(
                f"Der Index in {directory} wurde mit dem Modell {recorded!r} erstellt, eingestellt ist "
                f"{embedder.name!r}. Mit `lvo ingest --rebuild` neu aufbauen oder --model {recorded} verwenden.")
        index = cls(directory, catalog, embedder)
        index.refresh()
        return index

    def close(self) -> None:
        self.catalog.close()

    def refresh(self) -> None:
        """Load the vectors of the committed generation if another writer has moved it on."""
        for _ in range(3):
            generation = int(self.catalog.get_meta("generation") or 0)
            if generation == self.generation:
                return
            if generation == 0:
                self.vectors, self.generation = None, 0
                return
            try:
                self.vectors = FaissStore.load(_vectors_path(self.directory, generation))
                self.generation = generation
                return
            except RuntimeError:  # the file was replaced by a newer generation meanwhile
                continue
        raise IndexStoreError(f"Die Vektordatei der Generation {generation} in {self.directory} fehlt oder ist defekt.")

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the directory's write lock: one writer at a time."""
        with open(self.directory / LOCK_FILE, "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IndexStoreError(f"In {self.directory} läuft bereits ein anderer Ingest.") from None
            self.refresh()
            self._remove_stale_vector_files()
            yield

    def commit(self, removed_ids: list[int], added_ids: list[int], added_vectors: np.ndarray) -> None:
        """Apply vector changes and commit them with the catalog changes made in the open transaction.

        Call inside `catalog.transaction()`; the catalog commits when that block ends.
        """
        if self.vectors is None:
            self.vectors = FaissStore(self.embedder.dim)
            self.catalog.set_meta("model", self.embedder.name)
        self.vectors.remove(np.asarray(removed_ids, dtype=np.int64))
        self.vectors.add(np.asarray(added_ids, dtype=np.int64), added_vectors)
        generation = self.generation + 1
        self.vectors.save(_vectors_path(self.directory, generation))
        self.catalog.set_meta("generation", str(generation))
        self.generation = generation

    def after_commit(self) -> None:
        self._remove_stale_vector_files()

    def after_rollback(self) -> None:
        self.generation = -1
        self.refresh()

    def _remove_stale_vector_files(self) -> None:
        keep = _vectors_path(self.directory, self.generation).name
        for path in self.directory.glob("vectors-*.faiss*"):
            if path.name != keep:
                path.unlink(missing_ok=True)
