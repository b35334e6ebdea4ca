"""Run an `EvalSet` through the searcher: recall, MRR, nDCG, page accuracy, abstention, latency."""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import Settings
from eval.datasets import EvalSet, Question, Relevant, normalize
from index import Hit, Index, Progress, Searcher, corpus_key, make_embedder, sync

DEPTH = 10


@dataclass
class EvalResult:
    mode: str
    queries: int
    metrics: dict[str, float]
    latency_ms: dict[str, float]
    misses: list[dict] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"mode": self.mode, "queries": self.queries, "metrics": self.metrics, "latency_ms": self.latency_ms}


def prepare_index(evalset: EvalSet, settings: Settings, cache_root: Path, progress: Progress | None = None) -> Path:
    """A throwaway index for the gold set's corpus, cached by corpus content and index settings."""
    folder = cache_root / f"{evalset.name}-{corpus_key(evalset.corpus_root, settings, evalset.corpus_files)}"
    corpus = evalset.corpus_root
    if evalset.corpus_files:  # index only the corpus file of a BEIR folder, not its queries
        corpus = folder / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        for path in evalset.corpus_files:
            if not (corpus / path.name).exists():
                shutil.copyfile(path, corpus / path.name)
    index = Index.open(folder / "index", make_embedder(settings.model), create=True)
    try:
        sync(index, corpus, settings.chunking, progress)
    finally:
        index.close()
    return folder / "index"


def _matches(hit: Hit, relevant: Relevant) -> bool:
    if hit.source != relevant.source:
        return False
    if relevant.text and normalize(relevant.text) not in normalize(hit.text):
        return False
    return relevant.page is None or hit.page == relevant.page


def _score_query(question: Question, hits: list[Hit]) -> dict[str, float]:
    """Per-query metrics; each relevant item is credited once, at its first matching hit."""
    first_rank: dict[int, int] = {}
    gains = []
    for rank, hit in enumerate(hits[:DEPTH], start=1):
        new = [i for i, rel in enumerate(question.relevant) if i not in first_rank and _matches(hit, rel)]
        first_rank.update({i: rank for i in new})
        gains.append(1.0 if new else 0.0)
    total = len(question.relevant)
    dcg = sum(g / math.log2(r + 1) for r, g in enumerate(gains, start=1))
    ideal = sum(1 / math.log2(r + 1) for r in range(1, min(total, DEPTH) + 1))
    scores = {f"recall@{k}": sum(1 for r in first_rank.values() if r <= k) / total for k in (1, 5, 10)}
    scores["mrr@10"] = 1 / min(first_rank.values()) if first_rank else 0.0
    scores["ndcg@10"] = dcg / ideal
    return scores


def evaluate(searcher: Searcher, evalset: EvalSet, mode: str) -> EvalResult:
    per_query: list[dict[str, float]] = []
    latencies, page_hits, abstained_answerable, abstained_off_topic = [], [], 0, 0
    misses = []
    for question in evalset.questions:
        started = time.perf_counter()
        hits = searcher.search(question.text, DEPTH, mode=mode).hits
        latencies.append((time.perf_counter() - started) * 1000)
        if question.off_topic:
            abstained_off_topic += not hits
            if hits:
                misses.append(_miss(question, hits, "off-topic, nicht abgelehnt"))
            continue
        abstained_answerable += not hits
        scores = _score_query(question, hits)
        per_query.append(scores)
        if any(rel.page is not None for rel in question.relevant):
            page_hits.append(1.0 if hits and any(_matches(hits[0], rel) for rel in question.relevant) else 0.0)
        if scores["recall@10"] < 1:
            misses.append(_miss(question, hits, "abgelehnt" if not hits else "nicht in den ersten 10"))
    return EvalResult(mode, len(evalset.questions), _aggregate(per_query, page_hits, abstained_answerable,
                      abstained_off_topic, evalset), _percentiles(latencies), misses)


def _aggregate(per_query: list[dict[str, float]], page_hits: list[float], abstained_answerable: int,
               abstained_off_topic: int, evalset: EvalSet) -> dict[str, float]:
    names = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
    metrics = {name: round(float(np.mean([q[name] for q in per_query])) if per_query else 0.0, 4) for name in names}
    if page_hits:
        metrics["page_accuracy@1"] = round(float(np.mean(page_hits)), 4)
    off_topic = sum(q.off_topic for q in evalset.questions)
    if off_topic:
        metrics["abstain_accuracy"] = round(abstained_off_topic / off_topic, 4)
    metrics["false_abstain_rate"] = round(abstained_answerable / max(1, len(per_query)), 4)
    return metrics


def _percentiles(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50": 0.0, "p95": 0.0}
    return {"p50": round(float(np.percentile(latencies, 50)), 1), "p95": round(float(np.percentile(latencies, 95)), 1)}


def _miss(question: Question, hits: list[Hit], why: str) -> dict:
    return {"id": question.id, "question": question.text, "why": why,
            "relevant": [vars(rel) for rel in question.relevant],
            "results": [{"rank": h.rank, "source": h.source, "page": h.page, "score": round(h.score, 4),
                         "text": h.text[:300]} for h in hits]}
