"""SSE framing (FastAPI's encoder) and cancellation of work whose client went away."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from fastapi import Request
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel

from server.api.errors import error_body, status_and_type
from server.errors import ServerError

log = logging.getLogger("server.api")
T = TypeVar("T")

DONE = format_sse_event(data_str="[DONE]")


class ClientDisconnected(Exception):
    """The client closed the connection before the response was ready."""


async def _sse_events(chunks: AsyncIterator[BaseModel]) -> AsyncIterator[bytes]:
    """Each chunk as an SSE ``data:`` event; an error becomes an error event; then [DONE]."""
    try:
        async for chunk in chunks:
            yield format_sse_event(data_str=chunk.model_dump_json())
    except ServerError as exc:
        _, type_ = status_and_type(exc)
        yield format_sse_event(
            data_str=json.dumps(error_body(exc.message, type_, exc.param, exc.code))
        )
    except Exception:
        log.exception("error while streaming")
        yield format_sse_event(
            data_str=json.dumps(error_body("Internal server error", "server_error", None, None))
        )
    yield DONE


def sse_response(chunks: AsyncIterator[BaseModel]) -> EventSourceResponse:
    """A ``text/event-stream`` response; Starlette cancels it when the client disconnects,
    which closes ``chunks`` and so aborts the engine request."""
    return EventSourceResponse(
        _sse_events(chunks), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


async def until_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``, cancelling it if the client disconnects first."""
    task: asyncio.Future[T] = asyncio.ensure_future(work)

    async def disconnected() -> None:
        # The body has been read, so the next message can only be the disconnect.
        while (await request.receive())["type"] != "http.disconnect":
            pass

    watcher: asyncio.Future[None] = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait([task, watcher], return_when=asyncio.FIRST_COMPLETED)  # type: ignore[type-var]
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        watcher.cancel()
    if task.cancelled():
        raise ClientDisconnected
    return task.result()
