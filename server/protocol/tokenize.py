"""``/tokenize`` and ``/detokenize`` shapes (as vLLM's server has them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.protocol.generation import ChatMessage


class TokenizeRequest(BaseModel):
    """Either ``prompt`` (text) or ``messages`` (rendered with the chat template)."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1)
    prompt: str | None = None
    messages: list[ChatMessage] | None = Field(None, min_length=1)
    add_special_tokens: bool = True
    add_generation_prompt: bool = True
    continue_final_message: bool = False
    return_token_strs: bool = False

    @model_validator(mode="after")
    def _one_input(self) -> TokenizeRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' or 'messages'")
        return self


class TokenizeResponse(BaseModel):
    count: int
    max_model_len: int
    tokens: list[int]
    token_strs: list[str] | None = None


class DetokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1)
    tokens: list[int]


class DetokenizeResponse(BaseModel):
    prompt: str
