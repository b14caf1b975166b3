"""``/v1/completions`` as a request adapter of the generation pipeline."""

from __future__ import annotations

from server.core.errors import InvalidRequest
from server.generation.protocol import (
    Completion,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    Usage,
)
from server.generation.service.adapter import GatheredChoice, streams
from server.generation.service.logprobs import completion_logprobs, joined, prompt_logprobs
from server.generation.service.params import completion_spec
from server.generation.service.prompts import PromptBuilder
from server.generation.types import ChoiceDelta, SamplingSpec, TokenInfo


class CompletionAdapter:
    """One completion request: each prompt its own engine request with ``n`` choices; with
    ``echo`` each choice starts with its prompt's text (and, with ``logprobs``, its logprobs
    start with the prompt tokens')."""

    def __init__(self, request: CompletionRequest, model: str, request_id: str, created: int):
        self.request = request
        self._model = model
        self._id = f"cmpl-{request_id}"
        self._created = created
        self._echoes: list[str] = []
        self._offsets: list[int] = []
        self._pending_echo: list[bool] = []
        self._first_tokens: list[str] = []
        self._prompt_logprobs: dict[int, CompletionLogprobs] = {}

    def prompt_ids(self, prompts: PromptBuilder) -> list[list[int]]:
        prompt = self.request.prompt
        if isinstance(prompt, str):
            ids: list[list[int]] = [prompts.text(prompt)]
        elif not prompt:
            raise InvalidRequest("prompt must not be empty", param="prompt")
        elif isinstance(prompt[0], int):
            ids = [prompts.check_ids(list(prompt), "prompt")]
        elif isinstance(prompt[0], str):
            ids = [prompts.text(p) for p in prompt]
        else:
            ids = [prompts.check_ids(list(p), "prompt") for p in prompt]
        if any(not p for p in ids):
            raise InvalidRequest("prompt must not be empty", param="prompt")
        return ids

    def spec(self, prompt_tokens: int, max_model_len: int, cap: int) -> SamplingSpec:
        return completion_spec(self.request, prompt_tokens, max_model_len, cap)

    def prepare(self, prompts: PromptBuilder, prompt_ids: list[list[int]]) -> None:
        echo = self.request.echo
        self._echoes = [prompts.decode(ids) if echo else "" for ids in prompt_ids]
        if echo and self.request.logprobs is not None:  # only then do prompt logprobs come
            self._first_tokens = [prompts.decode(ids[:1]) for ids in prompt_ids]
        n = self.request.n
        per_choice = [self._echoes[i // n] for i in range(len(prompt_ids) * n)]
        self._offsets = [len(e) for e in per_choice]
        self._pending_echo = [bool(e) for e in per_choice]

    def on_prompt_logprobs(self, prompt_index: int, tokens: list[TokenInfo | None]) -> None:
        """The prompt's own logprobs (echo with logprobs); the echoed text becomes the text of
        these tokens, so that ``text_offset`` indexes it exactly."""
        scored = prompt_logprobs(self._first_tokens[prompt_index], tokens)
        self._prompt_logprobs[prompt_index] = scored
        echo = "".join(scored.tokens)
        self._echoes[prompt_index] = echo
        n = self.request.n
        for index in range(prompt_index * n, (prompt_index + 1) * n):
            self._offsets[index] = len(echo)

    def _logprobs(
        self, prompt_index: int, tokens: list[TokenInfo], offset: int, first: bool
    ) -> CompletionLogprobs:
        generated = completion_logprobs(tokens, offset)
        scored = self._prompt_logprobs.get(prompt_index)
        return joined(scored, generated) if first and scored is not None else generated

    def response(self, choices: list[GatheredChoice], usage: Usage) -> Completion:
        n = self.request.n
        with_logprobs = self.request.logprobs is not None
        return Completion(
            id=self._id,
            created=self._created,
            model=self._model,
            choices=[
                CompletionChoice(
                    index=i,
                    text=self._echoes[i // n] + "".join(c.text),
                    logprobs=(
                        self._logprobs(i // n, c.logprobs, len(self._echoes[i // n]), True)
                        if with_logprobs
                        else None
                    ),
                    finish_reason=c.finish_reason,
                )
                for i, c in enumerate(choices)
            ],
            usage=usage,
        )

    def opening(self, usage: Usage) -> list[Completion]:
        return []

    def chunk(self, index: int, prompt_index: int, delta: ChoiceDelta) -> Completion | None:
        text = delta.text
        first = self._pending_echo[index]
        if first:
            text = self._echoes[prompt_index] + text
            self._pending_echo[index] = False
        if not (text or streams(delta)):
            return None
        logprobs = None
        if self.request.logprobs is not None:
            tokens = delta.logprobs or []
            logprobs = self._logprobs(prompt_index, tokens, self._offsets[index], first)
            self._offsets[index] += len(delta.text)
        choice = CompletionChoice(
            index=index, text=text, logprobs=logprobs, finish_reason=delta.finish_reason
        )
        return Completion(id=self._id, created=self._created, model=self._model, choices=[choice])

    def with_usage(self, chunk: Completion, usage: Usage) -> Completion:
        chunk.usage = usage
        return chunk

    def usage_chunk(self, usage: Usage) -> Completion:
        return Completion(
            id=self._id, created=self._created, model=self._model, choices=[], usage=usage
        )
