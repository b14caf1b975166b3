"""The runner a worker uses: torch, or ONNX Runtime when configured and it works.

Anything that goes wrong on the ONNX path (the export, the session, outputs that differ from
torch's on a check batch) falls back to torch with a warning: a model that runs slower is
better than a worker that cannot start.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from server.encoders.shared.backend_choice import ONNX
from server.encoders.shared.spec import Head, ModelDescription, WorkerSpec
from server.encoders.workers.backends.onnx_export import exported_model
from server.encoders.workers.backends.runners import ModelRunner, OnnxRunner, TorchRunner, as_numpy
from server.encoders.workers.backends.verified import onnx_runner

log = logging.getLogger("server.encoders.worker")

# Largest difference allowed between the ONNX and the torch outputs on the check batch
# (token vectors or logits, real tokens only); fp32 exports agree to about 1e-5.
PARITY_ATOL = 1e-3
_CHECK_LENGTHS = (12, 7, 3)


def build_runner(
    spec: WorkerSpec, model: torch.nn.Module, description: ModelDescription
) -> tuple[ModelRunner, str]:
    """The runner and its label (``torch``, ``onnx`` or ``onnx-int8``)."""
    reference = TorchRunner(model, spec.device)
    if spec.backend != ONNX:
        return reference, "torch"
    try:
        runner = _onnx_runner(spec, description)
        if spec.quantize is None:
            check_parity(runner, reference, description)
    except Exception as exc:
        log.warning(
            "%s: ONNX Runtime cannot run this model (%s: %s); using torch",
            spec.model,
            type(exc).__name__,
            exc,
        )
        return reference, "torch"
    label = f"onnx-{spec.quantize}" if spec.quantize else "onnx"
    return runner, label


def _onnx_runner(spec: WorkerSpec, description: ModelDescription) -> OnnxRunner:
    common: dict[str, Any] = {"trust_remote_code": spec.trust_remote_code}
    if spec.revision:
        common["revision"] = spec.revision
    path = exported_model(
        Path(spec.path),
        description.head,
        description.uses_token_type_ids,
        quantize=spec.quantize,
        **common,
    )
    return onnx_runner(spec, path)


def check_batch(description: ModelDescription) -> dict[str, np.ndarray]:
    """A padded batch of varied lengths with ordinary token ids."""
    rng = np.random.default_rng(0)
    lengths = np.array(_CHECK_LENGTHS)
    valid = np.arange(lengths.max())[None, :] < lengths[:, None]
    low = min(1000, max(1, description.vocab_size // 2))
    ids = rng.integers(low, max(low + 1, description.vocab_size), size=valid.shape)
    inputs = {
        "input_ids": np.where(valid, ids, description.pad_id).astype(np.int64),
        "attention_mask": valid.astype(np.int64),
    }
    if description.uses_token_type_ids:
        inputs["token_type_ids"] = np.zeros(valid.shape, dtype=np.int64)
    return inputs


def check_parity(
    runner: ModelRunner, reference: ModelRunner, description: ModelDescription
) -> None:
    """Raise unless both runners give the same outputs on real tokens of a check batch (with
    the runner's session for batches alone too)."""
    inputs = check_batch(description)
    real = inputs["attention_mask"].astype(bool)
    with torch.inference_mode():
        expected = as_numpy(reference(inputs))
        for alone in (False, True) if runner.wide else (False,):
            got = as_numpy(runner(inputs, alone))
            if got.shape != expected.shape:
                raise RuntimeError(
                    f"output shape {got.shape} differs from torch's {expected.shape}"
                )
            if description.head is Head.SEQUENCE:
                worst = float(np.abs(got - expected).max())
            else:
                worst = float(np.abs(got[real] - expected[real]).max())
            if not worst <= PARITY_ATOL:
                raise RuntimeError(f"outputs differ from torch's by up to {worst:.2e}")
