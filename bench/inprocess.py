"""The in-process loops the server is measured against: the same model folder run directly,
tokenization and post-processing included, inputs sorted by length (as sentence-transformers'
``encode`` does; without it a "ceiling" pays for padding that any server would avoid).

``torch``: sentence-transformers ``encode`` for embeddings, Transformers for the heads.
``onnx``: an ONNX Runtime session on the server's own export of the model (the cache beside
the model folder), with the fast tokenizer and numpy post-processing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

BatchFn = Callable[[list[str]], Any]
BACKENDS = ("torch", "onnx")


def by_length(texts: Sequence[str]) -> list[str]:
    """Longest first, by characters (sentence-transformers' order)."""
    return sorted(texts, key=len, reverse=True)


def _torch(task: str, model_dir: Path, threads: int) -> BatchFn:
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    torch.set_num_threads(threads)
    if task == "embed":
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(model_dir), device="cpu")
        return lambda texts: st.encode(texts, batch_size=len(texts), convert_to_numpy=True)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    loader = (
        AutoModelForSequenceClassification
        if task == "classify"
        else AutoModelForTokenClassification
    )
    model = loader.from_pretrained(model_dir, dtype=torch.float32).eval()

    @torch.inference_mode()
    def run(texts: list[str]) -> Any:
        enc = tokenizer(
            texts,
            padding=True,
            truncation=True,
            return_tensors="pt",
            return_offsets_mapping=task == "ner",
        )
        offsets = enc.pop("offset_mapping", None)
        probs = model(**enc).logits.softmax(-1)
        if task == "classify":
            return probs.numpy()
        return probs.argmax(-1).numpy(), probs.max(-1).values.numpy(), offsets

    return run


def onnx_session(path: Path, threads: int) -> Any:
    """ONNX Runtime at its defaults for a lone process (all optimizations, spinning on)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_model_path(task: str, model_dir: Path, quantize: str | None = None) -> Path:
    """The server's export of this model for the task's head (exported now if missing)."""
    from transformers import AutoTokenizer

    from server.encoders.shared.spec import Head
    from server.encoders.workers.backends.onnx_export import exported_model

    head = {"embed": Head.EMBED, "classify": Head.SEQUENCE, "ner": Head.TOKENS}[task]
    uses_types = "token_type_ids" in AutoTokenizer.from_pretrained(model_dir).model_input_names
    return exported_model(model_dir, head, uses_types, quantize=quantize)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def _onnx(task: str, model_dir: Path, threads: int, quantize: str | None = None) -> BatchFn:
    from tokenizers import Tokenizer

    session = onnx_session(onnx_model_path(task, model_dir, quantize), threads)
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=0)
    tokenizer.enable_truncation(512)
    names = [i.name for i in session.get_inputs()]

    def run(texts: list[str]) -> Any:
        encodings = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        output = session.run(None, {n: feed[n] for n in names})[0]
        if task == "embed":
            weights = mask[..., None].astype(np.float32)
            pooled = (output * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
            return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        probs = _softmax(output)
        if task == "classify":
            return probs
        return probs.argmax(-1), probs.max(-1), [e.offsets for e in encodings]

    return run


def batch_function(
    task: str, backend: str, model_dir: Path, threads: int, quantize: str | None = None
) -> BatchFn:
    """A function from a batch of texts to the task's outputs (numpy arrays)."""
    if backend == "torch":
        return _torch(task, model_dir, threads)
    if backend == "onnx":
        return _onnx(task, model_dir, threads, quantize)
    raise ValueError(f"unknown backend {backend!r}")
