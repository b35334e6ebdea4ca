"""The extractive answer: the sentences of the retrieved passages ranked by how likely they answer the question.

Every sentence is an exact substring of its passage and carries the rank of that passage, so each marker
[n] points to the card of passage n. A sentence's score is a small weighted sum (`AnswerWeights`):
- `closeness`: its cosine to the question (the sentence vectors stored at ingest time), relative to the best
  candidate: the one signal that also finds answers phrased with other words than the question's;
- `coverage`: the share of the question's term rarity (BM25 idf of the index) the sentence contains;
- `kind`: the sentence holds what the question asks for and does not name itself (`index.answer_type`: wann →
  a date, wie viele → a number, was kostet → an amount of money, wer → a person or body);
- `rank`: a penalty per place the sentence's passage is below the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.answer_type import AnswerType
from index.keywords import analyze
from ingest import split_sentences

MAX_SENTENCES = 3
MIN_WORDS = 3
MAX_WORDS = 120
HEADING_WORDS = 8  # a line this short without a sentence end is a heading or title, not an answer
ANSWER_PASSAGES = 5  # candidates come from this many of the best passages
MIN_SENTENCE_WORDS = 3  # sentences this short get no stored vector (index/indexer.py)
NEAR_DUPLICATE = 0.8  # share of a sentence's terms already quoted above which it adds nothing new

_SENTENCE_END = re.compile(r"[.!?…:;][\"'“”»«)\]]*$")
_LIST_ITEM = re.compile(r"[-*•]\s|\d+[.)]\s")
_QUESTION_END = re.compile(r"\?[\"'“”»«)\]]*$")
_LABEL = re.compile(r":[\"'“”»«)\]]*$")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    rank: int
    span: Span
    score: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "passage": self.rank}


@dataclass(frozen=True)
class AnswerWeights:
    """How the sentence score mixes its signals (see the module docstring); tuned on MLQA-de dev."""

    closeness: float = 1.0
    coverage: float = 0.02
    kind: float = 0.0  # measured, no gain on MLQA-de dev (docs/answers.md); kept for other corpora and settings
    rank: float = 0.01
    extra_gap: float = 0.06  # a further sentence only when its score is at most this far below the best one's


@dataclass(frozen=True)
class Candidate:
    """One quotable sentence with the signals its score is made of."""

    sentence: AnswerSentence
    cosine: float
    coverage: float
    kind: float
    terms: frozenset[str]


def sentence_spans(text: str) -> list[Span]:
    """Sentences of `text` as (start, end) offsets, split as the chunker splits them."""
    return [Span(start, end) for start, end in split_sentences(text, 0, len(text))]


def vector_rows(text: str) -> list[Span]:
    """The sentences of a passage that have a stored vector, in the order of its rows."""
    spans = sentence_spans(text)
    return [span for span in spans if len(text[span.start:span.end].split()) >= MIN_SENTENCE_WORDS]


def is_prose(sentence: str) -> bool:
    """A full sentence, a list item or a long line. Not quoted as answers: headings, title lines,
    questions („Wer gehört an den Tisch?“) and bare labels („Die Aufgaben:“)."""
    if sentence.startswith("#") or _QUESTION_END.search(sentence):
        return False
    long = len(sentence.split()) > HEADING_WORDS
    if _LABEL.search(sentence):  # a label that introduces what follows
        return long
    return bool(long or _LIST_ITEM.match(sentence) or _SENTENCE_END.search(sentence))


def term_rarity(terms: list[str], idf: dict[str, float]) -> dict[str, float]:
    """Each distinct question term with its rarity; a term the index never saw counts as the rarest."""
    rarest = max(idf.values(), default=1.0)
    return {term: idf.get(term, rarest) for term in dict.fromkeys(terms)}


def candidates(question: str, rarity: dict[str, float], passages: list[tuple[int, str, np.ndarray]],
               kind: AnswerType | None = None) -> list[Candidate]:
    """Quotable sentences of `passages` (rank, text, cosine of each sentence row) with their signals; `kind`:
    what the question asks for."""
    named = kind.found(question) if kind else set()
    total = sum(rarity.values()) or 1.0
    found = []
    for rank, text, cosines in passages:
        rows = vector_rows(text)
        for row, span in enumerate(rows):
            sentence = text[span.start:span.end]
            if not MIN_WORDS <= len(sentence.split()) <= MAX_WORDS or not is_prose(sentence):
                continue
            terms = frozenset(analyze(sentence))
            coverage = sum(weight for term, weight in rarity.items() if term in terms) / total
            fits = 1.0 if kind is not None and kind.answers(sentence, named) else 0.0
            cosine = float(cosines[row]) if len(cosines) == len(rows) else float(cosines.max(initial=0.0))
            found.append(Candidate(AnswerSentence(sentence, rank, span), cosine, coverage, fits, terms))
    return found


def score(candidate: Candidate, best_cosine: float, weights: AnswerWeights) -> float:
    return (weights.closeness * (candidate.cosine - best_cosine) + weights.coverage * candidate.coverage
            + weights.kind * candidate.kind - weights.rank * (candidate.sentence.rank - 1))


def pick(found: list[Candidate], weights: AnswerWeights, limit: int = MAX_SENTENCES) -> list[AnswerSentence]:
    """The best sentence first, then up to `limit - 1` more that score nearly as well and add new terms."""
    if not found:
        return []
    best_cosine = max(c.cosine for c in found)
    scored = sorted(((score(c, best_cosine, weights), c) for c in found),
                    key=lambda item: (-item[0], item[1].sentence.rank, item[1].sentence.span.start))
    top = scored[0][0]
    chosen: list[tuple[float, Candidate]] = []
    for value, candidate in scored:
        if chosen and value < top - weights.extra_gap:
            break
        if any(_near_duplicate(candidate, other) for _, other in chosen):
            continue
        chosen.append((value, candidate))
        if len(chosen) >= limit:
            break
    return [AnswerSentence(c.sentence.text, c.sentence.rank, c.sentence.span, round(value, 4)) for value, c in chosen]


def _near_duplicate(candidate: Candidate, other: Candidate) -> bool:
    if " ".join(candidate.sentence.text.lower().split()) == " ".join(other.sentence.text.lower().split()):
        return True
    if not candidate.terms:
        return True
    return len(candidate.terms & other.terms) / len(candidate.terms) >= NEAR_DUPLICATE
