"""A generative model as the registry serves it: tokenizer, vLLM engine, OpenAI service."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from server.core.metrics import Metrics
from server.core.registry import now
from server.core.settings import AdapterConfig, GenerateModelConfig, Settings
from server.core.sources import resolve_source
from server.generation.engine.vllm_engine import VllmEngine
from server.generation.lora import (
    InvalidAdapter,
    check_base,
    check_rank,
    read_adapter,
    resolve_adapter,
)
from server.generation.service.pipeline import GenerationService
from server.generation.service.prompts import PromptBuilder, load_chat_template
from server.generation.service.tokenizer import TokenizerService
from server.generation.types import GenerationEngine, OutputParsers

log = logging.getLogger("server.generation")


class GenerationModel:
    """One configured ``generate`` model; ``service`` is set once it is loaded."""

    task = "generate"
    parent: str | None = None  # the base model's name, for an adapter

    def __init__(
        self,
        config: GenerateModelConfig,
        settings: Settings,
        metrics: Metrics,
        engine: GenerationEngine | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self.config = config
        self.name = name or config.name
        self.created = now()
        self.metrics = metrics
        self._settings = settings
        self._engine = engine
        self._service: GenerationService | None = None
        self._tokenizer: TokenizerService | None = None
        self._started = asyncio.Event()  # set once start() ends, loaded or not
        if name is None:  # an adapter's requests are counted in its base model's engine
            metrics.track_running(self.name, self.task, self._running)
            metrics.track_waiting(self.name, self.task, self._waiting)

    def _running(self) -> int:
        return self._engine.running() if self._engine is not None and self.ready else 0

    def _waiting(self) -> int:
        return self._engine.waiting() if self._engine is not None and self.ready else 0

    @property
    def ready(self) -> bool:
        return self._service is not None

    @property
    def healthy(self) -> bool:
        """False once the engine died; the app then exits so a supervisor restarts it."""
        return self._engine is None or not self._engine.errored

    @property
    def max_context(self) -> int | None:
        return self._engine.max_model_len if self.ready and self._engine else None

    @property
    def service(self) -> GenerationService:
        if self._service is None:
            raise RuntimeError(f"model {self.name} is not loaded")
        return self._service

    @property
    def engine(self) -> GenerationEngine:
        if self._engine is None:
            raise RuntimeError(f"model {self.name} has no engine")
        return self._engine

    @property
    def tokenizer(self) -> TokenizerService:
        if self._tokenizer is None:
            raise RuntimeError(f"model {self.name} is not loaded")
        return self._tokenizer

    async def start(self) -> None:
        try:
            await self._start()
        finally:
            self._started.set()

    async def wait_started(self) -> None:
        """Return once ``start`` has ended (the model loaded, or failed to)."""
        await self._started.wait()

    @property
    def root(self) -> str:
        """Where the weights come from (``root`` in /v1/models)."""
        return self.config.source

    def adapter_models(self) -> list[GenerationModel]:
        """A served model per declared adapter, each on this model's engine."""
        return [self.adapter_model(a) for a in self.config.adapters]

    def adapter_model(self, adapter: AdapterConfig) -> GenerationModel:
        """``adapter`` served on this model's engine (started by its ``start``)."""
        return AdapterModel(adapter, self, self._settings, self.metrics)

    async def _start(self) -> None:
        wants_parsers = self.config.tool_call_parser or self.config.reasoning_parser
        if wants_parsers:
            from server.generation.engine.parsers import import_registries

            # On the event loop, before this start first awaits: importing vLLM's parser
            # registries from a thread while another model's engine imports vLLM in its own
            # thread deadlocks on Python's import locks.
            import_registries()
        path = resolve_source(self.config.source, self._settings.models_dir)
        tokenizer = await asyncio.to_thread(self._load_tokenizer, path)
        template = load_chat_template(self.config.chat_template)
        parsers = self._parsers(tokenizer)
        if self._engine is None:
            ranks = await asyncio.to_thread(self._adapter_ranks)
            self._engine = VllmEngine(self.config, path, ranks)
        await self._engine.start()
        prompts = PromptBuilder(tokenizer, template)
        self._serve(prompts, parsers)
        log.info("%s: ready", self.name)

    def _serve(self, prompts: PromptBuilder, parsers: OutputParsers | None) -> None:
        assert self._engine is not None
        self._tokenizer = TokenizerService(prompts, self._engine.max_model_len)
        self._service = GenerationService(
            self.name,
            self._engine,
            prompts,
            self.metrics,
            max_in_flight=self._engine.max_num_seqs + self.config.max_queue,
            max_output_tokens=self._settings.limits.max_tokens,
            priority_scheduling=self.config.engine.enable_priority_scheduling,
            parsers=parsers,
        )

    def _adapter_ranks(self) -> list[int]:
        """The declared adapters' ranks (a bad adapter is a configuration error)."""
        return [
            read_adapter(resolve_adapter(a.source, self._settings.models_dir)).rank
            for a in self.config.adapters
        ]

    def _parsers(self, tokenizer: Any) -> OutputParsers | None:
        """The configured vLLM parsers, checked before the engine loads (a bad name is a
        configuration error that names the known ones)."""
        config = self.config
        if config.tool_call_parser is None and config.reasoning_parser is None:
            return None
        from server.generation.engine.parsers import VllmOutputParsers

        return VllmOutputParsers(
            self.name, tokenizer, config.tool_call_parser, config.reasoning_parser
        )

    @property
    def tasks(self) -> tuple[str, ...]:
        """``generate``, and summarize and translate where ``text_tasks`` prompts them."""
        prompts = self.config.text_tasks
        return (self.task, *(prompts.tasks if prompts is not None else ()))

    @property
    def prompts(self) -> dict[str, str] | None:
        return None

    @property
    def runtime(self) -> str:
        return "vllm"

    @property
    def capabilities(self) -> list[str]:
        """What ``/v1/models`` advertises beyond the task: 'tools' when tool_choice 'auto'
        reads the model's own calls (named and required calls work on every model),
        'reasoning' when its thinking is split from the answer."""
        found = []
        if self.config.tool_call_parser is not None:
            found.append("tools")
        if self.config.reasoning_parser is not None:
            found.append("reasoning")
        return found

    def _load_tokenizer(self, path: str) -> Any:
        from transformers import AutoTokenizer

        opts = self.config.engine
        return AutoTokenizer.from_pretrained(
            opts.tokenizer or path,
            revision=self.config.revision,
            trust_remote_code=self.config.trust_remote_code,
        )

    async def stop(self) -> None:
        self._service = None
        self._tokenizer = None
        if self._engine is not None:
            await self._engine.stop()


class AdapterModel(GenerationModel):
    """A LoRA adapter served under its own name on its base model's engine and prompts."""

    def __init__(
        self, adapter: AdapterConfig, base: GenerationModel, settings: Settings, metrics: Metrics
    ) -> None:
        super().__init__(base.config, settings, metrics, name=adapter.name)
        self.adapter = adapter
        self.base = base
        self.parent = base.name

    @property
    def root(self) -> str:
        return self.adapter.source

    @property
    def healthy(self) -> bool:
        return self.base.healthy

    def adapter_models(self) -> list[GenerationModel]:
        return []

    async def _start(self) -> None:
        await self.base.wait_started()
        if not self.base.ready:
            raise RuntimeError(f"adapter '{self.name}': its model '{self.base.name}' did not load")
        engine = self.base.engine
        if not isinstance(engine, VllmEngine):
            raise InvalidAdapter(f"model '{self.base.name}' serves no adapters (it runs no vLLM)")
        path = await asyncio.to_thread(
            resolve_adapter, self.adapter.source, self._settings.models_dir
        )
        info = await asyncio.to_thread(read_adapter, path)
        check_rank(info, engine.max_lora_rank)
        await asyncio.to_thread(check_base, info, self.base.name, engine.model_path)
        self._engine = await engine.add_adapter(self.name, path)
        base = self.base.service
        self._serve(base.prompts, base.parsers)
        log.info("%s: adapter ready on %s", self.name, self.base.name)

    async def stop(self) -> None:
        self._service = None
        self._tokenizer = None
        if self._engine is not None and not self.base.engine.errored:
            await self._engine.stop()
