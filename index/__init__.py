"""Index stage: embed chunks, keep them in a SQLite catalog with FAISS vectors and BM25 keywords, search."""

from embed import Embedder, EmbedderError, make_embedder
from index.catalog import Filters
from index.indexer import IngestReport, rebuild, sync
from index.search import Hit, Searcher, SearchResult
from index.store import Index, IndexStoreError

__all__ = [
    "Embedder",
    "EmbedderError",
    "Filters",
    "Hit",
    "Index",
    "IndexStoreError",
    "IngestReport",
    "SearchResult",
    "Searcher",
    "make_embedder",
    "rebuild",
    "sync",
]
