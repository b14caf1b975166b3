"""Export a Transformers encoder to ONNX (TorchScript exporter, opset 17) and quantize it.

Worker-side and preparation-time only (imports torch and transformers). The model is loaded
again with eager attention: SDPA's fused kernels do not export cleanly. A small wrapper takes
the inputs positionally and passes them to the model by keyword, so the graph's inputs are
exactly ``input_ids``, ``attention_mask`` and, for BERT-style models, ``token_type_ids``; its
one output is the head's first output (token vectors, or logits).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from server.encoders.shared.spec import Head
from server.encoders.workers.backends.onnx_cache import (
    FP32_FILE,
    OPSET,
    cache_dir,
    ensure_file,
    export_name,
)

log = logging.getLogger("server.encoders.onnx")

OUTPUT = "output"
_EXAMPLE_SHAPE = (2, 8)


class _KeywordInputs(torch.nn.Module):
    """Positional graph inputs -> the model's keyword arguments."""

    def __init__(self, model: torch.nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        from server.encoders.workers.auto_classes import head_output

        output: torch.Tensor = head_output(self.model(**dict(zip(self.names, inputs, strict=True))))
        return output


def input_names(uses_token_type_ids: bool) -> tuple[str, ...]:
    """The graph's inputs, in order."""
    names = ("input_ids", "attention_mask")
    return (*names, "token_type_ids") if uses_token_type_ids else names


def _eager_model(model_dir: Path, head: Head, common: dict[str, Any]) -> torch.nn.Module:
    from server.encoders.workers.auto_classes import AUTO_CLASSES

    model = AUTO_CLASSES[head].from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager", **common
    )
    return model.eval()


def export(
    model_dir: Path, head: Head, uses_token_type_ids: bool, target: Path, **common: Any
) -> None:
    """Write the fp32 ONNX graph of the model in ``model_dir`` to ``target``."""
    model = _eager_model(model_dir, head, common)
    names = input_names(uses_token_type_ids)
    example = tuple(torch.ones(_EXAMPLE_SHAPE, dtype=torch.int64) for _ in names)
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes[OUTPUT] = {0: "batch"} if head is Head.SEQUENCE else {0: "batch", 1: "sequence"}
    with torch.inference_mode():
        torch.onnx.export(
            _KeywordInputs(model, names),
            example,
            str(target),
            input_names=list(names),
            output_names=[OUTPUT],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def feed_forward_outputs(graph: Path) -> list[str]:
    """The MatMul nodes of the encoder layers' feed-forward output projections (BERT-family
    names, ``.../layer.N/output/dense/MatMul``); none for other naming schemes."""
    import onnx

    nodes = onnx.load(str(graph), load_external_data=False).graph.node
    return [
        n.name
        for n in nodes
        if n.op_type == "MatMul"
        and n.name.endswith("/output/dense/MatMul")
        and "/attention/" not in n.name
    ]


def quantize_int8(source: Path, target: Path, keep_fp32: list[str] | None = None) -> None:
    """ORT dynamic quantization: int8 weights of the matrix products, activations at run time
    (one uint8 range per tensor); the MatMul nodes named in ``keep_fp32`` stay in fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=keep_fp32 or [],
    )


def exported_model(
    model_dir: Path,
    head: Head,
    uses_token_type_ids: bool,
    *,
    quantize: str | None = None,
    **common: Any,
) -> Path:
    """The cached ONNX file for this model and head, exported (and quantized) if missing."""
    folder = cache_dir(model_dir, head.value)

    def write_fp32(path: Path) -> None:
        log.info("exporting %s (%s head) to ONNX in %s", model_dir, head, folder)
        export(model_dir, head, uses_token_type_ids, path, **common)

    fp32 = ensure_file(folder / FP32_FILE, write_fp32)
    if quantize is None:
        return fp32
    if quantize != "int8":
        raise ValueError(f"unknown quantization {quantize!r}")
    if head is Head.SPAN:
        # A span's score multiplies two softmaxes over the context's tokens, and the input of
        # the feed-forward output projection (after GELU) has outliers that one uint8 range per
        # tensor resolves poorly: quantized, it moved start/end probabilities by up to 0.40 and
        # changed 1 of 8 best answers of the test QA model; kept in fp32 (6 of 36 MatMuls of
        # MiniLM), 0.26 and none.
        return ensure_file(
            folder / export_name(head.value, quantize),
            lambda path: quantize_int8(fp32, path, feed_forward_outputs(fp32)),
        )
    return ensure_file(
        folder / export_name(head.value, quantize), lambda path: quantize_int8(fp32, path)
    )
