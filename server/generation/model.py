"""A generative model as the registry serves it: tokenizer, vLLM engine, OpenAI service."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from server.generation.engine import VllmEngine
from server.generation.prompts import PromptBuilder, load_chat_template
from server.generation.service import GenerationService
from server.generation.types import GenerationEngine
from server.metrics import Metrics
from server.registry import now
from server.settings import GenerateModelConfig, Settings
from server.sources import resolve_source

log = logging.getLogger("server.generation")


class GenerationModel:
    """One configured ``generate`` model; ``service`` is set once it is loaded."""

    task = "generate"

    def __init__(
        self,
        config: GenerateModelConfig,
        settings: Settings,
        metrics: Metrics,
        engine: GenerationEngine | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.created = now()
        self.metrics = metrics
        self._settings = settings
        self._engine = engine
        self._service: GenerationService | None = None
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
        return not bool(getattr(self._engine, "errored", False))

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

    async def start(self) -> None:
        path = resolve_source(self.config.source, self._settings.models_dir)
        tokenizer = await asyncio.to_thread(self._load_tokenizer, path)
        template = load_chat_template(self.config.chat_template)
        if self._engine is None:
            self._engine = VllmEngine(self.config, path)
        await self._engine.start()
        max_seqs = int(getattr(self._engine, "max_num_seqs", 0) or 0)
        self._service = GenerationService(
            self.name,
            self._engine,
            PromptBuilder(tokenizer, template),
            self.metrics,
            max_in_flight=max_seqs + self.config.max_queue,
            max_output_tokens=self._settings.limits.max_tokens,
            priority_scheduling=self.config.engine.enable_priority_scheduling,
        )
        log.info("%s: ready", self.name)

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
        if self._engine is not None:
            await self._engine.stop()
