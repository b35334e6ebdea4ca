"""Scanned PDFs through `lvo ingest` with real Tesseract: recognised text, exact pages, OCR marks, eval parity."""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from chat.cli import main
from chat.render import card
from index import Index, Searcher, make_embedder
from tests.conftest import make_pdf, minilm_path
from tools.scan import scan_pdf

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


def lvo(*args: str) -> str:
    """Run the `lvo` command in this process (one model load for the module) and return what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main([*args, "--model", minilm_path()]) == 0
    return printed.getvalue()


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


def character_error_rate(recognised: str, original: str) -> float:
    """Levenshtein distance (insertions, deletions, substitutions) over the original's length."""
    previous = np.arange(len(recognised) + 1)
    target = np.frombuffer(recognised.encode("utf-32-le"), dtype=np.uint32)
    for row, char in enumerate(original, start=1):
        substitution = previous[:-1] + (target != ord(char))
        current = np.empty_like(previous)
        current[0] = row
        current[1:] = np.minimum(substitution, previous[1:] + 1)
        current = np.minimum.accumulate(current - np.arange(len(current))) + np.arange(len(current))
        previous = current
    return int(previous[-1]) / max(1, len(original))


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
    index = Index.open(versions["scan"].index, make_embedder(minilm_path()))
    try:
        hit = Searcher(index).search("Gäste der Bildungskonferenz", 1).hits[0]
    finally:
        index.close()
    assert hit.ocr and "Text per Texterkennung" in card(hit, "Gäste")


def test_unchanged_scan_is_not_read_again(versions: dict[str, Ingested]):
    again = _ingest(versions["scan"].corpus, versions["scan"].index)
    assert "Keine Änderungen" in again.output and "unverändert: 1 Dateien" in again.output
    assert "Texterkennung" not in again.output
