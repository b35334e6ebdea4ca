"""In-memory BM25: scores equal a direct BM25 computation, filters, vocabulary, and the move from FTS5 bags."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from index.bm25 import K1, B, encode_bag
from index.catalog import Catalog

CHUNKS = {
    1: "bildungsbüro dresden beratung beratung",
    2: "bildungskonferenz leipzig",
    3: "dresden bildungsmonitoring bericht bericht bericht",
    4: "übergang schule beruf beratung",
    5: "straße maß fuß",
    6: "",  # only stop words
}


def reference_bm25(query: list[str], chunks: dict[int, list[str]]) -> dict[int, float]:
    """BM25 written out term by term (Lucene's idf), for comparison."""
    average = sum(len(terms) for terms in chunks.values()) / len(chunks)
    scores: dict[int, float] = {}
    for term in dict.fromkeys(query):
        containing = [i for i, terms in chunks.items() if term in terms]
        idf = math.log(1 + (len(chunks) - len(containing) + 0.5) / (len(containing) + 0.5))
        for i in containing:
            tf = Counter(chunks[i])[term]
            norm = K1 * (1 - B + B * len(chunks[i]) / average)
            scores[i] = scores.get(i, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
    return scores


def filled_catalog(path: Path, chunks: dict[int, str]) -> Catalog:
    """A catalog whose chunk ids are the keys of `chunks` (documents and files left out: not needed here)."""
    catalog = Catalog(path)
    catalog._db.execute("PRAGMA foreign_keys=OFF")
    with catalog.transaction():
        ids = catalog.term_ids({term for text in chunks.values() for term in text.split()})
        for chunk_id, text in chunks.items():
            catalog._db.execute("INSERT INTO chunk_terms(chunk_id, bag) VALUES (?, ?)",
                                (chunk_id, encode_bag(ids, text.split())))
        catalog.set_meta("generation", "1")
    return catalog


@pytest.mark.parametrize("query", [["dresden"], ["beratung", "dresden"], ["bericht", "bildungskonferenz", "fuß"]])
def test_scores_equal_bm25_written_out(tmp_path: Path, query: list[str]) -> None:
    catalog = filled_catalog(tmp_path / "catalog.sqlite3", CHUNKS)
    expected = reference_bm25(query, {i: text.split() for i, text in CHUNKS.items()})
    found = catalog.keyword_index().search(query, 10)
    assert [i for i, _ in found] == sorted(expected, key=lambda i: -expected[i])
    assert [score for _, score in found] == pytest.approx(sorted(expected.values(), reverse=True), rel=2e-3)


def test_top_k_filters_and_unknown_terms(tmp_path: Path) -> None:
    index = filled_catalog(tmp_path / "catalog.sqlite3", CHUNKS).keyword_index()
    assert [i for i, _ in index.search(["beratung", "dresden"], 1)] == [1]
    assert [i for i, _ in index.search(["beratung"], 10, allowed=np.array([4, 5]))] == [4]
    assert index.search(["unbekannt"], 10) == []
    assert index.search([], 10) == []


def test_vocabulary_keeps_umlauts_and_matches_long_prefixes(tmp_path: Path) -> None:
    index = filled_catalog(tmp_path / "catalog.sqlite3", CHUNKS).keyword_index()
    assert index.known("übergang", 6) and index.known("straße", 6)
    assert index.known("bildungslandschaft", 6)  # shares "bildun" with indexed compounds
    assert not index.known("brot", 6) and not index.known("uebergang", 6)
