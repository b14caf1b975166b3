"""What ``dtype: auto`` means for a generative model on a CPU.

vLLM's ``auto`` runs a float32 checkpoint in bfloat16 on CPU. That is its fastest choice where
the CPU computes in bfloat16 natively (AVX512-BF16 or AMX on x86, BF16 on Arm), and its
slowest elsewhere: on an AVX2-only host one bfloat16 matrix product of the bundled model's
shape took 50x the float32 one, and generation ran at a quarter of its float32 speed. So on a
CPU without native bfloat16, ``auto`` keeps a float32 checkpoint in float32. Other
checkpoints (bfloat16, float16) keep vLLM's choice: float32 would double their memory.

No vLLM import here: the benchmark uses the same rule for its same-settings reference.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger("server.generation")

CPUINFO = Path("/proc/cpuinfo")
# CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic.
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def cpu_has_native_bf16(cpuinfo: Path = CPUINFO) -> bool:
    """True when the CPU flags list a bfloat16 instruction set (or cannot be read)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return True  # unknown: leave vLLM's choice
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return bool(BF16_FLAGS & set(value.split()))
    return True


def checkpoint_dtype(model_path: str) -> str | None:
    """The dtype a local checkpoint's ``config.json`` declares (None if not local)."""
    config = Path(model_path) / "config.json"
    if not config.is_file():
        return None
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError):
        return None
    value = data.get("torch_dtype") or data.get("dtype")
    return str(value) if value else None


def resolve_dtype(
    requested: str, model_path: str, *, on_cpu: bool, native_bf16: bool | None = None
) -> str:
    """The dtype to hand vLLM: ``requested`` unless it is ``auto`` on a CPU that would run a
    float32 checkpoint in emulated bfloat16; then ``float32``."""
    if requested != "auto" or not on_cpu:
        return requested
    if checkpoint_dtype(model_path) != "float32":
        return requested
    if native_bf16 is None:
        native_bf16 = cpu_has_native_bf16()
    if native_bf16:
        return requested
    log.info(
        "dtype auto: float32 for %s (this CPU has no native bfloat16; vLLM's auto would run "
        "it in bfloat16, several times slower here)",
        model_path,
    )
    return "float32"
