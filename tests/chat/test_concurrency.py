"""16 clients search through the app's API while `lvo ingest` replaces every document: no errors, no torn
results, and each client sees the old index until the new one is committed, then only the new one.

The server is a real process; `lvo ingest` runs in this process (`chat.cli.main`) beside the 16 client threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client

from index import Index, sync
from ingest import ChunkingOptions, chunk_document, discover, load_file
from tests.conftest import Servers, run_lvo

pytestmark = pytest.mark.slow  # a server and 16 clients

CLIENTS = 16
TOP_K = 5
CHUNKING = ChunkingOptions(words=60, overlap=10)
# 16 clients at once are more than the default queue lets wait (the refusal has its own test: test_overload.py)
ENV = {"LVO_CHUNK_WORDS": "60", "LVO_CHUNK_OVERLAP": "10", "LVO_QUEUE_SIZE": str(2 * CLIENTS)}
TOWNS = ["Dresden", "Leipzig", "Görlitz", "Jena", "Essen", "Trier", "Kassel", "Bochum", "Würzburg", "Rostock",
         "Aachen", "Gießen"]


def write_corpus(corpus: Path, version: str) -> dict[str, set[str]]:
    """One report per town in the given version; returns the chunk texts an ingest must produce per file."""
    for number, town in enumerate(TOWNS):
        sentences = [f"Das Bildungsbüro {town} meldet in der Fassung {version} den Schritt {step}."
                     for step in range(number % 4 + 4)]
        (corpus / f"{town.lower()}.txt").write_text(" ".join(sentences), "utf-8")
    return {file.source: {chunk.text for document in load_file(file.path, file.source)
                          for chunk in chunk_document(document, CHUNKING)} for file in discover(corpus).files}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, minilm: str, minilm_embedder, lvo_server: Servers) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("live")
    corpus = root / "corpus"
    corpus.mkdir()
    old = write_corpus(corpus, "alt")
    index = Index.open(root / "index", minilm_embedder, create=True)
    sync(index, corpus, CHUNKING)
    index.close()
    server = lvo_server.start("--index", root / "index", "--corpus", corpus, "--model", minilm, cwd=root, env=ENV)
    yield {"root": root, "corpus": corpus, "old": old, "url": server.url}
    lvo_server.stop(server)


def version_of(result: dict, old: dict[str, set[str]], new: dict[str, set[str]]) -> str:
    """'alt' or 'neu' when every passage belongs to that one committed state; anything else fails."""
    passages = result["passages"]
    assert [p["rank"] for p in passages] == list(range(1, TOP_K + 1)), result
    assert len({p["chunk_id"] for p in passages}) == TOP_K, result
    versions = set()
    for passage in passages:
        if passage["text"] in old.get(passage["source"], set()):
            versions.add("alt")
        elif passage["text"] in new.get(passage["source"], set()):
            versions.add("neu")
        else:
            raise AssertionError(f"passage of no committed state: {passage}")
    assert len(versions) == 1, f"torn result mixing old and new index: {result}"
    return versions.pop()


def test_searches_during_reingest_see_old_then_new_never_torn(live: dict, minilm: str):
    started, stop = threading.Barrier(CLIENTS + 1), threading.Event()
    seen: list[list[str]] = [[] for _ in range(CLIENTS)]
    results: list[list[dict]] = [[] for _ in range(CLIENTS)]
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            api = Client(live["url"], verbose=False)
            results[number].append(api.predict("Bildungsbüro Fassung Schritt", TOP_K, api_name="/search"))
            started.wait()
            while not stop.is_set():
                results[number].append(api.predict("Bildungsbüro Fassung Schritt", TOP_K, api_name="/search"))
            for _ in range(2):  # started after the ingest had committed: must see the new index
                results[number].append(api.predict("Bildungsbüro Fassung Schritt", TOP_K, api_name="/search"))
        except BaseException as error:  # every failure of a client fails the test
            errors.append(error)
            started.abort()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    started.wait()
    new = write_corpus(live["corpus"], "neu")
    ingest = run_lvo("ingest", live["corpus"], "--index", live["root"] / "index", "--model", minilm,
                     cwd=live["root"], env=ENV)
    committed_at = [len(r) for r in results]
    stop.set()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors, errors
    assert ingest.returncode == 0, ingest.stderr
    assert f"indexiert (neu oder geändert): {len(TOWNS)} Dateien" in ingest.stdout
    for number in range(CLIENTS):
        seen[number] = [version_of(result, live["old"], new) for result in results[number]]
        assert seen[number][0] == "alt"
        switch = seen[number].index("neu")
        assert set(seen[number][switch:]) == {"neu"}, f"client {number} saw the old index after the new one"
        assert switch <= committed_at[number] + 1
    assert sum(len(r) for r in results) >= CLIENTS * 4
