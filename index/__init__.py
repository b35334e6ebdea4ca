"""Index stage: embed chunks, keep them with BM25 keywords in a store (a folder: SQLite and FAISS; or PostgreSQL with
pgvector), search.

What eval and chat may use is listed here, including the few ingest helpers they need (text analysis,
sentence splitting, the supported file types), so that they never reach below this layer.
"""

from embed import Embedder, EmbedderError, make_embedder
from index.abstain import AbstainRule, Evidence
from index.answer import AnswerSentence, AnswerWeights, Span, sentence_spans
from index.catalog import Filters
from index.communes import Commune, Gazetteer
from index.compare import LIMIT as COMPARE_LIMIT
from index.compare import CommuneRow, Comparer, CompareWeights, Comparison, Quote
from index.copy import copy_index
from index.indexer import IngestReport, Progress, corpus_key, rebuild, sync
from index.keywords import analyze
from index.search import Hit, Searcher, SearchResult
from index.store import Index, IndexStoreError
from ingest import SUPPORTED_SUFFIXES, join_hyphenated, split_sentences

__all__ = [
    "COMPARE_LIMIT",
    "SUPPORTED_SUFFIXES",
    "AbstainRule",
    "AnswerSentence",
    "AnswerWeights",
    "Commune",
    "CommuneRow",
    "CompareWeights",
    "Comparer",
    "Comparison",
    "Embedder",
    "EmbedderError",
    "Evidence",
    "Filters",
    "Gazetteer",
    "Hit",
    "Index",
    "IndexStoreError",
    "IngestReport",
    "Progress",
    "Quote",
    "SearchResult",
    "Searcher",
    "Span",
    "analyze",
    "copy_index",
    "corpus_key",
    "join_hyphenated",
    "make_embedder",
    "rebuild",
    "sentence_spans",
    "split_sentences",
    "sync",
]
