"""``/v1/messages`` routes: find the model, check the limits, run the service (cancelled if the
client leaves), answer JSON or Anthropic's typed SSE stream. Errors on these paths leave in
Anthropic's shape (``server.http.families``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from server.core.registry import ModelRegistry
from server.core.settings import RequestLimits
from server.generation.messages.protocol import (
    CountTokensRequest,
    MessageObject,
    MessagesRequest,
    TokenCount,
)
from server.generation.messages.service import MessageResult, count_tokens, create_message
from server.generation.model import GenerationModel
from server.generation.router import GENERATE, STREAM_RESPONSE
from server.http.deps import InfoDep
from server.http.families import ANTHROPIC
from server.http.route import ModelRoute, json_response, respond
from server.http.sse import sse_response

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"


def _answer(result: MessageResult) -> Response:
    """The message as JSON, or its events as a typed SSE stream."""
    if isinstance(result, MessageObject):
        return json_response(result.model_dump_json())
    return sse_response(result, typed=True, family=ANTHROPIC)


def messages_router(registry: ModelRegistry, limits: RequestLimits) -> APIRouter:
    """The routes of Anthropic's Messages API on ``registry``'s generative models."""
    router = APIRouter(tags=["messages"])
    route = ModelRoute(registry, GenerationModel, GENERATE, MESSAGES_PATH)
    count_route = ModelRoute(registry, GenerationModel, GENERATE, COUNT_TOKENS_PATH)

    @router.post(MESSAGES_PATH, response_model=MessageObject, responses=STREAM_RESPONSE)
    async def create(body: MessagesRequest, request: Request, info: InfoDep) -> Response:
        """Create a message (streamed as Anthropic's SSE events when ``stream`` is true)."""
        model = await route.model(body.model, info)
        work = create_message(body, model.service, info, limits)
        return await respond(request, work, _answer)

    @router.post(COUNT_TOKENS_PATH, response_model=TokenCount)
    async def count(body: CountTokensRequest, info: InfoDep) -> Response:
        """The input tokens a message request would use (system and tools included)."""
        model = await count_route.model(body.model, info)
        result = await count_tokens(body, model.service)
        return json_response(result.model_dump_json())

    return router
