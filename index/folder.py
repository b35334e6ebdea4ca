"""The default store, an index folder: the SQLite catalog plus the FAISS vectors of one committed generation.

Catalog and vectors are committed together: the vectors of generation N+1 are written to their own file
(temporary name, fsync, rename, fsync of the directory), then the catalog switches to N+1 in one SQLite
transaction (WAL, synchronous=FULL). A crash at any moment leaves a catalog that names a complete vector file;
an uncommitted file N+1 is deleted by the next writer. Generation N is kept until N+2 is committed, so a
reader in another process that has just seen N can still load it. One writer at a time holds `write.lock`.

A rebuild fills `DIR.rebuild`, marks it complete, then swaps it in by two renames; `recover_swap` finishes
or undoes a swap that a crash interrupted, so the directory always holds a complete index.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np

from core import kill_point
from embed import Embedder
from index.catalog import Catalog
from index.store import Index, IndexStoreError
from index.vectors import FaissStore

CATALOG_FILE = "catalog.sqlite3"
LOCK_FILE = "write.lock"
COMPLETE_MARKER = "rebuild.complete"


def _vectors_path(directory: Path, generation: int) -> Path:
    return directory / f"vectors-{generation}.faiss"


def fsync_directory(directory: Path) -> None:
    """Make renames and deletions inside `directory` durable."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def write_lock(directory: Path) -> Iterator[None]:
    """Hold the directory's write lock (released by the kernel even if the process is killed)."""
    with open(directory / LOCK_FILE, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexStoreError(f"In {directory} läuft bereits ein anderer Ingest.") from None
        yield


def _sibling(directory: Path, suffix: str) -> Path:
    return directory.with_name(directory.name + suffix)


def recover_swap(directory: Path) -> None:
    """Finish or undo a rebuild swap that a crash interrupted."""
    fresh, retired = _sibling(directory, ".rebuild"), _sibling(directory, ".old")
    if not directory.exists():
        if (fresh / COMPLETE_MARKER).is_file():
            fresh.rename(directory)
        elif retired.is_dir():
            retired.rename(directory)
        else:
            return
        fsync_directory(directory.parent)
    shutil.rmtree(retired, ignore_errors=True)
    (directory / COMPLETE_MARKER).unlink(missing_ok=True)


def swap_in(fresh: Path, directory: Path) -> None:
    """Replace `directory` by the complete index in `fresh`; a crash at any point is undone by `recover_swap`."""
    retired = _sibling(directory, ".old")
    recover_swap(directory)
    (fresh / COMPLETE_MARKER).touch()
    fsync_directory(fresh)
    kill_point("swap-marked")
    if directory.exists():
        directory.rename(retired)
        kill_point("swap-retired")
    fresh.rename(directory)
    fsync_directory(directory.parent)
    kill_point("swap-renamed")
    recover_swap(directory)


class FolderIndex(Index):
    """An index folder: the SQLite catalog and the FAISS vectors of its committed generation."""

    def __init__(self, directory: Path, catalog: Catalog, embedder: Embedder):
        super().__init__(str(directory), catalog, embedder)
        self.directory = directory

    @classmethod
    def _open(cls, location: str | Path, embedder: Embedder, *, create: bool) -> FolderIndex:
        directory = Path(location)
        catalog_path = directory / CATALOG_FILE
        recover_swap(directory)
        if not catalog_path.is_file():
            if not create:
                raise IndexStoreError(f"Kein Index in {directory}. Zuerst `lvo ingest` ausführen.")
            directory.mkdir(parents=True, exist_ok=True)
        try:
            catalog = Catalog(catalog_path)
        except Exception as error:
            raise IndexStoreError(f"Der Katalog {catalog_path} kann nicht geöffnet werden: {error}") from None
        index = cls(directory, catalog, embedder)
        index.check_model(catalog.get_meta("model"))
        index.refresh()
        return index

    @classmethod
    @contextmanager
    def _fresh(cls, location: str | Path, embedder: Embedder) -> Iterator[FolderIndex]:
        """Build beside the old folder and swap in when complete; an interrupted build leaves the old one as it was
        and the next one starts over."""
        directory = Path(location)
        recover_swap(directory)
        fresh = _sibling(directory, ".rebuild")
        with ExitStack() as stack:
            if directory.is_dir():
                stack.enter_context(write_lock(directory))  # no incremental ingest into the index being replaced
            shutil.rmtree(fresh, ignore_errors=True)
            index = cls._open(fresh, embedder, create=True)
            try:
                yield index
            finally:
                index.close()
            swap_in(fresh, directory)

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
        """Hold the directory's write lock: one writer at a time; clear what a crashed writer left."""
        with write_lock(self.directory):
            self.refresh()
            self._remove_stale_vector_files()
            yield

    def commit(self, removed_ids: list[int], added_ids: list[int], added_vectors: np.ndarray) -> None:
        if self.vectors is None:
            self.vectors = FaissStore(self.embedder.dim)
            self.catalog.set_meta("model", self.embedder.name)
        self.vectors.remove(np.asarray(removed_ids, dtype=np.int64))
        self.vectors.add(np.asarray(added_ids, dtype=np.int64), added_vectors)
        generation = self.generation + 1
        path = _vectors_path(self.directory, generation)
        temporary = path.with_name(path.name + ".tmp")
        self.vectors.write(temporary)
        kill_point("vectors-written", generation)
        os.replace(temporary, path)
        kill_point("vectors-renamed", generation)
        fsync_directory(self.directory)
        self.catalog.set_meta("generation", str(generation))
        self.generation = generation
        kill_point("catalog-written", generation)

    def after_commit(self) -> None:
        self._remove_stale_vector_files()

    def _remove_stale_vector_files(self) -> None:
        """Delete temporary, uncommitted and old vector files; keep the committed and the previous generation."""
        keep = {_vectors_path(self.directory, g).name for g in (self.generation, self.generation - 1)}
        for path in self.directory.glob("vectors-*.faiss*"):
            if path.name not in keep:
                path.unlink(missing_ok=True)
