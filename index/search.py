"""Search: dense (FAISS), keyword (BM25 over German stems) and their fusion, returning cited hits."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from core import Settings
from index.abstain import Abstention
from index.catalog import Filters, StoredChunk
from index.keywords import analyze
from index.store import Index
from index.vectors import closest_cosines


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk_id: int
    source: str
    title: str
    page: int | None
    page_end: int | None
    text: str
    heading: str
    metadata: dict[str, str | int] = field(default_factory=dict)
    ocr: bool = False  # the text was recognised from a scanned page

    def to_json(self) -> dict[str, object]:
        return {"rank": self.rank, "score": round(self.score, 4), "source": self.source, "title": self.title,
                "page": self.page, "text": self.text, "chunk_id": self.chunk_id, "ocr": self.ocr}


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit]

    def to_json(self) -> dict[str, object]:
        return {"query": self.query, "passages": [hit.to_json() for hit in self.hits]}


def _zscores(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values)


@dataclass(frozen=True)
class FusionWeights:
    """How hybrid search mixes its three z-scored signals (any scale; only the ratios matter)."""

    dense: float = 0.35  # cosine of the question to the whole passage
    keyword: float = 0.3  # BM25 over German stems
    sentence: float = 0.35  # cosine of the question to the passage's closest sentence


class Searcher:
    """Answers queries against one index; safe to share between threads."""

    def __init__(self, index: Index, *, mode: str = "hybrid", weights: FusionWeights = FusionWeights(),
                 abstain_sigma: float = 1.4, candidates: int = 50, sentence_candidates: int = 30):
        self.index = index
        self.mode = mode
        self.weights = weights
        self.candidates = candidates
        self.sentence_candidates = sentence_candidates
        self.abstention = Abstention(index.embedder, abstain_sigma)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, index: Index, settings: Settings) -> Searcher:
        weights = FusionWeights(settings.dense_weight, settings.keyword_weight, settings.sentence_weight)
        return cls(index, mode=settings.search_mode, weights=weights, abstain_sigma=settings.abstain_sigma)

    def search(self, query: str, top_k: int = 5, filters: Filters = Filters(), mode: str | None = None) -> SearchResult:
        mode = mode or self.mode
        query_vector = self.index.embedder.embed_queries([query])[0] if mode != "bm25" else None
        with self._lock, self.index.catalog.snapshot():
            self.index.refresh()
            if self.index.vectors is None or not len(self.index.vectors):
                return SearchResult(query, [])
            terms = analyze(query)
            scored, cosines = self._rank(terms, query_vector, filters, mode, max(self.candidates, top_k))
            if cosines and self._unrelated(terms, cosines):
                return SearchResult(query, [])
            best = scored[:top_k]
            stored = self.index.catalog.chunks(chunk_id for chunk_id, _ in best)
        hits = [_hit(rank, score, stored[chunk_id]) for rank, (chunk_id, score) in enumerate(best, start=1)
                if chunk_id in stored]
        return SearchResult(query, hits)

    def _unrelated(self, terms: list[str], cosines: list[float]) -> bool:
        level = self.abstention.null_level(self.index.vectors, self.index.generation)
        return self.abstention.should_abstain(self.index.keywords, terms, cosines, level)

    def _rank(self, terms: list[str], query_vector: np.ndarray | None, filters: Filters, mode: str,
              depth: int) -> tuple[list[tuple[int, float]], list[float]]:
        """Ranked (chunk id, score) pairs, and the dense cosines, best first (none in bm25 mode)."""
        allowed = np.asarray(self.index.catalog.filtered_chunk_ids(filters), dtype=np.int64) if filters else None
        if allowed is not None and not len(allowed):
            return [], []
        keyword = dict(self.index.keywords.search(terms, depth, allowed))
        if mode == "bm25":
            return _by_score(keyword), []
        scores, ids = self.index.vectors.search(query_vector[None, :], depth, allowed)
        dense = {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}
        cosines = list(dense.values())  # FAISS order: best first
        if mode == "dense":
            return _by_score(dense), cosines
        return self._fuse(query_vector, dense, keyword), cosines

    def _fuse(self, query_vector: np.ndarray, dense: dict[int, float],
              keyword: dict[int, float]) -> list[tuple[int, float]]:
        missing = [i for i in keyword if i not in dense]
        for chunk_id, vector in zip(missing, self.index.vectors.vectors_of(missing)):
            dense[chunk_id] = float(vector @ query_vector)
        ids = list(dense)
        passage = np.array([dense[i] for i in ids])
        w = self.weights
        fused = w.dense * _zscores(passage) + w.keyword * _zscores(np.array([keyword.get(i, 0.0) for i in ids]))
        if w.sentence:
            fused += w.sentence * _zscores(self._closest_sentences(query_vector, ids, passage, fused))
        return _by_score(dict(zip(ids, fused.tolist())))

    def _closest_sentences(self, query_vector: np.ndarray, ids: list[int], passage: np.ndarray,
                           prior: np.ndarray) -> np.ndarray:
        """Cosine of the query to each passage's closest sentence, for the `sentence_candidates` passages best by
        `prior`; the passage's own cosine for the others and where none are stored. Sentence vectors are the one
        part of a search read at random from the catalog, so fewer reads keep large indexes quick."""
        shortlist = np.argsort(-prior, kind="stable")[: self.sentence_candidates].tolist()
        packed = self.index.catalog.sentence_vectors([ids[position] for position in shortlist])
        closest = passage.copy()
        having = [position for position in shortlist if ids[position] in packed]
        if having:
            closest[having] = closest_cosines([packed[ids[position]] for position in having], query_vector)
        return closest


def _by_score(scores: dict[int, float]) -> list[tuple[int, float]]:
    return sorted(scores.items(), key=lambda item: -item[1])


def _hit(rank: int, score: float, chunk: StoredChunk) -> Hit:
    return Hit(rank=rank, score=score, chunk_id=chunk.id, source=chunk.source, title=chunk.title,
               page=chunk.page_start, page_end=chunk.page_end, text=chunk.text, heading=chunk.heading,
               metadata=chunk.metadata, ocr=chunk.ocr)
