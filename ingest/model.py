"""Typed contracts of the ingest stage: what loaders produce and what the chunker emits."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from core import LvoError

METADATA_KEYS = ("kommune", "bundesland", "jahr", "typ", "quelle")


@dataclass
class Document:
    """One logical document: a file, or one record of a JSONL file.

    `text` is already cleaned; every offset (pages, headings, chunks) points into it.
    """

    source: str
    text: str
    title: str
    page_starts: list[int] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)
    metadata: dict[str, str | int] = field(default_factory=dict)
    ocr_pages: frozenset[int] = frozenset()  # 1-based pages whose text was recognised from a scan
    notes: list[str] = field(default_factory=list)  # pages that could not be read, one German line each
    ocr_pending: bool = False  # scanned pages were left out because Tesseract is not available

    def page_at(self, offset: int) -> int | None:
        """1-based page number of a character offset, or None for page-less formats."""
        if not self.page_starts:
            return None
        return bisect.bisect_right(self.page_starts, offset)

    def heading_at(self, offset: int) -> str:
        """The nearest heading at or before `offset` ('' when there is none)."""
        position = bisect.bisect_right([start for start, _ in self.headings], offset)
        return self.headings[position - 1][1] if position else ""


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, the unit that is embedded, indexed and cited."""

    source: str
    title: str
    text: str
    ordinal: int
    char_start: int
    char_end: int
    page_start: int | None
    page_end: int | None
    heading: str
    ocr: bool = False  # the text was recognised from a scanned page


class IngestError(LvoError):
    """A file that cannot be ingested; the message is a one-line reason for the user (German)."""
