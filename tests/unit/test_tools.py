"""Tools in the chat service, without an engine: request checks, the forced-call JSON read
piece by piece, one choice's output streamed and whole, and the rendered conversation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from server.core.context import RequestInfo
from server.core.errors import InvalidRequest
from server.core.metrics import Metrics
from server.generation.protocol import ChatCompletion, ChatCompletionRequest, ChatMessage
from server.generation.service.forced_calls import ForcedCallScanner
from server.generation.service.output import ChoiceOutput, OutputDelta
from server.generation.service.pipeline import GenerationService
from server.generation.service.prompts import PromptBuilder, conversation_of, load_chat_template
from server.generation.service.tools import ToolPlan, plan_tools
from server.generation.types import ParsedToolCall, ParsedToolCalls
from tests.support.fakes import FakeTokenizer, ScriptedEngine

PARAMS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": PARAMS}},
    {"type": "function", "function": {"name": "get_time"}},
]


def request(**kwargs: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], **kwargs}
    )


def plan(parser: str | None = "hermes", **kwargs: Any) -> ToolPlan:
    return plan_tools(request(**kwargs), parser)


# --- request checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"tools": [{"type": "function", "function": {"name": "has space"}}]}, "tools"),
        ({"tools": [{"type": "function", "function": {"name": "x" * 65}}]}, "tools"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": 3}}}]},
            "tools",
        ),
        (
            {
                "tools": [
                    {"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}
                ]
            },
            "tools",
        ),
        ({"tools": [TOOLS[0], TOOLS[0]]}, "tools"),
        (
            {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "no"}}},
            "tool_choice",
        ),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": TOOLS, "functions": [{"name": "f"}]}, "functions"),
        ({"functions": [{"name": "f"}], "function_call": "sometimes"}, "function_call"),
    ],
)
def test_malformed_tools_are_400_naming_the_param(kwargs: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        plan(**kwargs)
    assert err.value.param == param


def test_auto_without_a_parser_names_the_missing_setting() -> None:
    with pytest.raises(InvalidRequest) as err:
        plan(None, tools=TOOLS, tool_choice="auto")
    assert err.value.param == "tool_choice" and "tool_call_parser" in err.value.message
    with pytest.raises(InvalidRequest) as default:
        plan(None, tools=TOOLS)  # 'auto' is the default with tools
    assert default.value.param == "tools"


def test_forced_choices_work_without_a_parser() -> None:
    named = plan(
        None, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}}
    )
    assert named.mode == "named" and named.schema == PARAMS and named.function == "get_weather"
    required = plan(None, tools=TOOLS, tool_choice="required")
    assert required.mode == "required" and required.schema is not None
    assert required.schema["type"] == "array" and required.schema["minItems"] == 1
    options = required.schema["items"]["anyOf"]
    assert [o["properties"]["name"]["enum"] for o in options] == [["get_weather"], ["get_time"]]
    # A function without parameters takes an empty object.
    assert options[1]["properties"]["arguments"] == {"type": "object", "properties": {}}
    single = plan(None, tools=TOOLS[:1], tool_choice="required", parallel_tool_calls=False)
    assert single.schema is not None and single.schema["type"] == "object"
    assert single.schema["required"] == ["name", "arguments"]


def test_none_renders_no_tools_and_reads_no_calls() -> None:
    none = plan(tools=TOOLS, tool_choice="none")
    assert none.mode == "plain" and none.rendered is None and not none.calls
    assert plan(tools=TOOLS).mode == "auto"


def test_deprecated_functions_map_onto_tools() -> None:
    mapped = plan(None, functions=[TOOLS[0]["function"]], function_call={"name": "get_weather"})
    assert mapped.mode == "named" and mapped.function == "get_weather"
    assert mapped.rendered is not None and mapped.rendered[0]["type"] == "function"


# --- the forced JSON, piece by piece ----------------------------------------------------------

OUTPUT = (
    '[{"name": "get_weather", "arguments": {"city": "Pa\\"ris", "n": [1, {"a": "}"}]}}, '
    '{"name":"get_time","arguments":{}}]'
)


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, len(OUTPUT)])
def test_scanner_reads_calls_split_anywhere(size: int) -> None:
    scanner = ForcedCallScanner(array=True)
    names: dict[int, str] = {}
    arguments: dict[int, str] = {}
    for piece in pieces(OUTPUT, size):
        for event in scanner.feed(piece):
            if event.name is not None:
                names[event.index] = event.name
            arguments[event.index] = arguments.get(event.index, "") + event.arguments
    assert names == {0: "get_weather", 1: "get_time"}
    assert arguments[0] == '{"city": "Pa\\"ris", "n": [1, {"a": "}"}]}'
    assert arguments[1] == "{}"
    assert json.loads(arguments[0])["city"] == 'Pa"ris'


def test_scanner_reads_one_object_when_not_parallel() -> None:
    scanner = ForcedCallScanner(array=False)
    scanner.feed('{"name": "get_time", ')
    scanner.feed('"arguments": {"tz": "UTC"}}')
    assert [(c.name, "".join(c.arguments)) for c in scanner.calls] == [
        ("get_time", '{"tz": "UTC"}')
    ]


# --- one choice, streamed and whole -----------------------------------------------------------


def streamed(output: ChoiceOutput, parts: Sequence[str]) -> list[OutputDelta]:
    return [output.feed(p, [i], i == len(parts) - 1) for i, p in enumerate(parts)]


def reassemble(deltas: list[OutputDelta]) -> tuple[list[tuple[str, str]], str, str]:
    calls: dict[int, list[str]] = {}
    for d in deltas:
        for call in d.calls:
            if call.id is not None:
                assert call.function.name is not None and call.index not in calls
                calls[call.index] = [call.function.name, ""]
            calls[call.index][1] += call.function.arguments or ""
    content = "".join(d.content for d in deltas)
    reasoning = "".join(d.reasoning for d in deltas)
    return [(n, a) for n, a in (calls[i] for i in sorted(calls))], content, reasoning


def whole(output: ChoiceOutput, text: str) -> list[tuple[str, str]]:
    return [(c.function.name, c.function.arguments) for c in output.message(text).calls]


@pytest.mark.parametrize("size", [1, 4, 100])
def test_required_stream_equals_the_whole_output(size: int) -> None:
    required = plan(None, tools=TOOLS, tool_choice="required")
    calls, content, _ = reassemble(
        streamed(ChoiceOutput(required, None, None), pieces(OUTPUT, size))
    )
    assert calls == whole(ChoiceOutput(required, None, None), OUTPUT)
    assert [n for n, _ in calls] == ["get_weather", "get_time"] and content == ""


def test_named_stream_strips_whitespace_as_the_whole_output_does() -> None:
    named = plan(
        None, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}}
    )
    parts = ["\n ", '{"city":', ' "Paris"', "}", "\n\n"]
    calls, _, _ = reassemble(streamed(ChoiceOutput(named, None, None), parts))
    assert calls == whole(ChoiceOutput(named, None, None), "".join(parts))
    assert calls == [("get_weather", '{"city": "Paris"}')]
    first = ChoiceOutput(named, None, None).feed("  ", [1], False)
    assert first.calls == []  # no call before its arguments begin


class FakeToolParser:
    """Calls written as 'CALL name args' lines; 'CALL' held back while it may start one."""

    def __init__(self) -> None:
        self.text = ""
        self.sent = 0

    def parse(self, text: str) -> ParsedToolCalls:
        head, marker, rest = text.partition("CALL ")
        if not marker:
            return ParsedToolCalls((), text)
        name, _, arguments = rest.partition(" ")
        try:
            json.loads(arguments)
        except json.JSONDecodeError:
            return ParsedToolCalls((), text)
        return ParsedToolCalls((ParsedToolCall(name, arguments),), head)

    def content_delta(self, text: str, token_ids: Sequence[int]) -> str:
        self.text += text
        end = self.text.find("CALL")
        if end < 0:  # hold back a tail that may be the start of the marker
            end = next(
                (
                    i
                    for i in range(max(0, len(self.text) - 3), len(self.text))
                    if "CALL".startswith(self.text[i:])
                ),
                len(self.text),
            )
        safe = self.text[:end]
        out, self.sent = safe[self.sent :], max(self.sent, len(safe))
        return out


def test_auto_streams_content_then_the_parsed_call() -> None:
    auto = plan(tools=TOOLS, tool_choice="auto")
    parts = ["Let me ", "check. CA", 'LL get_weather {"city": ', '"Paris"}']
    output = ChoiceOutput(auto, FakeToolParser(), None)
    deltas = streamed(output, parts)
    calls, content, _ = reassemble(deltas)
    assert content == "Let me check. " and output.called
    assert calls == [("get_weather", '{"city": "Paris"}')]
    message = ChoiceOutput(auto, FakeToolParser(), None).message("".join(parts))
    assert message.content == "Let me check. "
    assert [(c.function.name, c.function.arguments) for c in message.calls] == calls


def test_auto_with_a_malformed_call_answers_everything_as_content() -> None:
    auto = plan(tools=TOOLS, tool_choice="auto")
    parts = ["Sure: CALL ", 'get_weather {"city": ']
    output = ChoiceOutput(auto, FakeToolParser(), None)
    calls, content, _ = reassemble(streamed(output, parts))
    assert calls == [] and content == "".join(parts) and not output.called
    message = ChoiceOutput(auto, FakeToolParser(), None).message("".join(parts))
    assert message.calls == [] and message.content == "".join(parts)


class FakeReasoning:
    """Everything before '</think>' is thinking."""

    def __init__(self) -> None:
        self.text = ""

    def split(self, text: str) -> tuple[str | None, str | None]:
        reasoning, marker, content = text.partition("</think>")
        return (reasoning, content or None) if marker else (text, None)

    def split_delta(self, text: str, token_ids: Sequence[int]) -> tuple[str, str]:
        before = self.split(self.text)
        self.text += text
        after = self.split(self.text)
        return (after[0] or "")[len(before[0] or "") :], (after[1] or "")[len(before[1] or "") :]


def test_reasoning_is_split_before_content() -> None:
    output = ChoiceOutput(ToolPlan(), None, FakeReasoning())
    _, content, reasoning = reassemble(streamed(output, ["I think", "</think>", "Hello"]))
    assert (reasoning, content) == ("I think", "Hello")
    message = ChoiceOutput(ToolPlan(), None, FakeReasoning()).message("all thought")
    assert message.reasoning == "all thought" and message.content is None


# --- the conversation the template sees -------------------------------------------------------


def test_conversation_carries_calls_as_objects_and_names_results() -> None:
    messages = [
        ChatMessage.model_validate(m)
        for m in [
            {"role": "developer", "content": "be brief"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]
    ]
    system, assistant, tool = conversation_of(messages)
    assert system == {"role": "system", "content": "be brief"}
    assert assistant["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}
    assert tool == {
        "role": "tool",
        "content": "sunny",
        "tool_call_id": "call_1",
        "name": "get_weather",
    }


def test_malformed_messages_are_refused() -> None:
    with pytest.raises(ValueError, match="tool_call_id"):
        ChatMessage.model_validate({"role": "tool", "content": "x"})
    bad = ChatMessage.model_validate(
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{no"}}
            ],
        }
    )
    with pytest.raises(InvalidRequest) as err:
        conversation_of([bad])
    assert err.value.param == "messages"


def test_bundled_templates_resolve_by_name() -> None:
    template = load_chat_template("bundled-template:chatml_tools.jinja")
    assert template is not None and "<tool_call>" in template
    with pytest.raises(ValueError, match=r"chatml_tools\.jinja"):
        load_chat_template("bundled-template:missing.jinja")


# --- through the pipeline ---------------------------------------------------------------------


def service(pieces: list[str]) -> tuple[GenerationService, ScriptedEngine]:
    engine = ScriptedEngine(pieces)
    prompts = PromptBuilder(FakeTokenizer(), None)
    return GenerationService("m", engine, prompts, Metrics(), max_in_flight=4), engine


def info() -> RequestInfo:
    return RequestInfo(request_id="rid", model="m", task="generate", endpoint="/x")


async def test_named_choice_forces_the_schema_and_streams_header_first() -> None:
    pieces = ['{"city"', ': "Paris"}']
    named = {"type": "function", "function": {"name": "get_weather"}}
    svc, engine = service(pieces)
    reply = await svc.chat(request(tools=TOOLS, tool_choice=named), info())
    assert isinstance(reply, ChatCompletion)
    choice = reply.choices[0]
    # OpenAI ends a turn whose tool_choice named the function with 'stop'.
    assert choice.finish_reason == "stop" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.id.startswith("call_") and call.function.arguments == '{"city": "Paris"}'
    assert engine.requests[0][2].json_schema == PARAMS
    assert reply.usage.completion_tokens == 2
    stream = await svc.chat(request(tools=TOOLS, tool_choice=named, stream=True), info())
    chunks = [c async for c in stream]  # type: ignore[union-attr]
    deltas = [c.choices[0].delta for c in chunks[1:]]
    header = deltas[0].tool_calls[0]  # type: ignore[index]
    assert header.id and header.function.name == "get_weather" and header.function.arguments == ""
    fragments = [d.tool_calls[0].function.arguments for d in deltas[1:] if d.tool_calls]
    assert "".join(f or "" for f in fragments) == call.function.arguments
    assert chunks[-1].choices[0].finish_reason == "stop"
    dumped = json.loads(chunks[2].model_dump_json())["choices"][0]["delta"]
    assert dumped["tool_calls"] == [{"index": 0, "function": {"arguments": '{"city"'}}]


async def test_forced_calls_refuse_a_response_format() -> None:
    svc, engine = service(["{}"])
    with pytest.raises(InvalidRequest) as err:
        await svc.chat(
            request(tools=TOOLS, tool_choice="required", response_format={"type": "json_object"}),
            info(),
        )
    assert err.value.param == "response_format" and engine.requests == []


async def test_reasoning_effort_needs_a_reasoning_parser() -> None:
    svc, engine = service(["x"])
    with pytest.raises(InvalidRequest) as err:
        await svc.chat(request(reasoning_effort="high"), info())
    assert err.value.param == "reasoning_effort" and engine.requests == []


async def test_tools_and_effort_reach_the_template() -> None:
    seen: dict[str, Any] = {}

    class Recording(FakeTokenizer):
        def apply_chat_template(self, conversation: list[dict[str, str]], **kwargs: Any) -> str:
            seen.update(kwargs)
            return super().apply_chat_template(conversation, **kwargs)

    class Parsers:
        tool_call_parser = None
        reasoning_parser = "qwen3"

        def tool_calls(self, tools: list[dict[str, Any]]) -> Any:
            raise AssertionError("no auto here")

        def reasoning(self) -> FakeReasoning:
            return FakeReasoning()

    engine = ScriptedEngine(["hm</think>", "Hi"])
    svc = GenerationService(
        "m", engine, PromptBuilder(Recording(), None), Metrics(), 4, parsers=Parsers()
    )
    reply = await svc.chat(
        request(reasoning_effort="low", tools=TOOLS, tool_choice="required"), info()
    )
    assert (
        seen["reasoning_effort"] == "low" and seen["tools"][0]["function"]["name"] == "get_weather"
    )
    assert isinstance(reply, ChatCompletion)
    plain = await svc.chat(request(), info())
    assert isinstance(plain, ChatCompletion)
    assert plain.choices[0].message.reasoning_content == "hm"
    assert plain.choices[0].message.content == "Hi"
