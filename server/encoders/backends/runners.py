"""One call shape for both runtimes: padded int64 numpy inputs in, the head's output out (a
torch tensor on the device the pooling and activations run on)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from server.encoders.backends.onnx_session import OnnxSession


class ModelRunner(Protocol):
    """Runs the model on one padded batch."""

    device: torch.device

    def __call__(self, inputs: dict[str, np.ndarray]) -> torch.Tensor: ...


class TorchRunner:
    """A Transformers model in eval mode."""

    def __init__(self, model: torch.nn.Module, device: str) -> None:
        self.model = model
        self.device = torch.device(device)

    def __call__(self, inputs: dict[str, np.ndarray]) -> torch.Tensor:
        tensors = {name: torch.from_numpy(a).to(self.device) for name, a in inputs.items()}
        output: torch.Tensor = self.model(**tensors)[0]
        return output


class OnnxRunner:
    """An ONNX Runtime session; its output comes back to the host (CPU) as a tensor."""

    def __init__(self, session: OnnxSession) -> None:
        self.session = session
        self.device = torch.device("cpu")

    def __call__(self, inputs: dict[str, np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(self.session(inputs))
