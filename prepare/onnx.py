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

# Bundled encoder -> the task the default config serves it for.
ONNX_TASKS = {"all-minilm-l6-v2": "embed", "minilm-sentiment": "classify", "minilm-ner": "ner"}
# Bundled encoder -> the head its configured task runs.
ONNX_HEADS = {
    "all-minilm-l6-v2": Head.EMBED,
    "minilm-sentiment": Head.SEQUENCE,
    "minilm-ner": Head.TOKENS,
    "minilm-qa": Head.SPAN,
    "minilm-nli": Head.SEQUENCE,
    "minilm-mlm": Head.MASKED,
}


def export_onnx(name: str, folder: Path) -> Path | None:
    """The ONNX export of a bundled encoder (written if missing); None for other models."""
    head = ONNX_HEADS.get(name)
    if head is None:
        return None
    from transformers import AutoTokenizer

    from server.encoders.workers.backends.onnx_export import exported_model

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    uses_types = "token_type_ids" in tokenizer.model_input_names
    path = exported_model(folder, head, uses_types)
    logger.info("%s: ONNX export in %s", name, path)
    _verify(name, folder)
    return path


def _verify(name: str, folder: Path) -> None:
    """Load the export as a default-config worker does (parity check, record written)."""
    from server.encoders.shared.spec import WorkerSpec
    from server.encoders.workers.main import _load

    spec = WorkerSpec(
        model=name,
        task=ONNX_TASKS[name],
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
