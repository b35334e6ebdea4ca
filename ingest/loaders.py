"""One loader per file format. Each turns a file into cleaned `Document`s or raises `IngestError`."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Mapping
from io import BytesIO
from pathlib import Path

from ingest.clean import join_hyphenated, normalize_whitespace, strip_running_lines
from ingest.metadata import clean_metadata, merge_metadata, read_sidecar, split_front_matter
from ingest.model import Document, IngestError
from ingest.ocr import OcrOptions, PageProgress, page_list, read_scans

MAX_UNZIPPED_BYTES = 200 * 1024 * 1024


_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 32), 127])
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_ZIP_RATIO = 100  # a real DOCX part compresses maybe 10:1; far more is a zip bomb


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with BOM, falling back to cp1252/Latin-1; refuse binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace").replace("\x00", "")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    sample = data[:65536]
    if sample and (len(sample) - len(sample.translate(None, _CONTROL_BYTES))) / len(sample) > 0.05:
        raise IngestError("keine Textdatei (Binärdaten)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        if text[:65536].count("\ufffd") > 0.05 * min(len(text), 65536):
            raise IngestError("keine Textdatei (Binärdaten)") from None
    return text.replace("\x00", "")


def _find_headings(text: str, titles: list[str]) -> list[tuple[int, str]]:
    """Locate heading texts, in order, in the cleaned text."""
    found, cursor = [], 0
    for title in titles:
        title = normalize_whitespace(title, join_lines=True)
        position = text.find(title, cursor) if title else -1
        if position >= 0:
            found.append((position, title))
            cursor = position + len(title)
    return found


def _document(source: str, text: str, title: str, *, headings: list[str] = (), page_starts=None,
              metadata: dict | None = None) -> Document:
    if not text.strip():
        raise IngestError("enthält keinen Text")
    metadata = dict(metadata or {})
    return Document(
        source=source,
        text=text,
        title=str(metadata.pop("title", "") or title or Path(source).stem),
        page_starts=page_starts or [],
        headings=_find_headings(text, list(headings)),
        metadata=metadata,
    )


def load_pdf(path: Path, source: str, data: bytes, *, ocr: OcrOptions = OcrOptions(),
             progress: PageProgress | None = None) -> list[Document]:
    """A PDF's pages: the text layer where there is one, text recognised by Tesseract on scanned pages."""
    raw_pages, info = _text_layers(data)
    scans = read_scans(data, raw_pages, ocr, progress)
    raw_pages = [scans.texts.get(number, text) for number, text in enumerate(raw_pages)]
    pages = [normalize_whitespace(join_hyphenated(page), join_lines=True)
             for page in strip_running_lines(raw_pages)]
    notes = list(scans.notes)
    if scans.unavailable:
        notes.insert(0, f"Texterkennung nicht verfügbar: {scans.unavailable} – {len(scans.scanned)} gescannte "
                        f"Seite(n) ohne Text ({page_list([i + 1 for i in scans.scanned])})")
    if not any(pages):
        raise IngestError(notes[0] if scans.unavailable else
                          f"kein Text erkannt ({_first(notes)})" if notes else "PDF enthält keinen Text")
    starts, cursor = [], 0
    for page in pages:
        starts.append(cursor)
        cursor += len(page) + 2
    file_meta = {"title": str(info.get("/Title") or "").strip()}
    document = _document(source, "\n\n".join(pages), "", page_starts=starts,
                         metadata=merge_metadata(file_meta, read_sidecar(path)))
    document.ocr_pages = frozenset(i + 1 for i in scans.texts if pages[i])
    document.notes = notes
    document.ocr_pending = bool(scans.unavailable)
    return [document]


def _first(notes: list[str], shown: int = 3) -> str:
    """The first few notes on one line, and how many more there are."""
    more = f" und {len(notes) - shown} weitere Seiten" if len(notes) > shown else ""
    return "; ".join(notes[:shown]) + more


def _text_layers(data: bytes) -> tuple[list[str], Mapping]:
    """Each page's text layer (pypdf) and the document information."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("PDF ist verschlüsselt und braucht ein Passwort")
        return [page.extract_text() or "" for page in reader.pages], reader.metadata or {}
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError, IndexError) as error:
        raise IngestError(f"PDF ist beschädigt oder unvollständig ({type(error).__name__})") from None
    except Exception as error:  # pypdf raises many types for broken files
        raise IngestError(f"PDF kann nicht gelesen werden ({type(error).__name__})") from None


def _check_zip(data: bytes) -> None:
    """Refuse archives that unpack to far more than they hold (zip bombs) before anything is unpacked.

    The declared sizes are binding: Python's zipfile stops at the declared size and fails the CRC check.
    """
    with zipfile.ZipFile(BytesIO(data)) as archive:
        members = archive.infolist()
        unpacked = sum(item.file_size for item in members)
        packed = sum(item.compress_size for item in members)
    if unpacked > MAX_UNZIPPED_BYTES or unpacked > MAX_ZIP_RATIO * max(packed, 1024 * 1024):
        raise IngestError(f"DOCX ist entpackt zu groß ({unpacked / 2**20:.0f} MB, möglicherweise eine Zip-Bombe)")


def load_docx(path: Path, source: str, data: bytes) -> list[Document]:
    import docx

    try:
        _check_zip(data)
        paragraphs, headings, title = _docx_content(docx.Document(BytesIO(data)))
    except (IngestError, MemoryError, RecursionError):
        raise
    except Exception as error:  # python-docx raises KeyError, BadZipFile, lxml errors, ... also while reading parts
        raise IngestError(f"DOCX ist beschädigt ({type(error).__name__})") from None
    text = normalize_whitespace("\n\n".join(paragraphs), join_lines=False)
    return [_document(source, text, headings[0] if headings else "", headings=headings,
                      metadata=merge_metadata({"title": title}, read_sidecar(path)))]


def _docx_content(document) -> tuple[list[str], list[str], str]:
    """Paragraphs (tables as rows of cells), headings and title of a DOCX; python-docx parses parts lazily here."""
    paragraphs, headings = [], []
    for paragraph in document.paragraphs:
        if paragraph.text.strip():
            paragraphs.append(paragraph.text)
            if ((paragraph.style is not None and paragraph.style.name) or "").startswith(("Heading", "Title")):
                headings.append(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            paragraphs.append(" | ".join(cell.text for cell in row.cells))
    return paragraphs, headings, document.core_properties.title or ""


def load_html(path: Path, source: str, data: bytes) -> list[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "lxml")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "head"]):
        if tag.name != "head":
            tag.decompose()
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    if title_tag:
        title_tag.decompose()
    headings = [h.get_text(" ", strip=True) for h in soup.find_all(re.compile(r"^h[1-6]$"))]
    text = normalize_whitespace(soup.get_text("\n"), join_lines=False)
    text = re.sub(r"\n(?!\n)", "\n\n", text)
    return [_document(source, text, title or (headings[0] if headings else ""), headings=headings,
                      metadata=read_sidecar(path))]


_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(?=\S)(.+?)(?<=\S)\1")


def load_markdown(path: Path, source: str, data: bytes) -> list[Document]:
    front_matter, body = split_front_matter(decode_text(data))
    headings = _MD_HEADING.findall(body)
    body = _MD_HEADING.sub(r"\1", body)
    body = _MD_EMPHASIS.sub(r"\2", _MD_LINK.sub(r"\1", body))
    body = re.sub(r"^```.*$", "", body, flags=re.MULTILINE)
    text = normalize_whitespace(body, join_lines=False)
    return [_document(source, text, headings[0] if headings else "", headings=headings,
                      metadata=merge_metadata(front_matter, read_sidecar(path)))]


def _text_headings(text: str) -> list[str]:
    """Short stand-alone lines without closing punctuation are headings in plain text."""
    paragraphs = [p.strip() for p in text.split("\n\n")]
    return [p for p in paragraphs if p and "\n" not in p and len(p) <= 100 and p[-1] not in ".:;,!?"]


def load_text(path: Path, source: str, data: bytes) -> list[Document]:
    text = normalize_whitespace(decode_text(data), join_lines=False)
    headings = _text_headings(text)
    first_is_title = bool(headings) and text.startswith(headings[0])
    return [_document(source, text, headings[0] if first_is_title else "", headings=headings,
                      metadata=read_sidecar(path))]


def load_jsonl(path: Path, source: str, data: bytes) -> list[Document]:
    """One document per line, as in a BEIR corpus.jsonl: {"_id", "title", "text"}."""
    documents = []
    for number, line in enumerate(decode_text(data).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key, text = str(record["_id"]), str(record["text"])
        except (ValueError, KeyError, TypeError):  # ValueError: invalid JSON, or an integer of 4,300+ digits
            raise IngestError(f"Zeile {number}: kein JSON-Objekt mit \"_id\" und \"text\"") from None
        text = normalize_whitespace(text, join_lines=False)
        if text:
            documents.append(_document(f"{source}#{key}", text, key, metadata=clean_metadata(record)))
    if not documents:
        raise IngestError("enthält keine Dokumente")
    return documents


LOADERS: dict[str, Callable[[Path, str, bytes], list[Document]]] = {
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".jsonl": load_jsonl,
}
SUPPORTED_SUFFIXES = frozenset(LOADERS)


def load_file(path: Path, source: str, data: bytes | None = None, *,
              page_progress: PageProgress | None = None) -> list[Document]:
    """Load any supported file; every failure becomes an `IngestError` with a one-line reason.

    With `data`, the file's bytes as already read (so the caller can fingerprint exactly what is parsed);
    `page_progress` counts the scanned pages of a PDF as they are recognised.
    """
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(f"Dateityp {path.suffix or '(ohne Endung)'} wird nicht unterstützt")
    try:
        if data is None:
            data = read_bounded(path)
        if not data:
            raise IngestError("Datei ist leer (0 Byte)")
        if loader is load_pdf:
            return load_pdf(path, source, data, progress=page_progress)
        return loader(path, source, data)
    except IngestError:
        raise
    except (MemoryError, RecursionError):
        raise IngestError("Datei ist zu groß oder zu tief verschachtelt für den Arbeitsspeicher") from None
    except OSError as error:
        raise IngestError(f"Datei kann nicht gelesen werden ({error.strerror or type(error).__name__})") from None


def read_bounded(path: Path) -> bytes:
    """The bytes of a file, refusing files larger than MAX_FILE_BYTES."""
    with path.open("rb") as stream:
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise IngestError(f"Datei ist zu groß (mehr als {MAX_FILE_BYTES // 2**20} MB)")
    return data
