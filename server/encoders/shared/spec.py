"""Plain data passed between the API process and its workers (picklable, no torch).

``WorkerSpec`` goes to a worker when it starts; ``ModelDescription`` (with its ``Head``,
``Activation`` and ``PoolingSpec``) comes back once the model is loaded; each input then
travels as ``Features`` (token ids) or ``TextFeatures`` (a text the worker tokenizes) inside a
batch (``ipc.RunBatch``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class Head(StrEnum):
    """What the worker computes for each input: decides the Transformers class and the output."""

    EMBED = "embed"  # base model + pooling: one vector per input
    SEQUENCE = "sequence"  # sequence classification: one probability row per input
    TOKENS = "tokens"  # token classification: one probability row per token
    SEQ2SEQ = "seq2seq"  # encoder-decoder generation: generated token ids per input
    SPAN = "span"  # extractive QA: start and end logits per token
    MASKED = "masked"  # masked LM: vocabulary probabilities at each mask token


# Heads whose output has rows per token (or per mask token), not one row per input.
ROW_HEADS = (Head.TOKENS, Head.SPAN, Head.MASKED)


def rows_per_input(
    head: Head, ids: np.ndarray, lengths: np.ndarray, mask_id: int | None
) -> np.ndarray:
    """How many output rows each input of a batch has: its tokens, or its mask tokens."""
    if head is not Head.MASKED:
        return np.asarray(lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)))
    is_mask = np.asarray(ids) == mask_id
    return np.array([int(is_mask[starts[i] : starts[i + 1]].sum()) for i in range(len(lengths))])


class Activation(StrEnum):
    """How logits become scores, as Transformers' classification pipelines decide it."""

    SOFTMAX = "softmax"
    SIGMOID = "sigmoid"
    NONE = "none"


@dataclass(frozen=True)
class DenseSpec:
    """A sentence-transformers ``Dense`` module after pooling."""

    path: str
    in_features: int
    out_features: int
    bias: bool
    activation: str  # short torch.nn name: Identity, Tanh, ReLU, GELU, Sigmoid


@dataclass(frozen=True)
class PoolingSpec:
    """How token vectors become one sentence vector (sentence-transformers semantics)."""

    modes: tuple[str, ...] = ("mean",)
    dense: tuple[DenseSpec, ...] = ()
    normalize: bool = True


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs to load and run one model."""

    model: str  # served name, for logs
    task: str
    path: str
    device: str
    dtype: str
    threads: int
    # ONNX Runtime on a CPU: threads of a second session for batches that run alone (nothing
    # else running or queued), so that a lone request uses every core of the model; 0: none.
    alone_threads: int = 0
    backend: str = "torch"  # resolved: torch or onnx (see server.encoders.shared.backend_choice)
    quantize: str | None = None  # onnx only: "int8"
    trust_remote_code: bool = False
    revision: str | None = None
    max_length: int | None = None  # configured override
    log_level: str = "info"
    log_format: str = "text"


@dataclass(frozen=True)
class GenerationParams:
    """How one input of an encoder-decoder model is decoded: ``generate()``'s arguments.

    Hashable, so that a worker runs the inputs of a batch that share them as one
    ``generate()`` call. ``None`` leaves the model's own generation config in charge."""

    max_new_tokens: int
    min_new_tokens: int | None = None
    num_beams: int | None = None
    do_sample: bool | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float | None = None
    no_repeat_ngram_size: int | None = None
    early_stopping: bool | str | None = None  # True, False or "never"
    forced_bos_token_id: int | None = None  # the target language of M2M100 and NLLB

    def arguments(self) -> dict[str, int | float | bool | str]:
        """The keyword arguments for ``generate()`` (the unset ones left out)."""
        return {
            name: value for name, value in dataclasses.asdict(self).items() if value is not None
        }


@dataclass(frozen=True)
class Seq2SeqInfo:
    """What the API process needs to know of an encoder-decoder model."""

    # Task prefixes from the config's task_specific_params (T5), by key: "summarization",
    # "translation_en_to_de", ...
    prefixes: dict[str, str] = field(default_factory=dict)
    # Language codes of a multilingual model (M2M100, NLLB) and their token ids.
    languages: dict[str, int] = field(default_factory=dict)
    # New tokens the model's generation config allows when a request names none.
    default_max_new_tokens: int = 20
    # The model's own forced first token (a fixed target language), if any.
    forced_bos_token_id: int | None = None
    # Whether clean_up_tokenization_spaces applies: Transformers 5 ignores it for BPE
    # tokenizers (it would strip spaces they decode exactly), unless their config forces it.
    clean_up_applies: bool = True


@dataclass(frozen=True)
class ModelDescription:
    """What the worker learned while loading, sent to the API process once."""

    head: Head
    architecture: str
    max_length: int
    backend: str = "torch"  # what the worker runs: torch, onnx or onnx-int8
    labels: tuple[str, ...] = ()
    activation: Activation = Activation.NONE
    output_dim: int | None = None
    tokenizer_json: str = ""
    pad_id: int = 0
    vocab_size: int = 0  # rows of the embedding matrix: token ids from clients must be below
    unk_id: int | None = None
    uses_token_type_ids: bool = False
    continuing_subword_prefix: str | None = None
    pooling: PoolingSpec | None = None
    # sentence-transformers instructions by name (config_sentence_transformers.json).
    prompts: dict[str, str] = field(default_factory=dict)
    default_prompt_name: str | None = None
    seq2seq: Seq2SeqInfo | None = None
    # Masked LMs: the mask token and its id (rows of their output are the mask positions).
    mask_token: str | None = None
    mask_id: int | None = None


@dataclass(slots=True)
class Features:
    """One model input as the batcher and the worker see it."""

    ids: np.ndarray  # int32
    type_ids: np.ndarray | None = None  # int8, only for pairs on models with token types
    generation: GenerationParams | None = None  # encoder-decoder models only

    def __len__(self) -> int:
        return len(self.ids)


# Bytes of UTF-8 per token that a length estimate assumes: one token per character for
# ideographs (3 bytes each), a third of the characters for ASCII (English runs at about a
# quarter with WordPiece and BPE), so that estimates err long rather than short.
_BYTES_PER_TOKEN = 3
_ESTIMATE_SPECIAL_TOKENS = 3


# Token models (NER) read a text longer than their limit in windows that overlap by this
# share of the window (a quarter: max_length // 4 tokens).
WINDOW_STRIDE_SHARE = 4

# Flags of a token in ``TextFeatures.token_info``.
TOKEN_SPECIAL = 1  # [CLS], [SEP] and the like: no entity
TOKEN_SUBWORD = 2  # continues the word of the token before it


def window_stride(max_length: int) -> int:
    """Tokens that consecutive windows of a long text share."""
    return max_length // WINDOW_STRIDE_SHARE


@dataclass(slots=True)
class TextFeatures:
    """A single text that the worker tokenizes (special tokens added), so that the API process
    spends no time on it. A model with one output row per input reads it cut to its limit
    when longer; a token model (NER) reads all of it, in overlapping windows.

    Its length is an estimate until its batch has run (enough to batch it), then the tokens
    the model read; ``whole`` is then how many the whole text has, which decides the 400 for
    an uncut text over the limit (``cut`` False). For a token model, ``windows`` then holds
    each window's token count and ``token_info`` one row per token of its windows: the
    character span it covers and its flags (``TOKEN_SPECIAL``, ``TOKEN_SUBWORD``).
    """

    text: str
    estimate: int
    cut: bool
    tokens: int = 0
    whole: int = 0
    windows: list[int] = field(default_factory=list)
    token_info: np.ndarray | None = None  # int32, (tokens, 3): start, end, flags

    @classmethod
    def of(cls, text: str, *, limit: int | None, cut: bool) -> TextFeatures:
        """``limit``: the model's, for a text cut to it; None for one read in windows."""
        size = len(text) if text.isascii() else len(text.encode())
        estimate = size // _BYTES_PER_TOKEN + _ESTIMATE_SPECIAL_TOKENS
        return cls(text, estimate if limit is None else min(limit, estimate), cut)

    def __len__(self) -> int:
        return self.tokens or self.estimate


# What the batcher queues for one input: token ids, or a text for the worker to tokenize.
Payload = Features | TextFeatures
