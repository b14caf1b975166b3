"""Server-sent events: each chunk as a ``data:`` event, errors as an error event, then
``[DONE]`` (FastAPI's encoder does the framing)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel

from server.core.errors import ServerError
from server.http.errors import domain_error_body, error_body

log = logging.getLogger("server.http")

DONE = format_sse_event(data_str="[DONE]")


async def _sse_events(chunks: AsyncIterator[BaseModel]) -> AsyncIterator[bytes]:
    """Each chunk as an SSE ``data:`` event; an error becomes an error event; then [DONE]."""
    try:
        async for chunk in chunks:
            yield format_sse_event(data_str=chunk.model_dump_json())
    except ServerError as exc:
        yield format_sse_event(data_str=json.dumps(domain_error_body(exc)))
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
