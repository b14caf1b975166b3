"""Embeddings in the types Cohere's embed API returns: float, int8, uint8, binary, ubinary,
base64, computed with the formulas of sentence-transformers' ``quantize_embeddings``.

int8 and uint8 need a range per dimension. ``quantize_embeddings`` without calibration data
takes the minimum and maximum of the batch it is given, so the same text would get another
code in another request, and a request of one text could not be quantized at all. Here every
dimension has the fixed range [-1, 1], which holds every component of an L2-normalised
vector: codes depend only on the text, and documents embedded in different requests stay
comparable. A model whose vectors are not normalised may have components outside the range:
they clip to the end codes, as ``quantize_embeddings`` clips.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary", "base64")
# Per-dimension [minimum, maximum] used for int8 and uint8 (see the module docstring).
SCALAR_RANGE = (-1.0, 1.0)


def scalar_ranges(dim: int) -> np.ndarray:
    """The ``ranges`` argument of ``quantize_embeddings`` that gives our int8/uint8 codes."""
    low, high = SCALAR_RANGE
    return np.vstack((np.full(dim, low), np.full(dim, high))).astype(np.float32)


def quantize(vectors: np.ndarray, kind: str) -> np.ndarray:
    """``vectors`` (float32, one row each) as ``kind``: quantize_embeddings' formulas."""
    if kind in ("int8", "uint8"):
        ranges = scalar_ranges(vectors.shape[1])
        starts = ranges[0, :]
        steps = (ranges[1, :] - starts) / 255
        codes = np.clip(np.floor((vectors - starts) / steps), 0, 255)
        return codes.astype(np.uint8) if kind == "uint8" else (codes - 128).astype(np.int8)
    if kind == "binary":
        return (np.packbits(vectors > 0, axis=-1) - 128).astype(np.int8)
    if kind == "ubinary":
        return np.packbits(vectors > 0, axis=-1)
    raise ValueError(f"unknown embedding type {kind!r}")


def base64_rows(vectors: np.ndarray) -> list[str]:
    """Each row's little-endian float32 bytes, base64-encoded."""
    return [base64.b64encode(v.astype("<f4").tobytes()).decode() for v in vectors]


def by_type(vectors: np.ndarray, kinds: Sequence[str]) -> dict[str, Any]:
    """``{type: rows}`` for each requested type, in JSON-ready form."""
    result: dict[str, Any] = {}
    for kind in kinds:
        if kind == "float":
            result[kind] = vectors.tolist()
        elif kind == "base64":
            result[kind] = base64_rows(vectors)
        else:
            result[kind] = quantize(vectors, kind).tolist()
    return result
