"""The one generation pipeline behind chat and completions, on a ``GenerationEngine``.

validate -> prompts -> engine requests -> first output -> gathered response or chunk stream.
Validation happens before anything is sent to the engine, so every client mistake is a 400
with no engine work; streams begin only once the request is known to be valid and the engine
has produced its first output.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from contextlib import aclosing, contextmanager
from dataclasses import replace
from typing import TypeVar

from server.core.context import RequestInfo
from server.core.errors import InvalidRequest, Overloaded
from server.core.metrics import Metrics
from server.core.registry import now
from server.core.scheduling import deadline_exceeded, time_left
from server.generation.protocol import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
)
from server.generation.service.adapter import GatheredChoice, RequestAdapter, usage, usage_so_far
from server.generation.service.chat import ChatAdapter
from server.generation.service.completions import CompletionAdapter
from server.generation.service.prompts import PromptBuilder
from server.generation.service.streams import merge, started
from server.generation.types import (
    ChoiceDelta,
    GenerationEngine,
    GenerationStep,
    OutputParsers,
    SamplingSpec,
)

T = TypeVar("T")
R = TypeVar("R")
C = TypeVar("C")

ChatResult = ChatCompletion | AsyncIterator[ChatCompletionChunk]
CompletionResult = Completion | AsyncIterator[Completion]


class _TokenClock:
    """Counts a request's output (and cached prompt) tokens; records time to first token and
    inter-token latency."""

    def __init__(self, info: RequestInfo, metrics: Metrics) -> None:
        labels = (info.model, info.task, info.endpoint)
        self._ttft = metrics.time_to_first_token.labels(*labels)
        self._itl = metrics.inter_token_latency.labels(*labels)
        self._info = info
        self._last: float | None = None

    def cached(self, tokens: int | None) -> None:
        """Count the prompt tokens an engine request found in the prefix cache."""
        self._info.cached_tokens += tokens or 0

    def tick(self, deltas: Sequence[ChoiceDelta]) -> None:
        new_tokens = sum(len(d.token_ids) for d in deltas)
        if not new_tokens:
            return
        self._info.completion_tokens += new_tokens
        at = time.perf_counter()
        if self._last is None:
            self._ttft.observe(at - self._info.started_at)
        else:
            self._itl.observe(at - self._last)
        self._last = at


# Keys' ranks (their requests already in flight) within one client priority, when the engine
# schedules by priority: a key's first request runs before another key's hundredth.
RANK_SPAN = 1024


class _Slot:
    """An admitted request not yet counted in flight; released once, by whichever comes
    first: its first engine request starting, or its admission ending."""

    def __init__(self, service: GenerationService, tenant: str) -> None:
        self._service: GenerationService | None = service
        self.tenant = tenant

    def release(self) -> None:
        if self._service is not None:
            self._service.starting -= 1
            self._service.hold(self.tenant, -1)
            self._service = None


class GenerationService:
    """Chat and completions for one generative model."""

    def __init__(
        self,
        name: str,
        engine: GenerationEngine,
        prompts: PromptBuilder,
        metrics: Metrics,
        max_in_flight: int,
        *,
        max_output_tokens: int = 16384,
        priority_scheduling: bool = False,
        parsers: OutputParsers | None = None,
    ) -> None:
        self.name = name
        self.engine = engine
        self.prompts = prompts
        self.metrics = metrics
        self.max_in_flight = max_in_flight
        self.max_output_tokens = max_output_tokens
        self.priority_scheduling = priority_scheduling
        self.parsers = parsers  # the model's tool-call and reasoning formats, if configured
        self.in_flight = 0  # engine requests running or queued in the engine
        self.starting = 0  # admitted requests still being tokenized and started
        self.held: dict[str, int] = {}  # both of the above, by API key ("" without keys)

    # --- the endpoints ----------------------------------------------------------------------

    async def chat(self, request: ChatCompletionRequest, info: RequestInfo) -> ChatResult:
        """A full chat completion, or an iterator of chunks when ``request.stream``."""
        adapter = ChatAdapter(request, self.name, info.request_id, now(), self.parsers)
        return await self.serve(adapter, info)

    async def complete(self, request: CompletionRequest, info: RequestInfo) -> CompletionResult:
        """A full completion, or an iterator of chunks when ``request.stream``."""
        adapter = CompletionAdapter(request, self.name, info.request_id, now())
        return await self.serve(adapter, info)

    # --- admission ------------------------------------------------------------------------

    def hold(self, tenant: str, delta: int) -> None:
        """Count ``delta`` more requests of ``tenant`` starting or in flight."""
        held = self.held.get(tenant, 0) + delta
        if held:
            self.held[tenant] = held
        else:
            self.held.pop(tenant, None)

    @contextmanager
    def _admission(self, priority: int, tenant: str) -> Iterator[_Slot]:
        """Admit a request (400 for a priority the engine ignores, 429 when full or when its
        key holds more than its share). Its slot counts it until its first engine request
        starts and counts itself in flight."""
        self._admit(priority, tenant)
        self.starting += 1
        self.hold(tenant, 1)
        slot = _Slot(self, tenant)
        try:
            yield slot
        finally:
            slot.release()

    def _admit(self, priority: int, tenant: str) -> None:
        if priority != 0 and not self.priority_scheduling:
            raise InvalidRequest(
                f"model '{self.name}' schedules first come, first served: 'priority' needs "
                "engine.enable_priority_scheduling in its config",
                param="priority",
            )
        total = self.in_flight + self.starting
        if total >= self.max_in_flight:
            self.metrics.rejected.labels(self.name, "generate", "queue_full").inc()
            raise Overloaded(f"model '{self.name}' has too many requests in flight; retry later")
        # Fair share: past half full, a key holding its share of the slots (divided by the
        # keys holding any) waits, so that the other keys' requests find room. Alone, a key's
        # share is every slot.
        keys = len(self.held) + (tenant not in self.held)
        share = max(1, self.max_in_flight // keys)
        if total * 2 >= self.max_in_flight and self.held.get(tenant, 0) >= share:
            self.metrics.rejected.labels(self.name, "generate", "fair_share").inc()
            raise Overloaded(
                f"model '{self.name}' is busy and this API key holds its share of it; retry later"
            )

    def _ranked(self, spec: SamplingSpec, tenant: str) -> SamplingSpec:
        """With priority scheduling, a key's requests queue behind other keys' earlier ones
        of the same priority (rank: its requests already held); client priority first."""
        if not self.priority_scheduling or not tenant:
            return spec
        rank = min(self.held.get(tenant, 1) - 1, RANK_SPAN - 1)
        return replace(spec, priority=spec.priority * RANK_SPAN + rank)

    async def _started(
        self, stream: AsyncGenerator[T, None], info: RequestInfo
    ) -> AsyncGenerator[T, None]:
        """``stream`` once the engine has produced its first output, by the deadline if any."""
        try:
            return await started(stream, time_left(info.deadline))
        except TimeoutError:
            self.metrics.rejected.labels(self.name, "generate", "deadline").inc()
            raise deadline_exceeded("engine queue") from None

    async def _run(
        self,
        request_id: str,
        ids: list[int],
        spec: SamplingSpec,
        clock: _TokenClock,
        slot: _Slot,
    ) -> AsyncGenerator[GenerationStep, None]:
        """Engine steps for one prompt, counted in flight while they run."""
        self.in_flight += 1
        self.hold(slot.tenant, 1)
        slot.release()
        try:
            # aclosing: when our consumer stops early, the engine request is aborted now,
            # not whenever the garbage collector finalizes the generator.
            async with aclosing(self.engine.generate(request_id, ids, spec)) as steps:
                first = True
                async for step in steps:
                    if first:
                        clock.cached(step.cached_tokens)
                        first = False
                    clock.tick(step.deltas)
                    yield step
        finally:
            self.in_flight -= 1
            self.hold(slot.tenant, -1)

    # --- the pipeline -----------------------------------------------------------------------

    async def serve(self, adapter: RequestAdapter[R, C], info: RequestInfo) -> R | AsyncIterator[C]:
        """The response of ``adapter``'s request, or an iterator of its chunks when streaming."""
        request = adapter.request
        tenant = info.key.name if info.key is not None else ""
        with self._admission(request.priority, tenant) as slot:
            prompt_ids = await asyncio.to_thread(adapter.prompt_ids, self.prompts)
            max_len, cap = self.engine.max_model_len, self.max_output_tokens
            specs = [
                self._ranked(adapter.spec(len(ids), max_len, cap), tenant) for ids in prompt_ids
            ]
            if specs[0].logit_bias:
                self.prompts.check_ids([token for token, _ in specs[0].logit_bias], "logit_bias")
            adapter.prepare(self.prompts, prompt_ids)
            prompt_tokens = sum(len(ids) for ids in prompt_ids)
            # The key's tpm holds what the request may use at most: prompt and max_tokens.
            info.reserve_tokens(prompt_tokens + sum(s.max_tokens * s.n for s in specs))
            info.prompt_tokens = prompt_tokens
            clock = _TokenClock(info, self.metrics)
            rid = info.request_id
            runs = [
                self._run(rid if len(prompt_ids) == 1 else f"{rid}-{i}", ids, spec, clock, slot)
                for i, (ids, spec) in enumerate(zip(prompt_ids, specs, strict=True))
            ]
            merged = await self._started(merge(runs), info)
        if request.stream:
            return self._stream(adapter, merged, info)
        n = request.n
        choices = [GatheredChoice() for _ in range(len(prompt_ids) * n)]
        async with aclosing(merged):
            async for prompt_index, step in merged:
                if step.prompt_logprobs is not None:
                    adapter.on_prompt_logprobs(prompt_index, step.prompt_logprobs)
                for delta in step.deltas:
                    choices[prompt_index * n + delta.index].add(delta)
        output_tokens = sum(c.tokens for c in choices)
        return adapter.response(
            choices, usage(info.prompt_tokens, output_tokens, info.cached_tokens)
        )

    async def _stream(
        self,
        adapter: RequestAdapter[R, C],
        merged: AsyncGenerator[tuple[int, GenerationStep], None],
        info: RequestInfo,
    ) -> AsyncIterator[C]:
        options = adapter.request.stream_options
        include_usage = bool(options and options.include_usage)
        # As vLLM has it: every chunk carries the usage so far (only with include_usage).
        continuous = include_usage and bool(options and options.continuous_usage_stats)

        def so_far(chunk: C) -> C:
            if not continuous:
                return chunk
            return adapter.with_usage(chunk, usage_so_far(info))

        for chunk in adapter.opening(usage_so_far(info)):
            yield so_far(chunk)
        n = adapter.request.n
        async with aclosing(merged):
            async for prompt_index, step in merged:
                if step.prompt_logprobs is not None:
                    adapter.on_prompt_logprobs(prompt_index, step.prompt_logprobs)
                for delta in step.deltas:
                    piece = adapter.chunk(prompt_index * n + delta.index, prompt_index, delta)
                    if piece is None:
                        continue
                    for one in piece if isinstance(piece, list) else [piece]:
                        yield so_far(one)
        if include_usage:
            yield adapter.usage_chunk(usage_so_far(info))
