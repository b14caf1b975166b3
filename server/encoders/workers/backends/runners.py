"""One call shape for both runtimes: padded int64 numpy inputs in, the head's output out (a
torch tensor on the device the pooling and activations run on)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from server.encoders.workers.auto_classes import head_output
from server.encoders.workers.backends.onnx_session import OnnxSession


class ModelRunner(Protocol):
    """Runs the model on one padded batch (``alone``: nothing else runs beside it)."""

    device: torch.device

    @property
    def wide(self) -> bool:
        """True if a batch alone runs on a session of its own (else ``alone`` changes nothing)."""
        ...

    def __call__(self, inputs: dict[str, np.ndarray], alone: bool = False) -> torch.Tensor: ...


class TorchRunner:
    """A Transformers model in eval mode."""

    def __init__(self, model: torch.nn.Module, device: str) -> None:
        self.model = model
        self.device = torch.device(device)

    @property
    def wide(self) -> bool:
        return False

    def __call__(self, inputs: dict[str, np.ndarray], alone: bool = False) -> torch.Tensor:
        tensors = {name: torch.from_numpy(a).to(self.device) for name, a in inputs.items()}
        output: torch.Tensor = head_output(self.model(**tensors))
        return output


class OnnxRunner:
    """An ONNX Runtime session, and optionally a wider one for batches that run alone; the
    output comes back to the host (CPU) as a tensor."""

    def __init__(self, session: OnnxSession, alone: OnnxSession | None = None) -> None:
        self.session = session
        self.alone = alone
        self.device = torch.device("cpu")

    @property
    def wide(self) -> bool:
        return self.alone is not None

    def __call__(self, inputs: dict[str, np.ndarray], alone: bool = False) -> torch.Tensor:
        session = self.alone if alone and self.alone is not None else self.session
        return torch.from_numpy(session(inputs))
