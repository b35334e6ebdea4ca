"""Index stage: embed chunks, keep them in a SQLite catalog with FAISS vectors and BM25 keywords, search."""

from index.catalog import Filters
from index.config import ConfigError, Settings, load_settings
from index.embedders import Embedder, EmbedderError, make_embedder
from index.indexer import IngestReport, rebuild, sync
from index.search import MODES, Hit, Searcher, SearchResult
from index.store import Index, IndexStoreError

__all__ = [
    "MODES",
    "ConfigError",
    "Embedder",
    "EmbedderError",
    "Filters",
    "Hit",
    "Index",
    "IndexStoreError",
    "IngestReport",
    "SearchResult",
    "Searcher",
    "Settings",
    "load_settings",
    "make_embedder",
    "rebuild",
    "sync",
]
