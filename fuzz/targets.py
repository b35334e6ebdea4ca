"""The fuzz targets: each feeds one input's bytes to a loader or gold-set reader as a real file.

A target returns normally or raises an `LvoError` (a clear German message for the user); anything else, a hang
or too much memory is a crash (`fuzz/worker.py`). Each target writes its files into `scratch`, a folder of its
own that it may empty.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

from eval.datasets import load_beir, load_gold
from ingest import discover, load_file

Target = Callable[[bytes, Path], object]


def _fresh(scratch: Path) -> Path:
    """`scratch`, emptied: no file of an earlier input (a sidecar, a qrels file) may leak into this one."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    return scratch


def _loader(name: str) -> Target:
    """The loader of `name`'s file type, through `load_file` as `lvo ingest` calls it."""
    def run(data: bytes, scratch: Path) -> object:
        path = _fresh(scratch) / name
        path.write_bytes(data)
        return load_file(path, name, data)
    return run


def docx_with(document_xml: bytes, compression: int = zipfile.ZIP_STORED) -> bytes:
    """The smallest DOCX python-docx opens, around a given `word/document.xml`."""
    types = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
             b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
             b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/'
             b'word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
             b'document.main+xml"/></Types>')
    rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", rels)
        archive.writestr("word/document.xml", document_xml)
    return packed.getvalue()


def docx(data: bytes, scratch: Path) -> object:
    """A DOCX file: the input as it is when it is a zip archive, else as `word/document.xml` of a valid one.

    Mutated zip members mostly fail their CRC check; the second form lets mutations reach the XML parsing.
    """
    return _load_docx(data if data.startswith(b"PK") else docx_with(data), scratch)


_load_docx = _loader("bericht.docx")


SIDECAR_TEXT = "Bericht Leipzig\n\nDas Bildungsbüro Leipzig beriet 2012 über Übergänge.\n"


def sidecar(data: bytes, scratch: Path) -> object:
    """A valid text file whose `NAME.txt.meta.json` sidecar holds the input."""
    folder = _fresh(scratch)
    (folder / "bericht.txt.meta.json").write_bytes(data)
    path = folder / "bericht.txt"
    path.write_text(SIDECAR_TEXT, "utf-8")
    return load_file(path, path.name, None)


IGNORED_TREE = ("a.txt", "b.md", "unter/c.pdf", "unter/tief/d.html", "e.jsonl", "f.docx", "g.TXT", "[x].txt")


def lvoignore(data: bytes, scratch: Path) -> object:
    """A small corpus folder whose `.lvoignore` holds the input."""
    folder = _fresh(scratch)
    for name in IGNORED_TREE:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("Bildung", "utf-8")
    (folder / ".lvoignore").write_bytes(data)
    return discover(folder)


def gold(data: bytes, scratch: Path) -> object:
    """A gold-snippet question file (`lvo eval --gold FILE --corpus DIR`)."""
    folder = _fresh(scratch)
    (folder / "questions.jsonl").write_bytes(data)
    return load_gold(folder / "questions.jsonl", folder)


BEIR_FILES = ("queries.jsonl", "qrels/test.tsv", "answers.jsonl", "corpus.jsonl")
BEIR_VALID = {
    "queries.jsonl": b'{"_id": "q1", "text": "Beratungsstelle Dresden"}\n{"_id": "q2", "text": "Bericht Jena"}\n',
    "qrels/test.tsv": b"query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n",
    "answers.jsonl": b'{"_id": "q1", "answers": ["2010"]}\n',
    "corpus.jsonl": b'{"_id": "d1", "title": "", "text": "Dresden 2010"}\n{"_id": "d2", "text": "Jena"}\n',
}


def beir(data: bytes, scratch: Path) -> object:
    """A BEIR folder: the first byte picks the file that holds the rest of the input, the others are valid."""
    folder = _fresh(scratch)
    chosen = BEIR_FILES[data[0] % len(BEIR_FILES)] if data else ""
    for name, valid in BEIR_VALID.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data[1:] if name == chosen else valid)
    return load_beir(folder)


TARGETS: dict[str, Target] = {
    "pdf": _loader("bericht.pdf"),
    "docx": docx,
    "html": _loader("bericht.html"),
    "markdown": _loader("bericht.md"),
    "txt": _loader("bericht.txt"),
    "jsonl": _loader("bericht.jsonl"),
    "sidecar": sidecar,
    "lvoignore": lvoignore,
    "gold": gold,
    "beir": beir,
}
