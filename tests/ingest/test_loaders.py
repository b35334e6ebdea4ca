"""Every loader on real files made here: PDF, DOCX, HTML, Markdown, TXT (encodings), JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import pytest

from ingest import IngestError, chunk_document, load_file
from tests.conftest import make_pdf


def load_one(path: Path):
    (document,) = load_file(path, path.name)
    return document


def test_pdf_pages_hyphenation_and_running_header(tmp_path: Path):
    pdf = make_pdf(tmp_path / "bericht.pdf", title="Bildungsbericht Musterstadt",
                   header="Musterstadt – Bildungsbericht 2012",
                   pages=[["Die Stadt gründete ein Bildungs-", "büro im Rathaus.", "Es berät alle Bürgerinnen."],
                          ["Die Kita-", "Grundschule-Kooperation wuchs.", "Straßen und Plätze wurden benannt."],
                          ["Im Jahr 2014 endete die zweite Förderphase."]])
    document = load_one(pdf)
    assert document.title == "Bildungsbericht Musterstadt"
    assert "Bildungsbüro im Rathaus" in document.text
    assert "Kita-Grundschule-Kooperation" in document.text
    assert "Musterstadt – Bildungsbericht 2012" not in document.text
    assert "Seite 1 von 3" not in document.text
    assert "Straßen" in document.text
    assert document.page_at(document.text.index("Bildungsbüro")) == 1
    assert document.page_at(document.text.index("Kita-Grundschule")) == 2
    assert document.page_at(document.text.index("Förderphase")) == 3


def test_pdf_chunks_keep_their_page(tmp_path: Path):
    lines = [f"Satz {i} über die Bildungsberatung auf dieser Seite." for i in range(12)]
    pdf = make_pdf(tmp_path / "lang.pdf", pages=[lines, lines, lines])
    chunks = chunk_document(load_one(pdf))
    assert {c.page_start for c in chunks} == {1, 2, 3}
    assert all(c.page_start == c.page_end for c in chunks)


def test_encrypted_pdf_is_refused_with_reason(tmp_path: Path):
    pdf = make_pdf(tmp_path / "geheim.pdf", pages=[["Vertraulicher Inhalt."]], password="geheim")
    with pytest.raises(IngestError, match="verschlüsselt"):
        load_file(pdf, pdf.name)


def test_pdf_with_empty_user_password_is_read(tmp_path: Path):
    pdf = make_pdf(tmp_path / "offen.pdf", pages=[["Offener Inhalt über Bildungsbüros."]], password="")
    assert "Bildungsbüros" in load_one(pdf).text


def test_corrupt_pdf_is_refused_with_reason(tmp_path: Path):
    good = make_pdf(tmp_path / "gut.pdf", pages=[["Ein Satz."] * 30])
    broken = tmp_path / "kaputt.pdf"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    with pytest.raises(IngestError, match="PDF"):
        load_file(broken, broken.name)


def test_docx_with_headings_tables_and_core_title(tmp_path: Path):
    document = docx.Document()
    document.core_properties.title = "Bildungsmonitoring Leipzig"
    document.add_heading("Ergebnisse", level=1)
    document.add_paragraph("Leipzig veröffentlichte 2011 den ersten Bildungsreport.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Quote", "42 %"
    document.save(tmp_path / "leipzig.docx")
    loaded = load_one(tmp_path / "leipzig.docx")
    assert loaded.title == "Bildungsmonitoring Leipzig"
    assert "ersten Bildungsreport" in loaded.text and "Quote | 42 %" in loaded.text
    assert loaded.heading_at(loaded.text.index("Leipzig veröffentlichte")) == "Ergebnisse"


def test_html_drops_scripts_and_keeps_headings(tmp_path: Path):
    page = tmp_path / "seite.html"
    page.write_text("<html><head><title>Bildungsbüro Mülheim</title><script>alert(1)</script></head><body>"
                    "<h1>Aufgaben</h1><p>Das Büro koordiniert die Übergänge.</p><style>p{}</style></body></html>",
                    encoding="utf-8")
    loaded = load_one(page)
    assert loaded.title == "Bildungsbüro Mülheim"
    assert "alert" not in loaded.text and "p{}" not in loaded.text
    assert loaded.heading_at(loaded.text.index("Das Büro")) == "Aufgaben"


def test_markdown_front_matter_and_sidecar(tmp_path: Path):
    note = tmp_path / "erfurt.md"
    note.write_text("---\ntitle: Erfurt – Steuerung\nkommune: Erfurt\njahr: 2012\n---\n# Überschrift\n\n"
                    "Der **Lenkungskreis** tagte [zweimal](https://example.org) im Jahr.\n", encoding="utf-8")
    loaded = load_one(note)
    assert loaded.title == "Erfurt – Steuerung"
    assert loaded.metadata == {"kommune": "Erfurt", "jahr": 2012}
    assert "Der Lenkungskreis tagte zweimal im Jahr." in loaded.text
    (tmp_path / "erfurt.md.meta.json").write_text(json.dumps({"bundesland": "Thüringen", "typ": "Notiz"}))
    assert load_one(note).metadata == {"kommune": "Erfurt", "jahr": 2012, "bundesland": "Thüringen", "typ": "Notiz"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_text_encodings_keep_umlauts(tmp_path: Path, encoding: str):
    path = tmp_path / f"text-{encoding}.txt"
    path.write_bytes("Überblick\n\nGrüße aus Görlitz – die Straße der Bildung.\n".encode(encoding))
    loaded = load_one(path)
    assert loaded.title == "Überblick"
    assert "Grüße aus Görlitz – die Straße der Bildung." in loaded.text


def test_jsonl_one_document_per_line(tmp_path: Path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"_id": "d1", "title": "Erster", "text": "Text über Dresden."},
        {"_id": "d2", "title": "Zweiter", "text": "Text über Leipzig."}]), encoding="utf-8")
    documents = load_file(path, "corpus.jsonl")
    assert [(d.source, d.title) for d in documents] == [("corpus.jsonl#d1", "Erster"), ("corpus.jsonl#d2", "Zweiter")]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("leer.txt", b"", "leer"),
    ("binär.txt", bytes(range(256)) * 50, "Binärdaten"),
    ("kaputt.jsonl", b'{"_id": "x", "text": "ok"}\nnicht json\n', "Zeile 2"),
    ("bild.png", b"\x89PNG\r\n", "nicht unterstützt"),
])
def test_bad_files_give_one_line_reasons(tmp_path: Path, name: str, content: bytes, reason: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=reason) as caught:
        load_file(path, name)
    assert "\n" not in str(caught.value)
