"""vLLM's ``/v1/load_lora_adapter`` and ``/v1/unload_lora_adapter``, and
``PUT /admin/v1/adapters/{name}`` (an adapter's files as one archive), behind the admin key."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from server.adapters.service import AdapterService
from server.core.errors import InvalidRequest

LOAD_PATH = "/v1/load_lora_adapter"
UNLOAD_PATH = "/v1/unload_lora_adapter"
UPLOAD_PATH = "/admin/v1/adapters"
# Paths outside /admin/ that take the admin key (the middleware checks it).
ADMIN_PATHS = frozenset({LOAD_PATH, UNLOAD_PATH})
MAX_ARCHIVE_BYTES = 1 << 30

NAME_PATTERN = re.compile(r"[A-Za-z0-9._:@\-]+")
Name = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:@\-]+$")


class LoadAdapter(BaseModel):
    """vLLM's load request; ``model`` names the base where several generative models run."""

    model_config = ConfigDict(extra="forbid")

    lora_name: str = Name
    lora_path: str = Field(min_length=1, description="A folder on this server's disk.")
    model: str | None = Field(None, description="The base model (needed if several are served).")


class UnloadAdapter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lora_name: str = Name
    lora_int_id: int | None = Field(None, description="Accepted for vLLM's clients; unused.")


def adapters_router(service: AdapterService) -> APIRouter:
    router = APIRouter(tags=["admin"])

    @router.post(LOAD_PATH, response_class=PlainTextResponse)
    async def load_lora_adapter(body: LoadAdapter) -> str:
        """Serve an adapter from a folder, here and on every replica (400 if it is bad)."""
        await service.load(body.lora_name, body.model, body.lora_path)
        return f"Success: LoRA adapter '{body.lora_name}' added successfully."

    @router.post(UNLOAD_PATH, response_class=PlainTextResponse)
    async def unload_lora_adapter(body: UnloadAdapter) -> str:
        """Stop serving a runtime adapter, here and on every replica."""
        await service.unload(body.lora_name)
        return f"Success: LoRA adapter '{body.lora_name}' removed successfully."

    @router.put(UPLOAD_PATH + "/{name}", response_class=PlainTextResponse)
    async def upload_adapter(name: str, request: Request, model: str | None = None) -> str:
        """An adapter's files as one tar (or .tar.gz, or zip) archive in the body; stored, so
        that every replica serves it without a shared disk."""
        if not NAME_PATTERN.fullmatch(name) or len(name) > 256:
            raise InvalidRequest(f"'{name}' is not a valid adapter name", param="name")
        archive = await request.body()
        if not archive:
            raise InvalidRequest("the body must be the adapter's archive", param="body")
        if len(archive) > MAX_ARCHIVE_BYTES:
            raise InvalidRequest("the archive is over 1 GiB", param="body")
        await service.load(name, model, None, archive)
        return f"Success: LoRA adapter '{name}' added successfully."

    return router
