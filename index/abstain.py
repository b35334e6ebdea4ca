"""Abstention: answer "nothing found" when a question is unrelated to the indexed documents.

The evidence of a search (`Evidence`) is compared with what unrelated probe questions (`probes.txt`) find
in this same index (`NullLevel`, recomputed whenever the index changes):
- `passage`: mean cosine of the best CLOSEST passages, in standard deviations above the probes' mean;
- `sentence`: cosine of the best candidate sentence of the shown passages, likewise against the probes;
- `coverage`: the share of the question's term rarity (idf) found in the best EVIDENCE_PASSAGES passages;
- `known`: the share of the question's terms that occur anywhere in the index (long words also by prefix).
The rule (`AbstainRule`) adds passage closeness and known words; the sentence closeness, coverage and the
agreement of dense and keyword search separated no better on the calibration sets (docs/answers.md).
Calibrated on questions the index has never seen: MLQA-de dev questions against their own paragraphs and
against `corpus/`, and the sample questions against both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embed import Embedder
from index.vectors import row_cosines

if TYPE_CHECKING:
    from index.store import Index

PROBES_FILE = Path(__file__).with_name("probes.txt")
PREFIX_LETTERS = 6
CLOSEST = 3  # closeness = mean cosine of the best CLOSEST passages: steadier than the best one alone
EVIDENCE_PASSAGES = 3


def probe_questions() -> list[str]:
    lines = PROBES_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class NullLevel:
    """How similar unrelated questions look to one generation of the index: mean and spread of the
    passage closeness and of the best sentence cosine."""

    generation: int
    passage_mean: float
    passage_std: float
    sentence_mean: float
    sentence_std: float


@dataclass(frozen=True)
class Evidence:
    """What a search found, for the decision to answer or to stay silent."""

    passage: float
    sentence: float
    coverage: float
    known: float  # share of the question's terms that occur in the index
    agree: bool  # the best dense passage is among the best keyword passages
    level: NullLevel | None
    candidates: tuple = ()  # the answer's candidate sentences (index.answer.Candidate), for tuning and reports

    @property
    def passage_z(self) -> float:
        return _z(self.passage, self.level.passage_mean, self.level.passage_std) if self.level else 0.0

    @property
    def sentence_z(self) -> float:
        return _z(self.sentence, self.level.sentence_mean, self.level.sentence_std) if self.level else 0.0


def _z(value: float, mean: float, std: float) -> float:
    return (value - mean) / max(std, 1e-6)


@dataclass(frozen=True)
class AbstainRule:
    """Answer when `passage_z + known_weight * known` reaches `sigma`: closeness to the documents beyond what
    unrelated questions reach, plus a bonus for a question whose words the documents use. Negative `sigma`:
    never abstain."""

    sigma: float = 1.6
    known_weight: float = 3.0

    def support(self, evidence: Evidence) -> float:
        return evidence.passage_z + self.known_weight * evidence.known

    def abstains(self, evidence: Evidence) -> bool:
        if self.sigma < 0 or evidence.level is None:
            return False
        return self.support(evidence) < self.sigma


class Abstention:
    def __init__(self, embedder: Embedder, rule: AbstainRule):
        self.embedder = embedder
        self.rule = rule
        self._probe_vectors: np.ndarray | None = None
        self._level: NullLevel | None = None

    def null_level(self, index: Index, generation: int) -> NullLevel:
        if self._level is None or self._level.generation != generation:
            if self._probe_vectors is None:
                self._probe_vectors = self.embedder.embed_queries(probe_questions())
            scores, ids = index.vectors.search(self._probe_vectors, CLOSEST)
            closeness = scores.mean(axis=1)
            packed = index.catalog.sentence_vectors(sorted({int(i) for i in ids.ravel() if i >= 0}))
            sentences = np.array([_best_sentence(vector, row_ids, row_scores, packed)
                                  for vector, row_ids, row_scores in zip(self._probe_vectors, ids, scores)])
            self._level = NullLevel(generation, float(closeness.mean()), float(closeness.std()),
                                    float(sentences.mean()), float(sentences.std()))
        return self._level

    def should_abstain(self, evidence: Evidence) -> bool:
        return self.rule.abstains(evidence)


def _best_sentence(query: np.ndarray, ids: np.ndarray, scores: np.ndarray, packed: dict[int, bytes]) -> float:
    """The best sentence cosine among a probe's passages (a passage without sentence vectors: its own)."""
    best = [float(row_cosines(packed[int(i)], query).max()) if int(i) in packed else float(s)
            for i, s in zip(ids, scores) if i >= 0]
    return max(best, default=0.0)
