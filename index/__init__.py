"""Index stage: embed chunks, keep them in a SQLite catalog with FAISS vectors and BM25 keywords, search."""

from embed import Embedder, EmbedderError, make_embedder
from index.abstain import AbstainRule, Evidence
from index.answer import AnswerSentence, AnswerWeights, Span, sentence_spans
from index.catalog import Filters
from index.indexer import IngestReport, rebuild, sync
from index.search import Hit, Searcher, SearchResult
from index.store import Index, IndexStoreError

__all__ = [
    "AbstainRule",
    "AnswerSentence",
    "AnswerWeights",
    "Embedder",
    "EmbedderError",
    "Evidence",
    "Filters",
    "Hit",
    "Index",
    "IndexStoreError",
    "IngestReport",
    "SearchResult",
    "Searcher",
    "Span",
    "make_embedder",
    "rebuild",
    "sentence_spans",
    "sync",
]
