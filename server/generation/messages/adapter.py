"""``/v1/messages`` as a request adapter of the generation pipeline.

It runs on chat's adapter (same prompts, sampling, tool plan and output parsing) and turns
chat's message, or its stream deltas, into Anthropic's content blocks and events.
"""

from __future__ import annotations

import json
from typing import Any

from server.core.errors import InvalidRequest
from server.generation.messages.events import BlockWriter, event, tool_use_id
from server.generation.messages.protocol import (
    ContentBlock,
    CountTokensRequest,
    MessageEvent,
    MessageObject,
    MessageUsage,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from server.generation.protocol import ChatCompletionChunk, ChatCompletionRequest, SamplingFields
from server.generation.protocol import Usage as ChatUsage
from server.generation.service.adapter import GatheredChoice
from server.generation.service.chat import ChatAdapter
from server.generation.service.prompts import PromptBuilder
from server.generation.types import ChoiceDelta, OutputParsers, SamplingSpec, TokenInfo


def stop_reason(
    finish_reason: str | None, called: bool, stop_sequence: str | None
) -> tuple[StopReason, str | None]:
    """Anthropic's stop reason (and the stop sequence matched, if one ended the message)."""
    if finish_reason == "length":
        return "max_tokens", None
    if called:
        return "tool_use", None
    if stop_sequence is not None:
        return "stop_sequence", stop_sequence
    return "end_turn", None


def _input(arguments: str) -> dict[str, Any]:
    """A call's arguments as the object Anthropic's ``input`` is."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _check_reasoning(request: CountTokensRequest, model: str, reasoning: bool) -> None:
    """400 naming ``thinking`` or ``output_config.effort`` on a model that cannot think."""
    if reasoning:
        return
    if request.thinking is not None and request.thinking.type != "disabled":
        param = "thinking"
    elif request.output_config is not None and request.output_config.effort is not None:
        param = "output_config.effort"
    else:
        return
    raise InvalidRequest(
        f"{param} needs a reasoning model: model '{model}' has no reasoning_parser in its config",
        param=param,
    )


class MessagesAdapter:
    """One Messages request on chat's adapter."""

    def __init__(
        self,
        chat_request: ChatCompletionRequest,
        request: CountTokensRequest,
        model: str,
        request_id: str,
        parsers: OutputParsers | None,
    ) -> None:
        _check_reasoning(request, model, bool(parsers and parsers.reasoning_parser))
        self._chat = ChatAdapter(chat_request, model, request_id, 0, parsers)
        self._model = model
        self._id = f"msg_{request_id}"
        self.input_tokens = 0
        self.writer = BlockWriter()
        self._finish_reason: str | None = None
        self._stop_sequence: str | None = None

    @property
    def request(self) -> SamplingFields:
        return self._chat.request

    # --- prompts and sampling: chat's -------------------------------------------------------

    def prompt_ids(self, prompts: PromptBuilder) -> list[list[int]]:
        return self._chat.prompt_ids(prompts)

    def spec(self, prompt_tokens: int, max_model_len: int, cap: int) -> SamplingSpec:
        return self._chat.spec(prompt_tokens, max_model_len, cap)

    def prepare(self, prompts: PromptBuilder, prompt_ids: list[list[int]]) -> None:
        self.input_tokens = len(prompt_ids[0])
        self._chat.prepare(prompts, prompt_ids)

    def on_prompt_logprobs(self, prompt_index: int, tokens: list[TokenInfo | None]) -> None:
        pass

    def _usage(self, usage: ChatUsage) -> MessageUsage:
        """Anthropic's usage: ``input_tokens`` counts only the prompt tokens not read from
        the prefix cache (``cache_read_input_tokens``). The engine caches every prompt on its
        own, with no write to pay for: ``cache_creation_input_tokens`` stays 0."""
        details = usage.prompt_tokens_details
        cached = details.cached_tokens if details is not None else 0
        return MessageUsage(
            input_tokens=usage.prompt_tokens - cached,
            output_tokens=usage.completion_tokens,
            cache_read_input_tokens=cached,
        )

    # --- a whole message --------------------------------------------------------------------

    def response(self, choices: list[GatheredChoice], usage: ChatUsage) -> MessageObject:
        message = self._chat.response(choices, usage).choices[0].message
        blocks: list[ContentBlock] = []
        if message.reasoning_content:
            blocks.append(ThinkingBlock(thinking=message.reasoning_content))
        if message.content or not (message.tool_calls or blocks):
            blocks.append(TextBlock(text=message.content or ""))
        for call in message.tool_calls or []:
            blocks.append(
                ToolUseBlock(
                    id=tool_use_id(), name=call.function.name, input=_input(call.function.arguments)
                )
            )
        choice = choices[0]
        reason, sequence = stop_reason(
            choice.finish_reason, bool(message.tool_calls), choice.stop_sequence
        )
        return MessageObject(
            id=self._id,
            content=blocks,
            model=self._model,
            stop_reason=reason,
            stop_sequence=sequence,
            usage=self._usage(usage),
        )

    # --- a stream ---------------------------------------------------------------------------

    def opening(self, usage: ChatUsage) -> list[MessageEvent]:
        started = MessageObject(id=self._id, model=self._model, usage=self._usage(usage))
        return [
            event("message_start", message=started.model_dump(mode="json")),
            event("ping"),
        ]

    def chunk(self, index: int, prompt_index: int, delta: ChoiceDelta) -> list[MessageEvent] | None:
        if delta.finish_reason is not None:
            self._finish_reason = delta.finish_reason
            self._stop_sequence = delta.stop_sequence
        piece = self._chat.chunk(index, prompt_index, delta)
        if piece is None:
            return None
        events: list[MessageEvent] = []
        for chunk in piece if isinstance(piece, list) else [piece]:
            events += self._events(chunk)
        return events

    def _events(self, chunk: ChatCompletionChunk) -> list[MessageEvent]:
        events: list[MessageEvent] = []
        for choice in chunk.choices:
            d = choice.delta
            if d.reasoning_content:
                events += self.writer.thinking(d.reasoning_content)
            if d.content:
                events += self.writer.text(d.content)
            for call in d.tool_calls or []:
                if call.id is not None:
                    events += self.writer.call(call.index, call.function.name or "")
                if call.function.arguments:
                    events += self.writer.arguments(call.index, call.function.arguments)
        return events

    def with_usage(self, chunk: MessageEvent, usage: ChatUsage) -> MessageEvent:
        return chunk

    def usage_chunk(self, usage: ChatUsage) -> MessageEvent:
        raise NotImplementedError("messages streams end with message_delta, not a usage chunk")

    def closing(self, usage: ChatUsage) -> list[MessageEvent]:
        """The events that end the message, once its output is done."""
        events: list[MessageEvent] = []
        if not self.writer.kinds:
            events += self.writer.text("")
        events += self.writer.close()
        reason, sequence = stop_reason(self._finish_reason, self.writer.called, self._stop_sequence)
        events.append(
            event(
                "message_delta",
                delta={"stop_reason": reason, "stop_sequence": sequence},
                usage=self._usage(usage).model_dump(mode="json"),
            )
        )
        events.append(event("message_stop"))
        return events
