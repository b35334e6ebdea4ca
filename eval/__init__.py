"""Batch evaluation: run gold question sets against an index and measure retrieval quality and latency."""

from eval.datasets import EvalSet, load_beir, load_gold
from eval.generation import GenerationEvalResult, evaluate_generation, format_generation_table
from eval.runner import EvalResult, evaluate, prepare_index

__all__ = ["EvalResult", "EvalSet", "GenerationEvalResult", "evaluate", "evaluate_generation",
           "format_generation_table", "load_beir", "load_gold", "prepare_index"]
