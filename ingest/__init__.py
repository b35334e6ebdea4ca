"""Ingest stage: load files of many formats, clean their text, cut it into cited chunks."""

from ingest.chunk import ChunkingOptions, chunk_document, split_sentences
from ingest.clean import join_hyphenated
from ingest.discover import (
    CHANGED_WHILE_READING,
    Discovery,
    SourceFile,
    discover,
    ensure_unchanged,
    fingerprint,
    read_snapshot,
)
from ingest.loaders import SUPPORTED_SUFFIXES, load_file
from ingest.model import METADATA_KEYS, Chunk, Document, IngestError
from ingest.ocr import OcrOptions, PageProgress, unavailable_reason

__all__ = [
    "CHANGED_WHILE_READING",
    "METADATA_KEYS",
    "SUPPORTED_SUFFIXES",
    "Chunk",
    "ChunkingOptions",
    "Discovery",
    "Document",
    "IngestError",
    "OcrOptions",
    "PageProgress",
    "SourceFile",
    "chunk_document",
    "discover",
    "ensure_unchanged",
    "fingerprint",
    "join_hyphenated",
    "load_file",
    "read_snapshot",
    "split_sentences",
    "unavailable_reason",
]
