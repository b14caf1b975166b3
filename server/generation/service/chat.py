"""``/v1/chat/completions`` as a request adapter of the generation pipeline."""

from __future__ import annotations

from server.generation.protocol import (
    AssistantMessage,
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatDelta,
    Usage,
)
from server.generation.service.adapter import GatheredChoice, streams
from server.generation.service.params import chat_spec
from server.generation.service.prompts import PromptBuilder
from server.generation.service.responses import chat_logprobs
from server.generation.types import ChoiceDelta, SamplingSpec, TokenInfo


class ChatAdapter:
    """One chat request: messages through the chat template, one engine request with ``n``."""

    def __init__(
        self, request: ChatCompletionRequest, model: str, request_id: str, created: int
    ) -> None:
        self.request = request
        self._model = model
        self._id = f"chatcmpl-{request_id}"
        self._created = created

    def prompt_ids(self, prompts: PromptBuilder) -> list[list[int]]:
        request = self.request
        ids = prompts.chat(
            request.messages,
            add_generation_prompt=request.add_generation_prompt,
            continue_final_message=request.continue_final_message,
            template_kwargs=request.chat_template_kwargs,
        )
        return [ids]

    def spec(self, prompt_tokens: int, max_model_len: int, cap: int) -> SamplingSpec:
        return chat_spec(self.request, prompt_tokens, max_model_len, cap)

    def prepare(self, prompts: PromptBuilder, prompt_ids: list[list[int]]) -> None:
        pass

    def on_prompt_logprobs(self, prompt_index: int, tokens: list[TokenInfo | None]) -> None:
        pass  # chat never asks for the prompt's logprobs

    def response(self, choices: list[GatheredChoice], usage: Usage) -> ChatCompletion:
        return ChatCompletion(
            id=self._id,
            created=self._created,
            model=self._model,
            choices=[
                ChatChoice(
                    index=i,
                    message=AssistantMessage(content="".join(c.text)),
                    logprobs=chat_logprobs(c.logprobs) if self.request.logprobs else None,
                    finish_reason=c.finish_reason,
                )
                for i, c in enumerate(choices)
            ],
            usage=usage,
        )

    def _chunk(self, choices: list[ChatChunkChoice]) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=self._id, created=self._created, model=self._model, choices=choices
        )

    def opening(self) -> list[ChatCompletionChunk]:
        role = ChatDelta(role="assistant", content="")
        return [self._chunk([ChatChunkChoice(index=i, delta=role)]) for i in range(self.request.n)]

    def chunk(
        self, index: int, prompt_index: int, delta: ChoiceDelta
    ) -> ChatCompletionChunk | None:
        if not streams(delta):
            return None
        logprobs = chat_logprobs(delta.logprobs or []) if self.request.logprobs else None
        choice = ChatChunkChoice(
            index=index,
            delta=ChatDelta(content=delta.text),
            logprobs=logprobs,
            finish_reason=delta.finish_reason,
        )
        return self._chunk([choice])

    def with_usage(self, chunk: ChatCompletionChunk, usage: Usage) -> ChatCompletionChunk:
        chunk.usage = usage
        return chunk

    def usage_chunk(self, usage: Usage) -> ChatCompletionChunk:
        return self.with_usage(self._chunk([]), usage)
