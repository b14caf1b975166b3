"""``/v1/messages/batches`` routes (errors in Anthropic's shape, by path)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from server.batches.message_batches.protocol import (
    MessageBatch,
    MessageBatchCreate,
    MessageBatchDeleted,
    MessageBatchList,
)
from server.batches.message_batches.service import MessageBatchService
from server.core.keys import owner_of
from server.http.deps import InfoDep
from server.http.route import json_response

PATH = "/v1/messages/batches"


def _json(body: BaseModel) -> Response:
    return json_response(body.model_dump_json())


def _base(request: Request) -> str:
    """This server as the client reached it (the results URL points back at it)."""
    return str(request.base_url).rstrip("/")


def message_batches_router(service: MessageBatchService) -> APIRouter:
    """The routes of Anthropic's Message Batches API."""
    router = APIRouter(tags=["messages"])

    @router.post(PATH, response_model=MessageBatch)
    async def create_message_batch(
        body: MessageBatchCreate, request: Request, info: InfoDep
    ) -> Response:
        """Create a batch of Messages requests; it runs in the background, for the key that
        created it."""
        return _json(await service.create(body, _base(request), owner_of(info.key)))

    @router.get(PATH, response_model=MessageBatchList)
    async def list_message_batches(
        request: Request,
        info: InfoDep,
        after_id: str | None = None,
        before_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    ) -> Response:
        """The key's message batches, newest first."""
        owner = owner_of(info.key)
        return _json(await service.list(owner, after_id, before_id, limit, _base(request)))

    @router.get(PATH + "/{batch_id}", response_model=MessageBatch)
    async def get_message_batch(batch_id: str, request: Request, info: InfoDep) -> Response:
        """A message batch, with its request counts so far."""
        return _json(await service.get(batch_id, owner_of(info.key), _base(request)))

    @router.post(PATH + "/{batch_id}/cancel", response_model=MessageBatch)
    async def cancel_message_batch(batch_id: str, request: Request, info: InfoDep) -> Response:
        """Cancel a batch: running requests finish, the rest end ``canceled``."""
        return _json(await service.cancel(batch_id, owner_of(info.key), _base(request)))

    @router.delete(PATH + "/{batch_id}", response_model=MessageBatchDeleted)
    async def delete_message_batch(batch_id: str, info: InfoDep) -> Response:
        """Delete an ended batch and its results."""
        return _json(await service.delete(batch_id, owner_of(info.key)))

    @router.get(PATH + "/{batch_id}/results")
    async def message_batch_results(batch_id: str, info: InfoDep) -> StreamingResponse:
        """The results as JSONL (one line per request, in request order)."""
        results = await service.results(batch_id, owner_of(info.key))
        return StreamingResponse(results, media_type="application/x-jsonl")

    return router
