"""The stream of a message as Anthropic's events.

``BlockWriter`` keeps the content blocks as they grow and emits, for each:
``content_block_start``, its ``content_block_delta`` events (``text_delta``,
``thinking_delta``, ``input_json_delta``), then ``content_block_stop`` once the next block
starts or the message ends. Blocks are numbered in the order they start.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from server.generation.messages.protocol import MessageEvent


def event(type_: str, **fields: Any) -> MessageEvent:
    """One stream event of ``type_`` with its own fields."""
    return MessageEvent(type=type_, **fields)


async def with_pings(
    events: AsyncIterator[MessageEvent], every_s: float
) -> AsyncGenerator[MessageEvent, None]:
    """``events``, with a ``ping`` whenever ``every_s`` seconds pass without one (as Anthropic
    keeps a quiet stream alive: the output of a long forced call, a slow queue)."""
    pending: asyncio.Future[MessageEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({pending}, timeout=every_s)
            if not done:
                yield event("ping")
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def tool_use_id() -> str:
    """A new ``toolu_...`` id, as Anthropic names its tool calls."""
    return f"toolu_{uuid.uuid4().hex[:24]}"


class BlockWriter:
    """The content-block events of one message's stream, in order."""

    def __init__(self) -> None:
        self.kinds: list[str] = []  # each block's type, by index
        self._open: int | None = None
        self._calls: dict[int, int] = {}  # chat's call index -> block index

    @property
    def called(self) -> bool:
        """Whether the message has made a tool call."""
        return bool(self._calls)

    def _start(self, block: dict[str, Any]) -> list[MessageEvent]:
        events = self.close()
        index = len(self.kinds)
        self.kinds.append(block["type"])
        self._open = index
        events.append(event("content_block_start", index=index, content_block=block))
        return events

    def _delta(self, index: int, delta: dict[str, Any]) -> MessageEvent:
        return event("content_block_delta", index=index, delta=delta)

    def _open_kind(self) -> str | None:
        return None if self._open is None else self.kinds[self._open]

    def text(self, text: str) -> list[MessageEvent]:
        events = [] if self._open_kind() == "text" else self._start({"type": "text", "text": ""})
        assert self._open is not None
        events.append(self._delta(self._open, {"type": "text_delta", "text": text}))
        return events

    def thinking(self, text: str) -> list[MessageEvent]:
        events = []
        if self._open_kind() != "thinking":
            events = self._start({"type": "thinking", "thinking": "", "signature": ""})
        assert self._open is not None
        events.append(self._delta(self._open, {"type": "thinking_delta", "thinking": text}))
        return events

    def call(self, call_index: int, name: str) -> list[MessageEvent]:
        block = {"type": "tool_use", "id": tool_use_id(), "name": name, "input": {}}
        events = self._start(block)
        assert self._open is not None
        self._calls[call_index] = self._open
        return events

    def arguments(self, call_index: int, partial_json: str) -> list[MessageEvent]:
        index = self._calls[call_index]
        return [self._delta(index, {"type": "input_json_delta", "partial_json": partial_json})]

    def close(self) -> list[MessageEvent]:
        """The stop of the open block, if any."""
        if self._open is None:
            return []
        index, self._open = self._open, None
        return [event("content_block_stop", index=index)]
