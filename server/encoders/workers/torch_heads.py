"""Pooling and heads in torch, for models that run on torch (whose outputs are tensors on
the model's device, in its dtype). Worker-side only (imports torch)."""

from __future__ import annotations

import numpy as np
import torch

from server.encoders.shared.spec import Activation, Head, PoolingSpec
from server.encoders.workers.sentence_pooling import SentencePooler


class TorchReducer:
    """A head's output (a tensor) -> what leaves the worker, as float32 numpy."""

    def __init__(
        self,
        head: Head,
        activation: Activation,
        pooling: PoolingSpec | None,
        *,
        dtype: torch.dtype,
        device: str,
    ) -> None:
        self.head = head
        self.activation = activation
        self.device = torch.device(device)
        self.pooler = SentencePooler(pooling, dtype, device) if pooling else None

    def __call__(self, output: torch.Tensor, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            reduced = self._reduce(output, torch.from_numpy(mask).to(self.device))
            result: np.ndarray = reduced.cpu().numpy()
            return result

    def _reduce(self, output: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.head is Head.EMBED:
            assert self.pooler is not None
            return self.pooler(output, mask).float()
        logits = output.float()
        if self.head is Head.TOKENS or self.head is Head.MASKED:
            return torch.softmax(logits[mask.bool()], dim=-1)
        if self.head is Head.SPAN:  # start and end logits of each real token
            return logits[mask.bool()]
        if self.activation is Activation.SOFTMAX:
            return torch.softmax(logits, dim=-1)
        if self.activation is Activation.SIGMOID:
            return torch.sigmoid(logits)
        return logits
