"""Generation endpoints: ``/v1/chat/completions``, ``/v1/completions``, ``/tokenize``,
``/detokenize``. Each route: find the model, check the limits, run the service (cancelled if
the client leaves), answer JSON or an SSE stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from server.core.registry import ModelRegistry
from server.core.settings import RequestLimits
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
from server.http.deps import InfoDep
from server.http.route import ModelRoute, json_response, respond
from server.http.sse import sse_response

CHAT_PATH = "/v1/chat/completions"
COMPLETIONS_PATH = "/v1/completions"
GENERATE = "generate"
STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/event-stream": {}}}}


def _answer(result: ChatCompletion | Completion | AsyncIterator[BaseModel]) -> Response:
    """A JSON body, or the chunks as an SSE stream."""
    if isinstance(result, ChatCompletion | Completion):
        return json_response(result.model_dump_json())
    return sse_response(result)


def generation_router(registry: ModelRegistry, limits: RequestLimits) -> APIRouter:
    """The routes of OpenAI's chat and completions APIs and vLLM's tokenizer API."""
    router = APIRouter(tags=["generation"])
    chat_route = ModelRoute(registry, GenerationModel, GENERATE, CHAT_PATH)
    completions_route = ModelRoute(registry, GenerationModel, GENERATE, COMPLETIONS_PATH)
    tokenize_route = ModelRoute(registry, GenerationModel, GENERATE, "/tokenize")
    detokenize_route = ModelRoute(registry, GenerationModel, GENERATE, "/detokenize")

    @router.post(CHAT_PATH, response_model=ChatCompletion, responses=STREAM_RESPONSE)
    async def chat_completions(
        body: ChatCompletionRequest, request: Request, info: InfoDep
    ) -> Response:
        """OpenAI chat completions, streamed as SSE when ``stream`` is true."""
        model = await chat_route.model(body.model, info)
        check_chat(body, limits)
        return await respond(request, model.service.chat(body, info), _answer)

    @router.post(COMPLETIONS_PATH, response_model=Completion, responses=STREAM_RESPONSE)
    async def completions(body: CompletionRequest, request: Request, info: InfoDep) -> Response:
        """OpenAI (legacy) completions, streamed as SSE when ``stream`` is true."""
        model = await completions_route.model(body.model, info)
        check_completion(body, limits)
        return await respond(request, model.service.complete(body, info), _answer)

    @router.post("/tokenize", response_model=TokenizeResponse, tags=["tokenizer"])
    async def tokenize(body: TokenizeRequest, info: InfoDep) -> TokenizeResponse:
        """Token ids of a prompt, or of messages rendered with the chat template (vLLM's shape)."""
        model = await tokenize_route.model(body.model, info)
        return await model.tokenizer.tokenize(body)

    @router.post("/detokenize", response_model=DetokenizeResponse, tags=["tokenizer"])
    async def detokenize(body: DetokenizeRequest, info: InfoDep) -> DetokenizeResponse:
        """The text of token ids (vLLM's shape)."""
        model = await detokenize_route.model(body.model, info)
        return await model.tokenizer.detokenize(body)

    return router
