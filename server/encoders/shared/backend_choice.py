"""Which runtime an encoder model's workers use: ``auto`` is ONNX Runtime on CPU, torch on GPUs.

On CPU, ONNX Runtime ran the bundled MiniLM models 2.4-2.7x faster than PyTorch at batch 1
and 1.0-1.1x in length-sorted batches of 32 (bench/results/2026-12-03-encoders-alone); on a GPU,
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
