"""``/v1/responses`` routes: find the model, run the service (cancelled if the client
leaves), answer JSON or a typed SSE stream. The service is bound when the app is built."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from server.core.keys import owner_of
from server.core.registry import ModelRegistry
from server.generation.model import GenerationModel
from server.generation.responses.protocol import (
    DeletedResponse,
    InputItemList,
    ResponseObject,
    ResponsesRequest,
)
from server.generation.responses.service import ResponsesService, Result
from server.generation.router import GENERATE, STREAM_RESPONSE
from server.http.deps import InfoDep
from server.http.route import ModelRoute, json_response, respond
from server.http.sse import sse_response

RESPONSES_PATH = "/v1/responses"


def _json(body: ResponseObject | DeletedResponse | InputItemList) -> Response:
    return json_response(body.model_dump_json())


def _answer(result: Result) -> Response:
    """The response as JSON, or its events as a typed SSE stream."""
    if isinstance(result, ResponseObject):
        return _json(result)
    return sse_response(result, typed=True)


def responses_router(service: ResponsesService, registry: ModelRegistry) -> APIRouter:
    """The routes of the Responses API, served by ``service`` on ``registry``'s models."""
    router = APIRouter(tags=["responses"])
    route = ModelRoute(registry, GenerationModel, GENERATE, RESPONSES_PATH)

    @router.post(RESPONSES_PATH, response_model=ResponseObject, responses=STREAM_RESPONSE)
    async def create_response(body: ResponsesRequest, request: Request, info: InfoDep) -> Response:
        """Create a response (streamed as typed SSE events when ``stream`` is true)."""
        model = await route.model(body.model, info)
        return await respond(request, service.create(body, model.service, info), _answer)

    @router.get(RESPONSES_PATH + "/{response_id}", response_model=ResponseObject)
    async def get_response(response_id: str, info: InfoDep) -> Response:
        """A stored response (of the request's key)."""
        return _json(await service.get(response_id, owner_of(info.key)))

    @router.delete(RESPONSES_PATH + "/{response_id}", response_model=DeletedResponse)
    async def delete_response(response_id: str, info: InfoDep) -> Response:
        """Delete a stored response (a background one still running is cancelled)."""
        return _json(await service.delete(response_id, owner_of(info.key)))

    @router.get(RESPONSES_PATH + "/{response_id}/input_items", response_model=InputItemList)
    async def list_input_items(
        response_id: str,
        info: InfoDep,
        after: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> Response:
        """The input items of a stored response, newest first unless ``order=asc``."""
        owner = owner_of(info.key)
        return _json(await service.input_items(response_id, owner, after, limit, order))

    @router.post(RESPONSES_PATH + "/{response_id}/cancel", response_model=ResponseObject)
    async def cancel_response(response_id: str, info: InfoDep) -> Response:
        """Cancel a background response that is queued or in progress."""
        return _json(await service.cancel(response_id, owner_of(info.key)))

    return router
