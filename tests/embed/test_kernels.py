"""The compiled kernels (embed/e5/_kernels.c) against torch: int8 attention and GELU with per-row scaling."""

from __future__ import annotations

import pytest
import torch

from embed.e5.runner import E5Embedder
from embed.e5.torch_engine import _compiled_kernels

F = torch.nn.functional
BATCH, LENGTH, HEADS, SIZE = 2, 45, 12, 32
LENGTHS = torch.tensor([45, 30], dtype=torch.int64)


@pytest.fixture(scope="module")
def kernel_module():
    kernels = _compiled_kernels()
    if kernels is None:
        assert torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"), "kernels not built"
        pytest.skip("this CPU has no AVX2/FMA: torch's operations are used")
    return kernels


@pytest.fixture(scope="module")
def kernel(kernel_module):
    return kernel_module.attention


def qkv_sample(seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(BATCH, LENGTH, 3, HEADS, SIZE, generator=generator)


def run(kernel, qkv: torch.Tensor) -> torch.Tensor:
    out = torch.empty(BATCH, LENGTH, HEADS, SIZE)
    kernel(qkv.data_ptr(), out.data_ptr(), LENGTHS.data_ptr(), BATCH, LENGTH, HEADS)
    return out


def rounded(x: torch.Tensor, dim: int) -> torch.Tensor:
    """x rounded to 255 levels with one symmetric scale per slice along `dim` (as the kernel does)."""
    scale = x.abs().amax(dim, keepdim=True).clamp_min(1e-30) / 127
    return torch.round(x / scale) * scale


def reference(qkv: torch.Tensor) -> torch.Tensor:
    """The kernel's arithmetic written out in float64: int8-range Q, K (mean-free), V; numerators in 0..255."""
    out = torch.zeros(BATCH, LENGTH, HEADS, SIZE, dtype=torch.float64)
    for row, n in enumerate(LENGTHS.tolist()):
        q, k, v = qkv[row].double().permute(1, 2, 0, 3).unbind(0)  # each [heads, length, size]
        k, v = k[:, :n], v[:, :n]
        scores = rounded(q, -1) @ rounded(k - k.mean(1, keepdim=True), -1).transpose(1, 2) / SIZE ** 0.5
        weights = torch.round(torch.exp(scores - scores.amax(-1, keepdim=True)) * 255)
        out[row] = ((weights @ rounded(v, 1)) / weights.sum(-1, keepdim=True)).transpose(0, 1)
    return out


def test_kernel_computes_its_quantised_attention(kernel):
    qkv = qkv_sample()
    assert torch.allclose(run(kernel, qkv).double(), reference(qkv), atol=1e-4)  # unquantised: 0.018 apart


def test_kernel_is_close_to_float_attention_and_ignores_padded_keys(kernel):
    qkv = qkv_sample(1)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    valid = torch.arange(LENGTH) < LENGTHS[:, None]
    exact = F.scaled_dot_product_attention(q, k, v, attn_mask=valid[:, None, None, :]).transpose(1, 2)
    ours = run(kernel, qkv)
    cosines = F.cosine_similarity(ours[valid].flatten(1), exact[valid].flatten(1))
    assert cosines.min() > 0.995
    padded = qkv.clone()
    padded[1, 30:] = 1e3  # keys and values of the padding must not leak into the valid rows
    assert torch.equal(run(kernel, padded)[valid], ours[valid])


def test_gelu_rows_scales_each_row_by_its_largest_magnitude(kernel_module):
    x = torch.randn(37, 1536, generator=torch.Generator().manual_seed(2)) * 3
    x[5, 7], x[9, 3] = 40.0, -30.0  # the few huge activations per token that make per-token scaling necessary
    expected = F.gelu(x.double())
    expected_scale = expected.abs().amax(-1, keepdim=True)
    scaled, scale = x.clone(), torch.empty(37, 1)
    kernel_module.gelu_rows(scaled.data_ptr(), scale.data_ptr(), 37, 1536)
    assert torch.allclose(scale.double(), expected_scale, rtol=1e-6)
    assert torch.allclose(scaled.double(), expected / expected_scale, atol=1e-6)
    with pytest.raises(ValueError, match="multiple of 8"):
        kernel_module.gelu_rows(scaled.data_ptr(), scale.data_ptr(), 37, 1535)


def test_fast_engine_uses_the_kernels_where_the_cpu_can():
    expected = torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")
    assert E5Embedder().compiled_kernels == expected
    assert E5Embedder(precision="float32").compiled_kernels is False
