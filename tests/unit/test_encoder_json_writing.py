"""Embedding bodies hold numpy rows, written by orjson: the bytes must be those pydantic-core
writes for the same values as Python floats (what the route wrote before)."""

from __future__ import annotations

import numpy as np
import pydantic_core

from server.encoders.router import _serialized
from server.encoders.tasks.reply import Reply


def _body(rows: list[object]) -> dict[str, object]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": r} for i, r in enumerate(rows)],
        "model": "m \u00e9\u65e5 \x01",
        "usage": {"prompt_tokens": 7, "total_tokens": 7},
    }


def test_numpy_rows_are_written_as_python_floats_would_be() -> None:
    rng = np.random.default_rng(0)
    vectors = (rng.normal(size=(16, 384)) * np.exp(rng.normal(size=(16, 384)) * 6)).astype(
        np.float32
    )
    vectors[0, :6] = [0.0, -0.0, 1e-30, 3e38, 1.0, 0.1]
    response = _serialized(Reply(_body(list(vectors.astype(np.float64))), 7))
    assert response.body == pydantic_core.to_json(_body(vectors.tolist()))
    assert response.media_type == "application/json"
