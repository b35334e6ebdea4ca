"""The extractive answer: the sentences of the retrieved passages that best answer the question.

Every sentence is an exact substring of its passage and carries the rank of that passage, so each marker
[n] in the answer points to the card of passage n.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from index import Hit, analyze, split_sentences

MAX_SENTENCES = 3
MAX_PER_PASSAGE = 2
MIN_WORDS = 5
MAX_WORDS = 80
THIRD_SENTENCE_SHARE = 0.5  # a third sentence only when it scores at least half of the best one

_SENTENCE_END = re.compile(r"[.!?…:;][\"'“”»«)\]]*$")
_LIST_ITEM = re.compile(r"[-*•]\s|\d+[.)]\s")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    rank: int
    span: Span


def sentence_spans(text: str) -> list[Span]:
    """Sentences of `text` as (start, end) offsets, split as the chunker splits them."""
    return [Span(start, end) for start, end in split_sentences(text, 0, len(text))]


def _is_prose(sentence: str) -> bool:
    """A full sentence or a list item; headings and title lines are not quoted as answers."""
    if sentence.startswith("#"):
        return False
    return bool(_LIST_ITEM.match(sentence) or _SENTENCE_END.search(sentence))


def _weights(query_terms: set[str], hits: list[Hit]) -> dict[str, float]:
    """Query terms weighted by rarity among the retrieved passages (a term in every passage counts less)."""
    frequency = Counter(term for hit in hits for term in set(analyze(hit.text)) if term in query_terms)
    return {term: math.log(1 + (len(hits) + 1) / (1 + frequency[term])) for term in query_terms}


def _candidates(hit: Hit, weights: dict[str, float]) -> list[tuple[float, AnswerSentence]]:
    rank_weight = 1 / (1 + 0.25 * (hit.rank - 1))
    found = []
    for span in sentence_spans(hit.text):
        sentence = hit.text[span.start:span.end]
        words = len(sentence.split())
        if not MIN_WORDS <= words <= MAX_WORDS or not _is_prose(sentence):
            continue
        score = sum(weights.get(term, 0.0) for term in set(analyze(sentence))) * rank_weight
        found.append((score, AnswerSentence(sentence, hit.rank, span)))
    return found


def extract_answer(query: str, hits: list[Hit], limit: int = MAX_SENTENCES) -> list[AnswerSentence]:
    """Two or three sentences that share the most (rare) query terms, in passage order.

    Empty when no sentence shares a content term with the query: then nothing answers the question.
    """
    weights = _weights(set(analyze(query)), hits)
    scored = [item for hit in hits for item in _candidates(hit, weights) if item[0] > 0]
    scored.sort(key=lambda item: (-item[0], item[1].rank, item[1].span.start))
    chosen: list[tuple[float, AnswerSentence]] = []
    seen: set[str] = set()
    for score, sentence in scored:
        key = " ".join(sentence.text.lower().split())
        per_passage = sum(1 for _, other in chosen if other.rank == sentence.rank)
        if key in seen or per_passage >= MAX_PER_PASSAGE or score <= 0:
            continue
        if len(chosen) >= 2 and score < THIRD_SENTENCE_SHARE * chosen[0][0]:
            break
        chosen.append((score, sentence))
        seen.add(key)
        if len(chosen) >= limit:
            break
    return sorted((sentence for _, sentence in chosen), key=lambda s: (s.rank, s.span.start))
