"""The seed corpus: small valid files of every target's format, made here (nothing downloaded, nothing committed).

Each seed is a file the loader reads without complaint; the fuzzer mutates them. Written by `write_seeds`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from fuzz.targets import BEIR_FILES, BEIR_VALID, docx_with

TEXT = ("Bericht aus Dresden\n\nDas Bildungsbüro der Stadt Dresden beriet 2012 über Übergänge von der Kita in die "
        "Grundschule. Die Bildungs-\nkonferenz tagte jährlich; Größe und Maß der Beteiligung wuchsen.\n\n"
        "Ergebnisse\n\nZwölf Schulen nahmen teil – „Lernen vor Ort“ förderte das Monitoring.")
LATIN_TEXT = TEXT.replace("–", "-").replace("„", '"').replace("“", '"')  # for Latin-1 and the PDF core fonts


def _pdfs() -> dict[str, bytes]:
    from fpdf import FPDF

    def pdf(compress: bool, title: str = "", password: str | None = None, pages: int = 2) -> bytes:
        document = FPDF()
        document.compress = compress
        document.set_font("helvetica", size=11)
        if title:
            document.set_title(title)
        for number in range(1, pages + 1):
            document.add_page()
            document.cell(0, 8, "Kopfzeile Lernen vor Ort", new_x="LMARGIN", new_y="NEXT")
            for line in LATIN_TEXT.splitlines():
                document.cell(0, 7, f"{line} ({number})", new_x="LMARGIN", new_y="NEXT")
        if password is not None:
            document.set_encryption(owner_password="owner", user_password=password)
        return bytes(document.output())

    def scan() -> bytes:
        from PIL import Image

        picture = io.BytesIO()
        Image.new("L", (120, 60), 255).save(picture, format="PNG")
        document = FPDF()
        document.add_page()
        document.image(picture, x=10, y=10, w=100)
        return bytes(document.output())

    return {"plain.pdf": pdf(False, "Bildungsbericht"), "compressed.pdf": pdf(True, pages=3),
            "empty-password.pdf": pdf(False, password=""), "scan.pdf": scan()}


DOCUMENT_XML = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Bildungsbericht Jena</w:t></w:r></w:p>'
                '<w:p><w:r><w:t xml:space="preserve">Die Stadt Jena baute ein Bildungsbüro auf. </w:t></w:r>'
                '<w:r><w:t>Übergänge wurden begleitet.</w:t></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>Jahr'
                '</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>2013</w:t></w:r></w:p></w:tc></w:tr></w:tbl>'
                '</w:body></w:document>').encode()


def _docx() -> dict[str, bytes]:
    import docx

    full = docx.Document()
    full.core_properties.title = "Bildungsbericht Dresden"
    full.add_heading("Überblick", level=1)
    for paragraph in TEXT.split("\n\n"):
        full.add_paragraph(paragraph)
    table = full.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(1, 1).text = "Kommune", "Dresden"
    stream = io.BytesIO()
    full.save(stream)
    return {"word.docx": stream.getvalue(), "minimal-stored.docx": docx_with(DOCUMENT_XML),
            "minimal-deflated.docx": docx_with(DOCUMENT_XML, zipfile.ZIP_DEFLATED),
            "document.xml": DOCUMENT_XML}


def _html() -> dict[str, bytes]:
    body = "".join(f"<p>{paragraph}</p>" for paragraph in TEXT.split("\n\n"))
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Bericht Dresden</title><style>p{{}}</style>"
            f"</head><body><h1>Überblick</h1>{body}<script>var x = '<p>';</script><noscript>n</noscript>"
            f"<h2>Ergebnisse &amp; Ziele</h2><ul><li>eins</li><li>zwei&nbsp;drei</li></ul><svg><text>s</text></svg>"
            f"<table><tr><td>Jahr</td><td>2014</td></tr></table></body></html>")
    return {"page.html": page.encode(), "page-cp1252.html": page.replace("utf-8", "windows-1252").encode("cp1252"),
            "fragment.html": b"<h3>Kurz</h3>Text ohne Rahmen<br>zweite Zeile &#252;ber &auml;"}


def _markdown() -> dict[str, bytes]:
    front = ("---\ntitle: Bericht Dresden\nkommune: Dresden\nbundesland: Sachsen\njahr: 2012-05-01\ntyp: Bericht\n"
             "quelle: https://example.org/bericht\n---\n")
    body = ("# Überblick\n\nDas **Bildungsbüro** beriet über [Übergänge](https://example.org) und `Monitoring`.\n\n"
            "## Ergebnisse ##\n\n- eins\n- zwei\n\n```\nCode\n```\n\n![Bild](b.png) *Ende* __gut__\n")
    return {"front-matter.md": (front + body).encode(), "plain.md": body.encode(),
            "list-front-matter.md": b"---\n- a\n- b\n---\n" + body.encode(),
            "aliases.md": b"---\ntitle: &t Bericht\nkommune: *t\njahr: '2011'\n---\nText " + TEXT.encode()}


def _txt() -> dict[str, bytes]:
    return {"utf-8.txt": TEXT.encode(), "utf-8-bom.txt": TEXT.encode("utf-8-sig"),
            "utf-16-le-bom.txt": TEXT.encode("utf-16"), "utf-16-be-bom.txt": b"\xfe\xff" + TEXT.encode("utf-16-be"),
            "cp1252.txt": TEXT.encode("cp1252"), "latin-1.txt": LATIN_TEXT.encode("latin-1"),
            "crlf.txt": TEXT.replace("\n", "\r\n").encode()}


def _jsonl() -> dict[str, bytes]:
    records = [{"_id": "d1", "title": "Dresden", "text": TEXT, "kommune": "Dresden", "jahr": 2012},
               {"_id": 7, "text": "Jena baute ein Bildungsbüro auf.", "typ": "Bericht"}]
    return {"corpus.jsonl": "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode(),
            "ascii.jsonl": "\n\n".join(json.dumps(r) for r in records).encode()}


def _sidecar() -> dict[str, bytes]:
    full = {"title": "Bericht Leipzig", "kommune": "Leipzig", "bundesland": "Sachsen", "jahr": "2012",
            "typ": "Praxisbericht", "quelle": "https://example.org"}
    return {"full.json": json.dumps(full, ensure_ascii=False).encode("utf-8-sig"),
            "numbers.json": b'{"jahr": 2014, "kommune": "K\\u00f6ln", "typ": null}'}


def _lvoignore() -> dict[str, bytes]:
    return {"patterns": b"# Kommentar\n*.pdf\n!unter/c.pdf\nunter/tief/\n**/*.md\n\\#nicht\n[ab].txt\n/e.jsonl\n",
            "escapes": b"\\[x\\].txt\n*.[Tt][Xx][Tt]\n!g.TXT\n  \n\xef\xbb\xbf?.docx\n"}


def _gold() -> dict[str, bytes]:
    records = [{"id": "g1", "question": "Wann öffnete die Beratungsstelle?",
                "relevant": [{"source": "a.pdf", "text": "Beratungsstelle", "page": 2}], "answers": ["2010"]},
               {"id": 2, "question": "Wie ist das Wetter?", "relevant": []},
               {"id": "g3", "question": "Welche Kommune?", "relevant": [{"source": "b.txt"}]}]
    return {"questions.jsonl": "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()}


def _beir() -> dict[str, bytes]:
    return {f"{number}-{name.replace('/', '-')}": bytes([number]) + BEIR_VALID[name]
            for number, name in enumerate(BEIR_FILES)}


SEEDS: dict[str, Callable[[], dict[str, bytes]]] = {
    "pdf": _pdfs, "docx": _docx, "html": _html, "markdown": _markdown, "txt": _txt, "jsonl": _jsonl,
    "sidecar": _sidecar, "lvoignore": _lvoignore, "gold": _gold, "beir": _beir,
}


def write_seeds(target: str, folder: Path) -> int:
    """Write `target`'s seeds into `folder` (kept beside what the fuzzer added there); return their number."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = SEEDS[target]()
    for name, data in seeds.items():
        (folder / f"seed-{name}").write_bytes(data)
    return len(seeds)
