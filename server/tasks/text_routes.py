"""``/v1/summarize`` and ``/v1/translate``: our own shapes of the two text tasks, on
encoder-decoder models and on generative models with task prompts alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from server.core.registry import ModelRegistry
from server.core.scheduling import QueueOrder
from server.core.settings import RequestLimits
from server.encoders.limits import check_encoder
from server.encoders.protocol import (
    SummarizeRequest,
    SummarizeResponse,
    Summary,
    TranslateRequest,
    TranslateResponse,
    Translation,
)
from server.encoders.shared.endpoints import Endpoint
from server.encoders.tasks.inputs import as_texts
from server.encoders.tasks.seq2seq import SUMMARIZE, TRANSLATE, Generated, job_of
from server.http.deps import InfoDep
from server.http.route import json_response, respond
from server.tasks.text_tasks import run_text, text_model


def _summaries(name: str, result: Generated) -> SummarizeResponse:
    data = [Summary(index=i, summary_text=t) for i, t in enumerate(result.texts)]
    return SummarizeResponse(model=name, data=data, usage=result.usage)


def _translations(name: str, result: Generated) -> TranslateResponse:
    data = [Translation(index=i, translation_text=t) for i, t in enumerate(result.texts)]
    return TranslateResponse(model=name, data=data, usage=result.usage)


_ROUTES: tuple[
    tuple[Endpoint, str, type[Any], type[Any], Callable[[str, Generated], Any], str], ...
] = (
    (
        Endpoint.SUMMARIZE,
        SUMMARIZE,
        SummarizeRequest,
        SummarizeResponse,
        _summaries,
        "A summary of each input: an encoder-decoder model's generate() (BART, T5, Pegasus), "
        "or a generative model's completion of its summarize prompt.",
    ),
    (
        Endpoint.TRANSLATE,
        TRANSLATE,
        TranslateRequest,
        TranslateResponse,
        _translations,
        "A translation of each input: an encoder-decoder model (Marian, T5, M2M100, NLLB), or "
        "a generative model's completion of its translate prompt.",
    ),
)


def _handler(
    registry: ModelRegistry,
    limits: RequestLimits,
    endpoint: Endpoint,
    task: str,
    body_type: type[Any],
    shape: Callable[[str, Generated], Any],
) -> Callable[..., Awaitable[Response]]:
    async def handle(body: Any, request: Request, info: InfoDep) -> Response:
        model = await text_model(registry, body.model, task, endpoint.value, info)
        check_encoder(body, limits)
        texts = as_texts(body.input, "input")
        order = QueueOrder(body.priority, info.deadline)
        work = run_text(model, texts, job_of(task, body), order, info)

        def answer(result: Generated) -> Response:
            info.prompt_tokens = result.prompt_tokens
            info.completion_tokens = result.completion_tokens
            return json_response(shape(model.name, result).model_dump_json())

        return await respond(request, work, answer)

    handle.__annotations__["body"] = body_type
    handle.__name__ = f"text_{task}"
    return handle


def text_routes(router: APIRouter, registry: ModelRegistry, limits: RequestLimits) -> None:
    """Add ``/v1/summarize`` and ``/v1/translate`` to ``router``."""
    for endpoint, task, body_type, response, shape, description in _ROUTES:
        router.add_api_route(
            endpoint.value,
            _handler(registry, limits, endpoint, task, body_type, shape),
            methods=["POST"],
            response_model=response,
            description=description,
            tags=["encoders"],
        )
