"""The Transformers class that loads each head: for serving (``loading``) and for the ONNX
export (``backends.onnx_export``), which must load the same model."""

from __future__ import annotations

from typing import Any

from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForQuestionAnswering,
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
)

from server.encoders.shared.spec import Head

AUTO_CLASSES: dict[Head, Any] = {
    Head.EMBED: AutoModel,
    Head.SEQUENCE: AutoModelForSequenceClassification,
    Head.TOKENS: AutoModelForTokenClassification,
    Head.SEQ2SEQ: AutoModelForSeq2SeqLM,
    Head.SPAN: AutoModelForQuestionAnswering,
    Head.MASKED: AutoModelForMaskedLM,
}


def head_output(outputs: Any) -> Any:
    """The one tensor a head's forward gives: the first output, or for extractive QA its
    start and end logits stacked on a last axis of 2."""
    start = getattr(outputs, "start_logits", None)
    if start is not None:
        import torch

        return torch.stack((start, outputs.end_logits), dim=-1)
    return outputs[0]
