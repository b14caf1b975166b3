"""``EncoderModel``: one configured encoder model (worker pool + batcher) in the registry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import numpy as np

from server.core.errors import Unavailable
from server.core.metrics import Metrics
from server.core.registry import now
from server.core.scheduling import QueueOrder
from server.core.settings import EncoderModelConfig, Settings
from server.core.settings.models import SEQ2SEQ_TASKS
from server.core.sources import resolve_source
from server.encoders.batching import DynamicBatcher
from server.encoders.cpu_budget import CpuBudget
from server.encoders.instructions import select_prompt
from server.encoders.pool.worker_pool import WorkerPool
from server.encoders.shared.backend_choice import ONNX, TORCH, resolve_backend
from server.encoders.shared.endpoints import served_tasks
from server.encoders.shared.spec import ModelDescription, Payload, WorkerSpec
from server.encoders.tokenization import TextEncoder

log = logging.getLogger("server.encoders")


class _MetricsObserver:
    """The batcher's measurements, recorded with this model's labels."""

    def __init__(self, metrics: Metrics, model: str, task: str) -> None:
        self._size = metrics.batch_size.labels(model, task)
        self._tokens = metrics.batch_tokens.labels(model, task)
        self._padding = metrics.batch_padding_ratio.labels(model, task)
        self._wait = metrics.queue_wait.labels(model, task)
        self._rejected = metrics.rejected
        self._labels = (model, task)

    def on_batch(self, size: int, padded_tokens: int, tokens: int) -> None:
        self._size.observe(size)
        self._tokens.observe(padded_tokens)
        self._padding.observe(1 - tokens / padded_tokens if padded_tokens else 0.0)

    def on_queue_wait(self, seconds: float) -> None:
        self._wait.observe(seconds)

    def on_rejected(self, reason: str) -> None:
        self._rejected.labels(*self._labels, reason).inc()


# The encoder models on this process's CPU share its cores, and so one budget.
_CPU = CpuBudget()


class EncoderModel:
    """A served encoder model: its workers, its batcher, its tokenizer and its limits."""

    def __init__(self, config: EncoderModelConfig, settings: Settings, metrics: Metrics) -> None:
        self.name = config.name
        self.task: str = config.task
        self.created = now()
        self.config = config
        self._settings = settings
        self._metrics = metrics
        self._pool: WorkerPool | None = None
        self._batcher: DynamicBatcher[Payload, np.ndarray] | None = None
        self._text: TextEncoder | None = None
        self._description: ModelDescription | None = None
        self._tasks: tuple[str, ...] = (config.task,)  # all of them once loaded
        self._stopped = False
        metrics.track_queue_depth(self.name, self.task, lambda: self._gauge("queued"))
        metrics.track_waiting(self.name, self.task, lambda: self._gauge("waiting_requests"))
        metrics.track_running(self.name, self.task, lambda: self._gauge("running_requests"))

    def _gauge(self, attribute: str) -> float:
        return float(getattr(self._batcher, attribute, 0))

    # -- ServedModel --------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._batcher is not None and not self._stopped

    @property
    def capabilities(self) -> list[str]:
        return []

    @property
    def runtime(self) -> str | None:
        """The workers' runtime: torch, onnx or onnx-int8 (auto resolved, fallbacks seen)."""
        return self._description.backend if self._description is not None else None

    @property
    def max_context(self) -> int | None:
        if self._description is not None:
            return self._description.max_length
        return self.config.max_length

    @property
    def healthy(self) -> bool:
        """False once a worker could not be restarted (the app then exits, to be restarted)."""
        return self._pool is None or not self._pool.broken

    async def start(self) -> None:
        """Start the workers (they load the model), then the tokenizer and the batcher."""
        config = self.config
        backend = resolve_backend(config.backend, config.device, config.dtype)
        if config.task in SEQ2SEQ_TASKS:
            backend = TORCH  # generate() runs on torch (see docs/api/encoders.md)
        generation = any(m.task == "generate" for m in self._settings.models)
        threads, alone_threads = _CPU.threads(config, backend, generation=generation)
        spec = WorkerSpec(
            model=self.name,
            task=config.task,
            path=resolve_source(config.source, self._settings.models_dir),
            device=config.device,
            dtype=config.dtype,
            threads=threads,
            alone_threads=alone_threads,
            backend=backend,
            quantize=config.quantize,
            trust_remote_code=config.trust_remote_code,
            revision=config.revision,
            max_length=config.max_length,
            log_level=self._settings.log_level,
            log_format=self._settings.log_format,
        )
        labels = (self.name, self.task)
        self._pool = WorkerPool(
            spec,
            config.workers,
            on_restart=self._metrics.worker_restarts.labels(*labels).inc,
            on_inference=self._metrics.inference_time.labels(*labels).observe,
        )
        description = await self._pool.start()
        self._text = await asyncio.to_thread(TextEncoder, description)
        self._description = description
        self._tasks = served_tasks(self.task, description)
        batcher: DynamicBatcher[Payload, np.ndarray] = DynamicBatcher(
            self._pool.run,
            config.batching,
            concurrency=self._pool.size,
            prefetch=self._pool.depth - 1,
            observer=_MetricsObserver(self._metrics, *labels),
            name=f"batcher-{self.name}",
            # A model on a GPU shares no cores with the others: it has a budget of its own.
            budget=_CPU if config.device == "cpu" else None,
        )
        batcher.start()
        self._batcher = batcher
        alone = description.backend.startswith(ONNX) and spec.alone_threads
        log.info(
            "encoder model %s ready: %s (%s, %s), max %d tokens, %d worker(s) x %d thread(s)%s",
            self.name,
            description.architecture,
            description.head,
            description.backend,
            description.max_length,
            config.workers,
            spec.threads,
            f", {spec.alone_threads} for a batch alone" if alone else "",
        )

    async def stop(self) -> None:
        """Stop the batcher (failing queued inputs), then the workers."""
        self._stopped = True
        if self._batcher is not None:
            await self._batcher.close()
        if self._pool is not None:
            await self._pool.stop()

    # -- for the task services ----------------------------------------------------------------

    @property
    def description(self) -> ModelDescription:
        if self._description is None:
            raise Unavailable(f"model '{self.name}' is still loading")
        return self._description

    @property
    def text(self) -> TextEncoder:
        if self._text is None:
            raise Unavailable(f"model '{self.name}' is still loading")
        return self._text

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task this model serves (its configured one until it is loaded)."""
        return self._tasks

    @property
    def prompts(self) -> dict[str, str] | None:
        """Instructions by name for an embedding model (config, else the folder's); else None."""
        if self.config.prompts is not None:
            return dict(self.config.prompts)
        if self._description is None:
            return None
        if "embed" not in self.tasks:
            return None
        return dict(self._description.prompts)

    def prompt(self, *, input_type: str | None, prompt_name: str | None = None) -> str:
        """The instruction to prepend for this request ("" for none); 400 for unknown names."""
        configured = self.config.prompts
        return select_prompt(
            self.description.prompts if configured is None else configured,
            input_type=input_type,
            prompt_name=prompt_name,
            default_name=self.description.default_prompt_name if configured is None else None,
        )

    def truncate(self, requested: bool | None) -> bool:
        """Whether to cut long inputs: the request decides, else the model config."""
        return self.config.truncate if requested is None else requested

    async def run(
        self, features: Sequence[Payload], order: QueueOrder | None = None
    ) -> list[np.ndarray]:
        """Outputs for each input, through the batcher (queued by ``order``) and the workers."""
        if self._batcher is None:
            raise Unavailable(f"model '{self.name}' is still loading")
        return await self._batcher.submit(features, [len(f) for f in features], order)
