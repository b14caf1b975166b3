"""vLLM's tool-call and reasoning parsers behind the engine-neutral ``OutputParsers``.

The parsers live in vLLM (``vllm.tool_parsers``, ``vllm.reasoning``), so this is the one
place that touches them: the service sees ``ToolCallParser`` and ``ReasoningParser`` from
``server.generation.types``. vLLM's parsers take its own ``ChatCompletionRequest``; each
request gets a minimal one that carries only what the parsers read (the tools).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from server.generation.types import ParsedToolCall, ParsedToolCalls

log = logging.getLogger("server.generation")


def import_registries() -> None:
    """Import vLLM's parser registries (and the OpenAI types they pull in) now."""
    import vllm.reasoning
    import vllm.tool_parsers  # noqa: F401


def _known(names: list[str]) -> str:
    return ", ".join(names)


class VllmOutputParsers:
    """The tool and reasoning parsers configured for one model, checked when it starts."""

    def __init__(
        self,
        model: str,
        tokenizer: Any,
        tool_call_parser: str | None,
        reasoning_parser: str | None,
    ) -> None:
        self.tool_call_parser = tool_call_parser
        self.reasoning_parser = reasoning_parser
        self._model = model
        self._tokenizer = tokenizer
        self._tool_cls: Any = None
        self._reasoning_cls: Any = None
        if tool_call_parser is not None:
            from vllm.tool_parsers import ToolParserManager

            self._tool_cls = _lookup(
                ToolParserManager.get_tool_parser,
                ToolParserManager.list_registered(),
                f"models[{model}].tool_call_parser",
                tool_call_parser,
            )
            _try_build(lambda: self._tool_cls(tokenizer, []), model, "tool_call_parser")
        if reasoning_parser is not None:
            from vllm.reasoning import ReasoningParserManager

            self._reasoning_cls = _lookup(
                ReasoningParserManager.get_reasoning_parser,
                ReasoningParserManager.list_registered(),
                f"models[{model}].reasoning_parser",
                reasoning_parser,
            )
            _try_build(lambda: self._reasoning_cls(tokenizer), model, "reasoning_parser")

    def tool_calls(self, tools: list[dict[str, Any]]) -> VllmToolCallParser:
        if self._tool_cls is None:
            raise RuntimeError(f"model {self._model} has no tool_call_parser")
        request = _vllm_request(self._model, tools)
        return VllmToolCallParser(self._tool_cls(self._tokenizer, request.tools), request)

    def reasoning(self) -> VllmReasoningParser:
        if self._reasoning_cls is None:
            raise RuntimeError(f"model {self._model} has no reasoning_parser")
        return VllmReasoningParser(self._reasoning_cls(self._tokenizer), _vllm_request(self._model))


def _lookup(get: Any, known: list[str], setting: str, name: str) -> Any:
    try:
        return get(name)
    except KeyError:
        raise ValueError(f"{setting}: unknown parser '{name}'; known: {_known(known)}") from None


def _try_build(build: Any, model: str, setting: str) -> None:
    """Parsers look their marker tokens up in the tokenizer when built: a parser for another
    model family fails here, at start-up, rather than on the first request."""
    try:
        build()
    except Exception as exc:
        raise ValueError(
            f"models[{model}].{setting}: the parser does not fit this model's tokenizer: {exc}"
        ) from exc


def _vllm_request(model: str, tools: list[dict[str, Any]] | None = None) -> Any:
    from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest

    return ChatCompletionRequest.model_validate(
        {
            "model": model,
            "messages": [],
            "tools": tools or None,
            "tool_choice": "auto" if tools else "none",
        }
    )


class VllmToolCallParser:
    """One choice's tool calls through a vLLM ``ToolParser``.

    Streaming uses the parser's own streaming method only to learn which text is surely
    content; the calls come from the complete parse at the end, so that a streamed call is
    always exactly the non-streamed one, and a malformed call stays content in both.
    """

    def __init__(self, parser: Any, request: Any) -> None:
        self._parser = parser
        self._request = request
        self._text = ""
        self._ids: list[int] = []

    def parse(self, text: str) -> ParsedToolCalls:
        try:
            info = self._parser.extract_tool_calls(text, self._request)
        except Exception:
            # A parser bug or an output it chokes on: the client still gets the text.
            log.warning("tool parser failed; answering the output as content", exc_info=True)
            return ParsedToolCalls((), text)
        if not info.tools_called:
            return ParsedToolCalls((), text)
        calls = tuple(
            ParsedToolCall(call.function.name, call.function.arguments) for call in info.tool_calls
        )
        return ParsedToolCalls(calls, info.content)

    def content_delta(self, text: str, token_ids: Sequence[int]) -> str:
        previous, previous_ids = self._text, self._ids
        self._text, self._ids = previous + text, previous_ids + list(token_ids)
        try:
            delta = self._parser.extract_tool_calls_streaming(
                previous, self._text, text, previous_ids, self._ids, list(token_ids), self._request
            )
        except Exception:
            log.warning("tool parser failed on a stream delta", exc_info=True)
            return ""
        return (delta.content or "") if delta is not None else ""


class VllmReasoningParser:
    """One choice's reasoning through a vLLM ``ReasoningParser``."""

    def __init__(self, parser: Any, request: Any) -> None:
        self._parser = parser
        self._request = request
        self._text = ""
        self._ids: list[int] = []

    def split(self, text: str) -> tuple[str | None, str | None]:
        reasoning, content = self._parser.extract_reasoning(text, self._request)
        return reasoning, content

    def split_delta(self, text: str, token_ids: Sequence[int]) -> tuple[str, str]:
        previous, previous_ids = self._text, self._ids
        self._text, self._ids = previous + text, previous_ids + list(token_ids)
        delta = self._parser.extract_reasoning_streaming(
            previous, self._text, text, previous_ids, self._ids, list(token_ids)
        )
        if delta is None:
            return "", ""
        return delta.reasoning or "", delta.content or ""
