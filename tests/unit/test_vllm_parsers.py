"""vLLM's own tool and reasoning parsers behind our interface, on the bundled model's real
tokenizer: markers split across stream deltas, malformed calls, bad configuration."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from server.generation.engine.parsers import VllmOutputParsers
from server.generation.protocol import ChatCompletionRequest
from server.generation.service.output import ChoiceOutput
from server.generation.service.tools import plan_tools

MODEL_DIR = Path(os.environ.get("INFERENCE_MODELS_DIR", "models")) / "smollm2-135m-instruct"
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    if not MODEL_DIR.is_dir():
        pytest.skip(f"the bundled model is not prepared in {MODEL_DIR}")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(MODEL_DIR)


@pytest.fixture(scope="module")
def parsers(tokenizer: Any) -> VllmOutputParsers:
    return VllmOutputParsers("m", tokenizer, "hermes", "qwen3")


def auto_output(parsers: VllmOutputParsers, reasoning: bool = False) -> ChoiceOutput:
    request = ChatCompletionRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": TOOLS}
    )
    plan = plan_tools(request, parsers.tool_call_parser)
    return ChoiceOutput(
        plan, parsers.tool_calls(plan.tools), parsers.reasoning() if reasoning else None
    )


def run(
    output: ChoiceOutput, tokenizer: Any, parts: list[str]
) -> tuple[list[tuple[str, str]], str, str]:
    calls: dict[int, list[str]] = {}
    content = reasoning = ""
    for i, part in enumerate(parts):
        ids = tokenizer.encode(part, add_special_tokens=False)
        delta = output.feed(part, ids, i == len(parts) - 1)
        content += delta.content
        reasoning += delta.reasoning
        for call in delta.calls:
            if call.id is not None:
                calls[call.index] = [call.function.name or "", ""]
            calls[call.index][1] += call.function.arguments or ""
    return [(n, a) for n, a in calls.values()], content, reasoning


def chars(text: str) -> list[str]:
    return list(text)


@pytest.mark.parametrize("split", [chars, lambda t: [t[:5], t[5:13], t[13:]], lambda t: [t]])
def test_hermes_call_split_anywhere_equals_the_whole_parse(
    parsers: VllmOutputParsers, tokenizer: Any, split: Any
) -> None:
    text = "Checking. " + CALL
    calls, content, _ = run(auto_output(parsers), tokenizer, split(text))
    message = auto_output(parsers).message(text)
    assert calls == [(c.function.name, c.function.arguments) for c in message.calls]
    assert calls == [("get_weather", '{"city": "Paris"}')]
    assert content == message.content == "Checking. "


def test_hermes_invalid_json_is_plain_content(parsers: VllmOutputParsers, tokenizer: Any) -> None:
    text = 'Sure <tool_call>\n{"name": "get_weather", "arguments": {"city": Paris}}\n</tool_call>'
    calls, content, _ = run(auto_output(parsers), tokenizer, chars(text))
    assert calls == [] and content == text
    message = auto_output(parsers).message(text)
    assert message.calls == [] and message.content == text


def test_qwen3_reasoning_split_across_deltas(parsers: VllmOutputParsers, tokenizer: Any) -> None:
    text = "The user greets me.</think>Hello!"
    plain = plan_tools(
        ChatCompletionRequest.model_validate(
            {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        ),
        None,
    )
    for parts in (chars(text), ["The user gre", "ets me.</th", "ink>Hel", "lo!"]):
        _, content, reasoning = run(
            ChoiceOutput(plain, None, parsers.reasoning()), tokenizer, parts
        )
        assert (reasoning, content) == ("The user greets me.", "Hello!")
    message = ChoiceOutput(plain, None, parsers.reasoning()).message(text)
    assert (message.reasoning, message.content) == ("The user greets me.", "Hello!")


def test_reasoning_then_a_call(parsers: VllmOutputParsers, tokenizer: Any) -> None:
    text = "I need the weather.</think>" + CALL
    calls, content, reasoning = run(auto_output(parsers, reasoning=True), tokenizer, chars(text))
    assert reasoning == "I need the weather."
    assert calls == [("get_weather", '{"city": "Paris"}')] and content.strip() == ""


def test_unknown_parser_names_the_known_ones(tokenizer: Any) -> None:
    with pytest.raises(ValueError, match="hermes") as err:
        VllmOutputParsers("m", tokenizer, "no-such-parser", None)
    assert "models[m].tool_call_parser" in str(err.value)
    with pytest.raises(ValueError, match="qwen3"):
        VllmOutputParsers("m", tokenizer, None, "no-such-parser")


def test_parser_for_another_tokenizer_is_a_config_error(tokenizer: Any) -> None:
    # deepseek_r1 needs <think> as one token; SmolLM2 has none.
    with pytest.raises(ValueError, match="does not fit"):
        VllmOutputParsers("m", tokenizer, None, "deepseek_r1")
