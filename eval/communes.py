"""The comparison measured: gold questions with `"communes": [...]` against the rows of `Comparer.compare`.

Names are compared as the gazetteer knows them (case, ß/ss and variants such as „Görlitz“ for „Landkreis
Görlitz“ folded together). Per question, over the first `DEPTH` rows:
- commune_recall@10: the share of the gold Kommunen that have a row (questions with gold Kommunen only);
- commune_precision@10: the share of rows whose Kommune is gold; a question without rows counts 1.0 when its
  gold list is empty (an off-topic question rightly left empty) and 0.0 otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from eval.datasets import Question
from index import Comparer, Comparison, Gazetteer

DEPTH = 10


@dataclass
class CommuneTally:
    recall: list[float] = field(default_factory=list)
    precision: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    misses: list[dict] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        return {"commune_recall@10": round(float(np.mean(self.recall)), 4) if self.recall else 0.0,
                "commune_precision@10": round(float(np.mean(self.precision)), 4) if self.precision else 0.0}

    def latency_ms(self) -> dict[str, float]:
        if not self.latencies:
            return {}
        return {"compare_p50": round(float(np.percentile(self.latencies, 50)), 1),
                "compare_p95": round(float(np.percentile(self.latencies, 95)), 1)}


def score_comparison(gold: tuple[str, ...], comparison: Comparison, gazetteer: Gazetteer
                     ) -> tuple[float | None, float, set[str], set[str]]:
    """(recall or None without gold Kommunen, precision, gold Kommunen missed, Kommunen wrongly listed)."""
    wanted = {gazetteer.canonical(name) for name in gold}
    listed = [gazetteer.canonical(row.kommune) for row in comparison.rows[:DEPTH]]
    right = wanted & set(listed)
    recall = len(right) / len(wanted) if wanted else None
    precision = sum(name in wanted for name in listed) / len(listed) if listed else float(not wanted)
    return recall, precision, wanted - right, set(listed) - wanted


def evaluate_communes(comparer: Comparer, questions: list[Question], mode: str | None = None) -> CommuneTally:
    tally = CommuneTally()
    for question in questions:
        started = time.perf_counter()
        comparison = comparer.compare(question.text, DEPTH, mode=mode)
        tally.latencies.append((time.perf_counter() - started) * 1000)
        recall, precision, missed, wrong = score_comparison(question.communes or (), comparison, comparer.gazetteer)
        if recall is not None:
            tally.recall.append(recall)
        tally.precision.append(precision)
        if missed or wrong:
            tally.misses.append({"id": question.id, "question": question.text, "why": "Kommunen",
                                 "missed": sorted(missed), "wrong": sorted(wrong),
                                 "communes": [row.to_json() for row in comparison.rows]})
    return tally
