"""The forward stage: padded tensors in, compact float32 numpy arrays out.

Worker-side only (imports torch). Results are reduced in the worker (pooling, softmax, only
the real tokens) so that little crosses the pipe back to the API process. The model itself
is a runner (torch or ONNX Runtime, see server.encoders.backends.runners): padding, pooling
and activations are the same code for both.
"""

from __future__ import annotations

import numpy as np
import torch

from server.encoders.backends.runners import ModelRunner
from server.encoders.workers.pooling import SentencePooler
from server.encoders.workers.spec import Activation, Head, ModelDescription, PoolingSpec


class BatchForward:
    """Runs one batch of concatenated token ids through the model."""

    def __init__(
        self,
        runner: ModelRunner,
        description: ModelDescription,
        pooling: PoolingSpec | None,
        *,
        dtype: torch.dtype,
    ) -> None:
        self.runner = runner
        self.head = description.head
        self.activation = description.activation
        self.pad_id = description.pad_id
        self.device = runner.device
        self.pooler = SentencePooler(pooling, dtype, str(self.device)) if pooling else None

    def __call__(
        self, ids: np.ndarray, lengths: np.ndarray, type_ids: np.ndarray | None
    ) -> np.ndarray:
        """Outputs for a batch: one row per input, or per real token for token heads."""
        with torch.inference_mode():
            positions = np.arange(int(lengths.max()))
            valid = positions[None, :] < lengths[:, None]
            input_ids = np.full(valid.shape, self.pad_id, dtype=np.int64)
            input_ids[valid] = ids
            mask = valid.astype(np.int64)
            inputs = {"input_ids": input_ids, "attention_mask": mask}
            if type_ids is not None:
                types = np.zeros(valid.shape, dtype=np.int64)
                types[valid] = type_ids
                inputs["token_type_ids"] = types
            output = self.runner(inputs)
            return self._reduce(output, torch.from_numpy(mask).to(self.device)).cpu().numpy()

    def _reduce(self, output: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.head is Head.EMBED:
            assert self.pooler is not None
            return self.pooler(output, mask).float()
        logits = output.float()
        if self.head is Head.TOKENS:
            return torch.softmax(logits, dim=-1)[mask.bool()]
        if self.activation is Activation.SOFTMAX:
            return torch.softmax(logits, dim=-1)
        if self.activation is Activation.SIGMOID:
            return torch.sigmoid(logits)
        return logits
