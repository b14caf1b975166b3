"""The OpenAI semantics of chat and completions on top of a ``GenerationEngine``.

Validation happens before anything is sent to the engine, so every client mistake is a 400
with no engine work; streams begin only once the request is known to be valid.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from contextlib import aclosing, contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from server.api.context import RequestInfo
from server.errors import InvalidRequest, Overloaded
from server.generation.params import chat_spec, completion_spec
from server.generation.prompts import PromptBuilder
from server.generation.responses import chat_logprobs, completion_logprobs, usage
from server.generation.streams import merge, started
from server.generation.types import ChoiceDelta, GenerationEngine, SamplingSpec, TokenInfo
from server.metrics import Metrics
from server.protocol.generation import (
    AssistantMessage,
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatDelta,
    Completion,
    CompletionChoice,
    CompletionRequest,
)
from server.registry import now
from server.scheduling import deadline_exceeded, time_left

MAX_PROMPTS = 64
T = TypeVar("T")

ChatResult = ChatCompletion | AsyncIterator[ChatCompletionChunk]
CompletionResult = Completion | AsyncIterator[Completion]


@dataclass
class _Choice:
    """One choice's output gathered over the steps of a non-streaming request."""

    text: list[str] = field(default_factory=list)
    tokens: int = 0
    logprobs: list[TokenInfo] = field(default_factory=list)
    finish_reason: str | None = None

    def add(self, delta: ChoiceDelta) -> None:
        self.text.append(delta.text)
        self.tokens += len(delta.token_ids)
        if delta.logprobs:
            self.logprobs.extend(delta.logprobs)
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason


def _streams(delta: ChoiceDelta) -> bool:
    """Whether a step's delta is sent as a chunk: whenever it made tokens (with the empty text
    of a token that ends inside a character, as vLLM's server sends it: clients count and
    time chunks per token) or finished."""
    return bool(delta.text or delta.token_ids or delta.finish_reason or delta.logprobs)


class _TokenClock:
    """Records time to first token and inter-token latency for one request."""

    def __init__(self, info: RequestInfo, metrics: Metrics) -> None:
        labels = (info.model, info.task, info.endpoint)
        self._ttft = metrics.time_to_first_token.labels(*labels)
        self._itl = metrics.inter_token_latency.labels(*labels)
        self._info = info
        self._last: float | None = None

    def tick(self, deltas: Sequence[ChoiceDelta]) -> None:
        new_tokens = sum(len(d.token_ids) for d in deltas)
        if not new_tokens:
            return
        self._info.completion_tokens += new_tokens
        at = time.perf_counter()
        if self._last is None:
            self._info.first_token_at = at
            self._ttft.observe(at - self._info.started_at)
        else:
            self._itl.observe(at - self._last)
        self._last = at


class _Slot:
    """An admitted request not yet counted in flight; released once, by whichever comes
    first: its first engine request starting, or its admission ending."""

    def __init__(self, service: GenerationService) -> None:
        self._service: GenerationService | None = service

    def release(self) -> None:
        if self._service is not None:
            self._service.starting -= 1
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
    ) -> None:
        self.name = name
        self.engine = engine
        self.prompts = prompts
        self.metrics = metrics
        self.max_in_flight = max_in_flight
        self.max_output_tokens = max_output_tokens
        self.priority_scheduling = priority_scheduling
        self.in_flight = 0  # engine requests running or queued in the engine
        self.starting = 0  # admitted requests still being tokenized and started

    # --- admission ------------------------------------------------------------------------

    @contextmanager
    def _admission(self, priority: int) -> Iterator[_Slot]:
        """Admit a request (400 for a priority the engine ignores, 429 when full). Its slot
        counts it until its first engine request starts and counts itself in flight."""
        self._admit(priority)
        self.starting += 1
        slot = _Slot(self)
        try:
            yield slot
        finally:
            slot.release()

    def _admit(self, priority: int) -> None:
        if priority != 0 and not self.priority_scheduling:
            raise InvalidRequest(
                f"model '{self.name}' schedules first come, first served: 'priority' needs "
                "engine.enable_priority_scheduling in its config",
                param="priority",
            )
        if self.in_flight + self.starting >= self.max_in_flight:
            self.metrics.rejected.labels(self.name, "generate", "queue_full").inc()
            raise Overloaded(f"model '{self.name}' has too many requests in flight; retry later")

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
    ) -> AsyncGenerator[list[ChoiceDelta], None]:
        """Engine deltas for one prompt, counted in flight while they run."""
        self.in_flight += 1
        slot.release()
        try:
            # aclosing: when our consumer stops early, the engine request is aborted now,
            # not whenever the garbage collector finalizes the generator.
            async with aclosing(self.engine.generate(request_id, ids, spec)) as steps:
                async for step in steps:
                    clock.tick(step.deltas)
                    yield step.deltas
        finally:
            self.in_flight -= 1

    # --- chat -----------------------------------------------------------------------------

    async def chat(self, request: ChatCompletionRequest, info: RequestInfo) -> ChatResult:
        """A full completion, or an iterator of chunks when ``request.stream``."""
        with self._admission(request.priority) as slot:
            ids = await asyncio.to_thread(
                self.prompts.chat,
                request.messages,
                add_generation_prompt=request.add_generation_prompt,
                continue_final_message=request.continue_final_message,
                template_kwargs=request.chat_template_kwargs,
            )
            spec = chat_spec(request, len(ids), self.engine.max_model_len, self.max_output_tokens)
            info.prompt_tokens = len(ids)
            clock = _TokenClock(info, self.metrics)
            run = self._run(info.request_id, ids, spec, clock, slot)
            deltas = await self._started(run, info)
        if request.stream:
            include_usage = bool(request.stream_options and request.stream_options.include_usage)
            return self._chat_chunks(deltas, request, info, include_usage)
        choices = [_Choice() for _ in range(spec.n)]
        async with aclosing(deltas):
            async for step in deltas:
                for delta in step:
                    choices[delta.index].add(delta)
        return ChatCompletion(
            id=f"chatcmpl-{info.request_id}",
            created=now(),
            model=self.name,
            choices=[
                ChatChoice(
                    index=i,
                    message=AssistantMessage(content="".join(c.text)),
                    logprobs=chat_logprobs(c.logprobs) if request.logprobs else None,
                    finish_reason=c.finish_reason,
                )
                for i, c in enumerate(choices)
            ],
            usage=usage(len(ids), sum(c.tokens for c in choices)),
        )

    async def _chat_chunks(
        self,
        deltas: AsyncGenerator[list[ChoiceDelta], None],
        request: ChatCompletionRequest,
        info: RequestInfo,
        include_usage: bool,
    ) -> AsyncIterator[ChatCompletionChunk]:
        created = now()
        chunk_id = f"chatcmpl-{info.request_id}"

        def chunk(choices: list[ChatChunkChoice]) -> ChatCompletionChunk:
            return ChatCompletionChunk(
                id=chunk_id, created=created, model=self.name, choices=choices
            )

        for index in range(request.n):
            yield chunk(
                [ChatChunkChoice(index=index, delta=ChatDelta(role="assistant", content=""))]
            )
        async with aclosing(deltas):
            async for step in deltas:
                for delta in step:
                    if not _streams(delta):
                        continue
                    logprobs = chat_logprobs(delta.logprobs or []) if request.logprobs else None
                    yield chunk(
                        [
                            ChatChunkChoice(
                                index=delta.index,
                                delta=ChatDelta(content=delta.text),
                                logprobs=logprobs,
                                finish_reason=delta.finish_reason,
                            )
                        ]
                    )
        if include_usage:
            final = chunk([])
            final.usage = usage(info.prompt_tokens, info.completion_tokens)
            yield final

    # --- completions ----------------------------------------------------------------------

    def _prompt_ids(self, request: CompletionRequest) -> list[list[int]]:
        prompt = request.prompt
        if isinstance(prompt, str):
            prompts: list[list[int]] = [self.prompts.text(prompt)]
        elif not prompt:
            raise InvalidRequest("prompt must not be empty", param="prompt")
        elif isinstance(prompt[0], int):
            prompts = [self.prompts.check_ids(list(prompt), "prompt")]
        elif isinstance(prompt[0], str):
            prompts = [self.prompts.text(p) for p in prompt]
        else:
            prompts = [self.prompts.check_ids(list(p), "prompt") for p in prompt]
        if len(prompts) > MAX_PROMPTS:
            raise InvalidRequest(f"at most {MAX_PROMPTS} prompts per request", param="prompt")
        if any(not ids for ids in prompts):
            raise InvalidRequest("prompt must not be empty", param="prompt")
        return prompts

    async def complete(self, request: CompletionRequest, info: RequestInfo) -> CompletionResult:
        """A full completion, or an iterator of chunks when ``request.stream``."""
        with self._admission(request.priority) as slot:
            prompts = await asyncio.to_thread(self._prompt_ids, request)
            max_len, cap = self.engine.max_model_len, self.max_output_tokens
            specs = [completion_spec(request, len(ids), max_len, cap) for ids in prompts]
            info.prompt_tokens = sum(len(ids) for ids in prompts)
            clock = _TokenClock(info, self.metrics)
            rid = info.request_id
            runs = [
                self._run(rid if len(prompts) == 1 else f"{rid}-{i}", ids, spec, clock, slot)
                for i, (ids, spec) in enumerate(zip(prompts, specs, strict=True))
            ]
            echoes = [self.prompts.decode(ids) if request.echo else "" for ids in prompts]
            n = request.n
            merged = await self._started(merge(runs), info)
        if request.stream:
            include_usage = bool(request.stream_options and request.stream_options.include_usage)
            return self._completion_chunks(merged, echoes, request, info, include_usage)
        choices = [_Choice() for _ in range(len(prompts) * n)]
        async with aclosing(merged):
            async for prompt_index, step in merged:
                for delta in step:
                    choices[prompt_index * n + delta.index].add(delta)
        return Completion(
            id=f"cmpl-{rid}",
            created=now(),
            model=self.name,
            choices=[
                CompletionChoice(
                    index=i,
                    text=echoes[i // n] + "".join(c.text),
                    logprobs=(
                        completion_logprobs(c.logprobs, len(echoes[i // n]))
                        if request.logprobs is not None
                        else None
                    ),
                    finish_reason=c.finish_reason,
                )
                for i, c in enumerate(choices)
            ],
            usage=usage(info.prompt_tokens, sum(c.tokens for c in choices)),
        )

    async def _completion_chunks(
        self,
        merged: AsyncGenerator[tuple[int, list[ChoiceDelta]], None],
        echoes: list[str],
        request: CompletionRequest,
        info: RequestInfo,
        include_usage: bool,
    ) -> AsyncIterator[Completion]:
        created = now()
        chunk_id = f"cmpl-{info.request_id}"
        n = request.n
        offsets = [len(echoes[i // n]) for i in range(len(echoes) * n)]
        pending_echo = [bool(echoes[i // n]) for i in range(len(echoes) * n)]
        async with aclosing(merged):
            async for prompt_index, step in merged:
                for delta in step:
                    index = prompt_index * n + delta.index
                    text = delta.text
                    if pending_echo[index]:
                        text = echoes[prompt_index] + text
                        pending_echo[index] = False
                    if not (text or _streams(delta)):
                        continue
                    logprobs = None
                    if request.logprobs is not None:
                        logprobs = completion_logprobs(delta.logprobs or [], offsets[index])
                        offsets[index] += len(delta.text)
                    yield Completion(
                        id=chunk_id,
                        created=created,
                        model=self.name,
                        choices=[
                            CompletionChoice(
                                index=index,
                                text=text,
                                logprobs=logprobs,
                                finish_reason=delta.finish_reason,
                            )
                        ],
                    )
        if include_usage:
            yield Completion(
                id=chunk_id,
                created=created,
                model=self.name,
                choices=[],
                usage=usage(info.prompt_tokens, info.completion_tokens),
            )
