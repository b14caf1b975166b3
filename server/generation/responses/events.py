"""The stream of a response as OpenAI's typed events, numbered in order.

``EventWriter`` keeps the output items as they grow and emits, for each: ``output_item.added``,
its parts (``content_part.added`` / ``output_text.delta`` ... ``.done``; reasoning as
``reasoning_text``; a call's ``function_call_arguments.delta`` ... ``.done``), then
``output_item.done``. Every event has a ``sequence_number`` one higher than the last.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from server.generation.responses.items import new_id
from server.generation.responses.protocol import (
    OutputFunctionCall,
    OutputItem,
    OutputMessageItem,
    OutputReasoning,
    OutputText,
    ReasoningText,
    ResponseObject,
)


class ResponseEvent(BaseModel):
    """One stream event: ``type``, ``sequence_number`` and the type's own fields."""

    model_config = ConfigDict(extra="allow")
    type: str
    sequence_number: int


class EventWriter:
    """The events of one response's output, in order; ``items`` is the output so far."""

    def __init__(self) -> None:
        self.items: list[OutputItem] = []
        self._sequence = 0
        self._open: OutputItem | None = None
        self._calls: dict[int, OutputFunctionCall] = {}  # chat's call index -> item

    def event(self, type_: str, **fields: Any) -> ResponseEvent:
        event = ResponseEvent(type=type_, sequence_number=self._sequence, **fields)
        self._sequence += 1
        return event

    def snapshot(self, type_: str, response: ResponseObject) -> ResponseEvent:
        """``response.created``, ``.in_progress``, ``.completed``... with the whole response."""
        return self.event(type_, response=response.model_dump(mode="json"))

    def _index(self, item: OutputItem) -> int:
        return self.items.index(item)

    def _add(self, item: OutputItem) -> list[ResponseEvent]:
        events = self.close()
        self.items.append(item)
        self._open = item
        item_data = item.model_dump(mode="json") | {"status": "in_progress"}
        events.append(
            self.event("response.output_item.added", output_index=self._index(item), item=item_data)
        )
        return events

    def text(self, delta: str) -> list[ResponseEvent]:
        events: list[ResponseEvent] = []
        item = self._open
        if not isinstance(item, OutputMessageItem):
            item = OutputMessageItem(id=new_id("msg"), status="in_progress")
            events += self._add(item)
            item.content.append(OutputText(text=""))
            events.append(self._part_event("response.content_part.added", item))
        item.content[0].text += delta
        events.append(
            self.event(
                "response.output_text.delta",
                item_id=item.id,
                output_index=self._index(item),
                content_index=0,
                delta=delta,
                logprobs=[],
            )
        )
        return events

    def reasoning(self, delta: str) -> list[ResponseEvent]:
        events: list[ResponseEvent] = []
        item = self._open
        if not isinstance(item, OutputReasoning):
            item = OutputReasoning(id=new_id("rs"), status="in_progress")
            events += self._add(item)
            item.content.append(ReasoningText(text=""))
        item.content[0].text += delta
        events.append(
            self.event(
                "response.reasoning_text.delta",
                item_id=item.id,
                output_index=self._index(item),
                content_index=0,
                delta=delta,
            )
        )
        return events

    def call(self, index: int, call_id: str, name: str) -> list[ResponseEvent]:
        item = OutputFunctionCall(id=new_id("fc"), call_id=call_id, name=name, status="in_progress")
        self._calls[index] = item
        return self._add(item)

    def arguments(self, index: int, fragment: str) -> list[ResponseEvent]:
        item = self._calls[index]
        item.arguments += fragment
        return [
            self.event(
                "response.function_call_arguments.delta",
                item_id=item.id,
                output_index=self._index(item),
                delta=fragment,
            )
        ]

    def _part_event(self, type_: str, item: OutputMessageItem) -> ResponseEvent:
        return self.event(
            type_,
            item_id=item.id,
            output_index=self._index(item),
            content_index=0,
            part=item.content[0].model_dump(mode="json"),
        )

    def close(self, status: str = "completed") -> list[ResponseEvent]:
        """The ``.done`` events of the item being written, if any."""
        item, self._open = self._open, None
        if item is None:
            return []
        out = self._index(item)
        events = []
        if isinstance(item, OutputMessageItem):
            text = item.content[0].text
            events.append(
                self.event(
                    "response.output_text.done",
                    item_id=item.id,
                    output_index=out,
                    content_index=0,
                    text=text,
                    logprobs=[],
                )
            )
            events.append(self._part_event("response.content_part.done", item))
        elif isinstance(item, OutputReasoning):
            events.append(
                self.event(
                    "response.reasoning_text.done",
                    item_id=item.id,
                    output_index=out,
                    content_index=0,
                    text=item.content[0].text,
                )
            )
        else:
            events.append(
                self.event(
                    "response.function_call_arguments.done",
                    item_id=item.id,
                    output_index=out,
                    name=item.name,
                    arguments=item.arguments,
                )
            )
        item.status = status  # type: ignore[assignment]
        if isinstance(item, OutputReasoning):
            item.status = None
        events.append(
            self.event(
                "response.output_item.done", output_index=out, item=item.model_dump(mode="json")
            )
        )
        return events
