"""Which runtime an encoder model's workers use: ``auto`` is ONNX Runtime on CPU, torch on GPUs.

On CPU, ONNX Runtime ran the bundled MiniLM models 2-3x faster than PyTorch here; on a GPU,
PyTorch (SDPA attention, fp16/bf16 weights) is the well-trodden path.
"""

from __future__ import annotations

TORCH = "torch"
ONNX = "onnx"


def resolve_backend(backend: str, device: str, dtype: str = "float32") -> str:
    """``torch`` or ``onnx`` for a configured backend (``torch``, ``onnx`` or ``auto``)."""
    if backend == "auto":
        return ONNX if device == "cpu" and dtype == "float32" else TORCH
    if backend not in (TORCH, ONNX):
        raise ValueError(f"unknown encoder backend {backend!r}")
    return backend
