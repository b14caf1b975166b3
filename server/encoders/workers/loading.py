"""Loading a model in a worker: the Transformers class for the task, limits, labels, tokenizer.

Worker-side only (imports torch and transformers).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoTokenizer, PretrainedConfig

from server.encoders.shared.spec import (
    Activation,
    Head,
    ModelDescription,
    PoolingSpec,
    Seq2SeqInfo,
    WorkerSpec,
)
from server.encoders.workers.auto_classes import AUTO_CLASSES
from server.encoders.workers.head_choice import choose_head
from server.encoders.workers.st_layout import read_layout, read_prompts

log = logging.getLogger("server.encoders.worker")

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# Tokenizers that mean "no limit" store a huge sentinel as model_max_length.
_NO_LIMIT = 1_000_000
# NLLB's language codes ("eng_Latn") and M2M100's ("__en__").
_LANGUAGE_CODE = re.compile(r"^(?:[a-z]{3}_[A-Z][a-z]{3}|__[a-z]{2,3}__)$")
# RoBERTa-style models reserve position ids up to pad_token_id + 1.
_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert", "longformer", "mpnet"}


def activation_for(config: PretrainedConfig) -> Activation:
    """Softmax, sigmoid or raw logits, as the text-classification pipeline chooses."""
    problem = getattr(config, "problem_type", None)
    if problem == "multi_label_classification" or config.num_labels == 1:
        return Activation.SIGMOID
    if problem == "regression":
        return Activation.NONE
    return Activation.SOFTMAX


def _activation(task: str, head: Head, config: PretrainedConfig) -> Activation:
    # Zero-shot needs an NLI model's raw logits: it compares entailment across labels.
    if head is Head.SEQUENCE:
        return Activation.NONE if task == "zero-shot" else activation_for(config)
    return Activation.NONE if head in (Head.SPAN, Head.MASKED) else Activation.SOFTMAX


def _position_limit(config: PretrainedConfig, tokenizer: Any) -> int | None:
    limits = []
    tokenizer_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_max, int) and 0 < tokenizer_max < _NO_LIMIT:
        limits.append(tokenizer_max)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        if getattr(config, "model_type", "") in _OFFSET_POSITIONS:
            positions -= (getattr(config, "pad_token_id", None) or 1) + 1
        limits.append(positions)
    return min(limits) if limits else None


def _max_length(spec: WorkerSpec, limit: int | None, st_max: int | None) -> int:
    if spec.max_length is not None:
        if limit is not None and spec.max_length > limit:
            raise ValueError(f"max_length {spec.max_length} exceeds the model's limit of {limit}")
        return spec.max_length
    if st_max is not None:
        return min(st_max, limit) if limit is not None else st_max
    if limit is None:
        raise ValueError("the model declares no maximum length: set max_length in the config")
    return limit


def load(spec: WorkerSpec) -> tuple[torch.nn.Module, ModelDescription, PoolingSpec | None]:
    """The model (eval mode, on its device) and its description for the API process."""
    common: dict[str, Any] = {"trust_remote_code": spec.trust_remote_code}
    if spec.revision:
        common["revision"] = spec.revision
    config = AutoConfig.from_pretrained(spec.path, **common)
    head = choose_head(spec.task, getattr(config, "architectures", None))
    tokenizer = AutoTokenizer.from_pretrained(spec.path, **common)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("encoder models need a fast (Rust) tokenizer")
    layout = read_layout(Path(spec.path)) if head is Head.EMBED else None
    pooling = layout.pooling if layout is not None else None
    if pooling is None and head is Head.EMBED:
        pooling = PoolingSpec()  # a plain Transformers model: mean pooling, normalized
    max_length = _max_length(
        spec, _position_limit(config, tokenizer), layout.max_seq_length if layout else None
    )
    model = AUTO_CLASSES[head].from_pretrained(spec.path, dtype=DTYPES[spec.dtype], **common)
    model = model.to(spec.device).eval()
    labels: tuple[str, ...] = ()
    if head in (Head.SEQUENCE, Head.TOKENS):
        labels = tuple(str(config.id2label[i]) for i in range(config.num_labels))
    backend = tokenizer.backend_tokenizer
    prompts, default_prompt = read_prompts(Path(spec.path)) if head is Head.EMBED else ({}, None)
    description = ModelDescription(
        head=head,
        architecture=type(model).__name__,
        max_length=max_length,
        labels=labels,
        activation=_activation(spec.task, head, config),
        tokenizer_json=backend.to_str(),
        pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
        vocab_size=int(model.get_input_embeddings().num_embeddings),
        unk_id=tokenizer.unk_token_id,
        uses_token_type_ids="token_type_ids" in tokenizer.model_input_names,
        continuing_subword_prefix=getattr(backend.model, "continuing_subword_prefix", None),
        pooling=pooling,
        prompts=prompts,
        default_prompt_name=default_prompt,
        seq2seq=_seq2seq_info(config, tokenizer, model) if head is Head.SEQ2SEQ else None,
        mask_token=tokenizer.mask_token if head is Head.MASKED else None,
        mask_id=tokenizer.mask_token_id if head is Head.MASKED else None,
    )
    if spec.task == "zero-shot" and not any(x.lower().startswith("entail") for x in labels):
        raise ValueError(f"a zero-shot model needs an entailment label; it has {list(labels)}")
    if head is Head.MASKED and description.mask_id is None:
        raise ValueError("a fill-mask model needs a tokenizer with a mask token")
    return model, description, pooling


def _languages(config: PretrainedConfig, tokenizer: Any) -> dict[str, int]:
    """A multilingual model's language codes and their ids (empty for other models)."""
    if getattr(config, "model_type", "") not in ("m2m_100", "nllb", "nllb-moe"):
        return {}
    codes = getattr(tokenizer, "lang_code_to_id", None)
    if isinstance(codes, dict) and codes:
        return {str(code): int(i) for code, i in codes.items()}
    tokens = [t for t in tokenizer.get_vocab() if _LANGUAGE_CODE.match(t)]
    return {t.strip("_"): int(tokenizer.convert_tokens_to_ids(t)) for t in sorted(tokens)}


def _seq2seq_info(config: PretrainedConfig, tokenizer: Any, model: Any) -> Seq2SeqInfo:
    """Task prefixes (T5), languages (M2M100, NLLB) and generation defaults."""
    params = getattr(config, "task_specific_params", None) or {}
    prefixes = {
        str(key): str(value["prefix"])
        for key, value in params.items()
        if isinstance(value, dict) and value.get("prefix")
    }
    generation = model.generation_config
    if generation.max_new_tokens is not None:
        default_new = int(generation.max_new_tokens)
    else:  # max_length counts the decoder's start token
        default_new = max(1, int(generation.max_length or 20) - 1)
    forced = generation.forced_bos_token_id
    bpe = type(tokenizer.backend_tokenizer.model).__name__ == "BPE"
    forced_clean_up = getattr(
        tokenizer, "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output", False
    )
    return Seq2SeqInfo(
        prefixes=prefixes,
        languages=_languages(config, tokenizer),
        default_max_new_tokens=default_new,
        forced_bos_token_id=int(forced) if forced is not None else None,
        clean_up_applies=not bpe or bool(forced_clean_up),
    )
