"""Any sentence-transformers model, by name (from the local cache: nothing is downloaded) or by folder."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from embed.base import EmbedderError


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by name (local cache) or folder. E5 models get their prefixes."""

    def __init__(self, name: str, batch_size: int = 32):
        self.name = name
        self.batch_size = batch_size
        is_e5 = "e5" in Path(name).name.lower()
        self._query_prefix, self._passage_prefix = ("query: ", "passage: ") if is_e5 else ("", "")

    @cached_property
    def _model(self):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EmbedderError("Für dieses Modell wird sentence-transformers gebraucht: "
                                "pip install sentence-transformers") from None
        try:  # local_files_only: never reach for a model hub, whatever HF_HUB_OFFLINE says
            return SentenceTransformer(self.name, device="cpu", local_files_only=True)
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
