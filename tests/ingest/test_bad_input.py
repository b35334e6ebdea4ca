"""Bad input, made here as real files: each refused file gets a one-line reason, everything else is indexed."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image

from index import Index, Searcher, sync
from ingest import ChunkingOptions, chunk_document, discover, load_file
from tests.conftest import make_pdf

CHUNKING = ChunkingOptions(words=60, overlap=10)
GOOD = "Die Bildungskonferenz in {} tagte jährlich und beriet über Übergänge von der Kita in die Schule."


def scanned_pdf(path: Path) -> Path:
    """A PDF whose only page is an image: no text layer, as a scanner makes it."""
    picture = io.BytesIO()
    Image.new("RGB", (400, 200), (250, 250, 245)).save(picture, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(picture, x=10, y=10, w=180)
    pdf.output(str(path))
    return path


def docx_zip_bomb(path: Path, megabytes: int = 120) -> Path:
    """A zip with DOCX part names whose document.xml unpacks to `megabytes` of zeros (a few hundred KB packed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w") as member:
            block = b"\0" * 2**20
            for _ in range(megabytes):
                member.write(block)
    return path


def long_pdf(path: Path, pages: int) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(0, 7, f"Kapitel {number}: Bericht aus Kommune {number * 7919 % 10007} zum Thema Bildung.")
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good files beside every kind of bad input the issue lists."""
    root = tmp_path_factory.mktemp("bad")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "gut.txt").write_text(GOOD.format("Dresden"), "utf-8")
    (corpus / "leer.txt").write_bytes(b"")
    whole = make_pdf(root / "ganz.pdf", pages=[[f"Zeile {i} über Bildungsbüros."] * 20 for i in range(3)])
    (corpus / "abgeschnitten.pdf").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    make_pdf(corpus / "verschlüsselt.pdf", pages=[["Vertraulicher Haushaltsplan."]], password="geheim")
    make_pdf(corpus / "leeres-passwort.pdf", pages=[["Der Stiftungsverbund Rostock traf sich."]], password="")
    scanned_pdf(corpus / "gescannt.pdf")
    docx_zip_bomb(corpus / "bombe.docx")
    (corpus / "müll.txt").write_bytes(random.Random(6).randbytes(64 * 1024))
    (corpus / "latin1.txt").write_bytes("Größere Übergänge in Gießen für Schüler.".encode("latin-1"))
    (corpus / "nul.txt").write_bytes(b"Bildungs\x00monitoring in Jena\x00 wurde ausgebaut.")
    (corpus / "skripte.html").write_text(
        "<html><head><title>Weiterbildung Trier</title><script>alert('kopf')</script></head><body>"
        + "<script>document.write('boese')</script>" * 200
        + "<p>Trier baute die Weiterbildungsberatung aus.</p><noscript>ohne Skript</noscript>"
        + "<style>p {color: red}</style><script src='x.js'></script></body></html>", "utf-8")
    (corpus / "nur-skripte.html").write_text("<html><body>" + "<script>var a = 1;</script>" * 50 + "</body></html>")
    (corpus / "mit leerzeichen.txt").write_text(GOOD.format("Essen"), "utf-8")
    (corpus / "Größenordnung äöü ß.md").write_text("# Überblick\n\n" + GOOD.format("Würzburg"), "utf-8")
    (corpus / "zitat \"doppelt\" 'einfach'.txt").write_text(GOOD.format("Mülheim"), "utf-8")
    (root / "draußen.txt").write_text("Geheimnis außerhalb des Korpus.", "utf-8")
    (corpus / "link-nach-draußen.txt").symlink_to(root / "draußen.txt")
    (corpus / "ordner-nach-draußen").symlink_to(root, target_is_directory=True)
    return corpus


def test_each_bad_file_has_a_one_line_reason_and_the_rest_is_indexed(tmp_path: Path, bad_corpus: Path,
                                                                     minilm_embedder):
    index = Index.open(tmp_path / "index", minilm_embedder, create=True)
    try:
        report = sync(index, bad_corpus, CHUNKING)
        assert index.verify() == []
        searcher = Searcher(index, mode="bm25")
        found = {hit.source for hit in searcher.search("Gießen Übergänge", 5).hits}
        script_hits = searcher.search("boese alert document write", 5).hits
    finally:
        index.close()
    failed, skipped = dict(report.failed), dict(report.skipped)
    assert all("\n" not in reason and reason for reason in [*failed.values(), *skipped.values()])
    assert "leer" in failed["leer.txt"]
    assert "beschädigt" in failed["abgeschnitten.pdf"]
    assert "verschlüsselt" in failed["verschlüsselt.pdf"]
    assert "kein Text erkannt" in failed["gescannt.pdf"] and "Seite ist leer" in failed["gescannt.pdf"]
    assert "Zip-Bombe" in failed["bombe.docx"]
    assert "Binärdaten" in failed["müll.txt"]
    assert "keinen Text" in failed["nur-skripte.html"]
    assert set(failed) == {"leer.txt", "abgeschnitten.pdf", "verschlüsselt.pdf", "gescannt.pdf", "bombe.docx",
                           "müll.txt", "nur-skripte.html"}
    assert "außerhalb des Korpus" in skipped["link-nach-draußen.txt"]
    assert "ordner-nach-draußen" in skipped
    assert sorted(report.indexed) == sorted([
        "gut.txt", "leeres-passwort.pdf", "latin1.txt", "nul.txt", "skripte.html", "mit leerzeichen.txt",
        "Größenordnung äöü ß.md", "zitat \"doppelt\" 'einfach'.txt"])
    assert "latin1.txt" in found
    assert not script_hits


def test_latin1_nul_and_script_text_are_cleaned(bad_corpus: Path):
    (latin,) = load_file(bad_corpus / "latin1.txt", "latin1.txt")
    assert latin.text == "Größere Übergänge in Gießen für Schüler."
    (nul,) = load_file(bad_corpus / "nul.txt", "nul.txt")
    assert "\x00" not in nul.text and "Bildungsmonitoring in Jena" in nul.text
    (page,) = load_file(bad_corpus / "skripte.html", "skripte.html")
    assert page.title == "Weiterbildung Trier"
    assert "Weiterbildungsberatung" in page.text
    assert "alert" not in page.text and "document.write" not in page.text and "color" not in page.text


def test_symlinks_never_lead_out_of_the_corpus(bad_corpus: Path):
    found = discover(bad_corpus)
    sources = {file.source for file in found.files}
    assert "link-nach-draußen.txt" not in sources
    assert not any(source.startswith("ordner-nach-draußen") for source in sources)
    assert "zitat \"doppelt\" 'einfach'.txt" in sources and "Größenordnung äöü ß.md" in sources


def test_a_single_five_megabyte_line_is_chunked_in_bounded_pieces(tmp_path: Path):
    line = tmp_path / "eine-zeile.txt"
    line.write_bytes(("Bildungsmonitoring Kommune " * 200_000).encode()[: 5 * 2**20])
    (document,) = load_file(line, line.name)
    chunks = chunk_document(document, CHUNKING)
    assert len(document.text) > 5_000_000
    assert max(len(chunk.text.split()) for chunk in chunks) <= CHUNKING.words
    assert chunks[-1].char_end >= len(document.text) - 30


def test_a_pdf_of_two_thousand_pages_is_read_with_its_pages(tmp_path: Path):
    pdf = long_pdf(tmp_path / "lang.pdf", 2000)
    (document,) = load_file(pdf, pdf.name)
    chunks = chunk_document(document, CHUNKING)
    assert len(document.page_starts) == 2000
    assert {chunk.page_start for chunk in chunks} == set(range(1, 2001))
    last = next(chunk for chunk in chunks if "Kapitel 2000:" in chunk.text)
    assert last.page_start == 2000


def test_a_file_changed_while_read_is_reported_kept_and_picked_up_next_time(tmp_path: Path, corpus: Path,
                                                                           minilm_embedder):
    (corpus / "a.txt").write_text(GOOD.format("Aachen"), "utf-8")
    (corpus / "b.txt").write_text("Bochum plante eine Bildungsbuslinie.", "utf-8")
    index = Index.open(tmp_path / "index", minilm_embedder, create=True)
    try:
        sync(index, corpus, CHUNKING)
        (corpus / "b.txt").write_text("Bochum eröffnete ein Lernhaus.", "utf-8")

        def edit_while_reading(stage: str, done: int, total: int) -> None:
            if stage == "Dateien lesen" and done == 1:  # b.txt was discovered and is read next
                (corpus / "b.txt").write_text("Bochum eröffnete ein Lernhaus am Hauptbahnhof.", "utf-8")

        during = sync(index, corpus, CHUNKING, edit_while_reading)
        searcher = Searcher(index, mode="bm25")
        kept = [hit.text for hit in searcher.search("Bochum Bildungsbuslinie", 3).hits]
        after = sync(index, corpus, CHUNKING)
        latest = [hit.text for hit in searcher.search("Bochum Lernhaus Hauptbahnhof", 3).hits]
        assert index.verify() == []
    finally:
        index.close()
    assert dict(during.failed) == {"b.txt": "Datei wurde während des Einlesens geändert – sie wird beim nächsten "
                                            "Lauf eingelesen"}
    assert during.removed == [] and during.indexed == []
    assert kept == ["Bochum plante eine Bildungsbuslinie."]
    assert after.indexed == ["b.txt"]
    assert latest == ["Bochum eröffnete ein Lernhaus am Hauptbahnhof."]
