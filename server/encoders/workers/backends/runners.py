"""One call shape for both runtimes: padded int64 numpy inputs in, the head's output out (a
torch tensor on the model's device for torch, a numpy array for ONNX Runtime; the forward
stage reduces each where it lives). Imports no torch: an ONNX worker runs without it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from server.encoders.workers.backends.onnx_session import OnnxSession

if TYPE_CHECKING:
    import torch


class ModelRunner(Protocol):
    """Runs the model on one padded batch (``alone``: nothing else runs beside it)."""

    device: Any  # where the output lives: a torch device, or "cpu" for ONNX Runtime

    @property
    def wide(self) -> bool:
        """True if a batch alone runs on a session of its own (else ``alone`` changes nothing)."""
        ...

    def __call__(self, inputs: dict[str, np.ndarray], alone: bool = False) -> Any: ...


def as_numpy(output: Any) -> np.ndarray:
    """A runner's output as a float32 numpy array on the host."""
    if isinstance(output, np.ndarray):
        return output.astype(np.float32, copy=False)
    result: np.ndarray = output.float().cpu().numpy()
    return result


class TorchRunner:
    """A Transformers model in eval mode."""

    def __init__(self, model: torch.nn.Module, device: str) -> None:
        import torch

        self.model = model
        self.device = torch.device(device)

    @property
    def wide(self) -> bool:
        return False

    def __call__(self, inputs: dict[str, np.ndarray], alone: bool = False) -> torch.Tensor:
        import torch

        from server.encoders.workers.auto_classes import head_output

        tensors = {name: torch.from_numpy(a).to(self.device) for name, a in inputs.items()}
        with torch.inference_mode():
            output: torch.Tensor = head_output(self.model(**tensors))
        return output


class OnnxRunner:
    """An ONNX Runtime session, and optionally a wider one for batches that run alone; the
    output comes back to the host as a numpy array."""

    device = "cpu"

    def __init__(self, session: OnnxSession, alone: OnnxSession | None = None) -> None:
        self.session = session
        self.alone = alone

    @property
    def wide(self) -> bool:
        return self.alone is not None

    def __call__(self, inputs: dict[str, np.ndarray], alone: bool = False) -> np.ndarray:
        session = self.alone if alone and self.alone is not None else self.session
        return session(inputs)
