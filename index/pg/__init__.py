"""PostgreSQL with pgvector as the index store, for several `lvo serve` processes sharing one index.

Needs psycopg and psycopg-pool (`pip install 'lvo[postgres]'`) and a server with pgvector 0.8 or newer; the
password comes from PGPASSWORD or ~/.pgpass, never from the URL.
"""

from index.pg.store import PgIndex

__all__ = ["PgIndex"]
