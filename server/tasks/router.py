"""``POST /models/{name}``: the Hugging Face task API, one route over the handler table.

The model's configured task picks the handler (a model's pipeline tag, as on the Hub); the
lookup, the task check, the cancellation on disconnect and the error table are the ones of
every model route (:class:`~server.http.route.ModelRoute`, :func:`~server.http.route.respond`).
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi import APIRouter, Request, Response

from server.core.errors import InvalidRequest
from server.core.registry import ModelRegistry
from server.core.scheduling import QueueOrder
from server.core.settings import RequestLimits
from server.encoders.model import EncoderModel
from server.http.deps import InfoDep
from server.http.route import ModelRoute, json_response, respond
from server.tasks.common import Answer
from server.tasks.handlers import HANDLERS, TaskHandler
from server.tasks.protocol import TaskPayload

PATH = "/models"


def _handler(registry: ModelRegistry, name: str) -> TaskHandler:
    """The handler of the model's task; 404 unknown model, 400 a task without one."""
    model = registry.get(name)
    handler = HANDLERS.get(model.task)
    if handler is None:
        tags = ", ".join(h.pipeline_tag for h in HANDLERS.values())
        raise InvalidRequest(
            f"model '{name}' serves the '{model.task}' task; {PATH}/{{name}} serves models "
            f"of these Hugging Face tasks: {tags}",
            param="model",
            code="wrong_task",
        )
    return handler


def _parameters(handler: TaskHandler, payload: TaskPayload) -> dict[str, Any]:
    """The payload's parameters: under ``parameters``, and at the root where the spec puts
    them there; another key at the root is a 400 naming it."""
    extra = dict(payload.model_extra or {})
    if extra and not handler.root_parameters:
        name = next(iter(extra))
        raise InvalidRequest(
            f"{handler.pipeline_tag}: unknown field '{name}' (parameters go in 'parameters')",
            param=name,
        )
    return {**(payload.parameters or {}), **extra}


def tasks_router(registry: ModelRegistry, limits: RequestLimits) -> APIRouter:
    """The Hugging Face task API on ``registry``'s encoder models."""
    router = APIRouter(tags=["hugging face tasks"])

    @router.post(f"{PATH}/{{name:path}}")
    async def run_task(
        name: str, payload: TaskPayload, request: Request, info: InfoDep
    ) -> Response:
        """Run the model's task on a Hugging Face task payload (``inputs``, ``parameters``);
        the answer has the task spec's output shape (``[{"summary_text": ...}]``...)."""
        handler = _handler(registry, name)
        model = ModelRoute(registry, EncoderModel, handler.task, PATH).model(name, info)
        order = QueueOrder(0, info.deadline)
        work = handler.run(model, payload.inputs, _parameters(handler, payload), order, limits)

        def answer(result: Answer) -> Response:
            info.prompt_tokens = result.prompt_tokens
            info.completion_tokens = result.completion_tokens
            return json_response(pydantic_core.to_json(result.body))

        return await respond(request, work, answer)

    return router
