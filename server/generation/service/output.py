"""One chat choice's output read as reasoning, content and tool calls.

The same reader serves a whole output (non-streaming) and its deltas (streaming), so the
deltas of a stream reassemble to exactly the message of the same output not streamed:

- reasoning first, when the model has a ``reasoning_parser`` (not for forced calls, whose
  grammar leaves no room to think);
- then, by the request's ``ToolPlan``: plain content; the model's own call format through
  its ``tool_call_parser`` (``auto``: content streams as it comes, calls once the output is
  complete, since only then is a call known to be well formed); the forced JSON of
  ``required`` (calls stream as they are written); or the forced arguments object of a
  named function.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from server.generation.protocol import DeltaFunctionCall, DeltaToolCall, FunctionCall, ToolCall
from server.generation.service.forced_calls import CallEvent, ForcedCallScanner
from server.generation.service.tools import ToolPlan
from server.generation.types import ReasoningParser, ToolCallParser


def call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass
class OutputDelta:
    """What one engine delta adds to a choice's message."""

    reasoning: str = ""
    content: str = ""
    calls: list[DeltaToolCall] = field(default_factory=list)


@dataclass
class OutputMessage:
    reasoning: str | None
    content: str | None
    calls: list[ToolCall]


class ChoiceOutput:
    """Reads one choice; use either ``message`` (whole output) or ``feed`` (deltas)."""

    def __init__(
        self,
        plan: ToolPlan,
        tool_parser: ToolCallParser | None,
        reasoning: ReasoningParser | None,
    ) -> None:
        if plan.mode == "auto" and tool_parser is None:
            raise ValueError("tool_choice 'auto' needs a tool parser")
        self._plan = plan
        self._tools = tool_parser
        self._reasoning = reasoning if plan.mode in ("plain", "auto") else None
        self._scanner = ForcedCallScanner(array=plan.parallel) if plan.mode == "required" else None
        self._ids: list[str] = []
        self._pending: dict[int, list[str]] = {}  # arguments that came before the name
        self._text: list[str] = []  # the content seen so far (after any reasoning)
        self._sent_content = 0
        self._sent_args = 0
        self.called = False

    # --- a whole output -------------------------------------------------------------------

    def message(self, text: str) -> OutputMessage:
        reasoning: str | None = None
        rest: str | None = text
        if self._reasoning is not None:
            # None content: the whole output was thinking.
            reasoning, rest = self._reasoning.split(text)
        mode = self._plan.mode
        if mode == "plain":
            return OutputMessage(reasoning, rest, [])
        content = rest or ""
        if mode == "named":
            arguments = content.strip()
            calls = [self._call(str(self._plan.function), arguments)] if arguments else []
            return OutputMessage(reasoning, None, calls)
        if mode == "required":
            assert self._scanner is not None
            self._scanner.feed(content)
            calls = [
                self._call(c.name, "".join(c.arguments))
                for c in self._scanner.calls
                if c.name is not None
            ]
            return OutputMessage(reasoning, None, calls)
        assert self._tools is not None
        parsed = self._tools.parse(content)
        calls = [self._call(c.name, c.arguments) for c in parsed.calls]
        rest = parsed.content if not calls or (parsed.content or "").strip() else None
        return OutputMessage(reasoning, rest, calls)

    def _call(self, name: str, arguments: str) -> ToolCall:
        self.called = True
        return ToolCall(id=call_id(), function=FunctionCall(name=name, arguments=arguments))

    # --- deltas ---------------------------------------------------------------------------

    def feed(self, text: str, token_ids: Sequence[int], finished: bool) -> OutputDelta:
        out = OutputDelta()
        content = text
        if self._reasoning is not None:
            out.reasoning, content = self._reasoning.split_delta(text, token_ids)
        mode = self._plan.mode
        if mode == "plain":
            out.content = content
        elif mode == "named":
            self._named(content, out)
        elif mode == "required":
            assert self._scanner is not None
            for event in self._scanner.feed(content):
                self._event(event, out)
        else:
            self._auto(content, token_ids, finished, out)
        return out

    def _named(self, content: str, out: OutputDelta) -> None:
        # The arguments are the whole output, stripped as ``message`` strips it: leading
        # whitespace is dropped, trailing whitespace waits until more text follows it.
        self._text.append(content)
        arguments = "".join(self._text).strip()
        if not arguments:
            return
        if not self._ids:
            self._ids.append(call_id())
            out.calls.append(self._header(0, str(self._plan.function)))
        if len(arguments) > self._sent_args:
            fragment = arguments[self._sent_args :]
            self._sent_args = len(arguments)
            out.calls.append(DeltaToolCall(index=0, function=DeltaFunctionCall(arguments=fragment)))

    def _event(self, event: CallEvent, out: OutputDelta) -> None:
        index = event.index
        if event.name is not None:
            while len(self._ids) <= index:
                self._ids.append(call_id())
            out.calls.append(self._header(index, event.name))
            for fragment in self._pending.pop(index, []):
                out.calls.append(self._arguments(index, fragment))
        elif event.arguments:
            if index < len(self._ids):
                out.calls.append(self._arguments(index, event.arguments))
            else:
                self._pending.setdefault(index, []).append(event.arguments)

    def _auto(
        self, content: str, token_ids: Sequence[int], finished: bool, out: OutputDelta
    ) -> None:
        assert self._tools is not None
        self._text.append(content)
        if content:
            safe = self._tools.content_delta(content, token_ids)
            out.content = safe
            self._sent_content += len(safe)
        if not finished:
            return
        parsed = self._tools.parse("".join(self._text))
        rest = parsed.content or ""
        if not parsed.calls or rest.strip():
            # What the parser held back as a possible call is content after all.
            out.content += rest[self._sent_content :]
        for index, call in enumerate(parsed.calls):
            self._ids.append(call_id())
            out.calls.append(self._header(index, call.name))
            out.calls.append(self._arguments(index, call.arguments))

    def _header(self, index: int, name: str) -> DeltaToolCall:
        self.called = True
        return DeltaToolCall(
            index=index,
            id=self._ids[index],
            type="function",
            function=DeltaFunctionCall(name=name, arguments=""),
        )

    def _arguments(self, index: int, fragment: str) -> DeltaToolCall:
        return DeltaToolCall(index=index, function=DeltaFunctionCall(arguments=fragment))
