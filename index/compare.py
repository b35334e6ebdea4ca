"""Praxisbeispiele im Vergleich: one question, one row per Kommune with the sentences that answer it there.

The search goes deeper than the cards (`DEPTH` passages, same filters and the same abstention rule). Each
quotable sentence of those passages is scored like an answer sentence: its cosine to the question plus the share
of the question's term weight said of the Kommune (rare terms and nouns weigh most; generic words such as
„Kommunen“ not at all; compounds and their heads count). A sentence speaks of a Kommune
- when its document is about that Kommune: the metadata `kommune` first, then the title, then the file name;
- otherwise (an overview) when it names the Kommune (only the words near the name count for it), or its section
  heading does.
Documents whose `kommune` is no Kommune („Transferagentur Berlin“) or whose type is „Transferagentur“ make no
rows. Only sentences close to the best one count (`CompareWeights.margin`) and, once any sentence says one of the
question's words, only sentences that do: a Kommune an overview merely lists gets no row. Details and figures:
docs/compare.md.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field, replace

import numpy as np

from index.answer import MAX_WORDS, MIN_WORDS, is_prose, term_rarity, vector_rows
from index.catalog import Filters
from index.communes import Commune, Gazetteer, fold
from index.keywords import analyze
from index.search import Hit, Searcher
from index.vectors import row_cosines

DEPTH = 40  # passages searched for a comparison (the cards show 5)
LIMIT = 10  # rows shown by default
MAX_QUOTED = 2  # sentences quoted per Kommune
NO_COMMUNE_TYPES = frozenset({"transferagentur"})  # document types about an agency, never about one Kommune
TITLE_SHARE = 0.5  # what the question's words in the title count for each sentence of a Kommune's document
HEAD_SHARE = 0.5  # what a compound's head alone („Bericht“ for „Bildungsbericht“) counts of the whole
MIN_HEAD = 6  # shorter heads („stand“ of „ruhestand“, „stell“ of „stabsstell“) say little
MIN_COMPOUND_PART = 5  # shorter stems („pat“) would match inside unrelated words
NEAR = 8  # words on either side of a Kommune's name that an overview's sentence says of it
_LIST_HEAD = re.compile(r"\s*(?:[-*•]|\d+[.)])\s+[^:]{1,60}:")  # „- Freiburg (Sachsen):“
_WORD = re.compile(r"\w[\w-]*")
_NOUN = re.compile(r"(?<=\s)[A-ZÄÖÜ][\w-]+")  # capitalised words after the first: German nouns
_AS_STEMMED = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})  # how the Snowball stems spell them
GENERIC = frozenset(analyze("Kommune Kommunen Stadt Städte Landkreis Landkreise Kreis Kreise Gemeinde Gemeinden "
                            "Ort Orte Standort Standorte LvO-Kommunen Modellkommunen"))


@dataclass(frozen=True)
class CompareWeights:
    """How a sentence is scored and which count; chosen on the compare questions (docs/compare.md)."""

    coverage: float = 0.1  # weight of the share of the question's rare terms in the sentence, beside the cosine
    margin: float = 0.08  # a sentence counts when its score is at most this far below the best sentence's
    second: float = 0.05  # a second quoted sentence at most this far below the Kommune's first
    other_terms: float = 0.3  # weight of a question word that is no noun, relative to a noun of the same rarity


@dataclass(frozen=True)
class Quote:
    text: str  # exactly as in the passage
    source: str
    page: int | None
    score: float = 0.0
    chunk_id: int = 0
    coverage: float = 0.0  # share of the question's term weight said of the Kommune

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "source": self.source, "page": self.page}


@dataclass(frozen=True)
class CommuneRow:
    kommune: str
    bundesland: str
    sentences: list[Quote]
    more: int  # further passages that support the Kommune

    def to_json(self) -> dict[str, object]:
        return {"kommune": self.kommune, "bundesland": self.bundesland,
                "sentences": [quote.to_json() for quote in self.sentences], "more": self.more}


@dataclass(frozen=True)
class Comparison:
    query: str
    rows: list[CommuneRow] = field(default_factory=list)
    found: bool = True  # False: the search abstained (nothing in the documents fits the question)

    def to_json(self) -> dict[str, object]:
        return {"query": self.query, "communes": [row.to_json() for row in self.rows]}


@dataclass(frozen=True)
class _Sentence:
    text: str
    cosine: float
    terms: frozenset[str]


class Comparer:
    """Compares Kommunen for questions against one searcher; safe to share between threads."""

    def __init__(self, searcher: Searcher, weights: CompareWeights = CompareWeights(),
                 gazetteer: Gazetteer | None = None, depth: int = DEPTH):
        self.searcher = searcher
        self.weights = weights
        self.gazetteer = gazetteer or Gazetteer.shipped()
        self.depth = depth

    def compare(self, query: str, limit: int = LIMIT, filters: Filters = Filters(),
                mode: str | None = None) -> Comparison:
        mode = mode or self.searcher.mode
        result = self.searcher.search(query, self.depth, filters=filters, mode=mode)
        if not result.hits:
            return Comparison(query, [], found=False)
        scored = self._scored_sentences(query, result.hits, mode)
        if not scored:
            return Comparison(query)
        floor = max(score for score, _, _ in scored) - self.weights.margin
        # when some sentence says one of the question's words of a Kommune, a sentence that says none does not count
        worded = any(quote.coverage > 0 for _, quote, _ in scored)
        support: dict[Commune, list[Quote]] = {}
        for score, quote, communes in sorted(scored, key=lambda item: -item[0]):
            if score < floor:
                break
            if worded and not quote.coverage:
                continue
            for commune in communes:
                support.setdefault(commune, []).append(quote)
        rows = [self._row(commune, quotes) for commune, quotes in support.items()]
        rows.sort(key=lambda row: -row.sentences[0].score)
        return Comparison(query, rows[:max(0, limit)])

    def _row(self, commune: Commune, quotes: list[Quote]) -> CommuneRow:
        """The Kommune's best sentence, a second one close to it from other words, and the passages left."""
        chosen = [quotes[0]]
        for quote in quotes[1:]:
            if len(chosen) >= MAX_QUOTED or quote.score < chosen[0].score - self.weights.second:
                break
            if all(fold(quote.text) != fold(other.text) and not _overlaps(quote.text, other.text)
                   for other in chosen):
                chosen.append(quote)
        quoted = {fold(quote.text) for quote in chosen}
        further = {quote.chunk_id for quote in quotes if fold(quote.text) not in quoted}
        further -= {quote.chunk_id for quote in chosen}
        return CommuneRow(commune.name, commune.bundesland, chosen, len(further))

    def _scored_sentences(self, query: str, hits: list[Hit], mode: str) -> list[tuple[float, Quote, list[Commune]]]:
        """(score, quote, Kommunen) for every quotable sentence and the Kommunen it speaks of (`_claims`); a
        sentence naming several Kommunen is scored for each by the words near its name."""
        sentences = self._sentences(query, hits, mode)
        weights = self._term_weights(query, sentences)
        heads = self._heads(self._nouns(query) & set(weights))
        seen: set[tuple[str, str]] = set()
        scored = []
        for hit in hits:
            about = self._document_communes(hit)
            if about is None:
                continue
            heading = self.gazetteer.mentions(hit.heading) if not about else []
            for sentence in sentences.get(hit.chunk_id, []):
                key = (hit.source, fold(sentence.text))
                if key in seen:  # the same sentence in an overlapping passage
                    continue
                seen.add(key)
                quote = Quote(sentence.text, hit.source, hit.page, chunk_id=hit.chunk_id)
                for communes, terms in self._claims(sentence, about, heading):
                    coverage = _coverage(terms, weights, heads)
                    if about:  # the sentence in the light of the title („Duisburg – Trägerunabhängige
                        # Bildungsberatung“), which counts less than what it says itself
                        titled = _coverage(terms | title_terms(hit.title), weights, heads)
                        coverage = max(coverage, TITLE_SHARE * titled)
                    score = round(sentence.cosine + self.weights.coverage * coverage, 4)
                    scored.append((score, replace(quote, score=score, coverage=round(coverage, 4)), communes))
        return scored

    def _claims(self, sentence: _Sentence, about: list[Commune], heading: list[Commune]
                ) -> list[tuple[list[Commune], frozenset[str]]]:
        """Which Kommunen the sentence speaks of, each with the words said of it:
        - the document's Kommune: the whole sentence;
        - a list item „- Freiburg: …“: the whole item for the Kommune at its head;
        - any other naming: the words within `NEAR` words of it („Bildungsbüros in Dresden und Dessau-Roßlau, die
          Abteilung Bildung … in Leipzig“ says „Bildungsbüros“ of Dresden and Dessau-Roßlau, not of Leipzig);
        - no naming: the single Kommune the section heading names, if any."""
        if about:
            return [(about, sentence.terms)]
        spans = self.gazetteer.mention_spans(sentence.text)
        if not spans:
            return [(heading, sentence.terms)] if len(heading) == 1 else []
        claims: dict[Commune, set[str]] = {}
        head = _LIST_HEAD.match(sentence.text)
        words = [(match.start(), match.group()) for match in _WORD.finditer(sentence.text)]
        starts = [start for start, _ in words]
        for commune, start, end in spans:
            if head and start < head.end():
                claims.setdefault(commune, set()).update(sentence.terms)
                continue
            first, last = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
            near = " ".join(word for _, word in words[max(0, first - NEAR):last + NEAR])
            claims.setdefault(commune, set()).update(word_terms(near))
        return [([commune], frozenset(terms)) for commune, terms in claims.items()]

    def _term_weights(self, query: str, sentences: dict[int, list[_Sentence]]) -> dict[str, float]:
        """The question's terms by rarity; its nouns (the practice asked about) count fully, other words less."""
        # a term no passage contains („pat“ of „Paten“) tells no sentence apart and is left out, unless it is a noun
        # inside compounds of the sentences found („bildungsburo“ in „bildungsburos“): then it counts as the rarest
        terms = [term for term in analyze(query) if term not in GENERIC]
        idf, nouns = self._idf(terms), self._nouns(query)
        terms = [term for term in terms if term in idf or (term in nouns and len(term) >= MIN_COMPOUND_PART and any(
            _contains(sentence.terms, term) for found in sentences.values() for sentence in found))]
        nouns &= set(terms)
        return {term: weight * (1.0 if term in nouns or not nouns else self.weights.other_terms)
                for term, weight in term_rarity(terms, idf).items()}

    def _sentences(self, query: str, hits: list[Hit], mode: str) -> dict[int, list[_Sentence]]:
        """The quotable sentences of each passage with their cosine to the question (0 without vectors)."""
        index = self.searcher.index
        vector = index.embedder.embed_queries([query])[0] if mode != "bm25" else None
        packed = index.catalog.sentence_vectors([hit.chunk_id for hit in hits]) if vector is not None else {}
        found: dict[int, list[_Sentence]] = {}
        for hit in hits:
            rows = vector_rows(hit.text)
            cosines = row_cosines(packed[hit.chunk_id], vector) if hit.chunk_id in packed else np.zeros(0)
            sentences = []
            for row, span in enumerate(rows):
                text = hit.text[span.start:span.end]
                if not MIN_WORDS <= len(text.split()) <= MAX_WORDS or not is_prose(text):
                    continue
                cosine = float(cosines[row]) if len(cosines) == len(rows) else 0.0
                sentences.append(_Sentence(text, cosine, word_terms(text)))
            found[hit.chunk_id] = sentences
        return found

    def _document_communes(self, hit: Hit) -> list[Commune] | None:
        """[the Kommune] a document is about, [] for an overview, None for a document about no Kommune."""
        if str(hit.metadata.get("typ", "")).lower() in NO_COMMUNE_TYPES:
            return None
        named = str(hit.metadata.get("kommune") or "").strip()
        if named:
            commune = self.gazetteer.resolve(named)
            return [commune] if commune else None
        for found in (self.gazetteer.mentions(hit.title), self.gazetteer.in_file_name(hit.source)):
            if len(found) == 1:
                return found
        return []

    @staticmethod
    def _nouns(query: str) -> set[str]:
        return {term for word in _NOUN.findall(query) for term in analyze(word)}

    def _heads(self, terms: set[str]) -> dict[str, str]:
        """The head of each compound term of the question, as the index knows it: „bildungsbericht“ → „bericht“,
        „bildungskonferenz“ → „konferenz“ (a Folgebericht is a Bericht, a Netzwerkkonferenz a Konferenz)."""
        known = self.searcher.index.keywords.columns
        heads = {}
        for term in terms:
            suffixes = (term[start:] for start in range(1, len(term) - MIN_HEAD + 1))
            head = next((suffix for suffix in suffixes if suffix in known and len(term) - len(suffix) >= 4), None)
            if head:
                heads[term] = head
        return heads

    def _idf(self, terms: list[str]) -> dict[str, float]:
        keywords = self.searcher.index.keywords
        return {term: float(keywords.idf[keywords.columns[term]]) for term in terms if term in keywords.columns}


def word_terms(text: str) -> frozenset[str]:
    """The stems of `text` and its words as the stemmer spells them (lower case, umlauts plain), so that a
    question's stem is found inside compounds („stiftung“ in „patenstiftungen“)."""
    words = {word.lower().translate(_AS_STEMMED) for word in _WORD.findall(text)}
    return frozenset(analyze(text)) | words


@functools.lru_cache(maxsize=4096)
def title_terms(title: str) -> frozenset[str]:
    return word_terms(title)


def _coverage(terms: frozenset[str], weights: dict[str, float], heads: dict[str, str]) -> float:
    """The share of the question's term weight that `terms` contain."""
    found = sum(_credit(terms, term, weight, heads.get(term)) for term, weight in weights.items())
    return found / (sum(weights.values()) or 1.0)


def _credit(terms: frozenset[str], term: str, weight: float, head: str | None) -> float:
    """A question term's weight when the words contain it, half of it when they contain only its compound head."""
    if _contains(terms, term):
        return weight
    return HEAD_SHARE * weight if head and _contains(terms, head) else 0.0


def _contains(terms: frozenset[str], term: str) -> bool:
    """The term, or a German compound containing it („bildungsburo“ in „bildungsburos“, „stiftung“ in
    „patenstiftungen“)."""
    return term in terms or (len(term) >= MIN_COMPOUND_PART and any(term in other for other in terms))


def _overlaps(text: str, other: str) -> bool:
    """Near-duplicates: most of the words of the shorter sentence are in the other."""
    words, others = set(analyze(text)), set(analyze(other))
    smaller = min(len(words), len(others)) or 1
    return len(words & others) / smaller >= 0.8
