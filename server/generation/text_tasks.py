"""Summarize and translate on a generative model: each text becomes one chat completion whose
user message is the model's configured task prompt (``text_tasks``), served by the same
pipeline as ``/v1/chat/completions`` (admission, priority, deadline, cancellation, metrics)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from server.core.context import RequestInfo
from server.core.errors import InvalidRequest
from server.generation.model import GenerationModel
from server.generation.protocol import ChatCompletion, ChatCompletionRequest


@dataclass(frozen=True, slots=True)
class TextTaskResult:
    """One output per text, and the tokens counted."""

    texts: list[str]
    prompt_tokens: int
    completion_tokens: int


def task_prompt(model: GenerationModel, task: str, text: str, **languages: str) -> str:
    """The user message for ``text``: the model's prompt for ``task`` filled in."""
    prompts = model.config.text_tasks
    template = getattr(prompts, task, None) if prompts is not None else None
    if template is None:  # the registry's task check makes this unreachable from a route
        raise InvalidRequest(f"model '{model.name}' has no prompt for '{task}'", param="model")
    return str(template.format(text=text, **languages))


def _request(
    model: GenerationModel, prompt: str, sampling: dict[str, Any]
) -> ChatCompletionRequest:
    body = {"model": model.name, "messages": [{"role": "user", "content": prompt}], **sampling}
    try:
        return ChatCompletionRequest.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise InvalidRequest(f"{where}: {error['msg']}", param=where) from None


async def run_text_task(
    model: GenerationModel, prompts: list[str], sampling: dict[str, Any], info: RequestInfo
) -> TextTaskResult:
    """One chat completion per prompt (run concurrently), with ``sampling`` (the chat API's
    sampling fields: ``max_tokens``, ``temperature``...)."""
    if "max_tokens" not in sampling and model.config.text_tasks is not None:
        sampling = {**sampling, "max_tokens": model.config.text_tasks.max_tokens}
    requests = [_request(model, prompt, sampling) for prompt in prompts]
    results = await asyncio.gather(*(model.service.chat(r, info) for r in requests))
    texts, prompt_tokens, completion_tokens = [], 0, 0
    for result in results:
        assert isinstance(result, ChatCompletion)  # not streamed
        texts.append((result.choices[0].message.content or "").strip())
        prompt_tokens += result.usage.prompt_tokens
        completion_tokens += result.usage.completion_tokens
    return TextTaskResult(texts, prompt_tokens, completion_tokens)
