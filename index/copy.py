"""Copy an index between stores (a folder into a database and back) without embedding anything again."""

from __future__ import annotations

from pathlib import Path

from embed import Embedder
from index.store import Index, IndexStoreError

TABLES = ("files", "documents", "chunks", "terms", "chunk_terms", "sentence_vectors")  # in the order of their links


def copy_index(source: str | Path, destination: str | Path, embedder: Embedder) -> int:
    """Copy the committed state of `source` into `destination`, which it replaces only once complete; return the
    number of chunks copied. Ids, keyword bags, sentence vectors and chunk vectors are taken over as they are."""
    if str(source) == str(destination):
        raise IndexStoreError("Quelle und Ziel sind derselbe Index.")
    origin = Index.open(source, embedder)
    try:
        with Index.fresh(destination, embedder) as target, origin.catalog.snapshot(), target.writing():
            origin.refresh()
            ids = origin.vectors.ids() if origin.vectors is not None else []
            with target.catalog.transaction():
                for table in TABLES:
                    target.catalog.load_rows(table, origin.catalog.rows(table))
                target.catalog.restart_ids()
                if len(ids):
                    target.commit([], ids, origin.vectors.vectors_of(ids.tolist()))
            target.after_commit()
            return len(ids)
    finally:
        origin.close()
