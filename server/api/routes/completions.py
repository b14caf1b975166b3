"""``/v1/chat/completions`` and ``/v1/completions``: parse, look up, call, frame."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from server.api.context import RequestInfo
from server.api.deps import InfoDep, LimitsDep, RegistryDep
from server.api.limits import check_chat, check_completion
from server.api.streaming import ClientDisconnected, sse_response, until_disconnected
from server.generation.model import GenerationModel
from server.protocol.generation import (
    ChatCompletion,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
)
from server.registry import ModelRegistry

router = APIRouter(tags=["generation"])

CLIENT_CLOSED = 499  # nginx's convention; only ever seen in our own logs and metrics


def _model(registry: ModelRegistry, name: str, info: RequestInfo, endpoint: str) -> GenerationModel:
    model = registry.lookup(name, GenerationModel, "generate")
    info.model, info.task, info.endpoint = model.name, model.task, endpoint
    return model


def _json(body: ChatCompletion | Completion) -> Response:
    return Response(body.model_dump_json(), media_type="application/json")


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    registry: RegistryDep,
    info: InfoDep,
    limits: LimitsDep,
) -> Response:
    model = _model(registry, body.model, info, "/v1/chat/completions")
    check_chat(body, limits)
    try:
        result = await until_disconnected(request, model.service.chat(body, info))
    except ClientDisconnected:
        return Response(status_code=CLIENT_CLOSED)
    return _json(result) if isinstance(result, ChatCompletion) else sse_response(result)


@router.post(
    "/v1/completions",
    response_model=Completion,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def completions(
    body: CompletionRequest,
    request: Request,
    registry: RegistryDep,
    info: InfoDep,
    limits: LimitsDep,
) -> Response:
    model = _model(registry, body.model, info, "/v1/completions")
    check_completion(body, limits)
    try:
        result = await until_disconnected(request, model.service.complete(body, info))
    except ClientDisconnected:
        return Response(status_code=CLIENT_CLOSED)
    return _json(result) if isinstance(result, Completion) else sse_response(result)
