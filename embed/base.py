"""The contract every embedding engine fulfils, and its error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from core import LvoError


class EmbedderError(LvoError):
    """A model that cannot be found, read or loaded."""


class Embedder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per query."""
