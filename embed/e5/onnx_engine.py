"""The e5 encoder as one ONNX Runtime graph with int8 matmuls: the quickest engine for short texts (queries).

Built once per machine from the converted weights (`weights.converted`) into `encoder-int8.onnx` beside them, with
ONNX Runtime's fused CPU operators (attention with a length mask, skip-layer-norm, bias-GELU) and dynamic int8
matrix products; the FFN inputs are scaled to unit maximum per token first (undone on the output), because a few
huge activations per token would otherwise swamp 8-bit quantisation (the torch engine smooths fi's input per
channel instead, which is quicker for long passages; for queries it made no difference). Word embedding
and pooling happen in numpy, so a query never imports torch. For 10–20 tokens per-operator
overhead, not arithmetic, dominates, which is why this engine beats torch on queries.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from embed.base import EmbedderError
from embed.e5.weights import QK, ModelConfig, load_config

MODEL_FILE = "encoder-int8.onnx"


def available() -> bool:
    """Whether onnx (to build the graph) and onnxruntime are installed; looked up without importing onnx (a second)."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


def _graph(weights: dict[str, np.ndarray], config: ModelConfig):
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], [numpy_helper.from_array(np.array([-1], dtype=np.int64), "last_axis"),
                               numpy_helper.from_array(np.array(1e-6, dtype=np.float32), "tiny")]

    def constant(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attributes) -> str:
        domain = "com.microsoft" if op in ("Attention", "SkipLayerNormalization", "BiasGelu") else ""
        nodes.append(helper.make_node(op, inputs, [output], domain=domain, **attributes))
        return output

    def per_token_matmul(x: str, name: str) -> str:
        scale = node("Max", [node("ReduceMax", [node("Abs", [x], f"{name}.abs"), "last_axis"], f"{name}.max",
                                  keepdims=1), "tiny"], f"{name}.scale")
        product = node("MatMul", [node("Div", [x, scale], f"{name}.in"), constant(f"{name}.w", weights[f"{name}.w"].T)],
                       f"{name}.mm")
        return node("Mul", [product, scale], f"{name}.out")

    x = "hidden"
    for layer in range(config.layers):
        p = f"l{layer}."
        context = node("Attention", [x, constant(p + "qkv.w", weights[p + "qkv.w"].T),
                                     constant(p + "qkv.b", weights[p + "qkv.b"]), "lengths"], p + "context",
                       num_heads=config.heads)
        attended = node("MatMul", [context, constant(p + "ao.w", weights[p + "ao.w"].T)], p + "ao")
        x1 = node("SkipLayerNormalization", [attended, x, constant(p + "aln.w", weights[p + "aln.w"]),
                                             constant(p + "aln.b", weights[p + "aln.b"]),
                                             constant(p + "ao.b", weights[p + "ao.b"])], p + "x1", epsilon=config.eps)
        middle = node("BiasGelu", [per_token_matmul(x1, p + "fi"), constant(p + "fi.b", weights[p + "fi.b"])],
                      p + "middle")
        x = node("SkipLayerNormalization", [per_token_matmul(middle, p + "fo"), x1,
                                            constant(p + "oln.w", weights[p + "oln.w"]),
                                            constant(p + "oln.b", weights[p + "oln.b"]),
                                            constant(p + "fo.b", weights[p + "fo.b"])],
                 "last" if layer == config.layers - 1 else p + "out", epsilon=config.eps)
    graph = helper.make_graph(
        nodes, "e5", [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "length", config.hidden]),
                      helper.make_tensor_value_info("lengths", TensorProto.INT32, ["batch"])],
        [helper.make_tensor_value_info("last", TensorProto.FLOAT, ["batch", "length", config.hidden])], initializers)
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets)


def build(folder: Path) -> Path:
    """`folder/encoder-int8.onnx`, written atomically on first use.

    The build runs in a child process: onnxruntime's quantiser logs advice for image models on the root logger,
    which a library must leave alone in its host process.
    """
    target = folder / MODEL_FILE
    if not target.exists():
        done = subprocess.run([sys.executable, "-m", __name__, str(folder)], capture_output=True, text=True)
        if done.returncode or not target.exists():
            last = (done.stderr.strip().splitlines() or ["unbekannter Fehler"])[-1]
            raise EmbedderError(f"ONNX-Modell in {folder} kann nicht erstellt werden: {last}")
    return target


def _build_here(folder: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from safetensors.numpy import load_file

    weights, config = load_file(str(folder / "weights.safetensors")), load_config(folder)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".onnx-") as staging:
        float_model, int8_model = Path(staging) / "float.onnx", Path(staging) / MODEL_FILE
        onnx.save(_graph(weights, config), str(float_model))
        quantize_dynamic(str(float_model), str(int8_model), per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Attention"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(int8_model, folder / MODEL_FILE)


class OnnxEncoder:
    """Mean-pooled final hidden states for padded id rows, like the torch engine's encoder, on ONNX Runtime."""

    def __init__(self, folder: Path, weights: dict[str, np.ndarray], config: ModelConfig):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = len(os.sched_getaffinity(0))
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # leave the cores to FAISS
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # unused-initialiser notes are not for users
        self.session = _session(folder, options)
        self.config = config
        self.word_codes, self.word_scales = weights["word.codes"], weights["word.scales"]
        self.position, self.token_type = weights["pos"], weights["type"]
        self.norm_weight, self.norm_bias = weights["eln.w"], weights["eln.b"]

    def __call__(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        hidden = self._embed(ids)
        last = self.session.run(None, {"hidden": hidden, "lengths": lengths.astype(np.int32)})[0]
        valid = np.arange(ids.shape[1])[None, :] < lengths[:, None]
        return (last * valid[..., None]).sum(axis=1, dtype=np.float64) / lengths[:, None]

    def _embed(self, ids: np.ndarray) -> np.ndarray:
        words = self.word_codes[ids].astype(np.float32) * np.repeat(self.word_scales[ids], QK, axis=-1)
        x = words + self.position[: ids.shape[1]] + self.token_type
        mean = x.mean(axis=-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return ((x - mean) / np.sqrt(variance + self.config.eps) * self.norm_weight + self.norm_bias).astype(
            np.float32)


def _session(folder: Path, options):
    """The inference session; a damaged model file (it fails to load) is built again, once."""
    import onnxruntime

    try:
        return onnxruntime.InferenceSession(str(build(folder)), options, providers=["CPUExecutionProvider"])
    except Exception:  # onnxruntime raises its own Fail/InvalidProtobuf types
        (folder / MODEL_FILE).unlink(missing_ok=True)
        return onnxruntime.InferenceSession(str(build(folder)), options, providers=["CPUExecutionProvider"])


def load_encoder(folder: Path, config: ModelConfig, precision: str = "int8") -> OnnxEncoder:
    """The ONNX encoder for a converted model folder (always int8; `precision` is the torch engine's choice)."""
    from safetensors.numpy import load_file

    return OnnxEncoder(folder, load_file(str(folder / "weights.safetensors")), config)


if __name__ == "__main__":
    logging.getLogger().setLevel(logging.ERROR)  # this child process only: the quantiser's advice is not for users
    _build_here(Path(sys.argv[1]))
