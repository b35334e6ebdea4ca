"""Run an `EvalSet` through the searcher: recall, MRR, nDCG, page accuracy, abstention, latency."""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import Settings
from eval.communes import evaluate_communes
from eval.datasets import EvalSet, Question, Relevant, normalize
from index import (
    Comparer,
    Hit,
    Index,
    Progress,
    Searcher,
    SearchResult,
    corpus_key,
    make_embedder,
    sentence_spans,
    sync,
)

DEPTH = 10
ANSWER_DEPTH = 5  # answer_reachable: the gold answer lies inside a sentence of this many passages


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
    label = evalset.name if evalset.corpus_files else evalset.corpus_root.name  # gold sets share their corpus
    folder = cache_root / f"{label}-{corpus_key(evalset.corpus_root, settings, evalset.corpus_files)}"
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


def same_text(text: str) -> str:
    return " ".join(text.lower().split())


def answer_found(sentence: str, answers: tuple[str, ...]) -> bool:
    """A gold answer string inside `sentence`, compared case-insensitively after collapsing white space."""
    return any(same_text(answer) in same_text(sentence) for answer in answers)


@dataclass
class _Tally:
    per_query: list[dict[str, float]] = field(default_factory=list)
    page_hits: list[float] = field(default_factory=list)
    abstained_answerable: int = 0
    abstained_off_topic: int = 0
    with_answers: int = 0  # answerable questions that have gold answer strings
    reachable: int = 0
    first: int = 0
    anywhere: int = 0
    answer_words: list[int] = field(default_factory=list)


def evaluate(searcher: Searcher, evalset: EvalSet, mode: str) -> EvalResult:
    tally, latencies, misses = _Tally(), [], []
    for question in evalset.questions:
        if question.compare_only:
            continue
        started = time.perf_counter()
        result = searcher.search(question.text, DEPTH, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        hits = result.hits
        if question.off_topic:
            tally.abstained_off_topic += not hits
            if hits:
                misses.append(_miss(question, result, "off-topic, nicht abgelehnt"))
            continue
        tally.abstained_answerable += not hits
        scores = _score_query(question, hits)
        tally.per_query.append(scores)
        if any(rel.page is not None for rel in question.relevant):
            tally.page_hits.append(1.0 if hits and any(_matches(hits[0], rel) for rel in question.relevant) else 0.0)
        answer_missed = bool(question.answers) and not _score_answer(question, result, tally)
        if scores["recall@10"] < 1:
            misses.append(_miss(question, result, "abgelehnt" if not hits else "nicht in den ersten 10"))
        elif answer_missed:
            misses.append(_miss(question, result, "Antwort nicht im ersten Satz"))
    retrieval = any(not question.compare_only for question in evalset.questions)
    metrics, latency = (_aggregate(tally, evalset), _percentiles(latencies)) if retrieval else ({}, {})
    compared = [question for question in evalset.questions if question.communes is not None]
    if compared:  # the compare questions: one row per Kommune
        communes = evaluate_communes(Comparer(searcher), compared, mode)
        metrics |= communes.metrics()
        latency |= communes.latency_ms()
        misses += communes.misses
    return EvalResult(mode, len(evalset.questions), metrics, latency, misses)


def _score_answer(question: Question, result: SearchResult, tally: _Tally) -> bool:
    """Count the answer metrics of one question; False when its reachable gold answer is not in the first
    sentence shown."""
    tally.with_answers += 1
    if result.answer:
        tally.answer_words.append(sum(len(sentence.text.split()) for sentence in result.answer))
    reachable = any(answer_found(hit.text[span.start:span.end], question.answers)
                    for hit in result.hits[:ANSWER_DEPTH] for span in sentence_spans(hit.text))
    if not reachable:
        return True
    tally.reachable += 1
    first = bool(result.answer) and answer_found(result.answer[0].text, question.answers)
    tally.first += first
    tally.anywhere += any(answer_found(sentence.text, question.answers) for sentence in result.answer)
    return first


def _aggregate(tally: _Tally, evalset: EvalSet) -> dict[str, float]:
    names = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
    per_query = tally.per_query
    metrics = {name: round(float(np.mean([q[name] for q in per_query])) if per_query else 0.0, 4) for name in names}
    if tally.page_hits:
        metrics["page_accuracy@1"] = round(float(np.mean(tally.page_hits)), 4)
    off_topic = sum(q.off_topic and not q.compare_only for q in evalset.questions)
    if off_topic:
        metrics["abstain_accuracy"] = round(tally.abstained_off_topic / off_topic, 4)
    metrics["false_abstain_rate"] = round(tally.abstained_answerable / max(1, len(per_query)), 4)
    if tally.with_answers:
        metrics["answer@1"] = round(tally.first / max(1, tally.reachable), 4)
        metrics["answer@any"] = round(tally.anywhere / max(1, tally.reachable), 4)
        metrics["answer_reachable"] = round(tally.reachable / tally.with_answers, 4)
        metrics["answer_words"] = round(float(np.mean(tally.answer_words)) if tally.answer_words else 0.0, 1)
    return metrics


def _percentiles(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50": 0.0, "p95": 0.0}
    return {"p50": round(float(np.percentile(latencies, 50)), 1), "p95": round(float(np.percentile(latencies, 95)), 1)}


def _miss(question: Question, result: SearchResult, why: str) -> dict:
    hits = result.hits
    gold = {"answers": list(question.answers)} if question.answers else {}
    return {"id": question.id, "question": question.text, "why": why,
            "relevant": [vars(rel) for rel in question.relevant], **gold,
            "answer": [sentence.to_json() for sentence in result.answer],
            "results": [{"rank": h.rank, "source": h.source, "page": h.page, "score": round(h.score, 4),
                         "text": h.text[:300]} for h in hits]}
