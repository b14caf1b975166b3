"""Adapter folders and the engine's LoRA settings: what is checked before vLLM sees them."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.adapters.archive import unpack
from server.core.settings import GenerateModelConfig, Settings
from server.generation.engine.vllm_engine import lora_args
from server.generation.lora import (
    InvalidAdapter,
    check_base,
    check_rank,
    engine_rank,
    read_adapter,
    resolve_adapter,
)


def _adapter(folder: Path, rank: int = 8, weights: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {"peft_type": "LORA", "r": rank, "target_modules": ["q_proj", "v_proj"]}
    (folder / "adapter_config.json").write_text(json.dumps(config))
    if weights:
        (folder / "adapter_model.safetensors").write_bytes(b"x")
    return folder


def _model(**fields: object) -> GenerateModelConfig:
    return GenerateModelConfig(name="m", source="bundled:m", **fields)  # type: ignore[arg-type]


def test_read_adapter_gives_rank_and_targets(tmp_path: Path) -> None:
    info = read_adapter(str(_adapter(tmp_path / "a", rank=4)))
    assert (info.rank, info.target_modules) == (4, ("q_proj", "v_proj"))


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p, "not found"),
        (lambda p: (p.mkdir(), p)[1], "no adapter_config.json"),
        (lambda p: _adapter(p, weights=False), "no weights file"),
    ],
)
def test_a_bad_folder_names_what_is_missing(tmp_path: Path, make: object, words: str) -> None:
    folder = make(tmp_path / "a")  # type: ignore[operator]
    with pytest.raises(InvalidAdapter, match=words) as caught:
        read_adapter(str(folder))
    assert caught.value.status == 400


def test_rank_over_the_limit_is_refused(tmp_path: Path) -> None:
    info = read_adapter(str(_adapter(tmp_path / "a", rank=32)))
    with pytest.raises(InvalidAdapter, match="rank 32, over the model's max_lora_rank 16"):
        check_rank(info, 16)
    check_rank(info, 32)


def test_engine_rank_is_the_smallest_vllm_accepts() -> None:
    assert engine_rank([4, 8]) == 8
    assert engine_rank([9]) == 16
    assert engine_rank([]) == 16
    with pytest.raises(InvalidAdapter):
        engine_rank([1024])


def test_resolve_adapter_keeps_a_local_folder(tmp_path: Path) -> None:
    assert resolve_adapter(str(tmp_path), tmp_path / "models") == str(tmp_path.resolve())


def test_a_bundled_adapter_is_its_folder_in_the_models_dir(tmp_path: Path) -> None:
    (tmp_path / "my-lora").mkdir()
    assert resolve_adapter("bundled:my-lora", tmp_path) == str((tmp_path / "my-lora").resolve())
    with pytest.raises(InvalidAdapter, match="python -m prepare"):
        resolve_adapter("bundled:not-prepared", tmp_path)


def test_lora_settings_follow_the_declared_adapters(tmp_path: Path) -> None:
    assert lora_args(_model(), []) == {}
    adapters = [{"name": f"a{i}", "source": str(tmp_path)} for i in range(3)]
    declared = lora_args(_model(adapters=adapters), [4, 20, 8])
    assert declared == {"enable_lora": True, "max_loras": 3, "max_lora_rank": 32}
    set_ = _model(adapters=adapters, engine={"max_loras": 1, "max_lora_rank": 64})
    assert lora_args(set_, [4]) == {"enable_lora": True, "max_loras": 1, "max_lora_rank": 64}
    runtime_only = _model(engine={"enable_lora": True})
    assert lora_args(runtime_only, []) == {
        "enable_lora": True,
        "max_loras": 1,
        "max_lora_rank": 16,
    }


def test_an_adapter_name_may_not_repeat_a_model_name(tmp_path: Path) -> None:
    models = [
        {"name": "m", "task": "generate", "source": "bundled:m"},
        {
            "name": "n",
            "task": "generate",
            "source": "bundled:m",
            "adapters": [{"name": "m", "source": str(tmp_path)}],
        },
    ]
    with pytest.raises(ValidationError, match="duplicate model name 'm'"):
        Settings(models=models)  # type: ignore[arg-type]


def _safetensors(folder: Path, shapes: dict[str, list[int]]) -> None:
    header = {n: {"dtype": "F32", "shape": s, "data_offsets": [0, 0]} for n, s in shapes.items()}
    raw = json.dumps(header).encode()
    (folder / "adapter_model.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw)


def test_an_adapter_of_another_base_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"hidden_size": 576, "intermediate_size": 1536}))
    fits = _adapter(tmp_path / "fits")
    _safetensors(fits, {"m.q_proj.lora_A.weight": [8, 576], "m.q_proj.lora_B.weight": [576, 8]})
    check_base(read_adapter(str(fits)), "m", str(base))
    other = _adapter(tmp_path / "other")
    _safetensors(other, {"m.q_proj.lora_A.weight": [8, 128]})
    with pytest.raises(InvalidAdapter, match=r"does not fit model 'm'.*size 128"):
        check_base(read_adapter(str(other)), "m", str(base))


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    return out.getvalue()


def test_an_uploaded_archive_unpacks_to_its_adapter_folder(tmp_path: Path) -> None:
    files = {"lora/adapter_config.json": b"{}", "lora/adapter_model.safetensors": b"x"}
    folder = unpack(_tar(files), tmp_path)
    assert Path(folder).name == "lora"
    assert (Path(folder) / "adapter_model.safetensors").read_bytes() == b"x"
    assert unpack(_tar(files), tmp_path) == folder  # the same upload unpacks once
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("adapter_config.json", "{}")
    assert (Path(unpack(zipped.getvalue(), tmp_path)) / "adapter_config.json").is_file()


@pytest.mark.parametrize(
    ("archive", "words"),
    [(b"not an archive", "not a tar or zip"), (_tar({"x.txt": b"x"}), "no adapter_config")],
)
def test_a_bad_archive_is_a_400(tmp_path: Path, archive: bytes, words: str) -> None:
    with pytest.raises(InvalidAdapter, match=words):
        unpack(archive, tmp_path)
