"""Server configuration: one YAML file, overridden by environment variables and CLI flags.

Precedence (highest first): CLI flags, ``INFERENCE_*`` environment variables, the YAML file
given by ``--config`` (or ``INFERENCE_CONFIG``), then the defaults below. Nothing here is built
at import time; :func:`load_settings` is called by the CLI and by tests.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    CliApp,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

ENV_PREFIX = "INFERENCE_"
DEFAULT_CONFIG = Path(__file__).parents[1] / "configs" / "default.yaml"
BUNDLED_PREFIX = "bundled:"

GenerateTask = Literal["generate"]
EncoderTask = Literal["embed", "classify", "ner", "rerank"]


class _Strict(BaseModel):
    """Config sections reject unknown keys so that a typo names the bad field."""

    model_config = ConfigDict(extra="forbid")


class VllmEngineOptions(_Strict):
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
    enable_priority_scheduling: bool = Field(
        False, description="Schedule by the request's 'priority' field instead of FIFO."
    )
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="Any other vLLM engine argument by its name, checked at start-up.",
    )


class BatchingOptions(_Strict):
    """Dynamic batcher limits for one encoder model."""

    max_batch_size: int = Field(32, ge=1, description="Max inputs in one model batch.")
    max_batch_tokens: int = Field(8192, ge=1, description="Max padded tokens in one model batch.")
    max_wait_ms: float = Field(
        2.0, ge=0, description="How long a partial batch waits to fill while another runs."
    )
    max_queue: int = Field(1024, ge=1, description="Queued inputs before answering 429.")


class _ModelBase(_Strict):
    name: str = Field(min_length=1, max_length=256, description="Served name (`model` field).")
    source: str = Field(
        description="Local folder, Hugging Face id, or 'bundled:NAME' (prepared offline)."
    )
    trust_remote_code: bool = Field(False, description="Allow model repos to run their own code.")
    revision: str | None = Field(None, description="Hugging Face revision.")

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

    @model_validator(mode="after")
    def _quantize_needs_onnx(self) -> EncoderModelConfig:
        if self.quantize is not None and self.backend == "torch":
            raise ValueError("quantize needs backend 'onnx' or 'auto'")
        return self


ModelConfig = Annotated[GenerateModelConfig | EncoderModelConfig, Field(discriminator="task")]


class RequestLimits(_Strict):
    """What one request may ask for; a request over a limit is refused before any work (400,
    or 413 for the body) with a message naming the limit."""

    max_body_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Request body size; larger bodies get 413."
    )
    max_header_count: int = Field(64, ge=8, description="Header fields per request.")
    max_header_bytes: int = Field(16 * 1024, ge=1024, description="Total size of the headers.")
    max_inputs: int = Field(
        2048, ge=1, description="Inputs (texts, documents, prompts) in one request."
    )
    max_input_chars: int = Field(
        1_000_000, ge=1, description="Characters in one input, message or prompt."
    )
    max_prompts: int = Field(
        64, ge=1, description="Prompts in one /v1/completions request (each is an engine request)."
    )
    max_n: int = Field(16, ge=1, le=128, description="Choices per generation request (n).")
    max_stop_sequences: int = Field(16, ge=1, description="Stop sequences per request.")
    max_tokens: int = Field(
        16384, ge=1, description="Tokens one generation may ask for (and the default cap)."
    )
    max_top_logprobs: int = Field(20, ge=0, description="Alternatives per token (top_logprobs).")


class StoreSettings(_Strict):
    """Where stored responses (and files and batch jobs) live, and for how long."""

    data_dir: Path = Field(
        Path("data"), description="Directory of the embedded SQLite store (and stored files)."
    )
    database_url: str | None = Field(
        None,
        description="A PostgreSQL URL (postgresql://user:password@host:port/db) shared by "
        "several replicas; unset: the embedded SQLite file in data_dir.",
    )
    response_ttl_s: float = Field(
        30 * 24 * 3600.0, gt=0, description="How long a stored response is kept (30 days)."
    )
    purge_interval_s: float = Field(
        600.0, gt=0, description="How often expired responses are purged."
    )
    max_response_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        description="Largest stored response (its input items and output, as JSON).",
    )
    max_chain_length: int = Field(
        256, ge=1, description="Responses a previous_response_id chain may reach back."
    )
    connect_timeout_s: float = Field(
        5.0, gt=0, description="How long to wait for the database before answering 503."
    )
    max_file_bytes: int = Field(
        200 * 1024 * 1024, ge=1024, description="Largest file /v1/files accepts (200 MB)."
    )


class BatchSettings(_Strict):
    """The Batch API: how many lines a batch may have and how its lines are run."""

    max_lines: int = Field(50_000, ge=1, description="Requests (lines) in one batch input file.")
    max_in_flight: int = Field(
        16, ge=1, description="Batch lines this server runs at once (over all batches)."
    )
    priority: int = Field(
        10,
        ge=-(2**31),
        lt=2**31,
        description="Queue priority of batch lines (lower runs earlier; online requests "
        "default to 0). Sent to vLLM only for models with engine.enable_priority_scheduling.",
    )
    completion_window_s: float = Field(
        24 * 3600.0, gt=0, description="How long the '24h' completion window lasts."
    )
    lease_s: float = Field(
        60.0,
        ge=1,
        description="How long lines claimed by a replica stay its own without a heartbeat; "
        "a replica that dies gives its lines back after this.",
    )
    poll_s: float = Field(1.0, gt=0, description="How often idle replicas look for new lines.")


class Settings(BaseSettings):
    """Everything the server needs to start; each field is also a CLI flag and an env var."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        cli_prog_name="python -m server",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_avoid_json=False,
    )

    config: Path | None = Field(
        None, description="YAML file declaring the server and its models (default: bundled)."
    )
    host: str = Field("0.0.0.0", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on.")
    models_dir: Path = Field(
        Path("models"), description="Where 'bundled:' models are prepared and looked up."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level."
    )
    log_format: Literal["text", "json"] = Field("text", description="Log line format.")
    owned_by: str = Field(
        "inference-server", description="Owner shown for every model in /v1/models."
    )
    api_keys: list[str] = Field(
        default_factory=list,
        description="Accepted API keys (JSON list in env/CLI); empty with no file: no auth.",
    )
    api_keys_file: Path | None = Field(
        None, description="File with one accepted API key per line (e.g. a mounted Secret)."
    )
    metrics_require_auth: bool = Field(
        False, description="Require an API key for /metrics too (/health and /ready never)."
    )
    playground: bool = Field(
        False,
        description="Serve the web playground at / (its static files need no API key; the API "
        "calls it makes send the key the user enters).",
    )
    cors_allow_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (CORS), e.g. "
        "'https://app.example.com' or '*' (JSON list in env/CLI); empty: no CORS headers.",
    )
    limits: RequestLimits = Field(
        default_factory=RequestLimits,  # type: ignore[arg-type]
        description="Per-request limits (body, headers, inputs, n, tokens...).",
    )
    drain_timeout_s: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM: how long in-flight requests may finish (new ones get 503).",
    )
    store: StoreSettings = Field(
        default_factory=StoreSettings,  # type: ignore[arg-type]
        description="The database of stored responses, files and batch jobs.",
    )
    batches: BatchSettings = Field(
        default_factory=BatchSettings,  # type: ignore[arg-type]
        description="The Batch API (/v1/batches): limits and background execution.",
    )
    models: list[ModelConfig] = Field(
        default_factory=list, description="The served models (see the YAML file for the shape)."
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        if not self.models:
            raise ValueError("models: at least one model must be configured")
        seen: set[str] = set()
        for model in self.models:
            if model.name in seen:
                raise ValueError(f"models: duplicate model name {model.name!r}")
            seen.add(model.name)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file is the one named by ``config`` (load_settings always passes it).
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        yaml_file = getattr(init_settings, "init_kwargs", {}).get("config")
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=Path(yaml_file)))
        return tuple(sources)

    def accepted_api_keys(self) -> list[str]:
        """Keys from ``api_keys`` and ``api_keys_file`` (read now; blank lines ignored)."""
        keys = [k.strip() for k in self.api_keys if k.strip()]
        if self.api_keys_file is not None:
            lines = self.api_keys_file.read_text().splitlines()
            keys += [line.strip() for line in lines if line.strip()]
        return keys


def _config_path(argv: list[str]) -> Path:
    """The YAML path from ``--config`` or the environment, read before the full parse."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    raw = known.config or os.environ.get(f"{ENV_PREFIX}CONFIG")
    return Path(raw) if raw else DEFAULT_CONFIG


def load_settings(argv: list[str] | None = None, **overrides: Any) -> Settings:
    """Build settings from CLI ``argv`` (None: no CLI), env and the YAML file.

    Raises pydantic ``ValidationError`` (naming the bad field) or ``FileNotFoundError``.
    """
    path = _config_path(argv or [])
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    overrides["config"] = path
    if argv is None:
        return Settings(**overrides)
    return CliApp.run(Settings, cli_args=argv, **overrides)
