"""The OpenAI layer of generation against a fake engine: shapes, order, indexes, usage."""

from __future__ import annotations

import asyncio
import time

import pytest

from server.core.context import RequestInfo
from server.core.errors import (
    ContextLengthExceeded,
    DeadlineExceeded,
    InvalidRequest,
    Overloaded,
    UnsupportedParameter,
)
from server.core.metrics import Metrics
from server.generation.protocol import (
    ChatCompletion,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
)
from server.generation.service.pipeline import GenerationService
from server.generation.service.prompts import PromptBuilder
from tests.support.fakes import FakeEngine, FakeTokenizer

MODEL = "fake"


def make_service(engine: FakeEngine | None = None, max_in_flight: int = 8) -> GenerationService:
    return GenerationService(
        MODEL,
        engine or FakeEngine(),
        PromptBuilder(FakeTokenizer(), None),
        Metrics(),
        max_in_flight=max_in_flight,
    )


def info() -> RequestInfo:
    return RequestInfo(request_id="rid", model=MODEL, task="generate", endpoint="/x")


def chat(**kwargs: object) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": MODEL, "messages": [{"role": "user", "content": "hello there"}], **kwargs}
    )


async def test_chat_full_response_counts_tokens_and_choices() -> None:
    service = make_service()
    result = await service.chat(chat(max_tokens=5, n=2), info())
    assert isinstance(result, ChatCompletion)
    assert [c.index for c in result.choices] == [0, 1]
    assert result.choices[0].message.content == " tok0 tok1 tok2 tok3 tok4"
    assert result.choices[0].finish_reason == "length"
    # 'user: hello there' + 'assistant:' -> 4 words, no special tokens in chat prompts
    assert result.usage.prompt_tokens == 4
    assert result.usage.completion_tokens == 10
    assert result.usage.total_tokens == 14
    assert result.id == "chatcmpl-rid"


async def test_chat_stream_sends_role_first_content_then_usage_last() -> None:
    service = make_service()
    request = chat(max_tokens=3, stream=True, stream_options={"include_usage": True})
    chunks = [c async for c in await service.chat(request, info())]  # type: ignore[union-attr]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    text = "".join(c.choices[0].delta.content or "" for c in chunks[1:-1])
    assert text == " tok0 tok1 tok2"
    assert chunks[-2].choices[0].finish_reason == "length"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    assert all(c.usage is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1


async def test_stream_sends_a_chunk_for_every_step_that_made_tokens() -> None:
    # A step whose text is held back (a token ending inside a character) still streams an
    # empty delta, as vLLM's server does: clients count chunks and time them per token.
    service = make_service(FakeEngine(held_steps=frozenset({0})))
    stream = await service.chat(chat(max_tokens=6, stream=True), info())
    chunks = [c async for c in stream]  # type: ignore[union-attr]
    contents = [c.choices[0].delta.content for c in chunks[1:]]
    assert contents == ["", " tok0 tok1 tok2 tok3", " tok4 tok5"]
    request = CompletionRequest(model=MODEL, prompt="a", max_tokens=6, stream=True)
    completion = await service.complete(request, info())
    texts = [c.choices[0].text async for c in completion]  # type: ignore[union-attr]
    assert texts == ["", " tok0 tok1 tok2 tok3", " tok4 tok5"]


async def test_chat_logprobs_have_requested_top_count() -> None:
    result = await make_service().chat(chat(max_tokens=2, logprobs=True, top_logprobs=3), info())
    assert isinstance(result, ChatCompletion)
    content = result.choices[0].logprobs.content  # type: ignore[union-attr]
    assert content is not None and len(content) == 2
    assert all(len(t.top_logprobs) == 3 for t in content)
    assert content[0].bytes == list(b" tok0")


async def test_completion_multi_prompt_indexes_are_prompt_major() -> None:
    engine = FakeEngine()
    request = CompletionRequest(model=MODEL, prompt=["a b", "c"], n=2, max_tokens=2)
    result = await make_service(engine).complete(request, info())
    assert isinstance(result, Completion)
    assert [c.index for c in result.choices] == [0, 1, 2, 3]
    assert {rid for rid, _, _ in engine.requests} == {"rid-0", "rid-1"}
    assert result.usage is not None
    assert result.usage.prompt_tokens == 3 + 2  # BOS + words
    assert result.usage.completion_tokens == 8


async def test_completion_echo_and_logprob_offsets() -> None:
    request = CompletionRequest(model=MODEL, prompt="a b", max_tokens=2, echo=True)
    result = await make_service().complete(request, info())
    assert isinstance(result, Completion)
    assert result.choices[0].text == "<s> a b tok0 tok1"
    request = CompletionRequest(model=MODEL, prompt="a", max_tokens=3, logprobs=1)
    result = await make_service().complete(request, info())
    assert isinstance(result, Completion)
    lp = result.choices[0].logprobs
    assert lp is not None and lp.text_offset == [0, 5, 10]
    assert lp.tokens == [" tok0", " tok1", " tok2"]


async def test_completion_default_max_tokens_is_16() -> None:
    engine = FakeEngine()
    await make_service(engine).complete(CompletionRequest(model=MODEL, prompt="a"), info())
    assert engine.requests[0][2].max_tokens == 16


async def test_chat_without_max_tokens_uses_remaining_context() -> None:
    engine = FakeEngine(max_model_len=50)
    await make_service(engine).chat(chat(), info())
    assert engine.requests[0][2].max_tokens == 50 - 4


async def test_context_overflow_names_the_numbers_before_engine_work() -> None:
    engine = FakeEngine(max_model_len=10)
    with pytest.raises(ContextLengthExceeded) as err:
        await make_service(engine).chat(chat(max_tokens=7), info())
    assert "10" in err.value.message and "11" in err.value.message
    assert engine.requests == []


async def test_unsupported_parameter_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedParameter) as err:
        await make_service().chat(chat(prediction={"type": "content", "content": "x"}), info())
    assert err.value.param == "prediction"


async def test_stream_close_aborts_every_prompt() -> None:
    engine = FakeEngine(step_delay=0.01)
    request = CompletionRequest(model=MODEL, prompt=["a", "b"], max_tokens=100, stream=True)
    stream = await make_service(engine).complete(request, info())
    async for _ in stream:  # type: ignore[union-attr]
        break
    await stream.aclose()  # type: ignore[union-attr]
    assert sorted(engine.aborted) == ["rid-0", "rid-1"]
    assert engine.active == set()


async def test_admission_refuses_beyond_max_in_flight() -> None:
    engine = FakeEngine(step_delay=0.05)
    service = make_service(engine, max_in_flight=1)
    stream = await service.chat(chat(max_tokens=50, stream=True), info())
    first = await anext(stream)  # type: ignore[arg-type]
    assert first.choices[0].delta.role == "assistant"
    await anext(stream)  # type: ignore[arg-type]
    with pytest.raises(Overloaded):
        await service.chat(chat(max_tokens=5), info())
    await stream.aclose()  # type: ignore[union-attr]


async def test_admission_counts_requests_still_being_tokenized() -> None:
    # All arrive together: each is admitted before any has reached the engine.
    engine = FakeEngine(step_delay=0.01)
    service = make_service(engine, max_in_flight=2)
    results = await asyncio.gather(
        *(service.chat(chat(max_tokens=4), info()) for _ in range(5)), return_exceptions=True
    )
    assert sum(isinstance(r, ChatCompletion) for r in results) == 2
    assert sum(isinstance(r, Overloaded) for r in results) == 3
    assert service.in_flight == 0 and service.starting == 0


async def test_a_started_request_counts_once_while_it_waits_for_output() -> None:
    engine = FakeEngine(step_delay=0.2)
    service = make_service(engine, max_in_flight=2)
    first = asyncio.create_task(service.chat(chat(max_tokens=2), info()))
    while not engine.requests:  # in the engine, no output yet
        await asyncio.sleep(0.005)
    second = await service.chat(chat(max_tokens=2), info())
    assert isinstance(second, ChatCompletion) and isinstance(await first, ChatCompletion)
    assert service.in_flight == 0 and service.starting == 0


class FailingEngine(FakeEngine):
    """Refuses every request when it is added, before any output (as vLLM does a bad grammar)."""

    async def generate(self, request_id, prompt_token_ids, spec):  # type: ignore[no-untyped-def,override]
        raise InvalidRequest("bad grammar", param="response_format")
        yield  # an async generator, like the real engine


async def test_a_stream_starts_only_after_the_first_output() -> None:
    # The error comes from chat() itself (an HTTP error), not from inside a 200 stream.
    service = make_service(FailingEngine())
    with pytest.raises(InvalidRequest):
        await service.chat(chat(max_tokens=3, stream=True), info())
    with pytest.raises(InvalidRequest):
        await service.complete(CompletionRequest(model=MODEL, prompt="a", stream=True), info())
    assert service.in_flight == 0


@pytest.mark.parametrize("stream", [False, True])
async def test_deadline_passed_before_first_output_aborts_the_request(stream: bool) -> None:
    engine = FakeEngine(step_delay=0.5)
    service = make_service(engine)
    late = info()
    late.deadline = time.monotonic() + 0.05
    with pytest.raises(DeadlineExceeded):
        await service.chat(chat(max_tokens=4, stream=stream), late)
    assert engine.aborted == ["rid"] and not engine.active and service.in_flight == 0


async def test_deadline_met_lets_the_request_run_to_the_end() -> None:
    engine = FakeEngine(step_delay=0.02)
    service = make_service(engine)
    timely = info()
    timely.deadline = time.monotonic() + 0.5
    request = CompletionRequest(model=MODEL, prompt="a", max_tokens=12, stream=True)
    chunks = [c async for c in await service.complete(request, timely)]  # type: ignore[union-attr]
    assert "".join(c.choices[0].text for c in chunks) == "".join(f" tok{i}" for i in range(12))
    assert engine.aborted == []


async def test_continuous_usage_stats_put_the_usage_so_far_on_every_chunk() -> None:
    service = make_service()
    options = {"include_usage": True, "continuous_usage_stats": True}
    request = chat(max_tokens=4, stream=True, stream_options=options)
    chunks = [c async for c in await service.chat(request, info())]  # type: ignore[union-attr]
    assert all(c.usage is not None for c in chunks)
    counts = [c.usage.completion_tokens for c in chunks if c.usage is not None]
    assert counts == sorted(counts) and counts[-1] == 4 and len(set(counts)) > 1
    assert {c.usage.prompt_tokens for c in chunks if c.usage is not None} == {4}
    completion = CompletionRequest(
        model=MODEL, prompt="a b", max_tokens=2, stream=True, stream_options=options
    )
    pieces = [c async for c in await service.complete(completion, info())]  # type: ignore[union-attr]
    assert all(p.usage is not None for p in pieces)
    assert pieces[-1].choices == [] and pieces[-1].usage.completion_tokens == 2  # type: ignore[union-attr]


async def test_continuous_usage_stats_need_include_usage() -> None:
    service = make_service()
    request = chat(max_tokens=2, stream=True, stream_options={"continuous_usage_stats": True})
    chunks = [c async for c in await service.chat(request, info())]  # type: ignore[union-attr]
    assert all(c.usage is None for c in chunks)


async def test_echo_with_logprobs_scores_the_prompt_first() -> None:
    engine = FakeEngine()
    request = CompletionRequest(model=MODEL, prompt="a b", max_tokens=3, echo=True, logprobs=1)
    result = await make_service(engine).complete(request, info())
    assert isinstance(result, Completion)
    assert engine.requests[0][2].prompt_logprobs == 1
    choice = result.choices[0]
    lp = choice.logprobs
    assert lp is not None
    # Three prompt tokens (BOS, a, b), then three generated ones.
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == 6
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    assert lp.token_logprobs[1:3] == [-1.0, -1.0] and lp.top_logprobs[1] == {" x": -0.1}
    assert lp.tokens[3:] == [" tok0", " tok1", " tok2"]
    assert choice.text == "".join(lp.tokens)
    assert lp.text_offset == [len("".join(lp.tokens[:i])) for i in range(6)]
    stream = CompletionRequest(
        model=MODEL, prompt="a b", max_tokens=3, echo=True, logprobs=1, stream=True
    )
    chunks = [c async for c in await make_service().complete(stream, info())]  # type: ignore[union-attr]
    assert "".join(c.choices[0].text for c in chunks) == choice.text
    streamed = [t for c in chunks if c.choices[0].logprobs for t in c.choices[0].logprobs.tokens]
    offsets = [
        o for c in chunks if c.choices[0].logprobs for o in c.choices[0].logprobs.text_offset
    ]
    assert streamed == lp.tokens and offsets == lp.text_offset


async def test_logit_bias_reaches_the_engine_and_bad_ones_are_refused() -> None:
    engine = FakeEngine()
    service = make_service(engine)
    await service.chat(chat(max_tokens=1, logit_bias={"3": -100, "5": 2.5}), info())
    assert engine.requests[-1][2].logit_bias == ((3, -100.0), (5, 2.5))
    for bias in ({"x": 1}, {"3": 101}, {"-1": 1}, {"100000": 1}):
        with pytest.raises(InvalidRequest) as refused:
            await service.chat(chat(max_tokens=1, logit_bias=bias), info())
        assert refused.value.param == "logit_bias"
    assert len(engine.requests) == 1
