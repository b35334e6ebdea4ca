"""Incremental ingestion: embed only new or changed files, drop deleted ones, commit safely in groups."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import Settings, kill_point
from embed import Embedder
from index.keywords import analyze
from index.store import Index, IndexStoreError
from ingest import (
    CHANGED_WHILE_READING,
    Chunk,
    ChunkingOptions,
    Document,
    IngestError,
    PageProgress,
    SourceFile,
    chunk_document,
    discover,
    ensure_unchanged,
    fingerprint,
    load_file,
    read_snapshot,
    split_sentences,
    unavailable_reason,
)

Progress = Callable[[str, int, int], None]  # (stage, done, total)
EMBED_BATCH = 64
MIN_SENTENCE_WORDS = 3
LAYOUT = 2  # what an index holds per chunk (term bags, sentence vectors); part of `corpus_key`
OCR_STAMP = "|ocr"  # PDFs indexed before lvo read scans are read once more
OCR_PENDING = "-fehlt"  # scanned pages were left out: read again once Tesseract is there


@dataclass
class IngestReport:
    indexed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # indexed, but pages could not be read
    ocr_pages: int = 0  # pages whose text was recognised from a scan in this run
    new_chunks: int = 0
    total_chunks: int = 0
    seconds: float = 0.0


@dataclass
class _Prepared:
    """A loaded and chunked file waiting to be embedded and committed."""

    source: str
    fingerprint: str
    documents: list[tuple[Document, list[Chunk], list[list[str]]]]  # with each chunk's stems
    passages: list[str]
    sentences: list[list[str]]  # per passage
    notes: list[str] = field(default_factory=list)
    ocr_pages: int = 0


def _with_context(document: Document, chunk: Chunk, text: str) -> str:
    """`text` (the chunk or one of its sentences) after the document title and the chunk's heading."""
    context = [document.title] if document.title and not text.startswith(document.title) else []
    if chunk.heading and chunk.heading != document.title and not text.startswith(chunk.heading):
        context.append(chunk.heading)
    return "\n".join([*context, text])


def passage_text(document: Document, chunk: Chunk) -> str:
    """What gets embedded and keyword-indexed: the chunk with its title and heading as context."""
    return _with_context(document, chunk, chunk.text)


def sentence_texts(document: Document, chunk: Chunk) -> list[str]:
    """The chunk's sentences, each with the passage's context, embedded for sentence-level scores.

    A chunk of a single sentence gets none: its passage vector already is that sentence's vector.
    """
    sentences = [chunk.text[start:end] for start, end in split_sentences(chunk.text, 0, len(chunk.text))]
    sentences = [sentence for sentence in sentences if len(sentence.split()) >= MIN_SENTENCE_WORDS]
    return [_with_context(document, chunk, sentence) for sentence in sentences] if len(sentences) > 1 else []


def sync(index: Index, corpus: Path, chunking: ChunkingOptions, progress: Progress | None = None, *,
         commit_chunks: int = Settings.commit_chunks) -> IngestReport:
    """Bring the index in line with the corpus folder and report what happened.

    Files are committed in groups of about `commit_chunks` chunks; each group is one transaction.
    A file that changes while it is read is reported and left as it was in the index.
    """
    started = time.monotonic()
    if not corpus.is_dir():
        raise IndexStoreError(f"Der Korpus-Ordner {corpus} existiert nicht.")
    progress = progress or (lambda stage, done, total: None)
    found = discover(corpus)
    report = IngestReport(skipped=found.skipped)
    chunking_key = f"chunks={chunking.words}/{chunking.overlap}"
    with index.writing():
        known = index.catalog.fingerprints()
        prepared: list[_Prepared] = []
        for number, file in enumerate(found.files, start=1):
            progress("Dateien lesen", number - 1, len(found.files))
            try:
                item = _read(file, known.get(file.source), chunking_key, chunking, _page_progress(progress, file))
            except IngestError as error:
                report.failed.append((file.source, str(error)))
            except OSError as error:
                report.failed.append((file.source, f"Datei kann nicht gelesen werden ({error.strerror})"))
            else:
                if item is None:
                    report.unchanged += 1
                else:
                    prepared.append(item)
                    report.notes.extend((item.source, note) for note in item.notes)
                    report.ocr_pages += item.ocr_pages
        progress("Dateien lesen", len(found.files), len(found.files))
        broken = {source for source, reason in report.failed if reason != CHANGED_WHILE_READING}
        report.removed = sorted(set(known) - ({file.source for file in found.files} - broken))
        _embed_and_commit(index, prepared, report, progress, commit_chunks)
        report.total_chunks = index.catalog.chunk_count()
    report.seconds = time.monotonic() - started
    return report


def _page_progress(progress: Progress, file: SourceFile) -> PageProgress:
    """Scanned pages recognised so far, as a progress stage of their own per file."""
    return lambda done, total: progress(f"Texterkennung {file.source}", done, total)


def _read(file: SourceFile, known: str | None, chunking_key: str, chunking: ChunkingOptions,
          page_progress: PageProgress | None = None) -> _Prepared | None:
    """Load and chunk a new or changed file (None when unchanged), from one read of its bytes."""
    data, digest = read_snapshot(file)
    stamp = f"{digest}|{chunking_key}" + (OCR_STAMP if file.path.suffix.lower() == ".pdf" else "")
    if known == stamp or (known == stamp + OCR_PENDING and unavailable_reason()):
        return None
    prepared = _load(file, data, stamp, chunking, page_progress)
    ensure_unchanged(file)
    return prepared


def _load(file: SourceFile, data: bytes, stamp: str, chunking: ChunkingOptions,
          page_progress: PageProgress | None = None) -> _Prepared:
    documents, passages, sentences = [], [], []
    loaded = load_file(file.path, file.source, data, page_progress=page_progress)
    for document in loaded:
        chunks = chunk_document(document, chunking)
        texts = [passage_text(document, chunk) for chunk in chunks]
        documents.append((document, chunks, [analyze(text) for text in texts]))
        passages.extend(texts)
        sentences.extend(sentence_texts(document, chunk) for chunk in chunks)
    if any(document.ocr_pending for document in loaded):
        stamp += OCR_PENDING
    return _Prepared(file.source, stamp, documents, passages, sentences,
                     notes=[note for document in loaded for note in document.notes],
                     ocr_pages=sum(len(document.ocr_pages) for document in loaded))


def _groups(prepared: list[_Prepared], commit_chunks: int) -> list[list[_Prepared]]:
    """Consecutive files of about `commit_chunks` chunks: each group is embedded, then committed at once."""
    groups: list[list[_Prepared]] = [[]]
    size = 0
    for item in prepared:
        if size >= commit_chunks:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += len(item.passages)
    return groups


def _embed_and_commit(index: Index, prepared: list[_Prepared], report: IngestReport, progress: Progress,
                      commit_chunks: int) -> None:
    groups = _groups(prepared, max(1, commit_chunks))
    texts = [_texts(group) for group in groups]
    distinct = [list(dict.fromkeys(group_texts)) for group_texts in texts]  # overlapping chunks share sentences
    total, done = sum(map(len, distinct)), 0
    removals = list(report.removed)
    for group, group_texts, unique in zip(groups, texts, distinct, strict=True):
        passages = [text for item in group for text in item.passages]
        sentences = [texts for item in group for texts in item.sentences]
        vectors = np.zeros((0, 1), dtype=np.float32)  # removals only: no model load to learn its dim
        if unique:
            batches = []
            for start in range(0, len(unique), EMBED_BATCH):
                progress("Einbetten", done, total)
                batches.append(index.embedder.embed_passages(unique[start:start + EMBED_BATCH]))
                done += len(batches[-1])
            row = {text: number for number, text in enumerate(unique)}
            vectors = np.vstack(batches)[[row[text] for text in group_texts]]
        if not group and not removals:
            continue
        bounds = np.cumsum([len(passages), *map(len, sentences)])
        _commit(index, group, removals, vectors[:len(passages)], np.split(vectors, bounds)[1:-1])
        report.indexed.extend(item.source for item in group)
        report.new_chunks += len(passages)
        removals = []
    progress("Einbetten", done, total)


def _texts(group: list[_Prepared]) -> list[str]:
    """What a commit group embeds: its passages, then each passage's sentences."""
    return [*(text for item in group for text in item.passages),
            *(text for item in group for texts in item.sentences for text in texts)]


def _commit(index: Index, group: list[_Prepared], removals: list[str], vectors: np.ndarray,
            sentence_vectors: list[np.ndarray]) -> None:
    catalog = index.catalog
    try:
        with catalog.transaction():
            removed_ids = [i for source in [*removals, *(item.source for item in group)]
                           for i in catalog.remove_file(source)]
            added_ids = [i for item in group for i in catalog.add_file(item.source, item.fingerprint, item.documents)]
            catalog.add_sentence_vectors(added_ids, sentence_vectors)
            index.commit(removed_ids, added_ids, vectors)
    except BaseException:
        index.after_rollback()
        raise
    kill_point("catalog-committed", index.generation)
    index.after_commit()


def corpus_key(corpus: Path, settings: Settings, files: list[Path] | None = None) -> str:
    """A digest of what an index of `corpus` (or of just `files`) built with these settings holds."""
    files = files or [file.path for file in discover(corpus).files]
    digest = hashlib.sha256(f"{settings.model}|{settings.chunk_words}|{settings.chunk_overlap}|{LAYOUT}".encode())
    for path in sorted(files):
        digest.update(f"{path.name}:{fingerprint(path)}".encode())
    return digest.hexdigest()[:16]


def rebuild(location: str | Path, embedder: Embedder, corpus: Path, chunking: ChunkingOptions,
            progress: Progress | None = None, *, commit_chunks: int = Settings.commit_chunks) -> IngestReport:
    """Build a fresh index beside the old one and swap it in only when complete.

    An interrupted build leaves the old index untouched; the next rebuild starts the fresh one over.
    """
    with Index.fresh(location, embedder) as index:
        return sync(index, corpus, chunking, progress, commit_chunks=commit_chunks)
