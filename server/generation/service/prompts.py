"""Prompts as token ids: chat templates for messages, plain tokenization for completions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from server.core.errors import InvalidRequest
from server.generation.protocol import ChatMessage

BUNDLED_TEMPLATE_PREFIX = "bundled-template:"
# Templates shipped with the server (package data), named by ``bundled-template:NAME``, so
# that a config file copied anywhere (e.g. /etc/inference/config.yaml) still finds them.
BUNDLED_TEMPLATES = Path(__file__).parents[2] / "configs"

# Keys of ``chat_template_kwargs`` that would change how we render or tokenize, or let a
# client supply template code; the rest are passed to the template as plain variables.
_RESERVED_TEMPLATE_KWARGS = frozenset(
    {
        "chat_template",
        "tokenize",
        "return_dict",
        "tools",
        "documents",
        "conversation",
        "messages",
        "add_generation_prompt",
        "continue_final_message",
        "padding",
        "truncation",
        "max_length",
        "return_tensors",
        "return_assistant_tokens_mask",
        "tokenizer_kwargs",
    }
)
_MAX_TEMPLATE_KWARGS = 16


def load_chat_template(value: str | None) -> str | None:
    """A template given inline, as a path to a file (a value naming a file is read), or as
    ``bundled-template:NAME`` (a file shipped in ``server/configs/``)."""
    if value is None:
        return None
    if value.startswith(BUNDLED_TEMPLATE_PREFIX):
        name = value[len(BUNDLED_TEMPLATE_PREFIX) :]
        path = BUNDLED_TEMPLATES / name
        if "/" in name or not name.endswith(".jinja") or not path.is_file():
            known = sorted(p.name for p in BUNDLED_TEMPLATES.glob("*.jinja"))
            raise ValueError(f"unknown bundled chat template {name!r}; known: {known}")
        return path.read_text()
    if "{" not in value and Path(value).expanduser().is_file():
        return Path(value).expanduser().read_text()
    return value


class PromptBuilder:
    """Turns requests into token ids with the model's Hugging Face tokenizer."""

    def __init__(self, tokenizer: Any, chat_template: str | None) -> None:
        self.tokenizer = tokenizer
        self.chat_template = chat_template
        self.vocab_size = len(tokenizer)

    def chat(
        self,
        messages: list[ChatMessage],
        *,
        add_generation_prompt: bool,
        continue_final_message: bool,
        template_kwargs: dict[str, Any] | None,
        tools: list[dict[str, Any]] | None = None,
        reasoning_effort: str | None = None,
    ) -> list[int]:
        """Token ids of the rendered conversation (with ``tools`` offered to the model)."""
        if continue_final_message and add_generation_prompt:
            raise InvalidRequest(
                "continue_final_message and add_generation_prompt cannot both be true",
                param="continue_final_message",
            )
        if continue_final_message and messages[-1].role != "assistant":
            raise InvalidRequest(
                "continue_final_message needs a final assistant message",
                param="continue_final_message",
            )
        conversation = conversation_of(messages)
        extra = _checked_template_kwargs(template_kwargs)
        if tools is not None:
            extra["tools"] = tools
        if reasoning_effort is not None:
            # As vLLM passes it: a template variable that thinking templates read.
            extra["reasoning_effort"] = reasoning_effort
        try:
            text = self.tokenizer.apply_chat_template(
                conversation,
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
                continue_final_message=continue_final_message,
                chat_template=self.chat_template,
                **extra,
            )
        except (TemplateError, TypeError) as exc:
            # A template that cannot render this conversation (e.g. one that rejects a role)
            # is the request's problem to fix, not a server error.
            raise InvalidRequest(
                f"the chat template cannot render these messages: {exc}", param="messages"
            ) from exc
        except ValueError as exc:
            # Transformers raises ValueError when the model ships no chat template.
            raise InvalidRequest(
                f"this model cannot render chat messages: {exc}", param="messages"
            ) from exc
        # The template already places special tokens (BOS etc.) where the model wants them.
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def text(self, prompt: str) -> list[int]:
        """Token ids of a completion prompt (with the model's usual special tokens)."""
        return self.encode(prompt, add_special_tokens=True)

    def encode(self, text: str, *, add_special_tokens: bool) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=add_special_tokens))

    def token_strings(self, ids: list[int]) -> list[str]:
        return [str(t) for t in self.tokenizer.convert_ids_to_tokens(ids)]

    def check_ids(self, ids: list[int], param: str) -> list[int]:
        """Token ids given by the client, checked against the vocabulary."""
        if not ids:
            raise InvalidRequest("prompt must not be empty", param=param)
        bad = next((i for i in ids if not 0 <= i < self.vocab_size), None)
        if bad is not None:
            raise InvalidRequest(
                f"token id {bad} is outside the vocabulary (size {self.vocab_size})", param=param
            )
        return ids

    def decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=False))


def conversation_of(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Messages as chat templates take them (Transformers' shape, as vLLM renders them):
    ``developer`` as ``system``, call arguments as objects, tool results with their call's
    function name."""
    names: dict[str, str] = {}
    conversation: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        turn: dict[str, Any] = {
            "role": "system" if m.role == "developer" else m.role,
            "content": m.text(),
        }
        if m.tool_calls:
            turn["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {
                        "name": call.function.name,
                        "arguments": _arguments(call.function.arguments, i),
                    },
                }
                for call in m.tool_calls
            ]
            names.update({call.id: call.function.name for call in m.tool_calls})
        if m.role == "tool":
            turn["tool_call_id"] = m.tool_call_id
            name = m.name or names.get(m.tool_call_id or "")
            if name:
                turn["name"] = name
        conversation.append(turn)
    return conversation


def _arguments(arguments: str, index: int) -> Any:
    try:
        return json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        raise InvalidRequest(
            f"messages[{index}].tool_calls: arguments must be a JSON string", param="messages"
        ) from None


def _checked_template_kwargs(kwargs: dict[str, Any] | None) -> dict[str, Any]:
    if not kwargs:
        return {}
    if len(kwargs) > _MAX_TEMPLATE_KWARGS:
        raise InvalidRequest(
            f"at most {_MAX_TEMPLATE_KWARGS} chat_template_kwargs", param="chat_template_kwargs"
        )
    for key, value in kwargs.items():
        if key in _RESERVED_TEMPLATE_KWARGS or key.startswith("_"):
            raise InvalidRequest(
                f"chat_template_kwargs.{key} is not allowed", param="chat_template_kwargs"
            )
        if not isinstance(value, bool | int | float | str) or (
            isinstance(value, str) and len(value) > 1024
        ):
            raise InvalidRequest(
                f"chat_template_kwargs.{key} must be a short string, number or boolean",
                param="chat_template_kwargs",
            )
    return dict(kwargs)
