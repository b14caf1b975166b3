"""The Responses API: build the conversation (from the store when continued), run it on
the generation pipeline, store what must be stored before the client hears it is done."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

from pydantic import ValidationError

from server.core.context import RequestInfo
from server.core.errors import InvalidRequest, ServerError
from server.core.keys import Owner, owner_of
from server.core.registry import now
from server.generation.protocol import ChatCompletionRequest
from server.generation.responses.adapter import ResponsesAdapter
from server.generation.responses.background import BackgroundRuns
from server.generation.responses.errors import ResponseNotFound
from server.generation.responses.events import ResponseEvent
from server.generation.responses.items import chat_messages, input_items, new_id, parse_items
from server.generation.responses.protocol import (
    DeletedResponse,
    InputItemList,
    ResponseError,
    ResponseObject,
    ResponsesRequest,
)
from server.generation.responses.translate import chat_request, refuse_unsupported, skeleton
from server.generation.service.adapter import usage_so_far
from server.generation.service.pipeline import GenerationService
from server.store.responses import RUNNING, ResponseStore

log = logging.getLogger("server.generation.responses")

Result = ResponseObject | AsyncIterator[ResponseEvent]


@dataclasses.dataclass
class _Prepared:
    adapter: ResponsesAdapter
    items: list[dict[str, Any]]  # this request's own input items, as stored


class ResponsesService:
    """Create, stream, retrieve, delete, list and cancel responses."""

    def __init__(self, store: ResponseStore) -> None:
        self.store = store
        self.background = BackgroundRuns(store)

    async def _history(self, previous_id: str | None, owner: Owner) -> list[dict[str, Any]]:
        if previous_id is None:
            return []
        chain = await self.store.chain(previous_id, owner)
        if chain is None:
            raise ResponseNotFound(previous_id, param="previous_response_id")
        items: list[dict[str, Any]] = []
        for row in chain:
            items += row.input_items
            items += row.body.get("output", [])
        return items

    async def _prepare(
        self, request: ResponsesRequest, generation: GenerationService, info: RequestInfo
    ) -> _Prepared:
        refuse_unsupported(request)
        items = input_items(request.input)
        history = await self._history(request.previous_response_id, owner_of(info.key))
        messages = chat_messages(request.instructions, parse_items(history + items))
        try:
            chat: ChatCompletionRequest = chat_request(request, messages)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidRequest(str(first["msg"]).removeprefix("Value error, ")) from None
        response = skeleton(request, new_id("resp"), now())
        if request.store:
            self.store.check_size(items, response.model_dump(mode="json"))
        adapter = ResponsesAdapter(
            chat,
            response,
            info.request_id,
            generation.parsers,
            max_model_len=generation.engine.max_model_len,
            auto_truncate=request.truncation == "auto",
        )
        return _Prepared(adapter, items)

    async def create(
        self, request: ResponsesRequest, generation: GenerationService, info: RequestInfo
    ) -> Result:
        """The response, its event stream, or (background) the queued response."""
        prepared = await self._prepare(request, generation, info)
        adapter = prepared.adapter
        api_key = owner_of(info.key).key
        if request.background:
            queued = adapter.skeleton
            stored = queued.model_dump(mode="json")
            await self.store.create(stored, prepared.items, background=True, api_key=api_key)
            self.background.start(
                queued.model_dump(mode="json"),
                lambda: generation.serve(adapter, info),
                # Its tokens come after the answer: the key's usage waits for them.
                on_end=info.linger().finish,
            )
            return queued
        if request.stream:
            events = await generation.serve(adapter, info)
            assert not isinstance(events, ResponseObject)
            return self._stream(adapter, events, prepared.items, info)
        response = await generation.serve(adapter, info)
        assert isinstance(response, ResponseObject)
        if request.store:
            await self.store.create(
                response.model_dump(mode="json"), prepared.items, api_key=api_key
            )
        return response

    async def _stream(
        self,
        adapter: ResponsesAdapter,
        events: AsyncIterator[ResponseEvent],
        items: list[dict[str, Any]],
        info: RequestInfo,
    ) -> AsyncIterator[ResponseEvent]:
        writer = adapter.writer
        api_key = owner_of(info.key).key
        try:
            async for event in events:
                yield event
        except ServerError as exc:
            failed = adapter.skeleton.model_copy(deep=True)
            failed.status = "failed"
            failed.error = ResponseError(code=exc.code or exc.error_type, message=exc.message)
            failed.output = list(writer.items)
            if failed.store:
                await self.store.create(failed.model_dump(mode="json"), items, api_key=api_key)
            yield writer.snapshot("response.failed", failed)
            return
        closing, response = adapter.closing(usage_so_far(info))
        for event in closing:
            yield event
        if response.store:
            # Stored before the client is told it is done: a retrieve after the final
            # event always finds it.
            await self.store.create(response.model_dump(mode="json"), items, api_key=api_key)
        yield writer.snapshot(f"response.{response.status}", response)

    # --- stored responses ------------------------------------------------------------------------

    async def get(self, response_id: str, owner: Owner) -> ResponseObject:
        row = await self.store.get(response_id, owner)
        if row is None:
            raise ResponseNotFound(response_id)
        return ResponseObject.model_validate(row.body)

    async def delete(self, response_id: str, owner: Owner) -> DeletedResponse:
        if not await self.store.delete(response_id, owner):
            raise ResponseNotFound(response_id)
        self.background.cancel(response_id)
        return DeletedResponse(id=response_id)

    async def input_items(
        self, response_id: str, owner: Owner, after: str | None, limit: int, order: str
    ) -> InputItemList:
        row = await self.store.get(response_id, owner)
        if row is None:
            raise ResponseNotFound(response_id)
        items = list(row.input_items)
        if order == "desc":
            items.reverse()
        if after is not None:
            ids = [item.get("id") for item in items]
            if after not in ids:
                raise InvalidRequest(f"no input item with id '{after}'", param="after")
            items = items[ids.index(after) + 1 :]
        page = items[:limit]
        return InputItemList(
            data=page,
            first_id=page[0].get("id") if page else None,
            last_id=page[-1].get("id") if page else None,
            has_more=len(items) > limit,
        )

    async def cancel(self, response_id: str, owner: Owner) -> ResponseObject:
        """Cancel a background response still queued or running (others stay as they are)."""
        row = await self.store.get(response_id, owner)
        if row is None:
            raise ResponseNotFound(response_id)
        if not row.background:
            raise InvalidRequest("only background responses can be cancelled", param="response_id")
        if row.status in RUNNING:
            body = dict(row.body) | {"status": "cancelled"}
            await self.store.update(body)
            self.background.cancel(response_id)
        return await self.get(response_id, owner)
