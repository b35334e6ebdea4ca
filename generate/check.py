"""The check: every generated sentence is tested against the passages it cites, by our own code.

A sentence is supported only when (1) it cites at least one passage and only passages that were shown,
(2) it repeats no instruction found in a document, (3) every number, date and proper name in it occurs in a
cited passage, and (4) it is close in meaning to a sentence (or two adjacent sentences) of a cited passage.
The model's own words about its sources count for nothing.
"""

from __future__ import annotations

import itertools
import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from core import Settings
from generate.facts import extract_facts, name_occurs, names_in, supporting_facts, without_markers
from generate.prompt import NOT_IN_DOCUMENTS
from index import Embedder, Hit, split_sentences

_MARKERS = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+")
_GLUED = re.compile(r"([.!?])(\[\s*\d|[A-ZÄÖÜ][a-zäöüß])")  # „Satz.[1]“, „[2].Nächster“: no space written
_INSTRUCTION = re.compile(
    r"ignorier\w*\s+(alle|sämtliche|die|bisherige|vorherige)|(bisherigen|vorherigen|obigen)\s+(anweisungen|regeln)"
    r"|system\s*-?\s*prompt|ignore\s+(all|previous|the)|api[- ]?(key|schlüssel)|llm_api_key"
    r"|als\s+(geprüft|belegt|gesichert)\s+(markier|kennzeichn|ausgeb|ausweis)", re.IGNORECASE)
_SAYS_NOTHING = re.compile(r"(dokumente|belegstellen|unterlagen)\b.*\b(keine|nicht)\b.*\b(angabe|information|"
                           r"auskunft|enthalten)", re.IGNORECASE)


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # as generated, markers included
    citations: list[int]
    supported: bool
    why: str
    similarity: float | None = None

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "citations": self.citations, "supported": self.supported, "why": self.why}


@dataclass(frozen=True)
class GeneratedAnswer:
    text: str
    sentences: list[CheckedSentence]
    model: str

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "sentences": [s.to_json() for s in self.sentences], "model": self.model}

    @property
    def supported_share(self) -> float:
        return sum(s.supported for s in self.sentences) / len(self.sentences) if self.sentences else 0.0


def citations_of(sentence: str) -> list[int]:
    numbers = [int(n) for group in _MARKERS.findall(sentence) for n in re.split(r"\s*[,;]\s*", group)]
    return list(dict.fromkeys(numbers))


def split_generated(text: str) -> list[str]:
    """Sentences of a generated answer; a marker written after the full stop („… Satz. [2]“) stays with its
    sentence, and a line of markers alone joins the sentence before it."""
    text = _GLUED.sub(r"\1 \2", text.strip())
    sentences: list[str] = []
    for start, end in split_sentences(text, 0, len(text)):
        piece = text[start:end]
        leading = _LEADING_MARKERS.match(piece)
        if leading and sentences:
            sentences[-1] = f"{sentences[-1]} {leading.group().strip()}"
            piece = piece[leading.end():].strip()
        if any(char.isalnum() for char in piece):  # not a bare bullet or rule line
            sentences.append(piece)
    return sentences


def _format_ranks(ranks: list[int]) -> str:
    return "".join(f"[{rank}]" for rank in ranks)


def _similarity_text(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


class PassageSentences:
    """Vectors of each passage's sentences and adjacent sentence pairs, embedded once per passage (LRU cache)."""

    def __init__(self, embedder: Embedder, capacity: int = 512):
        self.embedder = embedder
        self.capacity = capacity
        self._cache: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()

    def vectors(self, hit: Hit) -> np.ndarray:
        key = (hit.chunk_id, hit.text)
        if key not in self._cache:
            self._cache[key] = self.embedder.embed_passages(evidence_windows(hit.text))
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def best(self, sentence: str, hits: list[Hit]) -> float:
        vector = self.embedder.embed_passages([sentence])[0]
        return max(float((self.vectors(hit) @ vector).max()) for hit in hits)


def evidence_sentences(passage: str) -> list[str]:
    """The passage's sentences, except those that give instructions: a document cannot vouch for its injection."""
    sentences = [passage[start:end] for start, end in split_sentences(passage, 0, len(passage))]
    return [sentence for sentence in sentences if not _INSTRUCTION.search(sentence)]


def evidence_windows(passage: str) -> list[str]:
    """Evidence sentences of a passage and each pair of adjacent ones."""
    sentences = evidence_sentences(passage) or [""]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
    return [*sentences, *pairs]


class SentenceChecker:
    """Checks generated answers against the shown passages; shareable between threads of one process."""

    def __init__(self, embedder: Embedder, min_similarity: float = Settings.llm_min_similarity,
                 known_names: frozenset[str] = frozenset()):
        self.min_similarity = min_similarity
        self.known_names = known_names
        self.passages = PassageSentences(embedder)

    def check(self, text: str, hits: list[Hit], model: str = "") -> GeneratedAnswer:
        return GeneratedAnswer(text, [self.check_sentence(s, hits) for s in split_generated(text)], model)

    def check_sentence(self, sentence: str, hits: list[Hit]) -> CheckedSentence:
        citations = citations_of(sentence)
        shown = {hit.rank: hit for hit in hits}
        claim = " ".join(without_markers(sentence).split())
        if not citations:
            says_nothing = claim == NOT_IN_DOCUMENTS or _SAYS_NOTHING.search(claim)
            why = "Hinweis ohne Beleg: keine Angabe in den Belegstellen" if says_nothing else "keine Quellenangabe"
            return CheckedSentence(sentence, citations, False, why)
        unknown = [rank for rank in citations if rank not in shown]
        if unknown:
            return CheckedSentence(sentence, citations, False,
                                   f"zitiert {_format_ranks(unknown)}, das nicht unter den Belegstellen ist")
        if _INSTRUCTION.search(claim):
            return CheckedSentence(sentence, citations, False, "gibt eine Anweisung aus einem Dokument wieder")
        cited = [shown[rank] for rank in citations]
        missing = self._missing_fact(claim, cited)
        if missing:
            return CheckedSentence(sentence, citations, False, f"{missing} steht nicht in {_format_ranks(citations)}")
        similarity = self.passages.best(claim, cited)
        if similarity < self.min_similarity:
            return CheckedSentence(sentence, citations, False,
                                   f"inhaltlich nicht in {_format_ranks(citations)} zu finden (Ähnlichkeit "
                                   f"{_similarity_text(similarity)} < {_similarity_text(self.min_similarity)})",
                                   similarity)
        return CheckedSentence(sentence, citations, True,
                               f"gestützt von {_format_ranks(citations)} (Ähnlichkeit {_similarity_text(similarity)})",
                               similarity)

    def _missing_fact(self, claim: str, cited: list[Hit]) -> str | None:
        """The first number, date or name of the claim that no cited passage contains, described in German."""
        evidence = " ".join(sentence for hit in cited for sentence in evidence_sentences(hit.text))
        titled = " ".join(f"{hit.title} {hit.metadata.get('kommune', '')}" for hit in cited)
        facts, supported = extract_facts(claim), supporting_facts(evidence + " " + titled)
        for number in sorted(facts.numbers - supported.numbers):
            return f"Zahl {number.replace('.', ',')}"
        for date in sorted(facts.dates - supported.dates):
            return f"Datum {date}"
        for name in names_in(claim, self.known_names):
            if not name_occurs(name, evidence) and not name_occurs(name, titled):
                return f"Name „{name}“"
        return None
