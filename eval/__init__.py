"""Batch evaluation: run gold question sets against an index and measure retrieval quality and latency."""

from eval.datasets import EvalDataError, EvalSet, load_beir, load_gold
from eval.generation import GenerationEvalResult, evaluate_generation, format_generation_table
from eval.report import format_table, write_misses
from eval.runner import EvalResult, answer_found, evaluate, prepare_index

__all__ = ["EvalDataError", "EvalResult", "EvalSet", "GenerationEvalResult", "answer_found", "evaluate",
           "evaluate_generation", "format_generation_table", "format_table", "load_beir", "load_gold",
           "prepare_index", "write_misses"]
