"""The Messages API: a request translated to chat's, run on the generation pipeline through
the messages adapter; its prompt counted the same way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from server.core.context import RequestInfo
from server.core.limits import at_most
from server.core.settings import RequestLimits
from server.generation.limits import check_chat
from server.generation.messages.adapter import MessagesAdapter
from server.generation.messages.events import with_pings
from server.generation.messages.protocol import (
    CountTokensRequest,
    MessageEvent,
    MessageObject,
    MessagesRequest,
    TokenCount,
)
from server.generation.messages.translate import chat_request
from server.generation.service.adapter import usage_so_far
from server.generation.service.pipeline import GenerationService

MessageResult = MessageObject | AsyncIterator[MessageEvent]
# A stream quiet for this long gets a ``ping`` event.
PING_EVERY_S = 5.0


def _adapter(
    request: CountTokensRequest,
    generation: GenerationService,
    request_id: str,
    limits: RequestLimits | None = None,
) -> MessagesAdapter:
    chat = chat_request(request)
    if limits is not None:
        check_chat(chat, limits)
    return MessagesAdapter(chat, request, generation.name, request_id, generation.parsers)


def _check_stop_sequences(request: MessagesRequest, limits: RequestLimits) -> None:
    if request.stop_sequences:
        what = "the number of stop sequences"
        count = len(request.stop_sequences)
        at_most("stop_sequences", count, limits.max_stop_sequences, "max_stop_sequences", what)


async def create_message(
    request: MessagesRequest,
    generation: GenerationService,
    info: RequestInfo,
    limits: RequestLimits,
) -> MessageResult:
    """The message, or its event stream when ``request.stream``; within ``limits`` (chat's
    limits, checked on the translated request, before any tokenization)."""
    _check_stop_sequences(request, limits)
    adapter = _adapter(request, generation, info.request_id, limits)
    result = await generation.serve(adapter, info)
    if isinstance(result, MessageObject):
        return result
    return _stream(adapter, result, info)


async def _events(
    adapter: MessagesAdapter, events: AsyncIterator[MessageEvent], info: RequestInfo
) -> AsyncIterator[MessageEvent]:
    async for event in events:
        yield event
    for event in adapter.closing(usage_so_far(info)):
        yield event


def _stream(
    adapter: MessagesAdapter, events: AsyncIterator[MessageEvent], info: RequestInfo
) -> AsyncIterator[MessageEvent]:
    return with_pings(_events(adapter, events, info), PING_EVERY_S)


async def count_tokens(request: CountTokensRequest, generation: GenerationService) -> TokenCount:
    """The ``input_tokens`` that ``usage`` reports for the same request: its prompt, rendered
    as the pipeline renders it (system and tools included), counted."""
    adapter = _adapter(request, generation, "count")
    ids = await asyncio.to_thread(adapter.prompt_ids, generation.prompts)
    return TokenCount(input_tokens=len(ids[0]))
