"""One loader per file format. Each turns a file into cleaned `Document`s or raises `IngestError`."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from ingest.clean import join_hyphenated, normalize_whitespace, strip_running_lines
from ingest.metadata import merge_metadata, read_sidecar, split_front_matter
from ingest.model import Document, IngestError

MAX_UNZIPPED_BYTES = 200 * 1024 * 1024


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), falling back to cp1252 for legacy files; refuse binary data."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    sample = text[:20000]
    unprintable = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t") or ch == "\ufffd")
    if sample and unprintable / len(sample) > 0.1:
        raise IngestError("keine Textdatei (Binärdaten)")
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


def load_pdf(path: Path, source: str) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("PDF ist verschlüsselt (Passwort erforderlich)")
        raw_pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError, IndexError) as error:
        raise IngestError(f"PDF ist beschädigt oder unvollständig ({type(error).__name__})") from None
    except Exception as error:  # pypdf raises many types for broken files
        raise IngestError(f"PDF kann nicht gelesen werden ({type(error).__name__})") from None
    pages = [normalize_whitespace(join_hyphenated(page), join_lines=True)
             for page in strip_running_lines(raw_pages)]
    if not any(pages):
        raise IngestError("PDF enthält keinen Text (gescannt? OCR wird nicht unterstützt)")
    starts, cursor = [], 0
    for page in pages:
        starts.append(cursor)
        cursor += len(page) + 2
    file_meta = {"title": str(info.get("/Title") or "").strip()}
    return [_document(source, "\n\n".join(pages), "", page_starts=starts,
                      metadata=merge_metadata(file_meta, read_sidecar(path)))]


def load_docx(path: Path, source: str) -> list[Document]:
    import docx

    try:
        with zipfile.ZipFile(path) as archive:
            if sum(item.file_size for item in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise IngestError("DOCX ist entpackt zu groß (möglicherweise eine Zip-Bombe)")
        document = docx.Document(str(path))
    except IngestError:
        raise
    except Exception as error:  # python-docx raises KeyError, BadZipFile, lxml errors, ...
        raise IngestError(f"DOCX ist beschädigt ({type(error).__name__})") from None
    paragraphs, headings = [], []
    for paragraph in document.paragraphs:
        if paragraph.text.strip():
            paragraphs.append(paragraph.text)
            if ((paragraph.style is not None and paragraph.style.name) or "").startswith(("Heading", "Title")):
                headings.append(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            paragraphs.append(" | ".join(cell.text for cell in row.cells))
    text = normalize_whitespace("\n\n".join(paragraphs), join_lines=False)
    file_meta = {"title": document.core_properties.title or ""}
    return [_document(source, text, headings[0] if headings else "", headings=headings,
                      metadata=merge_metadata(file_meta, read_sidecar(path)))]


def load_html(path: Path, source: str) -> list[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(path.read_bytes()), "lxml")
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


def load_markdown(path: Path, source: str) -> list[Document]:
    front_matter, body = split_front_matter(decode_text(path.read_bytes()))
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


def load_text(path: Path, source: str) -> list[Document]:
    text = normalize_whitespace(decode_text(path.read_bytes()), join_lines=False)
    headings = _text_headings(text)
    first_is_title = bool(headings) and text.startswith(headings[0])
    return [_document(source, text, headings[0] if first_is_title else "", headings=headings,
                      metadata=read_sidecar(path))]


def load_jsonl(path: Path, source: str) -> list[Document]:
    """One document per line, as in a BEIR corpus.jsonl: {"_id", "title", "text"}."""
    documents = []
    for number, line in enumerate(decode_text(path.read_bytes()).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key, text = str(record["_id"]), str(record["text"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise IngestError(f"Zeile {number}: kein JSON-Objekt mit \"_id\" und \"text\"") from None
        text = normalize_whitespace(text, join_lines=False)
        if text:
            meta = {k: record[k] for k in ("kommune", "bundesland", "jahr", "typ", "quelle") if k in record}
            documents.append(_document(f"{source}#{key}", text, str(record.get("title") or key), metadata=meta))
    if not documents:
        raise IngestError("enthält keine Dokumente")
    return documents


LOADERS: dict[str, Callable[[Path, str], list[Document]]] = {
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".jsonl": load_jsonl,
}


def load_file(path: Path, source: str) -> list[Document]:
    """Load any supported file; every failure becomes an `IngestError` with a one-line reason."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(f"Dateityp {path.suffix or '(ohne Endung)'} wird nicht unterstützt")
    try:
        if path.stat().st_size == 0:
            raise IngestError("Datei ist leer")
        return loader(path, source)
    except IngestError:
        raise
    except MemoryError:
        raise IngestError("Datei ist zu groß für den Arbeitsspeicher") from None
    except OSError as error:
        raise IngestError(f"Datei kann nicht gelesen werden ({error.strerror or type(error).__name__})") from None
