"""Reading a sentence-transformers folder layout (``modules.json`` and module configs).

Only JSON is read here; the worker applies what it describes. Layouts we cannot reproduce
exactly are refused at load time rather than served with different vectors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.encoders.shared.spec import DenseSpec, PoolingSpec

# Legacy boolean keys, in the order sentence-transformers concatenates the modes.
_LEGACY_MODES = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
POOLING_MODES = frozenset(_LEGACY_MODES.values())
ACTIVATIONS = frozenset({"Identity", "Tanh", "ReLU", "GELU", "Sigmoid"})


@dataclass(frozen=True)
class SentenceTransformersLayout:
    """What a sentence-transformers folder asks for beyond the Transformer module."""

    pooling: PoolingSpec
    max_seq_length: int | None


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _pooling_modes(config: dict[str, Any]) -> tuple[str, ...]:
    raw = config.get("pooling_mode")
    if raw is None:
        modes = tuple(mode for key, mode in _LEGACY_MODES.items() if config.get(key))
    else:
        modes = (raw,) if isinstance(raw, str) else tuple(raw)
    modes = modes or ("mean",)
    unknown = set(modes) - POOLING_MODES
    if unknown:
        raise ValueError(f"unsupported pooling mode(s): {sorted(unknown)}")
    return modes


def _dense(folder: Path) -> DenseSpec:
    config = _read_json(folder / "config.json")
    activation = str(config.get("activation_function", "torch.nn.modules.activation.Tanh"))
    short = activation.rsplit(".", 1)[-1]
    if short not in ACTIVATIONS:
        raise ValueError(f"unsupported Dense activation {activation!r} in {folder}")
    return DenseSpec(
        path=str(folder),
        in_features=int(config["in_features"]),
        out_features=int(config["out_features"]),
        bias=bool(config.get("bias", True)),
        activation=short,
    )


def read_prompts(root: Path) -> tuple[dict[str, str], str | None]:
    """The instructions a sentence-transformers folder declares, and the one used by default.

    ``config_sentence_transformers.json`` holds them as ``prompts`` (name -> text prepended
    to the input) and ``default_prompt_name``; a folder without them has none.
    """
    path = root / "config_sentence_transformers.json"
    if not path.is_file():
        return {}, None
    config = _read_json(path)
    raw = config.get("prompts") or {}
    if not isinstance(raw, dict):
        raise ValueError(f"'prompts' in {path} must be an object of name -> text")
    prompts = {str(name): str(text) for name, text in raw.items()}
    default = config.get("default_prompt_name")
    if default is not None and default not in prompts:
        raise ValueError(f"default_prompt_name {default!r} in {path} is not one of its prompts")
    return prompts, default


def read_layout(root: Path) -> SentenceTransformersLayout | None:
    """The layout of a sentence-transformers folder, or None for a plain Transformers folder.

    Raises ValueError for modules whose output we would not reproduce.
    """
    modules_file = root / "modules.json"
    if not modules_file.is_file():
        return None
    modules = json.loads(modules_file.read_text())
    modes: tuple[str, ...] = ("mean",)
    dense: list[DenseSpec] = []
    normalize = False
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        folder = root / str(module.get("path", ""))
        if kind == "Transformer":
            continue
        if kind == "Pooling":
            modes = _pooling_modes(_read_json(folder / "config.json"))
        elif kind == "Dense":
            dense.append(_dense(folder))
        elif kind == "Normalize":
            normalize = True
        else:
            raise ValueError(f"unsupported sentence-transformers module {module.get('type')!r}")
    max_seq_length = None
    bert_config = root / "sentence_bert_config.json"
    if bert_config.is_file():
        value = _read_json(bert_config).get("max_seq_length")
        max_seq_length = int(value) if value else None
    return SentenceTransformersLayout(
        pooling=PoolingSpec(modes=modes, dense=tuple(dense), normalize=normalize),
        max_seq_length=max_seq_length,
    )
