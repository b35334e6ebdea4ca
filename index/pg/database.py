"""Connections to the PostgreSQL server: a pool, transactions bound to the calling thread, the writers' advisory
lock, the versioned schema, and every database failure turned into one German sentence."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from index.store import IndexStoreError

SCHEMA = "lvo"  # the index's tables; a rebuild fills REBUILD_SCHEMA and renames it
REBUILD_SCHEMA = "lvo_neu"
SCHEMA_VERSION = 1
CONNECT_SECONDS = 5  # a request waits this long for the database before it is told that it is not reachable
POOL_SIZE = 4
LOCK_NAMESPACE = 0x6C766F  # "lvo": the first key of the writers' advisory lock, the schema's hash the second
CREATE_NAMESPACE = LOCK_NAMESPACE + 1  # the same for creating the schema
PGVECTOR_MIN = (0, 8)  # iterative index scans
EF_SEARCH = 200  # HNSW candidates per query: recall@50 against exact search, see docs/benchmarks.md

TABLES = """
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE files (id bigserial PRIMARY KEY, source text UNIQUE NOT NULL, fingerprint text NOT NULL);
CREATE TABLE documents (
    id bigserial PRIMARY KEY, file_id bigint NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    source text NOT NULL, title text NOT NULL, kommune text, bundesland text, typ text, jahr integer, quelle text);
CREATE TABLE chunks (
    id bigserial PRIMARY KEY, document_id bigint NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal integer NOT NULL, text text NOT NULL, heading text NOT NULL, page_start integer, page_end integer,
    char_start integer NOT NULL, char_end integer NOT NULL, ocr boolean NOT NULL DEFAULT false);
CREATE INDEX chunks_by_document ON chunks(document_id);
CREATE INDEX documents_by_file ON documents(file_id);
CREATE TABLE terms (id serial PRIMARY KEY, term text UNIQUE NOT NULL);
CREATE TABLE chunk_terms (chunk_id bigint PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE, bag bytea NOT NULL);
CREATE TABLE sentence_vectors (
    chunk_id bigint PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE, vectors bytea NOT NULL);
"""

# Made by the first commit, when the model and so the dimension are known; the HNSW index after its rows (one bulk
# build is far quicker than inserting them one by one into the graph).
VECTOR_TABLE = """
CREATE TABLE chunk_vectors (
    chunk_id bigint PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE, embedding vector({dim}) NOT NULL)
"""
VECTOR_INDEX = "CREATE INDEX chunk_vectors_hnsw ON chunk_vectors USING hnsw (embedding vector_ip_ops)"

MIGRATIONS: dict[int, str] = {}  # schema version N -> the SQL that turns N-1 into N (from version 2 on)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def label(url: str) -> str:
    """The database as users name it: USER@HOST/DB (never a password: the URL has none)."""
    parts = urlsplit(url)
    return f"{parts.netloc or 'localhost'}{parts.path}" or url


def _message(error: Exception, where: str) -> str:
    """One German sentence for a failure of the database at `where`."""
    if isinstance(error, PoolTimeout):
        return f"Die Datenbank {where} ist nicht erreichbar. Bitte später noch einmal versuchen."
    state = getattr(error, "sqlstate", None) or ""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if state in ("28P01", "28000") or "password" in text or "authentication" in text:
        return (f"Die Anmeldung an der Datenbank {where} ist fehlgeschlagen: Benutzer und Passwort prüfen "
                f"(PGPASSWORD oder ~/.pgpass). ({text})")
    if state == "3D000":
        return f"Die Datenbank {where} gibt es nicht. ({text})"
    if state == "42501":
        return f"Der Datenbank-Benutzer darf das nicht ({where}): {text}"
    if isinstance(error, psycopg.OperationalError):
        return f"Die Datenbank {where} ist nicht erreichbar. ({text})"
    return f"Fehler in der Datenbank {where}: {text}"


class Database:
    """One PostgreSQL database and schema; safe to share between threads."""

    def __init__(self, url: str, schema: str = SCHEMA):
        self.url = url
        self.schema = schema
        self.label = label(url)
        self._bound = threading.local()  # the connection of the transaction this thread is in
        self._renewing = threading.Lock()
        self._pool = self._reachable_pool()

    def close(self) -> None:
        self._pool.close()

    def _reachable_pool(self) -> ConnectionPool:
        """A new pool, once a connection of our own has shown that the server answers (else the precise reason)
        and that its pgvector, if installed, has iterative index scans."""
        with self.errors(), psycopg.connect(self.url, connect_timeout=CONNECT_SECONDS) as probe:
            installed = probe.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        if installed and _version(installed[0]) < PGVECTOR_MIN:
            raise IndexStoreError(f"pgvector {installed[0]} in der Datenbank {self.label} ist zu alt: lvo braucht "
                                  "0.8 oder neuer (ALTER EXTENSION vector UPDATE).")
        options = {"autocommit": True, "prepare_threshold": None, "connect_timeout": CONNECT_SECONDS}
        pool = ConnectionPool(self.url, min_size=1, max_size=POOL_SIZE, open=False, timeout=CONNECT_SECONDS,
                              kwargs=options, configure=self._configure, check=ConnectionPool.check_connection,
                              name=f"lvo-{self.schema}")
        pool.open()
        return pool

    def _checkout(self) -> tuple[ConnectionPool, psycopg.Connection]:
        """A checked connection and the pool it belongs to. A pool that failed to reconnect while the server was
        down waits out a growing back-off; once the server answers again, a fresh pool replaces it."""
        pool = self._pool
        try:
            return pool, pool.getconn()
        except PoolTimeout:
            with self._renewing:
                if self._pool is pool:
                    self._pool = self._reachable_pool()
                    pool.close(timeout=0)
            return self._pool, self._pool.getconn()

    def _configure(self, connection: psycopg.Connection) -> None:
        connection.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(self.schema)))
        connection.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
        connection.execute("SET hnsw.iterative_scan = relaxed_order")  # filters do not starve the vector search

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn database failures inside the block into `IndexStoreError`s."""
        try:
            yield
        except (psycopg.Error, PoolTimeout) as error:
            raise IndexStoreError(_message(error, self.label)) from None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """The connection of this thread's open transaction, else one from the pool for the block."""
        bound = getattr(self._bound, "connection", None)
        if bound is not None:
            yield bound
            return
        with self.errors():
            pool, connection = self._checkout()
            try:
                yield connection
            finally:
                pool.putconn(connection)

    @contextmanager
    def transaction(self, begin: str = "BEGIN") -> Iterator[None]:
        """One transaction for everything this thread runs in the block (joins one already open)."""
        if getattr(self._bound, "connection", None) is not None:
            yield
            return
        with self.connection() as connection:
            connection.execute(begin)
            self._bound.connection = connection
            try:
                yield
            except BaseException:
                if not connection.broken:
                    connection.execute("ROLLBACK")
                raise
            finally:
                self._bound.connection = None
            connection.execute("COMMIT")

    def execute(self, query, params=None) -> list[tuple]:
        with self.connection() as connection:
            cursor = connection.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def has_schema(self) -> bool:
        return bool(self.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)))

    def has_table(self, table: str) -> bool:
        return bool(self.execute("SELECT to_regclass(%s)", (f"{self.schema}.{table}",))[0][0])

    def prepare_schema(self, *, create: bool) -> None:
        """Check the schema's version and migrate it; with `create`, make it (and pgvector) when missing."""
        if not self.has_schema():
            if not create:
                raise IndexStoreError(f"Kein Index in der Datenbank {self.label}. Zuerst `lvo ingest --index "
                                      f"{self.url}` ausführen.")
            self._create_schema()
            return
        if not self.has_table("meta"):
            raise IndexStoreError(f"Das Schema {self.schema} in der Datenbank {self.label} gehört nicht zu lvo.")
        version = int(self.execute("SELECT value FROM meta WHERE key = 'schema'")[0][0])
        if version > SCHEMA_VERSION:
            raise IndexStoreError(
                f"Der Index in der Datenbank {self.label} stammt von einer neueren lvo-Version (Schema {version}, "
                f"diese Version kennt {SCHEMA_VERSION}). Bitte lvo aktualisieren.")
        if version < SCHEMA_VERSION:
            self._migrate(version)

    def _create_schema(self) -> None:
        with self.transaction():
            self.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (CREATE_NAMESPACE, self.schema))
            if self.has_schema():  # another lvo made it meanwhile
                return
            self._ensure_pgvector()
            self.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
            self.execute(TABLES)
            self.execute("INSERT INTO meta(key, value) VALUES ('schema', %s)", (str(SCHEMA_VERSION),))

    def _ensure_pgvector(self) -> None:
        """Inside `_create_schema`'s transaction (so psycopg's own errors arrive here)."""
        if self.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'"):
            return
        try:
            self.execute("CREATE EXTENSION vector")
        except psycopg.Error as error:
            if error.sqlstate not in ("42501", "0A000", "58P01"):  # no privilege, not installed
                raise
            raise IndexStoreError(
                f"Die Erweiterung pgvector fehlt in der Datenbank {self.label}, und dieser Benutzer kann sie nicht "
                "einrichten: als Administrator `CREATE EXTENSION vector;` ausführen (pgvector 0.8 oder neuer)."
            ) from None

    def _migrate(self, version: int) -> None:
        with self.transaction():
            for step in range(version + 1, SCHEMA_VERSION + 1):
                self.execute(MIGRATIONS[step])
            self.execute("UPDATE meta SET value = %s WHERE key = 'schema'", (str(SCHEMA_VERSION),))

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """The one writer of this schema, on a connection of its own (released when the process dies)."""
        with self.errors(), psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_SECONDS) as connection:
            key = "SELECT pg_try_advisory_lock(%s, hashtext(%s))"
            if not connection.execute(key, (LOCK_NAMESPACE, self.schema)).fetchone()[0]:
                raise IndexStoreError(f"In der Datenbank {self.label} läuft bereits ein anderer Ingest.")
            yield
