"""A chat request's tools: checked, and turned into what the prompt and the sampler need.

``tool_choice`` decides how calls are made:

- ``none``: the model answers in plain text; the tools are not rendered into the prompt.
- ``auto``: the model writes calls in its own format (rendered by its chat template) and
  the model's ``tool_call_parser`` finds them.
- ``required`` and a named function: the output is forced by structured outputs to JSON
  built from the tools' schemas (the arguments object itself for a named function; an array
  of ``{"name", "arguments"}`` objects for ``required``, or one such object when
  ``parallel_tool_calls`` is false), so the arguments always parse and match the schema,
  whatever the model.

The deprecated ``functions`` / ``function_call`` map onto ``tools`` / ``tool_choice``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import ValidationError

from server.core.errors import InvalidRequest
from server.generation.protocol import ChatCompletionRequest, NamedToolChoice, Tool

ToolMode = Literal["plain", "auto", "required", "named"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# An empty or missing ``parameters`` means a function without arguments (OpenAI's rule).
_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class ToolPlan:
    """What one chat request does with tools."""

    mode: ToolMode = "plain"
    tools: list[dict[str, Any]] = field(default_factory=list)  # OpenAI tool objects
    rendered: list[dict[str, Any]] | None = None  # the tools the chat template sees
    schema: dict[str, Any] | None = None  # the forced output (required and named)
    function: str | None = None  # the named function
    parallel: bool = True

    @property
    def calls(self) -> bool:
        """Whether the output is read for tool calls."""
        return self.mode != "plain"


def plan_tools(request: ChatCompletionRequest, auto_parser: str | None) -> ToolPlan:
    """The request's ``ToolPlan``; a 400 naming the parameter for anything malformed.

    ``auto_parser`` is the model's ``tool_call_parser``: without it ``auto`` cannot be read.
    """
    tools, choice = _tools_and_choice(request)
    if not tools:
        if choice not in (None, "none"):
            raise InvalidRequest("tool_choice needs tools", param="tool_choice")
        return ToolPlan()
    parameters = {t.function.name: _parameters(t, i) for i, t in enumerate(tools)}
    if len(parameters) != len(tools):
        raise InvalidRequest("tool function names must be unique", param="tools")
    objects = [_tool_object(t, parameters[t.function.name]) for t in tools]
    parallel = request.parallel_tool_calls is not False
    if choice == "none":
        return ToolPlan("plain", objects, parallel=parallel)
    if isinstance(choice, NamedToolChoice):
        name = choice.function.name
        if name not in parameters:
            raise InvalidRequest(
                f"tool_choice names function '{name}', which is not in tools", param="tool_choice"
            )
        return ToolPlan("named", objects, objects, parameters[name], name, parallel)
    if choice == "required":
        schema = required_schema(parameters, parallel)
        return ToolPlan("required", objects, objects, schema, None, parallel)
    if auto_parser is None:
        # 'auto' is also the default with tools: name what the client actually sent.
        raise InvalidRequest(
            f"tool_choice 'auto' needs the model's own tool-call format: model '{request.model}' "
            "has no tool_call_parser in its config (use tool_choice 'required' or a named "
            "function, which work on every model)",
            param="tool_choice" if request.tool_choice or request.function_call else "tools",
        )
    return ToolPlan("auto", objects, objects, parallel=parallel)


def required_schema(parameters: dict[str, dict[str, Any]], parallel: bool) -> dict[str, Any]:
    """The forced output of ``required``: calls of the given functions, ``name`` first."""
    calls = [
        {
            "type": "object",
            "properties": {"name": {"type": "string", "enum": [name]}, "arguments": schema},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for name, schema in parameters.items()
    ]
    call = calls[0] if len(calls) == 1 else {"anyOf": calls}
    if not parallel:
        return call
    return {"type": "array", "items": call, "minItems": 1}


def _tools_and_choice(request: ChatCompletionRequest) -> tuple[list[Tool], Any]:
    if request.functions is None and request.function_call is None:
        return request.tools or [], request.tool_choice
    if request.tools is not None or request.tool_choice is not None:
        raise InvalidRequest(
            "send tools/tool_choice or the deprecated functions/function_call, not both",
            param="functions",
        )
    try:
        tools = [
            Tool.model_validate({"type": "function", "function": f})
            for f in request.functions or []
        ]
    except ValidationError as exc:
        raise InvalidRequest(f"functions: {exc.errors()[0]['msg']}", param="functions") from None
    call = request.function_call
    if isinstance(call, dict) and set(call) == {"name"}:
        return tools, NamedToolChoice.model_validate({"type": "function", "function": call})
    if call in (None, "auto", "none"):
        return tools, call
    raise InvalidRequest(
        "function_call must be 'none', 'auto' or {\"name\": ...}", param="function_call"
    )


def _parameters(tool: Tool, index: int) -> dict[str, Any]:
    function = tool.function
    if not _NAME.match(function.name):
        raise InvalidRequest(
            f"tools[{index}].function.name must be 1 to 64 letters, digits, '_' or '-': "
            f"{function.name!r}",
            param="tools",
        )
    schema = function.parameters or _NO_PARAMETERS
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidRequest(
            f"tools[{index}].function.parameters is not a valid JSON Schema: {exc.message}",
            param="tools",
        ) from None
    if schema.get("type", "object") != "object":
        raise InvalidRequest(
            f"tools[{index}].function.parameters must describe an object (type 'object')",
            param="tools",
        )
    # The forced output must be an object even where the schema leaves the type open.
    return schema if "type" in schema else {**schema, "type": "object"}


def _tool_object(tool: Tool, parameters: dict[str, Any]) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.function.name, "parameters": parameters}
    if tool.function.description is not None:
        function["description"] = tool.function.description
    return {"type": "function", "function": function}
