"""Printing evaluation results: a side-by-side table, and a JSONL file of missed queries."""

from __future__ import annotations

import json
from pathlib import Path

from eval.runner import EvalResult


def format_table(name: str, results: list[EvalResult]) -> str:
    metrics = list(dict.fromkeys(m for r in results for m in r.metrics))
    header = f"{'':22}" + "".join(f"{r.mode:>10}" for r in results)
    rows = [f"{name}: {results[0].queries} Fragen", header]
    for metric in metrics:
        rows.append(f"{metric:22}" + "".join(f"{r.metrics.get(metric, float('nan')):>10.3f}" for r in results))
    latencies = list(dict.fromkeys(name for r in results for name in r.latency_ms))
    for name in latencies:  # p50, p95 of the search; compare_p50, compare_p95 of the comparison
        rows.append(f"{'latency ' + name + ' (ms)':22}" + "".join(f"{r.latency_ms.get(name, float('nan')):>10.1f}"
                                                                  for r in results))
    return "\n".join(rows)


def write_misses(path: Path, results: list[EvalResult]) -> None:
    with path.open("w", encoding="utf-8") as stream:
        for result in results:
            for miss in result.misses:
                stream.write(json.dumps({"mode": result.mode, **miss}, ensure_ascii=False) + "\n")
