"""SQLite catalog: files with content hashes, documents with metadata, chunks, and a BM25 keyword table."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.bm25 import BAG_DTYPE, KeywordIndex, encode_bag
from index.vectors import pack_int8
from ingest import Chunk, Document

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY, source TEXT UNIQUE NOT NULL, fingerprint TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    source TEXT NOT NULL, title TEXT NOT NULL, kommune TEXT, bundesland TEXT, typ TEXT, jahr INTEGER,
    quelle TEXT);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, text TEXT NOT NULL, heading TEXT NOT NULL,
    page_start INTEGER, page_end INTEGER, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
    ocr INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id);
CREATE INDEX IF NOT EXISTS documents_by_file ON documents(file_id);
CREATE TABLE IF NOT EXISTS terms (id INTEGER PRIMARY KEY, term TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS chunk_terms (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE, bag BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sentence_vectors (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE, vectors BLOB NOT NULL);
"""

FILTER_COLUMNS = ("kommune", "bundesland", "typ")

# SQL both stores share (SQLite and PostgreSQL)
CONSISTENCY_CHECKS = {
    "doppelte Abschnitte": "SELECT count(*) FROM (SELECT 1 FROM chunks GROUP BY document_id, ordinal"
                           " HAVING count(*) > 1) AS twice",
    "Abschnitte ohne Stichwörter": "SELECT count(*) FROM chunks WHERE id NOT IN (SELECT chunk_id FROM chunk_terms)",
    "Dokumente ohne Abschnitte": "SELECT count(*) FROM documents WHERE id NOT IN (SELECT document_id FROM chunks)",
}
CHUNKS_BY_SOURCE = ("SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id"
                    " JOIN files f ON f.id = d.file_id WHERE f.source = {}")
STORED_CHUNKS = ("SELECT c.id, d.source, d.title, c.text, c.heading, c.page_start, c.page_end, c.ocr, d.kommune,"
                 " d.bundesland, d.typ, d.jahr, d.quelle FROM chunks c JOIN documents d ON d.id = c.document_id")
FILTERED_CHUNKS = "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE {}"
FACET = "SELECT DISTINCT {0} FROM documents WHERE {0} IS NOT NULL ORDER BY {0}"
# Every table's columns, in the order `rows` gives and `load_rows` takes them (copying between stores).
COLUMNS = {
    "files": ("id", "source", "fingerprint"),
    "documents": ("id", "file_id", "source", "title", "kommune", "bundesland", "typ", "jahr", "quelle"),
    "chunks": ("id", "document_id", "ordinal", "text", "heading", "page_start", "page_end", "char_start", "char_end",
               "ocr"),
    "terms": ("id", "term"),
    "chunk_terms": ("chunk_id", "bag"),
    "sentence_vectors": ("chunk_id", "vectors"),
}


@dataclass(frozen=True)
class StoredChunk:
    id: int
    source: str
    title: str
    text: str
    heading: str
    page_start: int | None
    page_end: int | None
    metadata: dict[str, str | int]
    ocr: bool = False  # recognised from a scanned page


@dataclass(frozen=True)
class Filters:
    """Restrict a search to documents with these metadata values (empty means no restriction)."""

    kommune: tuple[str, ...] = ()
    bundesland: tuple[str, ...] = ()
    typ: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    def __bool__(self) -> bool:
        return any((self.kommune, self.bundesland, self.typ, self.year_from is not None, self.year_to is not None))

    def where(self, placeholder: str = "?") -> tuple[str, list[object]]:
        """SQL conditions on the documents `d` with their parameters, in the driver's `placeholder` style."""
        clauses, params = ["TRUE"], []
        for column in FILTER_COLUMNS:
            values = getattr(self, column)
            if values:
                clauses.append(f"d.{column} IN ({','.join([placeholder] * len(values))})")
                params.extend(values)
        if self.year_from is not None:
            clauses.append(f"d.jahr >= {placeholder}")
            params.append(self.year_from)
        if self.year_to is not None:
            clauses.append(f"d.jahr <= {placeholder}")
            params.append(self.year_to)
        return " AND ".join(clauses), params


class Catalog:
    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        if not self._has_column("chunks", "ocr"):
            self._add_ocr_column()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: everything read inside sees one committed state (joins one already open)."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def fingerprints(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT source, fingerprint FROM files"))

    def chunk_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def integrity_problems(self) -> list[str]:
        """Broken links and duplicates between files, documents, chunks and keywords (empty when sound)."""
        checks = {
            "SQLite-Integrität verletzt": "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'",
            "Verweise ins Leere": "SELECT count(*) FROM pragma_foreign_key_check",
            **CONSISTENCY_CHECKS,
        }
        counts = {label: self._db.execute(query).fetchone()[0] for label, query in checks.items()}
        return [f"{count} {label}" for label, count in counts.items() if count]

    def chunk_ids(self) -> list[int]:
        return [row[0] for row in self._db.execute("SELECT id FROM chunks ORDER BY id")]

    def remove_file(self, source: str) -> list[int]:
        """Delete a file with its documents, chunks and keywords; return the removed chunk ids."""
        ids = [row[0] for row in self._db.execute(CHUNKS_BY_SOURCE.format("?"), (source,))]
        self._db.execute("DELETE FROM files WHERE source = ?", (source,))
        return ids

    def add_file(self, source: str, fingerprint: str,
                 documents: list[tuple[Document, list[Chunk], list[list[str]]]]) -> list[int]:
        """Insert a file's documents and chunks (with their keyword terms); return the new chunk ids."""
        file_id = self._db.execute("INSERT INTO files(source, fingerprint) VALUES (?, ?)",
                                   (source, fingerprint)).lastrowid
        term_ids = self.term_ids({term for _, _, terms in documents for chunk_terms in terms for term in chunk_terms})
        ids = []
        for document, chunks, terms in documents:
            meta = document.metadata
            document_id = self._db.execute(
                "INSERT INTO documents(file_id, source, title, kommune, bundesland, typ, jahr, quelle) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (file_id, document.source, document.title, meta.get("kommune"), meta.get("bundesland"),
                 meta.get("typ"), meta.get("jahr"), meta.get("quelle"))).lastrowid
            for chunk, chunk_terms in zip(chunks, terms):
                chunk_id = self._db.execute(
                    "INSERT INTO chunks(document_id, ordinal, text, heading, page_start, page_end, char_start,"
                    " char_end, ocr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (document_id, chunk.ordinal, chunk.text, chunk.heading, chunk.page_start, chunk.page_end,
                     chunk.char_start, chunk.char_end, int(chunk.ocr))).lastrowid
                self._db.execute("INSERT INTO chunk_terms(chunk_id, bag) VALUES (?, ?)",
                                 (chunk_id, encode_bag(term_ids, chunk_terms)))
                ids.append(chunk_id)
        return ids

    def chunks(self, ids: Iterable[int]) -> dict[int, StoredChunk]:
        ids = list(ids)
        if not ids:
            return {}
        rows = self._select_in(STORED_CHUNKS + " WHERE c.id IN ({})", ids)
        return {row[0]: stored_chunk(row) for row in rows}

    def filtered_chunk_ids(self, filters: Filters) -> list[int]:
        where, params = filters.where()
        return [row[0] for row in self._db.execute(FILTERED_CHUNKS.format(where), params)]

    def add_sentence_vectors(self, chunk_ids: list[int], vectors: list[np.ndarray]) -> None:
        """Store each chunk's sentence vectors (int8 with a scale per vector; chunks without sentences skipped)."""
        self._db.executemany("INSERT INTO sentence_vectors(chunk_id, vectors) VALUES (?, ?)",
                             ((i, pack_int8(matrix)) for i, matrix in zip(chunk_ids, vectors, strict=True)
                              if len(matrix)))

    def sentence_vectors(self, chunk_ids: list[int]) -> dict[int, bytes]:
        """The packed sentence vectors (`vectors.pack_int8`) of those chunks that have them."""
        return dict(self._select_in("SELECT chunk_id, vectors FROM sentence_vectors WHERE chunk_id IN ({})",
                                    chunk_ids))

    def term_ids(self, terms: Iterable[str]) -> dict[str, int]:
        """Ids of `terms` in the vocabulary, adding the new ones (inside the caller's transaction)."""
        terms = sorted(terms)
        self._db.executemany("INSERT OR IGNORE INTO terms(term) VALUES (?)", ((term,) for term in terms))
        return dict(self._select_in("SELECT term, id FROM terms WHERE term IN ({})", terms))

    def keyword_index(self) -> KeywordIndex:
        """BM25 over the committed chunks; call inside `snapshot()` for a state that matches the vectors."""
        generation = int(self.get_meta("generation") or 0)
        chunks, size = self._db.execute("SELECT count(*), coalesce(sum(length(bag)), 0) FROM chunk_terms").fetchone()
        rows = self._db.execute("SELECT chunk_id, bag FROM chunk_terms ORDER BY chunk_id")
        blocks = iter(lambda: rows.fetchmany(50_000), [])
        return KeywordIndex.build(generation, chunks, size // BAG_DTYPE.itemsize // 2, blocks,
                                  dict(self._db.execute("SELECT id, term FROM terms")))

    def facets(self) -> dict[str, list[str | int]]:
        """Distinct metadata values, for filter choices."""
        facets: dict[str, list[str | int]] = {}
        for column in (*FILTER_COLUMNS, "jahr"):
            facets[column] = [row[0] for row in self._db.execute(FACET.format(column))]
        return facets

    def rows(self, table: str) -> Iterator[tuple]:
        """All rows of `table` with the `COLUMNS` of it, by id."""
        return self._db.execute(f"SELECT {', '.join(COLUMNS[table])} FROM {table} ORDER BY 1")

    def load_rows(self, table: str, rows: Iterable[tuple]) -> None:
        """Insert rows as `rows` gives them, ids included (inside the caller's transaction)."""
        columns = COLUMNS[table]
        self._db.executemany(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                             rows)

    def restart_ids(self) -> None:
        """Nothing to do: SQLite's AUTOINCREMENT continues after the largest id loaded."""

    def _select_in(self, sql: str, values: list) -> Iterator[tuple]:
        """The rows of `sql`, whose `{}` is an IN list, over all `values` (500 at a time: SQLite's variable limit)."""
        for start in range(0, len(values), 500):
            batch = values[start:start + 500]
            yield from self._db.execute(sql.format(",".join("?" * len(batch))), batch)

    def _has_column(self, table: str, column: str) -> bool:
        return any(row[1] == column for row in self._db.execute(f"PRAGMA table_info({table})"))

    def _add_ocr_column(self) -> None:
        """Give an index made before OCR the chunk column `ocr` (0: text layer), once."""
        with self.transaction():
            if not self._has_column("chunks", "ocr"):  # another process added it meanwhile
                self._db.execute("ALTER TABLE chunks ADD COLUMN ocr INTEGER NOT NULL DEFAULT 0")


def stored_chunk(row: tuple) -> StoredChunk:
    """A row of `STORED_CHUNKS`."""
    keys = ("kommune", "bundesland", "typ", "jahr", "quelle")
    metadata = {key: value for key, value in zip(keys, row[8:]) if value is not None}
    return StoredChunk(id=row[0], source=row[1], title=row[2], text=row[3], heading=row[4],
                       page_start=row[5], page_end=row[6], metadata=metadata, ocr=bool(row[7]))
