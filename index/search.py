"""Search: dense (FAISS), keyword (BM25 over German stems) and their fusion, returning cited hits."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import numpy as np

from core import Settings
from index.abstain import CLOSEST, EVIDENCE_PASSAGES, PREFIX_LETTERS, AbstainRule, Abstention, Evidence, topic_share
from index.answer import ANSWER_PASSAGES, AnswerSentence, AnswerWeights, Candidate, candidates, pick, term_rarity
from index.answer_type import AnswerType, asked_type
from index.catalog import Filters, StoredChunk
from index.keywords import analyze
from index.store import Index
from index.vectors import closest_cosines, row_cosines


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
    answer: list[AnswerSentence] = field(default_factory=list)  # best first; empty when abstaining
    evidence: Evidence | None = None
    withheld: list[Hit] = field(default_factory=list)  # the closest passages when abstaining, not shown by default
    note: str | None = None  # what the passages lack when the question asks for a thing none of them holds

    def to_json(self) -> dict[str, object]:
        return {"query": self.query, "passages": [hit.to_json() for hit in self.hits],
                "answer": [sentence.to_json() for sentence in self.answer], "note": self.note}


@dataclass(frozen=True)
class _Ranking:
    scored: list[tuple[int, float]]  # (chunk id, score), best first
    dense: list[float]  # dense cosines, best first (none in bm25 mode)
    passage_cosines: dict[int, float]  # chunk id -> cosine, for every candidate
    dense_ids: list[int]
    keyword_ids: list[int]
    keyword_top: float = 0.0  # BM25 score of the best keyword passage
    sentences: dict[int, bytes | None] = field(default_factory=dict)  # packed sentence vectors read so far


def _zscores(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values)


@dataclass(frozen=True)
class FusionWeights:
    """How hybrid search mixes its three z-scored signals (any scale; only the ratios matter)."""

    dense: float = Settings.dense_weight  # cosine of the question to the whole passage
    keyword: float = Settings.keyword_weight  # BM25 over German stems
    sentence: float = Settings.sentence_weight  # cosine of the question to the passage's closest sentence


DOCUMENT_PENALTY = 0.3  # see `diverse`


class Searcher:
    """Answers queries against one index; safe to share between threads."""

    def __init__(self, index: Index, *, mode: str = Settings.search_mode, weights: FusionWeights = FusionWeights(),
                 abstain: AbstainRule = AbstainRule(), abstain_sigma: float | None = None,
                 candidates: int = 50, sentence_candidates: int = 30,
                 answer_weights: AnswerWeights = AnswerWeights(), document_penalty: float = DOCUMENT_PENALTY):
        self.index = index
        self.mode = mode
        self.weights = weights
        self.candidates = candidates
        self.sentence_candidates = sentence_candidates
        self.abstention = Abstention(index.embedder, replace(abstain, sigma=abstain_sigma) if abstain_sigma is not None
                                     else abstain)
        self.answer_weights = answer_weights
        self.document_penalty = document_penalty
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
            ranking = self._rank(terms, query_vector, filters, mode, max(self.candidates, top_k))
            pool = ranking.scored[:max(self.candidates, top_k)]
            stored = self.index.catalog.chunks(chunk_id for chunk_id, _ in pool)
            best = diverse(pool, {i: chunk.source for i, chunk in stored.items()}, top_k, self.document_penalty)
            hits = [_hit(rank, score, stored[chunk_id]) for rank, (chunk_id, score) in enumerate(best, start=1)
                    if chunk_id in stored]
            kind = asked_type(query)
            found = self._answer_candidates(query, terms, query_vector, hits, ranking, kind)
            evidence = self._evidence(query, terms, query_vector, hits, ranking, found, kind)
        if query_vector is not None and self.abstention.should_abstain(evidence):
            return SearchResult(query, [], [], evidence, withheld=hits)
        fitting = [c for c in found if c.kind] if kind else found
        note = kind.note if kind and found and not fitting else None
        return SearchResult(query, hits, pick(fitting, self.answer_weights), evidence, note=note)

    def _answer_candidates(self, query: str, terms: list[str], query_vector: np.ndarray | None, hits: list[Hit],
                           ranking: _Ranking, kind: AnswerType | None) -> list[Candidate]:
        shown = hits[:ANSWER_PASSAGES]
        packed = self._sentence_vectors([hit.chunk_id for hit in shown], ranking.sentences) \
            if query_vector is not None else {}
        passages = []
        for hit in shown:
            if hit.chunk_id in packed:
                cosines = row_cosines(packed[hit.chunk_id], query_vector)
            else:  # a passage of one sentence: its own vector is that sentence's
                cosines = np.array([ranking.passage_cosines.get(hit.chunk_id, 0.0)], dtype=np.float32)
            passages.append((hit.rank, hit.text, cosines))
        return candidates(query, term_rarity(terms, self._idf(terms)), passages, kind)

    def _idf(self, terms: list[str]) -> dict[str, float]:
        keywords = self.index.keywords
        return {term: float(keywords.idf[keywords.columns[term]]) for term in terms if term in keywords.columns}

    def _evidence(self, query: str, terms: list[str], query_vector: np.ndarray | None, hits: list[Hit],
                  ranking: _Ranking, found: list[Candidate], kind: AnswerType | None) -> Evidence:
        level = self.abstention.null_level(self.index, self.index.generation) if query_vector is not None else None
        idf = self._idf(terms)
        rarity = term_rarity(terms, idf)
        known = {term for term in rarity if self.index.keywords.known(term, PREFIX_LETTERS)}
        top_terms = set().union(*(set(analyze(hit.text)) for hit in hits[:EVIDENCE_PASSAGES])) if hits else set()
        total = sum(rarity.values()) or 1.0
        return Evidence(
            passage=float(np.mean(ranking.dense[:CLOSEST])) if ranking.dense else 0.0,
            sentence=max((c.cosine for c in found), default=0.0),
            coverage=sum(w for t, w in rarity.items() if t in top_terms) / total,
            known=len(known) / max(1, len(rarity)),
            keyword=ranking.keyword_top / (sum(idf.get(t, self.index.keywords.max_idf) for t in rarity) or 1.0),
            agree=bool(ranking.dense_ids and ranking.keyword_ids and ranking.dense_ids[0] in ranking.keyword_ids[:10]),
            level=level, candidates=tuple(found), topic=topic_share(query, top_terms),
            fits=None if kind is None or not found else any(c.kind for c in found),
            alike=self.abstention.alike(query_vector) if query_vector is not None else -1.0)

    def _rank(self, terms: list[str], query_vector: np.ndarray | None, filters: Filters, mode: str,
              depth: int) -> _Ranking:
        """Ranked (chunk id, score) pairs, best first, with what the abstention and the answer need."""
        allowed = np.asarray(self.index.catalog.filtered_chunk_ids(filters), dtype=np.int64) if filters else None
        if allowed is not None and not len(allowed):
            return _Ranking([], [], {}, [], [])
        keyword = dict(self.index.keywords.search(terms, depth, allowed))
        top = max(keyword.values(), default=0.0)
        if mode == "bm25":
            return _Ranking(_by_score(keyword), [], {}, [], list(keyword), top)
        scores, ids = self.index.vectors.search(query_vector[None, :], depth, allowed)
        dense = {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}
        cosines = list(dense.values())  # FAISS order: best first
        dense_ids = list(dense)
        if mode == "dense":
            return _Ranking(_by_score(dense), cosines, dense, dense_ids, list(keyword), top)
        sentences: dict[int, bytes | None] = {}
        return _Ranking(self._fuse(query_vector, dense, keyword, sentences), cosines, dense, dense_ids, list(keyword),
                        top, sentences)

    def _sentence_vectors(self, ids: list[int], read: dict[int, bytes | None]) -> dict[int, bytes]:
        """The packed sentence vectors of `ids` (those that have them); `read` keeps what one search has read."""
        if missing := [i for i in ids if i not in read]:
            found = self.index.catalog.sentence_vectors(missing)
            read.update({i: found.get(i) for i in missing})
        return {i: read[i] for i in ids if read[i] is not None}

    def _fuse(self, query_vector: np.ndarray, dense: dict[int, float], keyword: dict[int, float],
              sentences: dict[int, bytes | None]) -> list[tuple[int, float]]:
        missing = [i for i in keyword if i not in dense]
        for chunk_id, cosine in zip(missing, self.index.vectors.cosines(missing, query_vector)):
            dense[chunk_id] = float(cosine)
        ids = list(dense)
        passage = np.array([dense[i] for i in ids])
        w = self.weights
        fused = w.dense * _zscores(passage) + w.keyword * _zscores(np.array([keyword.get(i, 0.0) for i in ids]))
        if w.sentence:
            fused += w.sentence * _zscores(self._closest_sentences(query_vector, ids, passage, fused, sentences))
        return _by_score(dict(zip(ids, fused.tolist())))

    def _closest_sentences(self, query_vector: np.ndarray, ids: list[int], passage: np.ndarray, prior: np.ndarray,
                           sentences: dict[int, bytes | None]) -> np.ndarray:
        """Cosine of the query to each passage's closest sentence, for the `sentence_candidates` passages best by
        `prior`; the passage's own cosine for the others and where none are stored. Sentence vectors are the one
        part of a search read at random from the catalog, so fewer reads keep large indexes quick."""
        shortlist = np.argsort(-prior, kind="stable")[: self.sentence_candidates].tolist()
        packed = self._sentence_vectors([ids[position] for position in shortlist], sentences)
        closest = passage.copy()
        having = [position for position in shortlist if ids[position] in packed]
        if having:
            closest[having] = closest_cosines([packed[ids[position]] for position in having], query_vector)
        return closest


def diverse(scored: list[tuple[int, float]], sources: dict[int, str], top_k: int,
            penalty: float) -> list[tuple[int, float]]:
    """The `top_k` best of `scored` when each passage loses `penalty` standard deviations of the candidates'
    scores per better passage already taken from its document: a long document keeps its places only while
    the other documents are clearly less relevant. Scores stay as they were; only the order changes."""
    if penalty <= 0 or len(scored) <= 1:
        return scored[:top_k]
    spread = float(np.std([score for _, score in scored])) or 1.0
    remaining = list(scored)
    taken: list[tuple[int, float]] = []
    per_document: dict[str, int] = {}
    while remaining and len(taken) < top_k:
        best = max(range(len(remaining)), key=lambda position: remaining[position][1] - penalty * spread
                   * per_document.get(sources.get(remaining[position][0], ""), 0))
        chunk_id, score = remaining.pop(best)
        taken.append((chunk_id, score))
        source = sources.get(chunk_id, "")
        per_document[source] = per_document.get(source, 0) + 1
    return taken


def _by_score(scores: dict[int, float]) -> list[tuple[int, float]]:
    return sorted(scores.items(), key=lambda item: -item[1])


def _hit(rank: int, score: float, chunk: StoredChunk) -> Hit:
    return Hit(rank=rank, score=score, chunk_id=chunk.id, source=chunk.source, title=chunk.title,
               page=chunk.page_start, page_end=chunk.page_end, text=chunk.text, heading=chunk.heading,
               metadata=chunk.metadata, ocr=chunk.ocr)
