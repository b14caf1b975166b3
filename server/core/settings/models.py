"""The served models' sections: a generative model on vLLM, an encoder model on a worker pool."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from server.core.settings.base import BUNDLED_PREFIX, Strict

GenerateTask = Literal["generate"]
EncoderTask = Literal[
    "embed", "classify", "ner", "rerank", "summarize", "translate", "qa", "zero-shot", "fill-mask"
]
# Tasks of encoder-decoder models (generate() in the encoder workers).
SEQ2SEQ_TASKS = ("summarize", "translate")


class VllmEngineOptions(Strict):
    """Options passed to vLLM's engine for one generative model."""

    dtype: str = Field("auto", description="Weights/activation dtype (auto, float32, bfloat16...).")
    max_model_len: int | None = Field(None, gt=0, description="Context length; model's if unset.")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1, description="GPU memory fraction.")
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs per model (tensor parallel).")
    pipeline_parallel_size: int = Field(1, ge=1, description="Pipeline stages (multi-node).")
    distributed_executor_backend: Literal["mp", "ray", "uni"] | None = Field(
        None, description="vLLM's executor: 'ray' for multi-node, 'mp' for one host."
    )
    enable_prefix_caching: bool | None = Field(None, description="Reuse KV cache across prompts.")
    enforce_eager: bool = Field(False, description="Disable graph capture (faster start).")
    max_num_seqs: int | None = Field(None, gt=0, description="Max sequences per engine step.")
    max_num_batched_tokens: int | None = Field(None, gt=0, description="Token budget per step.")
    seed: int = Field(0, description="Engine seed.")
    tokenizer: str | None = Field(None, description="Tokenizer source, if not the model's.")
    quantization: str | None = Field(None, description="Quantization method (awq, gptq, fp8...).")
    kv_cache_dtype: str = Field("auto", description="KV cache dtype.")
    enable_lora: bool | None = Field(
        None, description="Serve LoRA adapters; on when the model declares adapters if unset."
    )
    max_loras: int | None = Field(
        None, gt=0, description="Adapters in one engine batch; the declared count if unset."
    )
    max_lora_rank: int | None = Field(
        None,
        gt=0,
        description="Largest adapter rank the engine takes; the declared adapters' if unset.",
    )
    enable_priority_scheduling: bool = Field(
        False, description="Schedule by the request's 'priority' field instead of FIFO."
    )
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="Any other vLLM engine argument by its name, checked at start-up.",
    )


class BatchingOptions(Strict):
    """Dynamic batcher limits for one encoder model."""

    max_batch_size: int = Field(32, ge=1, description="Max inputs in one model batch.")
    shared_batch_size: int = Field(
        8,
        ge=1,
        description="Max inputs in one batch while inputs of several API keys are queued: the "
        "keys take turns, and smaller batches let one key's lone request through sooner beside "
        "another key's flood.",
    )
    max_batch_tokens: int = Field(8192, ge=1, description="Max padded tokens in one model batch.")
    max_wait_ms: float = Field(
        2.0, ge=0, description="How long a partial batch waits to fill while another runs."
    )
    max_queue: int = Field(1024, ge=1, description="Queued inputs before answering 429.")


class Seq2SeqOptions(Strict):
    """Encoder-decoder models (summarize, translate): the server's bounds on generation."""

    max_new_tokens: int = Field(
        512, ge=1, description="Most tokens one output may have (requests asking more: 400)."
    )
    max_num_beams: int = Field(8, ge=1, description="Most beams a request may ask for.")
    prefix: str | None = Field(
        None,
        description="Text prepended to every input; if unset, the model's own task prefix "
        "(T5's task_specific_params: 'summarize: ', 'translate English to German: ').",
    )
    src_lang: str | None = Field(None, description="Default source language (M2M100, NLLB).")
    tgt_lang: str | None = Field(None, description="Default target language (M2M100, NLLB).")


class _ModelBase(Strict):
    name: str = Field(min_length=1, max_length=256, description="Served name (`model` field).")
    source: str = Field(
        description="Local folder, Hugging Face id, or 'bundled:NAME' (prepared offline)."
    )
    trust_remote_code: bool = Field(False, description="Allow model repos to run their own code.")
    revision: str | None = Field(None, description="Hugging Face revision.")
    keep_alive: float | None = Field(
        None,
        gt=0,
        description="Seconds without a request after which the model is unloaded (and loaded "
        "again by the next request naming it); unset: kept loaded.",
    )

    @field_validator("name")
    @classmethod
    def _name_is_token(cls, value: str) -> str:
        if any(c.isspace() for c in value):
            raise ValueError("model name must not contain whitespace")
        return value

    @field_validator("source")
    @classmethod
    def _source_exists(cls, value: str) -> str:
        if value.startswith(BUNDLED_PREFIX):
            if not value[len(BUNDLED_PREFIX) :]:
                raise ValueError("bundled source needs a name, e.g. 'bundled:all-minilm-l6-v2'")
        elif value.startswith(("/", "./", "../", "~")) and not Path(value).expanduser().exists():
            raise ValueError(f"local model path does not exist: {value}")
        return value


DEFAULT_SUMMARIZE_PROMPT = (
    "Summarize the following text in one or two sentences. Answer with the summary only.\n\n{text}"
)
DEFAULT_TRANSLATE_PROMPT = (
    "Translate the following text into {tgt_lang}. Answer with the translation only.\n\n{text}"
)
_PROMPT_FIELDS = {"text": "", "src_lang": "", "tgt_lang": ""}


class TextTaskPrompts(Strict):
    """A generative model serving summarize and translate: the user message of each task.

    Templates take ``{text}`` (and ``{tgt_lang}``, ``{src_lang}`` for translate); a task set
    to null is not served."""

    summarize: str | None = Field(DEFAULT_SUMMARIZE_PROMPT, description="Summarize's prompt.")
    translate: str | None = Field(DEFAULT_TRANSLATE_PROMPT, description="Translate's prompt.")
    max_tokens: int = Field(256, ge=1, description="Output tokens when a request names none.")

    @model_validator(mode="after")
    def _templates(self) -> TextTaskPrompts:
        for task in ("summarize", "translate"):
            template = getattr(self, task)
            if template is None:
                continue
            if "{text}" not in template:
                raise ValueError(f"the {task} prompt must contain {{text}}")
            try:
                template.format(**_PROMPT_FIELDS)
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"the {task} prompt may use only {{text}}, {{src_lang}} and {{tgt_lang}} "
                    f"(double other braces): {exc}"
                ) from None
        return self

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks served, in order."""
        return tuple(t for t in ("summarize", "translate") if getattr(self, t) is not None)


class AdapterConfig(Strict):
    """A LoRA adapter on a generative model, served under its own model name."""

    name: str = Field(min_length=1, max_length=256, description="Served name (`model` field).")
    source: str = Field(
        description="Local folder or Hugging Face id holding adapter_config.json and weights, "
        "or 'bundled:NAME' (prepared offline)."
    )

    @field_validator("name")
    @classmethod
    def _name_is_token(cls, value: str) -> str:
        if any(c.isspace() for c in value):
            raise ValueError("adapter name must not contain whitespace")
        return value

    @field_validator("source")
    @classmethod
    def _source_exists(cls, value: str) -> str:
        if value.startswith(("/", "./", "../", "~")) and not Path(value).expanduser().exists():
            raise ValueError(f"local adapter path does not exist: {value}")
        return value


class GenerateModelConfig(_ModelBase):
    """A decoder-only model served by a vLLM engine."""

    task: GenerateTask = "generate"
    chat_template: str | None = Field(
        None,
        description=(
            "Jinja chat template: inline, a path to a file, or 'bundled-template:NAME' for a "
            "template shipped in server/configs/ (e.g. chatml_tools.jinja); model's if unset."
        ),
    )
    tool_call_parser: str | None = Field(
        None,
        description=(
            "vLLM tool parser for the model's own tool-call format (hermes, llama3_json, "
            "mistral, qwen3_xml, ...); needed for tool_choice 'auto'. Checked at start-up."
        ),
    )
    reasoning_parser: str | None = Field(
        None,
        description=(
            "vLLM reasoning parser (deepseek_r1, qwen3, ...): the model's thinking goes to "
            "reasoning_content. Checked at start-up."
        ),
    )
    max_queue: int = Field(256, ge=1, description="Requests waiting in the engine before 429.")
    text_tasks: TextTaskPrompts | None = Field(
        None,
        description="Serve summarize and translate (/v1/summarize, /v1/translate, POST "
        "/models/{name}) with these prompts; {} takes the default prompts.",
    )
    adapters: list[AdapterConfig] = Field(
        default_factory=list,
        description="LoRA adapters on this model, each served under its own name.",
    )
    engine: VllmEngineOptions = Field(default_factory=VllmEngineOptions)  # type: ignore[arg-type]


class EncoderModelConfig(_ModelBase):
    """An encoder model served by a pool of Transformers worker processes."""

    task: EncoderTask
    device: str = Field("cpu", pattern=r"^(cpu|cuda(:\d+)?)$", description="cpu or cuda:N.")
    dtype: Literal["float32", "float16", "bfloat16"] = Field(
        "float32", description="Weights dtype."
    )
    workers: int = Field(1, ge=1, le=64, description="Worker processes for this model.")
    max_length: int | None = Field(
        None, gt=0, description="Max tokens per input; model's if unset."
    )
    truncate: bool = Field(False, description="Truncate long inputs instead of answering 400.")
    backend: Literal["torch", "onnx", "auto"] = Field(
        "torch",
        description=(
            "Inference runtime of the workers: torch, onnx (ONNX Runtime; exported at "
            "preparation or first load, torch if the export fails) or auto (onnx on CPU, "
            "torch on GPUs)."
        ),
    )
    quantize: Literal["int8"] | None = Field(
        None,
        description="ONNX Runtime dynamic quantization of the weights (onnx/auto on CPU only).",
    )
    torch_threads: int | None = Field(
        None, ge=1, description="Threads per worker (torch or ONNX Runtime); cores / workers."
    )
    alone_threads: int | None = Field(
        None,
        ge=0,
        description=(
            "ONNX Runtime on CPU: threads for a batch that runs alone (nothing of this model "
            "queued, no encoder batch running), in a second session of worker 0, so that a lone "
            "request uses every core of the model. It costs that session's memory (about "
            "100 MB for MiniLM); 0 turns it off. If unset: threads x workers (up to the cores) "
            "on a server without a generative model, 0 beside one (the engine shares the CPU)."
        ),
    )
    prompts: dict[str, str] | None = Field(
        None,
        description=(
            "Instructions by input type, prepended to each text (e.g. search_query: 'query: '); "
            "the model folder's config_sentence_transformers.json prompts if unset."
        ),
    )
    batching: BatchingOptions = Field(default_factory=BatchingOptions)  # type: ignore[arg-type]
    seq2seq: Seq2SeqOptions = Field(
        default_factory=Seq2SeqOptions,  # type: ignore[arg-type]
        description="Generation bounds of a summarize or translate model.",
    )

    @model_validator(mode="after")
    def _quantize_needs_onnx(self) -> EncoderModelConfig:
        if self.quantize is not None and self.backend == "torch":
            raise ValueError("quantize needs backend 'onnx' or 'auto'")
        if self.task in SEQ2SEQ_TASKS and (self.backend == "onnx" or self.quantize):
            raise ValueError(f"task '{self.task}' runs on torch: backend 'onnx' is not supported")
        return self


ModelConfig = Annotated[GenerateModelConfig | EncoderModelConfig, Field(discriminator="task")]
