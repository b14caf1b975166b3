"""Server-sent events: each chunk as a ``data:`` event, errors as an error event, then
``[DONE]`` (FastAPI's encoder does the framing). Typed streams (the Responses API) name each
event after its ``type`` and end without ``[DONE]``, as OpenAI sends them."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel

from server.core.errors import ServerError
from server.http.families import OPENAI, ErrorFamily

log = logging.getLogger("server.http")

DONE = format_sse_event(data_str="[DONE]")


async def _sse_events(
    chunks: AsyncIterator[BaseModel], typed: bool, family: ErrorFamily
) -> AsyncIterator[bytes]:
    """Each chunk as an SSE ``data:`` event; an error becomes an error event; then [DONE]."""
    error: dict[str, object] | None = None
    try:
        async for chunk in chunks:
            event = getattr(chunk, "type", None) if typed else None
            yield format_sse_event(data_str=chunk.model_dump_json(), event=event)
    except ServerError as exc:
        error = family.body(exc)
    except Exception:
        log.exception("error while streaming")
        error = family.internal_body()
    if error is not None:
        yield format_sse_event(data_str=json.dumps(error), event="error" if typed else None)
    if not typed:
        yield DONE


def sse_response(
    chunks: AsyncIterator[BaseModel], *, typed: bool = False, family: ErrorFamily = OPENAI
) -> EventSourceResponse:
    """A ``text/event-stream`` response; Starlette cancels it when the client disconnects,
    which closes ``chunks`` and so aborts the engine request. ``typed``: name each event
    after the chunk's ``type`` and send no ``[DONE]``; ``family``: the error event's shape."""
    return EventSourceResponse(
        _sse_events(chunks, typed, family),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
