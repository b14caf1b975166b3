"""What every handler shares: its result, and the checks on ``inputs`` and ``parameters``
that answer a 400 naming the pipeline tag."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from server.core.context import RequestInfo
from server.core.errors import InvalidRequest
from server.core.limits import check_text, check_texts
from server.core.scheduling import QueueOrder
from server.core.settings import RequestLimits

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Answer:
    """A handler's result: the spec's output and the tokens counted."""

    body: Any
    prompt_tokens: int
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class TaskCall:
    """One task payload for a handler: the model (the kind the handler's task is served by:
    an EncoderModel, or a GenerationModel for the text tasks), the payload's ``inputs`` and
    ``parameters``, and the request's queue order, limits and record."""

    model: Any
    inputs: Any
    parameters: dict[str, Any]
    order: QueueOrder
    limits: RequestLimits
    info: RequestInfo


Run = Callable[[TaskCall], Awaitable[Answer]]


def parse(model: type[P], raw: dict[str, Any] | None, tag: str, param: str) -> P:
    """``raw`` as ``model``; a 400 naming the pipeline tag and the field otherwise."""
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(part) for part in error["loc"])
        where = f"{param}.{loc}" if loc else param
        raise InvalidRequest(f"{tag}: {where}: {error['msg']}", param=where) from None


def unsupported(tag: str, param: str, why: str) -> InvalidRequest:
    """A 400 for a spec parameter this server does not honour, naming the task."""
    return InvalidRequest(f"{tag}: parameters.{param} {why}", param=f"parameters.{param}")


def text_of(inputs: Any, tag: str, limits: RequestLimits) -> str:
    """The one text a task takes as ``inputs``."""
    if isinstance(inputs, str) and inputs:
        check_text("inputs", inputs, limits)
        return inputs
    raise InvalidRequest(
        f"this model serves {tag}: inputs must be a non-empty string", param="inputs"
    )


def texts_of(inputs: Any, tag: str, limits: RequestLimits) -> list[str]:
    """The texts of ``inputs``: a string, or a list of strings (one output each)."""
    if isinstance(inputs, str) and inputs:
        check_text("inputs", inputs, limits)
        return [inputs]
    if isinstance(inputs, list) and inputs and all(isinstance(t, str) and t for t in inputs):
        check_texts("inputs", inputs, limits)
        return inputs
    raise InvalidRequest(
        f"this model serves {tag}: inputs must be a non-empty string (or a list of them)",
        param="inputs",
    )
