"""The catalog in PostgreSQL: the same tables, queries and keyword bags as the SQLite catalog (`index.catalog`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager

import numpy as np

from index.bm25 import BAG_DTYPE, KeywordIndex, encode_bag
from index.catalog import (
    CHUNKS_BY_SOURCE,
    COLUMNS,
    CONSISTENCY_CHECKS,
    FACET,
    FILTER_COLUMNS,
    FILTERED_CHUNKS,
    STORED_CHUNKS,
    Filters,
    StoredChunk,
    stored_chunk,
)
from index.pg.database import Database
from index.vectors import pack_int8
from ingest import Chunk, Document

BLOCK = 50_000  # rows per fetch when the keyword index is built


class PgCatalog:
    def __init__(self, database: Database):
        self.database = database

    def close(self) -> None:
        self.database.close()

    def transaction(self) -> AbstractContextManager[None]:
        return self.database.transaction()

    def snapshot(self) -> AbstractContextManager[None]:
        """A read transaction: everything read inside sees one committed state (joins one already open)."""
        return self.database.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def _all(self, query: str, params=None) -> list[tuple]:
        return self.database.execute(query, params)

    def get_meta(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM meta WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._all("INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  (key, value))

    def fingerprints(self) -> dict[str, str]:
        return dict(self._all("SELECT source, fingerprint FROM files"))

    def chunk_count(self) -> int:
        return self._all("SELECT count(*) FROM chunks")[0][0]

    def integrity_problems(self) -> list[str]:
        counts = {label: self._all(query)[0][0] for label, query in CONSISTENCY_CHECKS.items()}
        return [f"{count} {label}" for label, count in counts.items() if count]

    def chunk_ids(self) -> list[int]:
        return [row[0] for row in self._all("SELECT id FROM chunks ORDER BY id")]

    def remove_file(self, source: str) -> list[int]:
        ids = [row[0] for row in self._all(CHUNKS_BY_SOURCE.format("%s"), (source,))]
        self._all("DELETE FROM files WHERE source = %s", (source,))
        return ids

    def add_file(self, source: str, fingerprint: str,
                 documents: list[tuple[Document, list[Chunk], list[list[str]]]]) -> list[int]:
        """Insert a file's documents and chunks (with their keyword terms); return the new chunk ids."""
        file_id = self._all("INSERT INTO files(source, fingerprint) VALUES (%s, %s) RETURNING id",
                            (source, fingerprint))[0][0]
        term_ids = self.term_ids({term for _, _, terms in documents for chunk_terms in terms for term in chunk_terms})
        count = sum(len(chunks) for _, chunks, _ in documents)
        ids = [row[0] for row in self._all("SELECT nextval('chunks_id_seq') FROM generate_series(1, %s)", (count,))]
        chunk_rows, bag_rows = [], []
        next_id = iter(ids)
        for document, chunks, terms in documents:
            meta = document.metadata
            document_id = self._all(
                "INSERT INTO documents(file_id, source, title, kommune, bundesland, typ, jahr, quelle) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (file_id, document.source, document.title, meta.get("kommune"), meta.get("bundesland"),
                 meta.get("typ"), meta.get("jahr"), meta.get("quelle")))[0][0]
            for chunk, chunk_terms in zip(chunks, terms):
                chunk_id = next(next_id)
                chunk_rows.append((chunk_id, document_id, chunk.ordinal, chunk.text, chunk.heading, chunk.page_start,
                                   chunk.page_end, chunk.char_start, chunk.char_end, chunk.ocr))
                bag_rows.append((chunk_id, encode_bag(term_ids, chunk_terms)))
        self.load_rows("chunks", chunk_rows)
        self.load_rows("chunk_terms", bag_rows)
        return ids

    def chunks(self, ids: Iterable[int]) -> dict[int, StoredChunk]:
        ids = list(ids)
        if not ids:
            return {}
        return {row[0]: stored_chunk(row) for row in self._all(STORED_CHUNKS + " WHERE c.id = ANY(%s)", (ids,))}

    def filtered_chunk_ids(self, filters: Filters) -> list[int]:
        where, params = filters.where("%s")
        return [row[0] for row in self._all(FILTERED_CHUNKS.format(where), params)]

    def add_sentence_vectors(self, chunk_ids: list[int], vectors: list[np.ndarray]) -> None:
        self.load_rows("sentence_vectors", ((i, pack_int8(matrix)) for i, matrix in zip(chunk_ids, vectors, strict=True)
                                            if len(matrix)))

    def sentence_vectors(self, chunk_ids: list[int]) -> dict[int, bytes]:
        if not chunk_ids:
            return {}
        return dict(self._all("SELECT chunk_id, vectors FROM sentence_vectors WHERE chunk_id = ANY(%s)",
                              (list(chunk_ids),)))

    def term_ids(self, terms: Iterable[str]) -> dict[str, int]:
        terms = sorted(terms)
        self._all("INSERT INTO terms(term) SELECT unnest(%s::text[]) ON CONFLICT (term) DO NOTHING", (terms,))
        return dict(self._all("SELECT term, id FROM terms WHERE term = ANY(%s)", (terms,)))

    def keyword_index(self) -> KeywordIndex:
        """BM25 over the committed chunks, exactly as the folder store computes it; call inside `snapshot()`."""
        generation = int(self.get_meta("generation") or 0)
        chunks, size = self._all("SELECT count(*), coalesce(sum(length(bag)), 0) FROM chunk_terms")[0]
        vocabulary = dict(self._all("SELECT id, term FROM terms"))
        with self.database.connection() as connection, connection.cursor("bags") as cursor:
            cursor.execute("SELECT chunk_id, bag FROM chunk_terms ORDER BY chunk_id")
            blocks = iter(lambda: cursor.fetchmany(BLOCK), [])
            return KeywordIndex.build(generation, chunks, int(size) // BAG_DTYPE.itemsize // 2, blocks, vocabulary)

    def facets(self) -> dict[str, list[str | int]]:
        return {column: [row[0] for row in self._all(FACET.format(column))] for column in (*FILTER_COLUMNS, "jahr")}

    def rows(self, table: str) -> Iterator[tuple]:
        """All rows of `table` with the `COLUMNS` of it, by id (call inside `snapshot()`)."""
        with self.database.connection() as connection, connection.cursor(f"rows_{table}") as cursor:
            cursor.execute(f"SELECT {', '.join(COLUMNS[table])} FROM {table} ORDER BY 1")
            yield from cursor

    def load_rows(self, table: str, rows: Iterable[tuple]) -> None:
        """Insert rows as `rows` gives them, ids included (inside the caller's transaction)."""
        with self.database.connection() as connection, connection.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def restart_ids(self) -> None:
        """After rows were loaded with their ids: new rows continue after the largest."""
        for table in ("files", "documents", "chunks", "terms"):
            self._all(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) "
                      f"FROM {table}")
