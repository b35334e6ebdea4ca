"""`lvo eval --generate`: how well a language model answers a gold set from the retrieved passages.

Per question: retrieve as the chat does, let the model answer, check every sentence. Reported: whether the
generated text contains a gold answer string (answer@gen, like answer@1 for the extractive answer), whether a
*supported* sentence contains it, the share of generated sentences that are supported, and abstention.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from eval.datasets import EvalSet, normalize
from generate import GenerationError, Generator
from index import Searcher


@dataclass
class GenerationEvalResult:
    model: str
    mode: str
    queries: int
    metrics: dict[str, float]
    latency_ms: dict[str, float]

    def to_json(self) -> dict[str, object]:
        return {"model": self.model, "mode": self.mode, "queries": self.queries, "metrics": self.metrics,
                "latency_ms": self.latency_ms}


@dataclass
class _Tally:
    answerable: int = 0
    with_gold: int = 0
    contains: int = 0
    contains_supported: int = 0
    sentences: int = 0
    supported: int = 0
    abstained: int = 0
    off_topic: int = 0
    off_topic_abstained: int = 0
    failed: int = 0


def _contains(text: str, answers: tuple[str, ...]) -> bool:
    haystack = normalize(text)
    return any(normalize(answer) in haystack for answer in answers if answer.strip())


def evaluate_generation(searcher: Searcher, generator: Generator, evalset: EvalSet, *, mode: str, top_k: int,
                        limit: int | None = None) -> GenerationEvalResult:
    questions = evalset.questions[:limit] if limit else evalset.questions
    tally, latencies = _Tally(), []
    for question in questions:
        hits = searcher.search(question.text, top_k, mode=mode).hits
        if question.off_topic:
            tally.off_topic += 1
        else:
            tally.answerable += 1
        if not hits:  # abstained: no model is asked
            tally.off_topic_abstained += question.off_topic
            tally.abstained += not question.off_topic
            continue
        started = time.perf_counter()
        try:
            answer = generator.answer(question.text, hits)
        except GenerationError:
            tally.failed += 1
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        supported = [s for s in answer.sentences if s.supported]
        tally.sentences += len(answer.sentences)
        tally.supported += len(supported)
        if question.off_topic:
            tally.off_topic_abstained += not supported
        elif question.answers:
            tally.with_gold += 1
            tally.contains += _contains(answer.text, question.answers)
            tally.contains_supported += _contains(" ".join(s.text for s in supported), question.answers)
    return GenerationEvalResult(generator.endpoint.model, mode, len(questions), _metrics(tally), _latency(latencies))


def _metrics(tally: _Tally) -> dict[str, float]:
    metrics: dict[str, float] = {}
    if tally.with_gold:
        metrics["answer@gen"] = round(tally.contains / tally.with_gold, 4)
        metrics["answer@supported"] = round(tally.contains_supported / tally.with_gold, 4)
    metrics["sentences_supported"] = round(tally.supported / tally.sentences, 4) if tally.sentences else 0.0
    metrics["sentences"] = tally.sentences
    metrics["false_abstain_rate"] = round(tally.abstained / max(1, tally.answerable), 4)
    if tally.off_topic:
        metrics["abstain_accuracy"] = round(tally.off_topic_abstained / tally.off_topic, 4)
    metrics["failed"] = tally.failed
    return metrics


def _latency(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50": 0.0, "p95": 0.0}
    return {"p50": round(float(np.percentile(latencies, 50)), 1), "p95": round(float(np.percentile(latencies, 95)), 1)}


def format_generation_table(name: str, result: GenerationEvalResult) -> str:
    m = result.metrics
    lines = [f"Generierte Antworten auf {name}: {result.queries} Fragen, Modell {result.model}, Suche {result.mode}"]
    if "answer@gen" in m:
        lines.append(f"  Goldantwort im generierten Text (answer@gen):      {m['answer@gen']:.3f}")
        lines.append(f"  Goldantwort in einem belegten Satz:                {m['answer@supported']:.3f}")
    lines.append(f"  belegte Sätze: {m['sentences_supported']:.3f} von {m['sentences']} Sätzen")
    lines.append(f"  Enthaltungen bei beantwortbaren Fragen:            {m['false_abstain_rate']:.3f}")
    if "abstain_accuracy" in m:
        lines.append(f"  Off-topic richtig ohne belegte Antwort:            {m['abstain_accuracy']:.3f}")
    if m["failed"]:
        lines.append(f"  Fehler des Sprachmodells:                          {m['failed']}")
    lines.append(f"  Antwortzeit je Frage p50/p95: {result.latency_ms['p50']:.0f} / {result.latency_ms['p95']:.0f} ms")
    return "\n".join(lines)
