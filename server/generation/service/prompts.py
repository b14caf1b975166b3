"""Prompts as token ids: chat templates for messages, plain tokenization for completions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.core.errors import InvalidRequest
from server.generation.protocol import ChatMessage

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
    """A template given inline or as a path to a file (a value naming a file is read)."""
    if value is None:
        return None
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
    ) -> list[int]:
        """Token ids of the rendered conversation."""
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
        conversation = [
            {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
            for m in messages
        ]
        extra = _checked_template_kwargs(template_kwargs)
        try:
            text = self.tokenizer.apply_chat_template(
                conversation,
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
                continue_final_message=continue_final_message,
                chat_template=self.chat_template,
                **extra,
            )
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
