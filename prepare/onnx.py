"""Export the bundled encoders to ONNX at preparation time, into the cache the workers read.

The workers would export on first load otherwise (a few seconds per model and worker start);
doing it here makes the first ``make serve`` start as fast as the next ones. The export is
then loaded once as a worker of the default config loads it, which checks it against torch
and records the result (``server.encoders.workers.backends.verified``): the server's workers
then start without torch or transformers from the first start on.
"""

from __future__ import annotations

import logging
from pathlib import Path

from server.encoders.shared.spec import Head

logger = logging.getLogger("prepare")

# Bundled encoder -> the task the default config serves it for, and the head that task runs.
ONNX_BUNDLED: dict[str, tuple[str, Head]] = {
    "all-minilm-l6-v2": ("embed", Head.EMBED),
    "minilm-sentiment": ("classify", Head.SEQUENCE),
    "minilm-ner": ("ner", Head.TOKENS),
    "minilm-qa": ("qa", Head.SPAN),
    "minilm-nli": ("zero-shot", Head.SEQUENCE),
    "minilm-mlm": ("fill-mask", Head.MASKED),
}


def export_onnx(name: str, folder: Path) -> Path | None:
    """The ONNX export of a bundled encoder (written if missing); None for other models."""
    if name not in ONNX_BUNDLED:
        return None
    task, head = ONNX_BUNDLED[name]
    from transformers import AutoTokenizer

    from server.encoders.workers.backends.onnx_export import exported_model

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    uses_types = "token_type_ids" in tokenizer.model_input_names
    path = exported_model(folder, head, uses_types)
    logger.info("%s: ONNX export in %s", name, path)
    _verify(name, task, folder)
    return path


def _verify(name: str, task: str, folder: Path) -> None:
    """Load the export as a default-config worker does (parity check, record written)."""
    from server.encoders.shared.spec import WorkerSpec
    from server.encoders.workers.main import _load

    spec = WorkerSpec(
        model=name,
        task=task,
        path=str(folder),
        device="cpu",
        dtype="float32",
        threads=1,
        backend="onnx",
    )
    _, description = _load(spec)
    if description.backend == "onnx":
        logger.info("%s: ONNX export verified against torch", name)
    else:
        logger.warning("%s: the ONNX export failed its check; workers will run torch", name)
