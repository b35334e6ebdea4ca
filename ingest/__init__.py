"""Ingest stage: load files of many formats, clean their text, cut it into cited chunks."""

from ingest.chunk import ChunkingOptions, chunk_document
from ingest.discover import Discovery, SourceFile, discover, fingerprint
from ingest.loaders import load_file
from ingest.model import METADATA_KEYS, Chunk, Document, IngestError

__all__ = [
    "METADATA_KEYS",
    "Chunk",
    "ChunkingOptions",
    "Discovery",
    "Document",
    "IngestError",
    "SourceFile",
    "chunk_document",
    "discover",
    "fingerprint",
    "load_file",
]
