"""``/v1/completions`` as a request adapter of the generation pipeline."""

from __future__ import annotations

from server.core.errors import InvalidRequest
from server.generation.protocol import Completion, CompletionChoice, CompletionRequest, Usage
from server.generation.service.adapter import GatheredChoice, streams
from server.generation.service.params import completion_spec
from server.generation.service.prompts import PromptBuilder
from server.generation.service.responses import completion_logprobs
from server.generation.types import ChoiceDelta, SamplingSpec


class CompletionAdapter:
    """One completion request: each prompt its own engine request with ``n`` choices; with
    ``echo`` each choice starts with its prompt's text."""

    def __init__(self, request: CompletionRequest, model: str, request_id: str, created: int):
        self.request = request
        self._model = model
        self._id = f"cmpl-{request_id}"
        self._created = created
        self._echoes: list[str] = []
        self._offsets: list[int] = []
        self._pending_echo: list[bool] = []

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
        n = self.request.n
        per_choice = [self._echoes[i // n] for i in range(len(prompt_ids) * n)]
        self._offsets = [len(e) for e in per_choice]
        self._pending_echo = [bool(e) for e in per_choice]

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
                        completion_logprobs(c.logprobs, len(self._echoes[i // n]))
                        if with_logprobs
                        else None
                    ),
                    finish_reason=c.finish_reason,
                )
                for i, c in enumerate(choices)
            ],
            usage=usage,
        )

    def opening(self) -> list[Completion]:
        return []

    def chunk(self, index: int, prompt_index: int, delta: ChoiceDelta) -> Completion | None:
        text = delta.text
        if self._pending_echo[index]:
            text = self._echoes[prompt_index] + text
            self._pending_echo[index] = False
        if not (text or streams(delta)):
            return None
        logprobs = None
        if self.request.logprobs is not None:
            logprobs = completion_logprobs(delta.logprobs or [], self._offsets[index])
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
