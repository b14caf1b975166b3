"""LoRA adapter folders: what an adapter declares, checked before the engine sees it.

A bad adapter is a client mistake (400) that names what is wrong: a missing
``adapter_config.json`` or weights file, a rank above the engine's limit, or a base model it
was not trained on. The engine's LoRA settings follow from the declared adapters' ranks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.core.errors import InvalidRequest
from server.core.sources import bundled_name

CONFIG_FILE = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin", "adapter_model.pt")
# The ranks vLLM's engine accepts as ``max_lora_rank``.
ENGINE_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


class InvalidAdapter(InvalidRequest):
    """An adapter that cannot be served on its model (400, saying why)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, param="lora_path", code="invalid_adapter")


@dataclass(frozen=True)
class AdapterInfo:
    """What an adapter folder declares."""

    path: str
    rank: int
    base_model: str | None
    target_modules: tuple[str, ...]


def resolve_adapter(source: str, models_dir: Path) -> str:
    """A local folder for ``source``: a bundled adapter's (``bundled:NAME``, prepared in
    ``models_dir`` by ``python -m prepare``), the folder itself, or a Hugging Face snapshot."""
    name = bundled_name(source)
    if name is not None:
        folder = models_dir / name
        if not folder.is_dir():
            raise InvalidAdapter(
                f"bundled adapter '{name}' is not prepared in {models_dir}: "
                "run `python -m prepare` (or `make serve`)"
            )
        return str(folder.resolve())
    local = Path(source).expanduser()
    if local.exists() or source.startswith(("/", "./", "../", "~")):
        return str(local.resolve())
    try:
        from huggingface_hub import snapshot_download

        return str(snapshot_download(source))
    except Exception as exc:
        raise InvalidAdapter(f"adapter '{source}' could not be fetched: {exc}") from None


def read_adapter(path: str) -> AdapterInfo:
    """The adapter in folder ``path``; ``InvalidAdapter`` naming the missing file otherwise."""
    folder = Path(path)
    if not folder.is_dir():
        raise InvalidAdapter(f"adapter folder not found: {path}")
    config_file = folder / CONFIG_FILE
    if not config_file.is_file():
        raise InvalidAdapter(f"adapter at {path} has no {CONFIG_FILE}")
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        raise InvalidAdapter(f"adapter at {path} has no weights file ({', '.join(WEIGHT_FILES)})")
    try:
        config: dict[str, Any] = json.loads(config_file.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidAdapter(f"adapter at {path}: {CONFIG_FILE} is not JSON: {exc}") from None
    if str(config.get("peft_type", "LORA")).upper() != "LORA":
        raise InvalidAdapter(f"adapter at {path} is not a LoRA adapter ({config['peft_type']})")
    rank = config.get("r")
    if not isinstance(rank, int) or rank < 1:
        raise InvalidAdapter(f"adapter at {path}: {CONFIG_FILE} has no rank 'r'")
    targets = config.get("target_modules") or ()
    return AdapterInfo(
        path=str(folder),
        rank=rank,
        base_model=config.get("base_model_name_or_path"),
        target_modules=tuple(targets) if isinstance(targets, list) else (str(targets),),
    )


def check_rank(info: AdapterInfo, max_rank: int) -> None:
    """``InvalidAdapter`` when the adapter's rank is above the engine's limit."""
    if info.rank > max_rank:
        raise InvalidAdapter(
            f"adapter at {info.path} has rank {info.rank}, over the model's max_lora_rank "
            f"{max_rank} (set engine.max_lora_rank to serve it)"
        )


def engine_rank(ranks: list[int]) -> int:
    """The smallest rank vLLM accepts that covers every one of ``ranks``."""
    need = max(ranks, default=ENGINE_RANKS[2])
    for rank in ENGINE_RANKS:
        if rank >= need:
            return rank
    raise InvalidAdapter(f"adapter rank {need} is over vLLM's largest ({ENGINE_RANKS[-1]})")


def tensor_shapes(path: str) -> dict[str, list[int]]:
    """The tensors' shapes in the adapter's safetensors file (read from its header only);
    empty for another weights format."""
    file = Path(path) / WEIGHT_FILES[0]
    if not file.is_file():
        return {}
    try:
        with file.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header: dict[str, Any] = json.loads(f.read(size))
    except (OSError, ValueError) as exc:
        raise InvalidAdapter(f"adapter at {path}: unreadable {WEIGHT_FILES[0]}: {exc}") from None
    return {
        name: list(meta["shape"])
        for name, meta in header.items()
        if name != "__metadata__" and isinstance(meta, dict) and "shape" in meta
    }


def check_base(info: AdapterInfo, model: str, model_path: str) -> None:
    """``InvalidAdapter`` when the adapter's input sizes do not fit the base model's layers
    (an adapter trained on another model)."""
    try:
        config = json.loads((Path(model_path) / "config.json").read_text())
    except (OSError, ValueError):
        return  # nothing to compare with; vLLM checks what it can
    sizes = {config.get("hidden_size"), config.get("intermediate_size")} - {None}
    if not sizes:
        return
    for name, shape in tensor_shapes(info.path).items():
        if "lora_A" in name and len(shape) == 2 and shape[1] not in sizes:
            raise InvalidAdapter(
                f"adapter at {info.path} does not fit model '{model}' (another base model?): "
                f"{name} takes inputs of size {shape[1]}, the model's layers take "
                f"{sorted(sizes)}"
            )
