"""A verified ONNX export: what the start-up parity check established, kept beside the export
so that the next worker start needs neither torch nor transformers.

The first worker of a model on the ONNX backend loads it with Transformers, exports it (or
finds the export), checks the export's outputs against torch's and describes the model (labels,
limits, tokenizer, pooling). Once that passed, the description is written as JSON into the
export's folder, keyed by everything it depends on: the export's own key (weights, config,
head, library versions), the worker settings that shape it (task, maximum length,
quantization, revision) and the model folder's other files (tokenizer, sentence-transformers
modules). A later worker with the same key reads it, opens ONNX Runtime sessions and pools in
numpy; a stale or missing record sends it down the full path again.

With the record goes a copy of the export whose weights lie in a separate file
(``model.mapped.onnx`` and its ``.data``): ONNX Runtime memory-maps such weights instead of
copying them into each session, so a worker's two sessions (and the workers of one model)
share one copy of the weights (MiniLM: 284 -> 227 MB resident after a batch of 32 here).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from server.encoders.shared.spec import (
    Activation,
    DenseSpec,
    Head,
    ModelDescription,
    PoolingSpec,
    WorkerSpec,
)
from server.encoders.workers.backends.onnx_cache import (
    CACHE_FOLDER,
    cache_dir,
    export_name,
    locked,
)
from server.encoders.workers.backends.onnx_session import CPU, OnnxSession
from server.encoders.workers.backends.runners import OnnxRunner
from server.encoders.workers.head_choice import architectures_of, choose_head

log = logging.getLogger("server.encoders.worker")

FORMAT = 1
_WEIGHTS = (".safetensors", ".bin")  # top-level weights: already in the export's key


def export_file(spec: WorkerSpec, head: Head) -> Path:
    """The export this worker runs (fp32 or int8) as the exporter wrote it."""
    return cache_dir(Path(spec.path), head.value) / export_name(head.value, spec.quantize)


def mapped_file(spec: WorkerSpec, head: Head) -> Path:
    """The same graph with its weights in a file of their own, which sessions memory-map."""
    source = export_file(spec, head)
    return source.with_name(source.name.removesuffix(".onnx") + ".mapped.onnx")


def _write_mapped(source: Path, target: Path) -> None:
    """Rewrite ``source`` with every initializer in ``<target>.data`` (weights, then graph:
    a reader never sees a graph without its weights)."""
    import onnx

    model = onnx.load(str(source))
    scratch = target.parent / f".mapped-{os.getpid()}"
    scratch.mkdir(exist_ok=True)
    data_name = f"{target.name}.data"
    try:
        onnx.save_model(
            model,
            str(scratch / target.name),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data_name,
            size_threshold=1024,
        )
        os.chmod(scratch / data_name, 0o644)  # as readable as the export it copies
        os.replace(scratch / data_name, target.parent / data_name)
        os.replace(scratch / target.name, target)
    finally:
        for leftover in scratch.iterdir():
            leftover.unlink()
        scratch.rmdir()


def _folder_digest(model_dir: Path) -> str:
    """The model folder's files other than its top-level weights and the export cache."""
    digest = hashlib.sha256()
    for path in sorted(model_dir.rglob("*")):
        relative = path.relative_to(model_dir)
        if not path.is_file() or relative.parts[0] == CACHE_FOLDER:
            continue
        if len(relative.parts) == 1 and path.suffix in _WEIGHTS:
            continue
        if relative.parts[0].startswith("."):
            continue
        digest.update(f";{relative}:".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def record_file(spec: WorkerSpec, head: Head) -> Path:
    """The record's path: the export's folder, one file per worker setting that shapes it."""
    settings = {
        "format": FORMAT,
        "task": spec.task,
        "max_length": spec.max_length,
        "quantize": spec.quantize,
        "revision": spec.revision,
        "trust_remote_code": spec.trust_remote_code,
        "folder": _folder_digest(Path(spec.path)),
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:20]
    return export_file(spec, head).parent / f"verified-{key}.json"


def _description_data(description: ModelDescription) -> dict[str, Any]:
    return dataclasses.asdict(description)


def _description_from(data: dict[str, Any]) -> ModelDescription:
    pooling = data.pop("pooling")
    if pooling is not None:
        dense = tuple(DenseSpec(**d) for d in pooling.pop("dense"))
        pooling = PoolingSpec(
            modes=tuple(pooling["modes"]),
            dense=dense,
            **{k: v for k, v in pooling.items() if k != "modes"},
        )
    if data.pop("seq2seq") is not None:
        raise ValueError("an encoder-decoder model has no verified ONNX export")
    return ModelDescription(
        **{
            **data,
            "head": Head(data["head"]),
            "activation": Activation(data["activation"]),
            "labels": tuple(data["labels"]),
            "pooling": pooling,
            "seq2seq": None,
        }
    )


def save(spec: WorkerSpec, description: ModelDescription, check: OnnxRunner) -> None:
    """Record a description whose export passed the parity check (atomic; best effort), with
    the memory-mapped copy of the export, once that gives ``check``'s outputs."""
    target = record_file(spec, description.head)
    scratch = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with locked(target.parent):  # the model's other workers wait, then find it written
            if target.is_file():
                return
            mapped = mapped_file(spec, description.head)
            _write_mapped(export_file(spec, description.head), mapped)
            _same_outputs(mapped, check.session, description)
            scratch.write_text(json.dumps({"description": _description_data(description)}))
            os.replace(scratch, target)
    except Exception as exc:
        log.warning("%s: could not record the verified export (%s)", spec.model, exc)
    finally:
        scratch.unlink(missing_ok=True)


def load(spec: WorkerSpec) -> ModelDescription | None:
    """The recorded description of this worker's verified export, or None if there is none
    (or it cannot be trusted: unreadable, or the export itself is gone)."""
    head = choose_head(spec.task, architectures_of(Path(spec.path)))
    if head is Head.SEQ2SEQ:
        return None
    try:
        path = record_file(spec, head)
        if not path.is_file() or not mapped_file(spec, head).is_file():
            return None
        description = _description_from(json.loads(path.read_text())["description"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s: ignoring the verified export's record (%s)", spec.model, exc)
        return None
    return description if description.head is head else None


def _same_outputs(mapped: Path, session: OnnxSession, description: ModelDescription) -> None:
    """Raise unless the mapped copy gives the verified session's outputs on a check batch."""
    import numpy as np

    lengths = np.array([9, 4])
    valid = np.arange(9)[None, :] < lengths[:, None]
    ids = np.where(valid, min(1000, max(1, description.vocab_size - 1)), description.pad_id)
    inputs = {"input_ids": ids.astype(np.int64), "attention_mask": valid.astype(np.int64)}
    expected = session(inputs)
    got = OnnxSession(mapped, threads=1)(inputs)
    if got.shape != expected.shape or float(np.abs(got - expected).max()) > 1e-5:
        raise RuntimeError("the memory-mapped export's outputs differ from the verified one's")


def onnx_runner(spec: WorkerSpec, path: Path) -> OnnxRunner:
    """The sessions a worker runs: its share of the threads, and (CPU) a wider one for
    batches alone."""
    session = OnnxSession(path, threads=spec.threads, device=spec.device)
    alone = None
    if spec.alone_threads > spec.threads and session.providers[0] == CPU:
        alone = OnnxSession(path, threads=spec.alone_threads, device=spec.device, spin=True)
    log.info(
        "%s: ONNX Runtime on %s (%s)%s",
        spec.model,
        ", ".join(session.providers),
        path,
        f", {spec.alone_threads} threads for a batch alone" if alone else "",
    )
    return OnnxRunner(session, alone)
