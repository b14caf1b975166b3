"""``dtype: auto`` on CPUs with and without native bfloat16."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.generation.engine.dtype import checkpoint_dtype, cpu_has_native_bf16, resolve_dtype

AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"
SAPPHIRE = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
ARM_BF16 = "processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n"


def checkpoint(tmp_path: Path, dtype: str, key: str = "torch_dtype") -> str:
    (tmp_path / "config.json").write_text(json.dumps({key: dtype}))
    return str(tmp_path)


@pytest.mark.parametrize(
    ("text", "native"), [(AVX2_ONLY, False), (SAPPHIRE, True), (ARM_BF16, True)]
)
def test_cpu_flags_say_whether_bfloat16_is_native(tmp_path: Path, text: str, native: bool) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(text)
    assert cpu_has_native_bf16(info) is native


def test_unreadable_cpuinfo_leaves_vllms_choice(tmp_path: Path) -> None:
    assert cpu_has_native_bf16(tmp_path / "missing") is True


def test_checkpoint_dtype_reads_either_key(tmp_path: Path) -> None:
    assert checkpoint_dtype(checkpoint(tmp_path, "float32", key="dtype")) == "float32"
    assert checkpoint_dtype(checkpoint(tmp_path, "bfloat16")) == "bfloat16"
    assert checkpoint_dtype("HuggingFaceTB/not-a-local-folder") is None


def test_auto_keeps_a_float32_checkpoint_in_float32_without_native_bf16(tmp_path: Path) -> None:
    path = checkpoint(tmp_path, "float32")
    assert resolve_dtype("auto", path, on_cpu=True, native_bf16=False) == "float32"
    assert resolve_dtype("auto", path, on_cpu=True, native_bf16=True) == "auto"
    assert resolve_dtype("auto", path, on_cpu=False, native_bf16=False) == "auto"


def test_explicit_dtypes_and_other_checkpoints_are_left_alone(tmp_path: Path) -> None:
    assert (
        resolve_dtype("bfloat16", checkpoint(tmp_path, "float32"), on_cpu=True, native_bf16=False)
        == "bfloat16"
    )
    # A bfloat16 checkpoint would double its memory in float32: vLLM's choice stands.
    assert (
        resolve_dtype("auto", checkpoint(tmp_path, "bfloat16"), on_cpu=True, native_bf16=False)
        == "auto"
    )
