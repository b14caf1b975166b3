"""The vLLM engine behind one generative model, through vLLM's ``AsyncLLM`` API only.

vLLM's OpenAI entrypoint modules move between releases, so nothing here touches them: we
hand the engine token ids and ``SamplingParams`` and read ``RequestOutput`` deltas back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING, Any

from server.core.errors import InvalidRequest, Unavailable
from server.core.settings import GenerateModelConfig
from server.generation.engine.dtype import resolve_dtype
from server.generation.lora import InvalidAdapter, engine_rank
from server.generation.types import ChoiceDelta, GenerationStep, SamplingSpec, TokenInfo, TopToken

if TYPE_CHECKING:
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.lora.request import LoRARequest
    from vllm.v1.engine.async_llm import AsyncLLM

log = logging.getLogger("server.generation")


# A few token ids every vocabulary has, and the kinds of request whose first run is slow.
WARM_UP_PROMPT = [1, 2, 3, 4]
WARM_UP_SPECS = (
    SamplingSpec(max_tokens=2, logprobs=1, prompt_logprobs=1),
    SamplingSpec(max_tokens=2, json_object=True),
)


class EngineDead(Unavailable):
    """The engine process died; every request fails until the server is restarted."""


def engine_args(
    config: GenerateModelConfig, model_path: str, adapter_ranks: Sequence[int] = ()
) -> AsyncEngineArgs:
    """vLLM engine arguments from our config; unknown ``extra`` names are rejected.

    LoRA follows from the declared adapters (``adapter_ranks``) unless set: on when there
    are any, one slot per adapter, and the smallest rank limit that covers them."""
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.platforms import current_platform

    opts = config.engine
    known = {f.name for f in dataclasses.fields(AsyncEngineArgs)}
    unknown = sorted(set(opts.extra) - known)
    if unknown:
        raise ValueError(f"models[{config.name}].engine.extra: unknown vLLM args {unknown}")
    kwargs: dict[str, Any] = {
        "model": model_path,
        "served_model_name": [config.name],
        "dtype": resolve_dtype(opts.dtype, model_path, on_cpu=current_platform.is_cpu()),
        "max_model_len": opts.max_model_len,
        "gpu_memory_utilization": opts.gpu_memory_utilization,
        "tensor_parallel_size": opts.tensor_parallel_size,
        "pipeline_parallel_size": opts.pipeline_parallel_size,
        "distributed_executor_backend": opts.distributed_executor_backend,
        "enable_prefix_caching": opts.enable_prefix_caching,
        "enforce_eager": opts.enforce_eager,
        "max_num_seqs": opts.max_num_seqs,
        "max_num_batched_tokens": opts.max_num_batched_tokens,
        "seed": opts.seed,
        "trust_remote_code": config.trust_remote_code,
        "revision": config.revision,
        "tokenizer": opts.tokenizer,
        "quantization": opts.quantization,
        "kv_cache_dtype": opts.kv_cache_dtype,
        "scheduling_policy": "priority" if opts.enable_priority_scheduling else "fcfs",
        "disable_log_stats": False,
        # The thinking budget (``thinking_token_budget``) needs vLLM's reasoning config; the
        # engine's own reasoning_parser is left unset: it would also hold structured outputs
        # back until the thinking ends, which our forced tool calls do not expect.
        "reasoning_config": _reasoning_config(config.reasoning_parser),
        "enable_log_requests": False,
        **lora_args(config, adapter_ranks),
        **opts.extra,
    }
    return AsyncEngineArgs(**{k: v for k, v in kwargs.items() if v is not None})


def lora_args(config: GenerateModelConfig, adapter_ranks: Sequence[int]) -> dict[str, Any]:
    """``enable_lora``, ``max_loras`` and ``max_lora_rank``: as set, else from the adapters."""
    opts = config.engine
    enabled = opts.enable_lora if opts.enable_lora is not None else bool(config.adapters)
    if not enabled:
        return {}
    return {
        "enable_lora": True,
        "max_loras": opts.max_loras or max(1, len(config.adapters)),
        "max_lora_rank": opts.max_lora_rank or engine_rank(list(adapter_ranks)),
    }


def _reasoning_config(parser: str | None) -> Any:
    if parser is None:
        return None
    from vllm.config.reasoning import ReasoningConfig

    return ReasoningConfig(reasoning_parser=parser)


class VllmEngine:
    """One ``AsyncLLM`` (engine core in vLLM's own subprocess) and its live statistics."""

    def __init__(
        self, config: GenerateModelConfig, model_path: str, adapter_ranks: Sequence[int] = ()
    ) -> None:
        self.config = config
        self.model_path = model_path
        self.adapter_ranks = list(adapter_ranks)
        self.max_lora_rank = 0  # 0: LoRA is off
        self._lora_ids: dict[str, int] = {}
        self._next_lora_id = 1
        self.max_model_len = 0
        self.max_num_seqs = 0
        self._llm: AsyncLLM | None = None
        self._running = 0
        self._waiting = 0
        self._dead = False

    async def start(self) -> None:
        from vllm.v1.engine.async_llm import AsyncLLM

        from server.generation.engine.stats import scheduler_stats_logger

        args = engine_args(self.config, self.model_path, self.adapter_ranks)
        self.max_lora_rank = int(getattr(args, "max_lora_rank", 0)) if args.enable_lora else 0
        # Building the engine blocks for as long as the engine core takes to load (tens of
        # seconds); off the event loop, /health and /ready keep answering meanwhile. The
        # engine starts its output handler on the loop with the first request.
        self._llm = await asyncio.to_thread(
            AsyncLLM.from_engine_args, args, stat_loggers=[scheduler_stats_logger(self._on_stats)]
        )
        self.max_model_len = int(self._llm.model_config.max_model_len)
        self.max_num_seqs = int(self._llm.vllm_config.scheduler_config.max_num_seqs)
        started = time.monotonic()
        await self._warm_up()
        log.info("%s: warmed up in %.1f s", self.config.name, time.monotonic() - started)
        log.info("%s: vLLM engine ready (max_model_len=%d)", self.config.name, self.max_model_len)

    async def _warm_up(self) -> None:
        """Run each kind of request once before the model is ready: the first one with
        logprobs pays for a one-time set-up in the engine (3.6 s here, against 0.15 s for the
        next), the first with a grammar for the structured-output backend (0.37 s, then 0.17)."""
        for i, spec in enumerate(WARM_UP_SPECS):
            async for _ in self.generate(f"warm-up-{i}", WARM_UP_PROMPT, spec):
                pass

    async def add_adapter(self, name: str, path: str) -> LoraEngine:
        """Load adapter ``name`` from folder ``path`` into the engine (``InvalidAdapter`` if
        it does not fit the model); a view of the engine that runs requests with it."""
        from vllm.lora.request import LoRARequest

        if not self.max_lora_rank:
            raise InvalidAdapter(
                f"model '{self.config.name}' serves no adapters: set engine.enable_lora"
            )
        lora_id = self._next_lora_id
        self._next_lora_id += 1
        request = LoRARequest(name, lora_id, path)
        try:
            await self.llm.add_lora(request)
        except Exception as exc:
            # The engine core reports a loading failure as a plain exception naming its cause
            # (missing modules or shapes that do not fit the base model).
            raise InvalidAdapter(
                f"adapter '{name}' does not fit model '{self.config.name}': {exc}"
            ) from None
        self._lora_ids[name] = lora_id
        return LoraEngine(self, request)

    async def remove_adapter(self, name: str) -> None:
        """Drop adapter ``name`` from the engine (nothing if it is not loaded)."""
        lora_id = self._lora_ids.pop(name, None)
        if lora_id is not None and self._llm is not None:
            await self._llm.remove_lora(lora_id)

    def _on_stats(self, running: int, waiting: int) -> None:
        self._running, self._waiting = running, waiting

    async def stop(self) -> None:
        if self._llm is not None:
            llm, self._llm = self._llm, None
            await asyncio.to_thread(llm.shutdown)

    @property
    def llm(self) -> AsyncLLM:
        if self._llm is None:
            raise Unavailable(f"model '{self.config.name}' is not loaded")
        return self._llm

    def running(self) -> int:
        # The scheduler's figure arrives after each engine step; a request aborted while the
        # engine is idle would otherwise stay counted, so cap it by what is unfinished here.
        return min(self._running, self.unfinished())

    def waiting(self) -> int:
        return min(self._waiting, self.unfinished())

    def unfinished(self) -> int:
        return self.llm.get_num_unfinished_requests() if self._llm is not None else 0

    @property
    def errored(self) -> bool:
        """True once the engine died (as seen by vLLM, or by a request that it failed)."""
        return self._dead or (self._llm is not None and self._llm.errored)

    async def generate(
        self,
        request_id: str,
        prompt_token_ids: list[int],
        spec: SamplingSpec,
        lora: LoRARequest | None = None,
    ) -> AsyncGenerator[GenerationStep, None]:
        from vllm.exceptions import VLLMClientError
        from vllm.inputs import TokensPrompt
        from vllm.v1.engine.exceptions import EngineDeadError

        from server.generation.engine.sampling import sampling_params

        params = sampling_params(spec)
        prompt = TokensPrompt(prompt_token_ids=prompt_token_ids)
        try:
            async for output in self.llm.generate(
                prompt, params, request_id, lora_request=lora, priority=spec.priority
            ):
                step = GenerationStep(
                    deltas=[_delta(c, spec.logprobs or 0) for c in output.outputs],
                    cached_tokens=output.num_cached_tokens,
                )
                # Once, with the first output (later ones carry an empty list).
                if spec.prompt_logprobs is not None and output.prompt_logprobs:
                    step.prompt_logprobs = _prompt_infos(
                        prompt_token_ids, output.prompt_logprobs, spec.prompt_logprobs
                    )
                yield step
        except EngineDeadError as exc:
            self._dead = True
            raise EngineDead(f"the engine of model '{self.config.name}' died") from exc
        except VLLMClientError as exc:
            # vLLM validates structured-output grammars when the request is added.
            param = getattr(exc, "parameter", None) or (
                "response_format" if spec.json_schema or spec.json_object else None
            )
            raise InvalidRequest(str(exc), param=param) from exc


class LoraEngine:
    """The base model's engine seen through one adapter: every request runs with it."""

    def __init__(self, base: VllmEngine, lora: LoRARequest) -> None:
        self.base = base
        self.lora = lora
        self.max_model_len = base.max_model_len
        self.max_num_seqs = base.max_num_seqs

    @property
    def errored(self) -> bool:
        return self.base.errored

    async def start(self) -> None:
        """The base model starts the engine."""

    async def stop(self) -> None:
        await self.base.remove_adapter(self.lora.lora_name)

    def generate(
        self, request_id: str, prompt_token_ids: list[int], spec: SamplingSpec
    ) -> AsyncGenerator[GenerationStep, None]:
        return self.base.generate(request_id, prompt_token_ids, spec, self.lora)

    def running(self) -> int:
        return self.base.running()

    def waiting(self) -> int:
        return self.base.waiting()

    def unfinished(self) -> int:
        return self.base.unfinished()


def _delta(completion: Any, top_k: int) -> ChoiceDelta:
    logprobs = None
    if completion.logprobs is not None:
        logprobs = [
            _token_info(token_id, step, top_k)
            for token_id, step in zip(completion.token_ids, completion.logprobs, strict=False)
        ]
    return ChoiceDelta(
        index=completion.index,
        text=completion.text,
        token_ids=list(completion.token_ids),
        logprobs=logprobs,
        finish_reason=_finish_reason(completion.finish_reason),
        # vLLM's stop_reason: the stop string matched (a str), a stop token id, or None.
        stop_sequence=stop if isinstance(stop := completion.stop_reason, str) else None,
    )


def _prompt_infos(ids: list[int], logprobs: Sequence[Any], top_k: int) -> list[TokenInfo | None]:
    """Each prompt token with its logprob given the tokens before it (None for the first)."""
    return [
        None if step is None else _token_info(token_id, step, top_k)
        for token_id, step in zip(ids, logprobs, strict=False)
    ]


def _token_info(token_id: int, step: dict[int, Any], top_k: int) -> TokenInfo:
    """The sampled token and the ``top_k`` most likely ones.

    vLLM returns the top-k entries plus the sampled token when it ranks lower; the ranks
    tell them apart.
    """
    chosen = step[token_id]
    ranked = sorted(
        (lp for lp in step.values() if lp.rank is not None and lp.rank <= top_k),
        key=lambda lp: lp.rank,
    )
    top = tuple(TopToken(_text(lp), float(lp.logprob), _text(lp).encode()) for lp in ranked)
    text = _text(chosen)
    return TokenInfo(text, float(chosen.logprob), text.encode(), top)


def _text(logprob: Any) -> str:
    return logprob.decoded_token if logprob.decoded_token is not None else ""


def _finish_reason(reason: str | None) -> str | None:
    # vLLM reports 'abort' for requests we cancelled and 'error' for engine faults; clients
    # only ever see 'stop' or 'length' from a request that ran to completion.
    if reason in (None, "stop", "length"):
        return reason
    return "stop"
