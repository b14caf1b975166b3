"""``/v1/chat/completions`` as a request adapter of the generation pipeline."""

from __future__ import annotations

import dataclasses

from server.core.errors import InvalidRequest
from server.generation.protocol import (
    AssistantMessage,
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatDelta,
    ChoiceLogprobs,
    Usage,
)
from server.generation.service.adapter import GatheredChoice, streams
from server.generation.service.logprobs import chat_logprobs
from server.generation.service.output import ChoiceOutput
from server.generation.service.params import chat_spec
from server.generation.service.prompts import PromptBuilder
from server.generation.service.tools import ToolPlan, plan_tools
from server.generation.types import ChoiceDelta, OutputParsers, SamplingSpec, TokenInfo

# Request fields this adapter implements on top of the sampling parameters.
_HANDLED = frozenset(
    {
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "functions",
        "function_call",
        "reasoning_effort",
        "thinking_token_budget",
    }
)
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


def _finish_reason(reason: str | None, called: bool, named: bool) -> str | None:
    # As OpenAI reports it: a turn that ended by calling tools finished for 'tool_calls',
    # except when tool_choice named the function: then it is a plain 'stop'.
    return "tool_calls" if called and not named and reason == "stop" else reason


class ChatAdapter:
    """One chat request: messages through the chat template, one engine request with ``n``."""

    def __init__(
        self,
        request: ChatCompletionRequest,
        model: str,
        request_id: str,
        created: int,
        parsers: OutputParsers | None = None,
    ) -> None:
        self.request = request
        self._model = model
        self._id = f"chatcmpl-{request_id}"
        self._created = created
        self._parsers = parsers
        self.plan: ToolPlan = plan_tools(request, parsers.tool_call_parser if parsers else None)
        self._reasoning = bool(parsers and parsers.reasoning_parser)
        self._check_reasoning_effort()
        self._outputs: dict[int, ChoiceOutput] = {}

    def _check_reasoning_effort(self) -> None:
        if self.request.thinking_token_budget is not None:
            self._needs_reasoning("thinking_token_budget")
        effort = self.request.reasoning_effort
        if effort is None:
            return
        self._needs_reasoning("reasoning_effort")
        if effort not in _EFFORTS:
            raise InvalidRequest(
                f"reasoning_effort must be one of {', '.join(_EFFORTS)}", param="reasoning_effort"
            )

    def _needs_reasoning(self, param: str) -> None:
        if not self._reasoning:
            raise InvalidRequest(
                f"{param} needs a reasoning model: model '{self._model}' has no "
                "reasoning_parser in its config",
                param=param,
            )

    def _output(self) -> ChoiceOutput:
        parsers = self._parsers
        tool_parser = None
        if self.plan.mode == "auto" and parsers is not None:
            tool_parser = parsers.tool_calls(self.plan.tools)
        reasoning = parsers.reasoning() if parsers is not None and self._reasoning else None
        return ChoiceOutput(self.plan, tool_parser, reasoning)

    def prompt_ids(self, prompts: PromptBuilder) -> list[list[int]]:
        request = self.request
        ids = prompts.chat(
            request.messages,
            add_generation_prompt=request.add_generation_prompt,
            continue_final_message=request.continue_final_message,
            template_kwargs=request.chat_template_kwargs,
            tools=self.plan.rendered,
            reasoning_effort=request.reasoning_effort,
        )
        return [ids]

    def spec(self, prompt_tokens: int, max_model_len: int, cap: int) -> SamplingSpec:
        spec = chat_spec(self.request, prompt_tokens, max_model_len, cap, _HANDLED)
        if self.request.thinking_token_budget is not None:
            spec = dataclasses.replace(
                spec, thinking_token_budget=self.request.thinking_token_budget
            )
        if self.plan.schema is None:
            return spec
        fmt = self.request.response_format
        if fmt is not None and fmt.type != "text":
            raise InvalidRequest(
                "response_format cannot be combined with tool_choice 'required' or a named "
                "function (the calls are the response's format)",
                param="response_format",
            )
        return dataclasses.replace(spec, json_schema=self.plan.schema, json_object=False)

    def prepare(self, prompts: PromptBuilder, prompt_ids: list[list[int]]) -> None:
        pass

    def on_prompt_logprobs(self, prompt_index: int, tokens: list[TokenInfo | None]) -> None:
        pass  # chat never asks for the prompt's logprobs

    def _message(self, choice: GatheredChoice) -> tuple[AssistantMessage, str | None]:
        text = "".join(choice.text)
        if not (self.plan.calls or self._reasoning):
            return AssistantMessage(content=text), choice.finish_reason
        output = self._output()
        parsed = output.message(text)
        message = AssistantMessage(
            content=parsed.content,
            tool_calls=parsed.calls or None,
            reasoning_content=parsed.reasoning,
        )
        named = self.plan.mode == "named"
        return message, _finish_reason(choice.finish_reason, output.called, named)

    def response(self, choices: list[GatheredChoice], usage: Usage) -> ChatCompletion:
        built = []
        for i, c in enumerate(choices):
            message, finish_reason = self._message(c)
            built.append(
                ChatChoice(
                    index=i,
                    message=message,
                    logprobs=chat_logprobs(c.logprobs) if self.request.logprobs else None,
                    finish_reason=finish_reason,
                )
            )
        return ChatCompletion(
            id=self._id, created=self._created, model=self._model, choices=built, usage=usage
        )

    def _chunk(self, choices: list[ChatChunkChoice]) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=self._id, created=self._created, model=self._model, choices=choices
        )

    def opening(self, usage: Usage) -> list[ChatCompletionChunk]:
        role = ChatDelta(role="assistant", content="")
        return [self._chunk([ChatChunkChoice(index=i, delta=role)]) for i in range(self.request.n)]

    def chunk(
        self, index: int, prompt_index: int, delta: ChoiceDelta
    ) -> ChatCompletionChunk | list[ChatCompletionChunk] | None:
        if not streams(delta):
            return None
        logprobs = chat_logprobs(delta.logprobs or []) if self.request.logprobs else None
        if not (self.plan.calls or self._reasoning):
            choice = ChatChunkChoice(
                index=index,
                delta=ChatDelta(content=delta.text),
                logprobs=logprobs,
                finish_reason=delta.finish_reason,
            )
            return self._chunk([choice])
        return self._parsed_chunks(index, delta, logprobs)

    def _parsed_chunks(
        self, index: int, delta: ChoiceDelta, logprobs: ChoiceLogprobs | None
    ) -> list[ChatCompletionChunk]:
        output = self._outputs.get(index)
        if output is None:
            output = self._outputs[index] = self._output()
        finished = delta.finish_reason is not None
        parsed = output.feed(delta.text, delta.token_ids, finished)
        deltas: list[ChatDelta] = []
        if parsed.reasoning or parsed.content:
            deltas.append(
                ChatDelta(
                    content=parsed.content or None, reasoning_content=parsed.reasoning or None
                )
            )
        # One call delta per chunk: a call's header (id, type, name) always comes before the
        # chunks that carry its arguments.
        deltas.extend(ChatDelta(tool_calls=[call]) for call in parsed.calls)
        if not deltas and (finished or logprobs is not None):
            deltas.append(ChatDelta())
        chunks = [self._chunk([ChatChunkChoice(index=index, delta=d)]) for d in deltas]
        if chunks and logprobs is not None:
            chunks[0].choices[0].logprobs = logprobs
        if chunks and finished:
            reason = _finish_reason(delta.finish_reason, output.called, self.plan.mode == "named")
            chunks[-1].choices[0].finish_reason = reason
        return chunks

    def with_usage(self, chunk: ChatCompletionChunk, usage: Usage) -> ChatCompletionChunk:
        chunk.usage = usage
        return chunk

    def usage_chunk(self, usage: Usage) -> ChatCompletionChunk:
        return self.with_usage(self._chunk([]), usage)
