"""Make the sample corpus's scanned document `corpus/arbeitshilfe-bildungskonferenz-scan.pdf` from own text.

    python -m tools.corpus_scan [TARGET.pdf]

The text is set with fpdf2 (DejaVu Sans) and turned into an image-only PDF by `tools.scan` at 200 dpi,
JPEG quality 60, with a slight skew, blur and dust, as a copier would scan it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from fpdf import FPDF

from tools.scan import scan_pdf

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TARGET = Path(__file__).resolve().parents[1] / "corpus" / "arbeitshilfe-bildungskonferenz-scan.pdf"

PAGES = [
    ("Arbeitshilfe: Die erste kommunale Bildungskonferenz", [
        "Diese Arbeitshilfe fasst in eigenen Worten zusammen, was sich bei der Vorbereitung einer ersten "
        "kommunalen Bildungskonferenz bewährt. Sie richtet sich an Bildungsbüros, die eine Konferenz "
        "zum ersten Mal ausrichten, und an Verwaltungsspitzen, die über Zeitplan und Mittel entscheiden.",
        "Eine Bildungskonferenz ist kein Fachtag mit Vorträgen, sondern ein Arbeitstreffen: Die Teilnehmenden "
        "sollen am Ende gemeinsame Vorhaben verabreden, für die es Verantwortliche und Termine gibt.",
        "Die Hilfe gliedert sich in drei Teile: die Vorbereitung, den Ablauf des Konferenztages und die "
        "Nachbereitung, ohne die eine Konferenz folgenlos bleibt.",
    ]),
    ("1. Vorbereitung", [
        "Die Einladung sollte zweieinhalb bis drei Monate vor dem Konferenztag verschickt werden, in den "
        "Ferienzeiten früher. Eingeladen werden Schulleitungen, Kitaträger, Volkshochschule, Jobcenter, "
        "Kammern, Elternvertretungen und die Fraktionen des Rates, damit Politik und Praxis an einem "
        "Tisch sitzen.",
        "Ein Orgateam aus drei bis fünf Personen trifft sich im Monat vor der Konferenz wöchentlich. Es "
        "legt höchstens drei Themen fest; mehr Themen zerfasern den Tag. Für jedes Thema wird ein "
        "kurzes Datenblatt aus dem Bildungsmonitoring vorbereitet, das alle vorab erhalten.",
        "Als Ort eignet sich ein neutraler Saal mit Nebenräumen für die Arbeitsgruppen, zum Beispiel "
        "eine Stadthalle oder ein Berufskolleg, nicht das Rathaus.",
    ]),
    ("2. Konferenztag und Nachbereitung", [
        "Der Tag beginnt mit einem Grußwort der Oberbürgermeisterin oder des Landrats von höchstens "
        "zehn Minuten. Danach arbeiten Gruppen von acht bis zwölf Personen an je einem Thema; jede "
        "Gruppe hält drei Vorhaben mit Verantwortlichen auf einer Stellwand fest.",
        "Die Dokumentation mit allen verabredeten Vorhaben geht spätestens einen Monat nach der "
        "Konferenz an alle Teilnehmenden. Nach einem halben Jahr fragt das Bildungsbüro den Stand der "
        "Vorhaben ab und berichtet dem Fachausschuss.",
        "Die Folgekonferenz findet nach zwölf bis achtzehn Monaten statt und beginnt mit einer "
        "Bilanz der Vorhaben aus der ersten Konferenz.",
    ]),
]


def text_pdf(path: Path) -> Path:
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    pdf.add_font("body", fname=str(FONT))
    pdf.set_title("Arbeitshilfe: Die erste kommunale Bildungskonferenz")
    for number, (heading, paragraphs) in enumerate(PAGES, start=1):
        pdf.add_page()
        pdf.set_font("body", size=15)
        pdf.multi_cell(0, 9, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("body", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6.5, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        pdf.set_y(-20)
        pdf.cell(0, 8, f"Arbeitshilfe Bildungskonferenz – Seite {number}")
    pdf.output(str(path))
    return path


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET
    with tempfile.TemporaryDirectory() as folder:
        scan_pdf(text_pdf(Path(folder) / "text.pdf"), target, dpi=200, quality=60, skew=0.4)
    print(f"{target} ({target.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
