"""Sentence vectors from token vectors, exactly as sentence-transformers computes them.

Worker-side only (imports torch).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from server.encoders.shared.spec import DenseSpec, PoolingSpec


def pool(hidden: Tensor, mask: Tensor, modes: tuple[str, ...]) -> Tensor:
    """Concatenate the pooled vectors of ``modes`` (sentence-transformers order and formulas).

    ``mask`` is the attention mask (1 for real tokens) with right padding.
    """
    accumulate = torch.float32 if hidden.dtype in (torch.float16, torch.bfloat16) else hidden.dtype
    mask_f = mask.unsqueeze(-1).to(hidden.dtype)
    outputs: list[Tensor] = []
    for mode in modes:
        if mode == "cls":
            outputs.append(hidden[:, 0])
        elif mode == "max":
            outputs.append(hidden.masked_fill(mask_f == 0, float("-inf")).max(dim=1).values)
        elif mode in ("mean", "mean_sqrt_len_tokens"):
            total = (hidden * mask_f).sum(dim=1, dtype=accumulate)
            count = torch.clamp(mask_f.sum(dim=1, dtype=accumulate), min=1e-9)
            denominator = count if mode == "mean" else torch.sqrt(count)
            outputs.append((total / denominator).to(hidden.dtype))
        elif mode == "weightedmean":
            weights = torch.arange(1, hidden.shape[1] + 1, device=hidden.device, dtype=accumulate)
            weighted = mask.unsqueeze(-1).to(accumulate) * weights.view(1, -1, 1)
            total = (hidden * weighted).sum(dim=1)
            outputs.append((total / torch.clamp(weighted.sum(dim=1), min=1e-9)).to(hidden.dtype))
        elif mode == "lasttoken":
            last = mask.sum(dim=1) - 1
            outputs.append(hidden[torch.arange(hidden.shape[0], device=hidden.device), last])
        else:
            raise ValueError(f"unsupported pooling mode {mode!r}")
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)


def load_dense(spec: DenseSpec, dtype: torch.dtype, device: str) -> nn.Module:
    """A sentence-transformers ``Dense`` module with its saved weights."""
    linear = nn.Linear(spec.in_features, spec.out_features, bias=spec.bias)
    folder = Path(spec.path)
    safetensors_file = folder / "model.safetensors"
    if safetensors_file.is_file():
        from safetensors.torch import load_file

        state = load_file(str(safetensors_file))
    else:
        state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    state = {key.removeprefix("linear."): value for key, value in state.items()}
    linear.load_state_dict(state)
    activation: nn.Module = getattr(nn, spec.activation)()
    return nn.Sequential(linear, activation).to(device=device, dtype=dtype).eval()


class SentencePooler(nn.Module):
    """Pooling, then the Dense modules, then L2 normalisation if the model asks for it."""

    def __init__(self, spec: PoolingSpec, dtype: torch.dtype, device: str) -> None:
        super().__init__()
        self.modes = spec.modes
        self.dense = nn.ModuleList(load_dense(d, dtype, device) for d in spec.dense)
        self.normalize = spec.normalize

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        vectors = pool(hidden, mask, self.modes)
        for layer in self.dense:
            vectors = layer(vectors)
        if self.normalize:
            vectors = nn.functional.normalize(vectors.float(), p=2, dim=1)
        return vectors
