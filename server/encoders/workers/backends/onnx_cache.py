"""Where an exported ONNX model lives: a folder beside the model, keyed by its files and the
library versions, written atomically and by one worker at a time.

The key changes whenever the weights, the config, the head or a library that shapes the graph
changes, so a stale export is never loaded. Exports made by ``python -m prepare`` use the same
key, so the workers find them without exporting again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

from server.encoders.shared.spec import Head

OPSET = 17
CACHE_FOLDER = "onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
# Extractive QA: int8 with the feed-forward output projections left in fp32 (onnx_export says why).
INT8_SPAN_FILE = "model.int8-ffn-fp32.onnx"
# Files whose content decides the exported graph (weights, architecture, head labels).
_KEYED_SUFFIXES = (".safetensors", ".bin")
_KEYED_NAMES = ("config.json",)
_VERSIONED = ("torch", "transformers", "onnx", "onnxruntime")
_CHUNK = 1 << 20


def export_name(head: str, quantize: str | None) -> str:
    """The file name of the export of ``head`` (a head's value) with ``quantize``."""
    if quantize is None:
        return FP32_FILE
    return INT8_SPAN_FILE if head == Head.SPAN.value else INT8_FILE


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def cache_key(model_dir: Path, head: str) -> str:
    """A digest of the model files, the head, the opset and the library versions."""
    digest = hashlib.sha256()
    digest.update(f"head={head};opset={OPSET}".encode())
    for package in _VERSIONED:
        digest.update(f";{package}={_version(package)}".encode())
    for path in sorted(model_dir.iterdir()):
        if not path.is_file():
            continue
        if path.name not in _KEYED_NAMES and path.suffix not in _KEYED_SUFFIXES:
            continue
        digest.update(f";{path.name}:".encode())
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()[:20]


def cache_dir(model_dir: Path, head: str) -> Path:
    """The export's folder: ``<model>/onnx/<key>``, or the user cache if the model's folder
    is read-only (a shared Hugging Face cache, an image layer)."""
    key = cache_key(model_dir, head)
    if os.access(model_dir, os.W_OK):
        return model_dir / CACHE_FOLDER / key
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    where = hashlib.sha256(str(model_dir.resolve()).encode()).hexdigest()[:12]
    return base / "inference-server" / CACHE_FOLDER / where / key


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock: the workers of one model export once, not once each."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_file(target: Path, write: Callable[[Path], None]) -> Path:
    """``target``, written by ``write(temporary path)`` and renamed into place if missing."""
    if target.is_file():
        return target
    with locked(target.parent):
        if target.is_file():  # another worker wrote it while this one waited
            return target
        scratch = target.with_name(f".{target.name}.partial-{os.getpid()}")
        try:
            write(scratch)
            os.replace(scratch, target)
        finally:
            scratch.unlink(missing_ok=True)
    return target
