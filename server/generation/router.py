"""Generation endpoints: ``/v1/chat/completions``, ``/v1/completions``, ``/tokenize``,
``/detokenize``. Each route: find the model, check the limits, run the service (cancelled if
the client leaves), answer JSON or an SSE stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from server.core.context import RequestInfo
from server.core.registry import ModelRegistry
from server.generation.limits import check_chat, check_completion
from server.generation.model import GenerationModel
from server.generation.protocol import (
    ChatCompletion,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
)
from server.http.deps import InfoDep, LimitsDep, RegistryDep
from server.http.disconnect import ClientDisconnected, cancel_on_disconnect, client_closed
from server.http.sse import sse_response

router = APIRouter(tags=["generation"])

CHAT_PATH = "/v1/chat/completions"
COMPLETIONS_PATH = "/v1/completions"
STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/event-stream": {}}}}


def _model(registry: ModelRegistry, name: str, info: RequestInfo, endpoint: str) -> GenerationModel:
    """The loaded generative model called ``name`` (404, 400 wrong task, 503 loading)."""
    model = registry.lookup(name, GenerationModel, "generate")
    info.served_by(model.name, model.task, endpoint)
    return model


async def _answer(
    request: Request, work: Awaitable[ChatCompletion | Completion | AsyncIterator[BaseModel]]
) -> Response:
    """Run the service (cancelled if the client leaves): a JSON body or an SSE stream."""
    try:
        result = await cancel_on_disconnect(request, work)
    except ClientDisconnected:
        return client_closed()
    if isinstance(result, ChatCompletion | Completion):
        return Response(result.model_dump_json(), media_type="application/json")
    return sse_response(result)


@router.post(CHAT_PATH, response_model=ChatCompletion, responses=STREAM_RESPONSE)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    registry: RegistryDep,
    info: InfoDep,
    limits: LimitsDep,
) -> Response:
    """OpenAI chat completions, streamed as SSE when ``stream`` is true."""
    model = _model(registry, body.model, info, CHAT_PATH)
    check_chat(body, limits)
    return await _answer(request, model.service.chat(body, info))


@router.post(COMPLETIONS_PATH, response_model=Completion, responses=STREAM_RESPONSE)
async def completions(
    body: CompletionRequest,
    request: Request,
    registry: RegistryDep,
    info: InfoDep,
    limits: LimitsDep,
) -> Response:
    """OpenAI (legacy) completions, streamed as SSE when ``stream`` is true."""
    model = _model(registry, body.model, info, COMPLETIONS_PATH)
    check_completion(body, limits)
    return await _answer(request, model.service.complete(body, info))


@router.post("/tokenize", response_model=TokenizeResponse, tags=["tokenizer"])
async def tokenize(body: TokenizeRequest, registry: RegistryDep, info: InfoDep) -> TokenizeResponse:
    """Token ids of a prompt, or of messages rendered with the chat template (vLLM's shape)."""
    model = _model(registry, body.model, info, "/tokenize")
    return await model.tokenizer.tokenize(body)


@router.post("/detokenize", response_model=DetokenizeResponse, tags=["tokenizer"])
async def detokenize(
    body: DetokenizeRequest, registry: RegistryDep, info: InfoDep
) -> DetokenizeResponse:
    """The text of token ids (vLLM's shape)."""
    model = _model(registry, body.model, info, "/detokenize")
    return await model.tokenizer.detokenize(body)
