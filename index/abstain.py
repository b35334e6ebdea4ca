"""Abstention: answer "nothing found" when a question is unrelated to the indexed documents.

Two signals must both say "unrelated":
- lexical: no word of the question (nor, for long words, a word sharing its first six letters, which
  catches German compounds and inflections) occurs anywhere in the index;
- dense: the best passages are no closer to the question than the passages that unrelated probe questions
  (`probes.txt`) find in this same index: the mean cosine of the top three stays below the probes' mean
  plus `sigma` standard deviations.
The probe statistics depend on the corpus, so they are recomputed whenever the index changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embed import Embedder
from index.bm25 import KeywordIndex
from index.vectors import FaissStore

PROBES_FILE = Path(__file__).with_name("probes.txt")
PREFIX_LETTERS = 6
CLOSEST = 3  # closeness = mean cosine of the best CLOSEST passages: steadier than the best one alone


def probe_questions() -> list[str]:
    lines = PROBES_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class NullLevel:
    """How similar unrelated questions look to one generation of the index."""

    generation: int
    mean: float
    std: float


class Abstention:
    def __init__(self, embedder: Embedder, sigma: float):
        self.embedder = embedder
        self.sigma = sigma
        self._probe_vectors: np.ndarray | None = None
        self._level: NullLevel | None = None

    def null_level(self, vectors: FaissStore, generation: int) -> NullLevel:
        if self._level is None or self._level.generation != generation:
            if self._probe_vectors is None:
                self._probe_vectors = self.embedder.embed_queries(probe_questions())
            scores, _ = vectors.search(self._probe_vectors, CLOSEST)
            closeness = scores.mean(axis=1)
            self._level = NullLevel(generation, float(closeness.mean()), float(closeness.std()))
        return self._level

    def should_abstain(self, keywords: KeywordIndex, terms: list[str], cosines: list[float], level: NullLevel) -> bool:
        """`cosines`: the query's dense scores, best first."""
        if self.sigma < 0 or any(keywords.known(term, PREFIX_LETTERS) for term in dict.fromkeys(terms)):
            return False
        return float(np.mean(cosines[:CLOSEST])) < level.mean + self.sigma * level.std
