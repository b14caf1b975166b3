"""The ONNX export cache: its key follows the model files, writes are atomic and happen once."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from server.encoders.shared.backend_choice import resolve_backend
from server.encoders.workers.backends.onnx_cache import (
    CACHE_FOLDER,
    cache_dir,
    cache_key,
    ensure_file,
)


def _model(folder: Path) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "README.md").write_text("about")
    return folder


def test_key_follows_weights_config_and_head_not_other_files(tmp_path: Path) -> None:
    model = _model(tmp_path / "m")
    key = cache_key(model, "embed")
    assert cache_key(model, "embed") == key
    assert cache_key(model, "tokens") != key
    (model / "README.md").write_text("changed")
    assert cache_key(model, "embed") == key
    (model / "model.safetensors").write_bytes(b"other weights")
    changed = cache_key(model, "embed")
    assert changed != key
    (model / "config.json").write_text('{"model_type": "roberta"}')
    assert cache_key(model, "embed") not in (key, changed)


def test_cache_lives_beside_the_model(tmp_path: Path) -> None:
    model = _model(tmp_path / "m")
    assert cache_dir(model, "embed") == model / CACHE_FOLDER / cache_key(model, "embed")


def test_read_only_model_folder_uses_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _model(tmp_path / "m")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    folder = cache_dir(model, "embed")
    assert folder.is_relative_to(tmp_path / "cache" / "inference-server" / CACHE_FOLDER)
    assert folder.name == cache_key(model, "embed")


def test_ensure_file_writes_once_through_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "model.onnx"
    written: list[Path] = []

    def write(path: Path) -> None:
        assert path != target and path.parent == target.parent
        assert not target.exists()
        written.append(path)
        path.write_bytes(b"graph")

    threads = [threading.Thread(target=ensure_file, args=(target, write)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ensure_file(target, write) == target
    assert target.read_bytes() == b"graph"
    assert len(written) == 1
    assert sorted(p.name for p in target.parent.iterdir()) == [".lock", "model.onnx"]


def test_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "model.onnx"

    def write(path: Path) -> None:
        path.write_bytes(b"half")
        raise RuntimeError("export failed")

    with pytest.raises(RuntimeError):
        ensure_file(target, write)
    assert sorted(p.name for p in target.parent.iterdir()) == [".lock"]


@pytest.mark.parametrize(
    ("backend", "device", "dtype", "expected"),
    [
        ("auto", "cpu", "float32", "onnx"),
        ("auto", "cuda:0", "float16", "torch"),
        ("auto", "cuda", "float32", "torch"),
        ("auto", "cpu", "bfloat16", "torch"),
        ("onnx", "cuda:1", "float32", "onnx"),
        ("torch", "cpu", "float32", "torch"),
    ],
)
def test_auto_is_onnx_on_cpu_and_torch_on_gpus(
    backend: str, device: str, dtype: str, expected: str
) -> None:
    assert resolve_backend(backend, device, dtype) == expected
