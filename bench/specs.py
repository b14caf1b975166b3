"""The servers compared: ours with a subset of the default config, and vLLM's with the same
model folder, dtype and limits (read from the same default config)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Literal

import yaml

from bench.machine import REPO
from bench.servers import ServerSpec
from server.generation.engine.dtype import resolve_dtype

DEFAULT_CONFIG = REPO / "server" / "configs" / "default.yaml"
# Where the bundled models were prepared (tests and benchmarks share the variable).
MODELS_DIR = Path(os.environ.get("INFERENCE_MODELS_DIR", REPO / "models"))
BUNDLED = "bundled:"

Subset = Literal["generate", "encoders", "default"]


def default_config() -> dict[str, Any]:
    return dict(yaml.safe_load(DEFAULT_CONFIG.read_text()))


def model_entry(task: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The default config's first model with this task."""
    config = config or default_config()
    return next(m for m in config["models"] if m["task"] == task)


def model_dir(entry: dict[str, Any]) -> Path:
    """The local folder a bundled model is prepared in (what both servers load)."""
    source = str(entry["source"])
    return MODELS_DIR / source.removeprefix(BUNDLED) if source.startswith(BUNDLED) else Path(source)


def ours(
    subset: Subset, *, eager: bool = False, engine: dict[str, Any] | None = None, tag: str = ""
) -> ServerSpec:
    """Our server with the default config's generative model, its encoders, or everything;
    ``eager`` sets ``enforce_eager`` on its generative model, ``engine`` other engine settings
    of it (``tag`` then names the variant)."""
    config = default_config()
    for model in config["models"]:
        if model["task"] == "generate":
            settings = model.setdefault("engine", {})
            settings.update(engine or {})
            if eager:
                settings["enforce_eager"] = True
    if subset == "generate":
        config["models"] = [m for m in config["models"] if m["task"] == "generate"]
    elif subset == "encoders":
        config["models"] = [m for m in config["models"] if m["task"] != "generate"]
    config.update(models_dir=str(MODELS_DIR), log_format="text")
    config.pop("host", None)
    config.pop("port", None)
    config_name = f"ours-{subset}{tag}.yaml"
    argv = (
        sys.executable,
        "-m",
        "server",
        "--config",
        "{workdir}/" + config_name,
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    )
    return ServerSpec(
        name=f"ours-{subset}{tag}", argv=argv, files=((config_name, yaml.safe_dump(config)),)
    )


def _vllm_server(name: str, entry: dict[str, Any], extra: tuple[str, ...]) -> ServerSpec:
    argv = (
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir(entry)),
        "--served-model-name",
        str(entry["name"]),
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        *extra,
    )
    return ServerSpec(name=name, argv=argv, ready_path="/health")


def vllm_generate(*, eager: bool = False) -> ServerSpec:
    """vLLM's OpenAI server with the engine settings our default config gives the chat model
    (``eager``: and ``--enforce-eager``)."""
    entry = model_entry("generate")
    engine = entry.get("engine", {})
    if eager:
        engine = {**engine, "enforce_eager": True}
    # Our dtype as our server resolves it (``auto`` keeps float32 on a CPU without bfloat16).
    dtype = resolve_dtype(str(engine.get("dtype", "auto")), str(model_dir(entry)), on_cpu=True)
    extra = ["--dtype", dtype, "--seed", str(engine.get("seed", 0))]
    if engine.get("max_model_len"):
        extra += ["--max-model-len", str(engine["max_model_len"])]
    if engine.get("enforce_eager"):
        extra.append("--enforce-eager")
    if engine.get("max_num_seqs"):
        extra += ["--max-num-seqs", str(engine["max_num_seqs"])]
    return _vllm_server("vllm-generate", entry, tuple(extra))


def vllm_defaults(*, eager: bool = False) -> ServerSpec:
    """vLLM's OpenAI server on the same model folder with vLLM's own defaults (what
    ``vllm serve MODEL`` runs): the pair our default config has to keep up with.
    ``eager`` adds ``--enforce-eager`` (the quick smoke only)."""
    extra = ("--enforce-eager",) if eager else ()
    return _vllm_server("vllm-defaults", model_entry("generate"), extra)


def vllm_pooling() -> ServerSpec:
    """vLLM's OpenAI server in pooling mode on the default embedding model."""
    entry = model_entry("embed")
    extra = (
        "--runner",
        "pooling",
        "--dtype",
        str(entry.get("dtype", "float32")),
        "--enforce-eager",
    )
    return _vllm_server("vllm-pooling", entry, extra)
