"""The Transformers class that loads each head: for serving (``loading``) and for the ONNX
export (``backends.onnx_export``), which must load the same model."""

from __future__ import annotations

from typing import Any

from transformers import (
    AutoModel,
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
}
