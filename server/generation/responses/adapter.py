"""``/v1/responses`` as a request adapter of the generation pipeline.

It runs on chat's adapter (same prompts, sampling, tool plan and output parsing) and turns
chat's message, or its stream deltas, into Response output items and typed events.
"""

from __future__ import annotations

from server.generation.protocol import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    SamplingFields,
    Usage,
)
from server.generation.responses.events import EventWriter, ResponseEvent
from server.generation.responses.items import new_id
from server.generation.responses.protocol import (
    IncompleteDetails,
    InputTokensDetails,
    OutputFunctionCall,
    OutputItem,
    OutputMessageItem,
    OutputReasoning,
    OutputText,
    ReasoningText,
    ResponseObject,
    ResponseUsage,
)
from server.generation.service.adapter import GatheredChoice
from server.generation.service.chat import ChatAdapter
from server.generation.service.prompts import PromptBuilder
from server.generation.types import ChoiceDelta, OutputParsers, SamplingSpec, TokenInfo


def response_usage(usage: Usage) -> ResponseUsage:
    details = usage.prompt_tokens_details
    return ResponseUsage(
        input_tokens=usage.prompt_tokens,
        input_tokens_details=InputTokensDetails(
            cached_tokens=details.cached_tokens if details is not None else 0
        ),
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )


def finished(skeleton: ResponseObject, finish_reason: str | None, usage: Usage) -> ResponseObject:
    """``skeleton`` as a finished response: incomplete when it ran out of output tokens."""
    response = skeleton.model_copy(deep=True)
    response.usage = response_usage(usage)
    if finish_reason == "length":
        response.status = "incomplete"
        response.incomplete_details = IncompleteDetails(reason="max_output_tokens")
    else:
        response.status = "completed"
    return response


class ResponsesAdapter:
    """One Responses request on chat's adapter; ``skeleton`` is the response being made."""

    def __init__(
        self,
        chat_request: ChatCompletionRequest,
        skeleton: ResponseObject,
        request_id: str,
        parsers: OutputParsers | None,
        *,
        max_model_len: int,
        auto_truncate: bool,
    ) -> None:
        self._chat = ChatAdapter(
            chat_request, skeleton.model, request_id, skeleton.created_at, parsers
        )
        self.skeleton = skeleton
        self.writer = EventWriter()
        self.finish_reason: str | None = None
        self._max_model_len = max_model_len
        self._auto_truncate = auto_truncate

    @property
    def request(self) -> SamplingFields:
        return self._chat.request

    # --- prompts and sampling: chat's, with truncation 'auto' ------------------------------

    def prompt_ids(self, prompts: PromptBuilder) -> list[list[int]]:
        reserve = self._chat.request.max_tokens or 1
        while True:
            ids = self._chat.prompt_ids(prompts)
            if not self._auto_truncate or len(ids[0]) + reserve <= self._max_model_len:
                return ids
            if not self._drop_oldest():
                return ids  # nothing left to drop: the pipeline reports the context error

    def _drop_oldest(self) -> bool:
        """Drop the oldest turn after any system message (a call with its outputs)."""
        messages = self._chat.request.messages
        first = next((i for i, m in enumerate(messages) if m.role != "system"), None)
        if first is None or first == len(messages) - 1:
            return False
        end = first + 1
        if messages[first].tool_calls:
            while end < len(messages) - 1 and messages[end].role == "tool":
                end += 1
        del messages[first:end]
        return True

    def spec(self, prompt_tokens: int, max_model_len: int, cap: int) -> SamplingSpec:
        return self._chat.spec(prompt_tokens, max_model_len, cap)

    def prepare(self, prompts: PromptBuilder, prompt_ids: list[list[int]]) -> None:
        self._chat.prepare(prompts, prompt_ids)

    def on_prompt_logprobs(self, prompt_index: int, tokens: list[TokenInfo | None]) -> None:
        pass

    # --- a whole response -------------------------------------------------------------------

    def response(self, choices: list[GatheredChoice], usage: Usage) -> ResponseObject:
        completion = self._chat.response(choices, usage)
        choice = completion.choices[0]
        message = choice.message
        items: list[OutputItem] = []
        if message.reasoning_content:
            items.append(
                OutputReasoning(
                    id=new_id("rs"), content=[ReasoningText(text=message.reasoning_content)]
                )
            )
        if message.content or not (message.tool_calls or items):
            items.append(
                OutputMessageItem(
                    id=new_id("msg"), content=[OutputText(text=message.content or "")]
                )
            )
        for call in message.tool_calls or []:
            items.append(
                OutputFunctionCall(
                    id=new_id("fc"),
                    call_id=call.id,
                    name=call.function.name,
                    arguments=call.function.arguments,
                )
            )
        response = finished(self.skeleton, choice.finish_reason, usage)
        response.output = items
        return response

    # --- a stream ----------------------------------------------------------------------------

    def opening(self, usage: Usage) -> list[ResponseEvent]:
        return [
            self.writer.snapshot("response.created", self.skeleton),
            self.writer.snapshot("response.in_progress", self.skeleton),
        ]

    def chunk(
        self, index: int, prompt_index: int, delta: ChoiceDelta
    ) -> list[ResponseEvent] | None:
        piece = self._chat.chunk(index, prompt_index, delta)
        if piece is None:
            return None
        events: list[ResponseEvent] = []
        for chunk in piece if isinstance(piece, list) else [piece]:
            events += self._events(chunk)
        return events

    def _events(self, chunk: ChatCompletionChunk) -> list[ResponseEvent]:
        events: list[ResponseEvent] = []
        for choice in chunk.choices:
            d = choice.delta
            if d.reasoning_content:
                events += self.writer.reasoning(d.reasoning_content)
            if d.content:
                events += self.writer.text(d.content)
            for call in d.tool_calls or []:
                if call.id is not None:
                    events += self.writer.call(call.index, call.id, call.function.name or "")
                if call.function.arguments:
                    events += self.writer.arguments(call.index, call.function.arguments)
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason
        return events

    def with_usage(self, chunk: ResponseEvent, usage: Usage) -> ResponseEvent:
        return chunk

    def usage_chunk(self, usage: Usage) -> ResponseEvent:
        raise NotImplementedError("responses streams end with the response, not a usage chunk")

    def closing(self, usage: Usage) -> tuple[list[ResponseEvent], ResponseObject]:
        """The events that end the output, and the finished response (its final event is
        sent once it is stored)."""
        events: list[ResponseEvent] = []
        if not self.writer.items:
            events += self.writer.text("")
        incomplete = self.finish_reason == "length"
        events += self.writer.close("incomplete" if incomplete else "completed")
        response = finished(self.skeleton, self.finish_reason, usage)
        response.output = list(self.writer.items)
        return events, response
