"""Batch evaluation: run gold question sets against an index and measure retrieval quality and latency."""

from eval.datasets import EvalSet, load_beir, load_gold
from eval.runner import EvalResult, answer_found, evaluate, prepare_index

__all__ = ["EvalResult", "EvalSet", "answer_found", "evaluate", "load_beir", "load_gold", "prepare_index"]
