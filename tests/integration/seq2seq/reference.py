"""Transformers' own ``generate()`` and ``decode`` on a model folder: what the server must equal."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Reference:
    texts: list[str]
    generated_tokens: int


@cache
def _load(path: str) -> tuple[Any, Any]:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    model = AutoModelForSeq2SeqLM.from_pretrained(path).eval()
    return model, AutoTokenizer.from_pretrained(path)


def generate(
    path: Path,
    texts: list[str],
    *,
    source_token: str | None = None,
    clean_up: bool = False,
    truncation: bool = False,
    **params: Any,
) -> Reference:
    """``texts`` generated as one batch, right-padded as the tokenizer pads them."""
    import torch

    model, tokenizer = _load(str(path))
    batch = tokenizer(texts, padding=True, truncation=truncation, return_tensors="pt")
    if source_token is not None:  # M2M100: the source language is the first token
        batch["input_ids"][:, 0] = tokenizer.convert_tokens_to_ids(source_token)
    with torch.inference_mode():
        sequences = model.generate(**batch, **params)
    eos = model.generation_config.eos_token_id
    pad = model.generation_config.pad_token_id
    count = 0
    for row in sequences[:, 1:].tolist():
        if eos in row:
            count += row.index(eos) + 1
        else:
            while row and row[-1] == pad:
                row.pop()
            count += len(row)
    decoded = tokenizer.batch_decode(
        sequences, skip_special_tokens=True, clean_up_tokenization_spaces=clean_up
    )
    return Reference(decoded, count)


def token_id(path: Path, token: str) -> int:
    return int(_load(str(path))[1].convert_tokens_to_ids(token))
