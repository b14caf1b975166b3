"""Stop work for a client that went away: the one place that watches for disconnects.

Uvicorn does not cancel a handler when its client disconnects. For work that waits in a
queue (encoder batches, an engine that has not started a request), that would mean computing
results nobody reads; so the handler is cancelled when the ASGI ``http.disconnect`` message
arrives, which cancels its work (queued inputs are dropped, engine requests aborted).
Streaming responses need nothing here: Starlette stops them on disconnect, which closes
their generator and so aborts the engine request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response

T = TypeVar("T")

# Not a real HTTP status on the wire (the client is gone): nginx's "client closed request",
# so the access log and metrics tell these apart from our errors.
CLIENT_CLOSED_STATUS = 499


class ClientDisconnected(Exception):
    """The client closed the connection before the response was ready."""


async def cancel_on_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``; raise ``ClientDisconnected`` (after cancelling it) if the client leaves.

    Call it after the request body has been read: the ASGI ``receive`` then only ever
    returns ``http.disconnect``.
    """
    handler = asyncio.current_task()
    assert handler is not None
    disconnected = False

    async def watch() -> None:
        nonlocal disconnected
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                disconnected = True
                handler.cancel()
                return

    watcher = asyncio.create_task(watch())
    try:
        return await work
    except asyncio.CancelledError:
        if disconnected and handler.uncancel() == 0:
            raise ClientDisconnected from None
        raise
    finally:
        watcher.cancel()


def client_closed() -> Response:
    """What a handler returns for a client that left (logged and counted as 499)."""
    return Response(status_code=CLIENT_CLOSED_STATUS)
