"""``/v1/files`` and ``/v1/batches`` routes; the services are bound when the app is built."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from server.batches.files import FilesService
from server.batches.protocol import (
    Batch,
    BatchCreateRequest,
    BatchList,
    FileDeleted,
    FileList,
    FileObject,
)
from server.batches.service import BatchService
from server.core.keys import owner_of
from server.http.deps import InfoDep
from server.http.route import json_response

FILES_PATH = "/v1/files"
BATCHES_PATH = "/v1/batches"
# Routes that read (and limit) their own bodies as they stream in.
STREAMED_PATHS = frozenset({FILES_PATH})
UPLOAD_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "purpose"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "purpose": {"type": "string", "enum": ["batch"]},
                    },
                }
            }
        },
        "required": True,
    }
}


def _json(body: BaseModel) -> Response:
    return json_response(body.model_dump_json())


def _length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def batches_router(files: FilesService, batches: BatchService) -> APIRouter:
    """The routes of the Files and Batch APIs."""
    router = APIRouter(tags=["batches"])

    @router.post(FILES_PATH, response_model=FileObject, openapi_extra=UPLOAD_BODY)
    async def upload_file(request: Request, info: InfoDep) -> Response:
        """Upload a file (multipart: ``file`` and ``purpose: batch``), streamed to the store;
        it belongs to the request's key."""
        files.check_length(_length(request))
        content_type = request.headers.get("content-type")
        return _json(await files.upload(request.stream(), content_type, owner_of(info.key)))

    @router.get(FILES_PATH, response_model=FileList)
    async def list_files(
        info: InfoDep,
        purpose: str | None = None,
        after: str | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
        order: Literal["asc", "desc"] = "desc",
    ) -> Response:
        """The key's files, newest first unless ``order=asc``."""
        return _json(await files.list(owner_of(info.key), purpose, after, limit, order))

    @router.get(FILES_PATH + "/{file_id}", response_model=FileObject)
    async def get_file(file_id: str, info: InfoDep) -> Response:
        """A file's metadata."""
        return _json(await files.get(file_id, owner_of(info.key)))

    @router.get(FILES_PATH + "/{file_id}/content")
    async def file_content(file_id: str, info: InfoDep) -> StreamingResponse:
        """A file's content, streamed from the store."""
        content = await files.content(file_id, owner_of(info.key))
        return StreamingResponse(content, media_type="application/octet-stream")

    @router.delete(FILES_PATH + "/{file_id}", response_model=FileDeleted)
    async def delete_file(file_id: str, info: InfoDep) -> Response:
        """Delete a file."""
        return _json(await files.delete(file_id, owner_of(info.key)))

    @router.post(BATCHES_PATH, response_model=Batch)
    async def create_batch(body: BatchCreateRequest, info: InfoDep) -> Response:
        """Create a batch from an uploaded JSONL file; it runs in the background, for the
        key that created it."""
        return _json(await batches.create(body, owner_of(info.key)))

    @router.get(BATCHES_PATH, response_model=BatchList)
    async def list_batches(
        info: InfoDep, after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
    ) -> Response:
        """The key's batches, newest first."""
        return _json(await batches.list(owner_of(info.key), after, limit))

    @router.get(BATCHES_PATH + "/{batch_id}", response_model=Batch)
    async def get_batch(batch_id: str, info: InfoDep) -> Response:
        """A batch, with its request counts so far."""
        return _json(await batches.get(batch_id, owner_of(info.key)))

    @router.post(BATCHES_PATH + "/{batch_id}/cancel", response_model=Batch)
    async def cancel_batch(batch_id: str, info: InfoDep) -> Response:
        """Cancel a batch: running lines finish, the rest do not start."""
        return _json(await batches.cancel(batch_id, owner_of(info.key)))

    return router
