"""FaissStore: exact below the threshold, IVF above, same behaviour for add, remove, filters, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.vectors import FaissStore, closest_cosines, pack_int8

DIM = 16
ANN_MIN = 600


def clustered(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, DIM))
    vectors = centres[rng.integers(20, size=n)] + 0.4 * rng.standard_normal((n, DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def exact_ids(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :k]]


def ivf_store(n: int = 1000) -> tuple[FaissStore, np.ndarray, np.ndarray]:
    vectors, ids = clustered(n), np.arange(100, 100 + n, dtype=np.int64)
    store = FaissStore(DIM, ann_min=ANN_MIN)
    store.add(ids, vectors)
    return store, ids, vectors


def test_small_store_is_exact() -> None:
    vectors, ids = clustered(200), np.arange(1, 201, dtype=np.int64)
    store = FaissStore(DIM, ann_min=ANN_MIN)
    store.add(ids, vectors)
    _, found = store.search(vectors[:5], 10)
    assert not store.approximate
    assert (found == exact_ids(vectors, ids, vectors[:5], 10)).all()


def test_growing_past_the_threshold_switches_to_ivf_and_keeps_everything() -> None:
    store = FaissStore(DIM, ann_min=ANN_MIN)
    vectors, ids = clustered(1000), np.arange(100, 1100, dtype=np.int64)
    store.add(ids[:500], vectors[:500])
    assert not store.approximate
    store.add(ids[500:], vectors[500:])
    assert store.approximate and len(store) == 1000
    assert sorted(store.ids().tolist()) == ids.tolist()
    assert np.allclose(store.vectors_of([100, 1099]), vectors[[0, 999]])


def test_ivf_with_all_lists_equals_exact_and_default_recall_is_high() -> None:
    store, ids, vectors = ivf_store()
    queries = clustered(50, seed=1)
    truth = exact_ids(vectors, ids, queries, 10)
    _, found = store.search(queries, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found.tolist(), truth.tolist())])
    assert recall >= 0.95
    store.nprobe = 10**6
    scores, _ = store.search(queries, 10)  # scanning every list is exact (ties may swap places)
    assert np.allclose(scores, -np.sort(-(queries @ vectors.T), axis=1)[:, :10], atol=1e-5)


def test_removed_ids_are_gone_and_shrinking_turns_exact_again() -> None:
    store, ids, vectors = ivf_store()
    store.remove(ids[:100])
    store.nprobe = 10**6
    _, found = store.search(vectors[:100], 5)
    assert not set(found.ravel().tolist()) & set(ids[:100].tolist())
    assert len(store) == 900 and store.approximate
    store.remove(ids[100:800])
    assert not store.approximate
    assert sorted(store.ids().tolist()) == ids[800:].tolist()
    _, found = store.search(vectors[800:805], 1)
    assert found[:, 0].tolist() == ids[800:805].tolist()


def test_growing_fourfold_retrains_with_more_lists() -> None:
    store, _, _ = ivf_store(1000)
    before = store._index.nlist
    store.add(np.arange(10_000, 15_000, dtype=np.int64), clustered(5000, seed=2))
    assert store.approximate and store._index.nlist > before and len(store) == 6000


@pytest.mark.parametrize("allowed_count", [5, 400])
def test_filtered_search_returns_only_allowed_ids(allowed_count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    store, ids, vectors = ivf_store()
    monkeypatch.setattr("index.vectors.EXACT_FILTER_MAX", 50)  # 5 ids: exact path, 400 ids: IVF with selector
    allowed = np.concatenate([ids[::2][:allowed_count], [999_999]])  # an unknown id is ignored
    _, found = store.search(vectors[:3], 10, allowed)
    valid = found[found >= 0]
    assert set(valid.tolist()) <= set(allowed.tolist())
    assert len(valid) == 3 * min(10, allowed_count)
    if allowed_count == 5:
        truth = exact_ids(vectors[::2][:5], ids[::2][:5], vectors[:3], 5)
        assert (found[:, :5] == truth).all()


def test_save_and_load_keep_layout_ids_and_settings(tmp_path: Path) -> None:
    store, ids, vectors = ivf_store()
    store.nprobe = 7
    path = tmp_path / "vectors-1.faiss"
    store.save(path)
    loaded = FaissStore.load(path, ann_min=ANN_MIN)
    assert loaded.approximate and loaded.nprobe == 7
    assert sorted(loaded.ids().tolist()) == ids.tolist()
    assert np.allclose(loaded.vectors_of([105]), vectors[5])
    loaded.remove(ids[:10])
    assert len(loaded) == 990
    assert [p.name for p in tmp_path.iterdir()] == ["vectors-1.faiss"]


def test_from_vectors_picks_the_layout_by_size() -> None:
    assert FaissStore.from_vectors(np.arange(1000), clustered(1000), ann_min=ANN_MIN).approximate
    small = FaissStore.from_vectors(np.arange(10), clustered(10), ann_min=ANN_MIN)
    assert not small.approximate and len(small) == 10


def test_packed_sentence_vectors_give_the_closest_cosine_per_passage() -> None:
    matrices = [clustered(n, seed=n) for n in (1, 3, 7)]
    query = clustered(1, seed=99)[0]
    found = closest_cosines([pack_int8(matrix) for matrix in matrices], query)
    expected = [float((matrix @ query).max()) for matrix in matrices]
    np.testing.assert_allclose(found, expected, atol=0.01)
