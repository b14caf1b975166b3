"""Pooling and heads in numpy, for the ONNX Runtime backend: its outputs are numpy arrays
already, and a worker that runs a verified export then needs neither torch nor transformers.

The formulas are sentence-transformers' (pooling, ``Dense``, normalisation) and the
Transformers pipelines' (softmax, sigmoid), in float32 as the ONNX graph gives them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from server.encoders.shared.spec import Activation, DenseSpec, Head, PoolingSpec

_erf = np.vectorize(math.erf, otypes=[np.float64])


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (shifted by the row maximum, as torch computes it)."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    result: np.ndarray = shifted / shifted.sum(axis=-1, keepdims=True)
    return result


def sigmoid(logits: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-logits))
    return result


def _gelu(x: np.ndarray) -> np.ndarray:
    return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Identity": lambda x: x,
    "Tanh": np.tanh,
    "ReLU": lambda x: np.maximum(x, 0),
    "GELU": _gelu,
    "Sigmoid": lambda x: sigmoid(x).astype(x.dtype),
}


def pool(hidden: np.ndarray, mask: np.ndarray, modes: tuple[str, ...]) -> np.ndarray:
    """Concatenate the pooled vectors of ``modes`` (``mask``: 1 for real tokens, right
    padding), as ``sentence_pooling.pool`` does in torch."""
    mask_f = mask[:, :, None].astype(hidden.dtype)
    outputs: list[np.ndarray] = []
    for mode in modes:
        if mode == "cls":
            outputs.append(hidden[:, 0])
        elif mode == "max":
            outputs.append(np.where(mask_f == 0, -np.inf, hidden).max(axis=1))
        elif mode in ("mean", "mean_sqrt_len_tokens"):
            total = (hidden * mask_f).sum(axis=1)
            count = np.maximum(mask_f.sum(axis=1), 1e-9)
            outputs.append(total / (count if mode == "mean" else np.sqrt(count)))
        elif mode == "weightedmean":
            weights = np.arange(1, hidden.shape[1] + 1, dtype=hidden.dtype)[None, :, None]
            weighted = mask_f * weights
            total = (hidden * weighted).sum(axis=1)
            outputs.append(total / np.maximum(weighted.sum(axis=1), 1e-9))
        elif mode == "lasttoken":
            last = mask.sum(axis=1) - 1
            outputs.append(hidden[np.arange(hidden.shape[0]), last])
        else:
            raise ValueError(f"unsupported pooling mode {mode!r}")
    return outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=-1)


class _Dense:
    """A sentence-transformers ``Dense`` module: a linear layer and its activation."""

    def __init__(self, spec: DenseSpec) -> None:
        weights = Path(spec.path) / "model.safetensors"
        if not weights.is_file():
            raise FileNotFoundError(f"{spec.path} has no model.safetensors (numpy reads no .bin)")
        from safetensors.numpy import load_file

        state = {k.removeprefix("linear."): v for k, v in load_file(str(weights)).items()}
        self.weight = np.ascontiguousarray(state["weight"].astype(np.float32).T)
        self.bias = state["bias"].astype(np.float32) if spec.bias else None
        self.activation = ACTIVATIONS[spec.activation]

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        out = vectors @ self.weight
        if self.bias is not None:
            out = out + self.bias
        return self.activation(out)


def dense_available(spec: PoolingSpec) -> bool:
    """True if every ``Dense`` module's weights can be read without torch."""
    return all((Path(d.path) / "model.safetensors").is_file() for d in spec.dense)


class NumpyPooler:
    """Pooling, then the Dense modules, then L2 normalisation if the model asks for it."""

    def __init__(self, spec: PoolingSpec) -> None:
        self.modes = spec.modes
        self.dense = [_Dense(d) for d in spec.dense]
        self.normalize = spec.normalize

    def __call__(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        vectors = pool(hidden.astype(np.float32, copy=False), mask, self.modes)
        for layer in self.dense:
            vectors = layer(vectors)
        if self.normalize:
            norm = np.sqrt((vectors * vectors).sum(axis=1, keepdims=True))
            vectors = vectors / np.maximum(norm, 1e-12)
        return vectors.astype(np.float32, copy=False)


class NumpyReducer:
    """A head's output (numpy) -> what leaves the worker: sentence vectors, probabilities of
    each real token, or per-input scores."""

    def __init__(self, head: Head, activation: Activation, pooling: PoolingSpec | None) -> None:
        self.head = head
        self.activation = activation
        self.pooler = NumpyPooler(pooling) if pooling is not None else None

    def __call__(self, output: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.head is Head.EMBED:
            assert self.pooler is not None
            return self.pooler(output, mask)
        logits = output.astype(np.float32, copy=False)
        if self.head is Head.TOKENS or self.head is Head.MASKED:
            return softmax(logits[mask.astype(bool)])
        if self.head is Head.SPAN:
            return logits[mask.astype(bool)]
        if self.activation is Activation.SOFTMAX:
            return softmax(logits)
        if self.activation is Activation.SIGMOID:
            return sigmoid(logits)
        return logits
