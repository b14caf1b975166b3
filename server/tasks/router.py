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
from server.core.registry import ModelRegistry, ServedModel
from server.core.scheduling import QueueOrder
from server.core.settings import RequestLimits
from server.encoders.tasks.seq2seq import SUMMARIZE, TRANSLATE
from server.generation.model import GenerationModel
from server.http.deps import InfoDep
from server.http.route import json_response, respond
from server.tasks.common import Answer, TaskCall
from server.tasks.handlers import HANDLERS, TaskHandler
from server.tasks.protocol import TaskPayload
from server.tasks.text_routes import text_routes
from server.tasks.text_tasks import text_model

PATH = "/models"


def _task(model: ServedModel, parameters: dict[str, Any] | None) -> str:
    """The task whose handler answers: the model's configured one; a generative model with
    task prompts translates when the parameters name a target language, else summarizes."""
    if not isinstance(model, GenerationModel):
        return model.task
    tasks = model.tasks
    if TRANSLATE in tasks and ((parameters or {}).get("tgt_lang") or SUMMARIZE not in tasks):
        return TRANSLATE
    return SUMMARIZE if SUMMARIZE in tasks else model.task


def _handler(registry: ModelRegistry, name: str, payload: TaskPayload) -> TaskHandler:
    """The handler of the model's task; 404 unknown model, 400 a task without one."""
    model = registry.get(name)
    handler = HANDLERS.get(_task(model, payload.parameters))
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
    """The Hugging Face task API, and ``/v1/summarize`` and ``/v1/translate``, on
    ``registry``'s models."""
    router = APIRouter(tags=["hugging face tasks"])
    text_routes(router, registry, limits)

    @router.post(f"{PATH}/{{name:path}}")
    async def run_task(
        name: str, payload: TaskPayload, request: Request, info: InfoDep
    ) -> Response:
        """Run the model's task on a Hugging Face task payload (``inputs``, ``parameters``);
        the answer has the task spec's output shape (``[{"summary_text": ...}]``...)."""
        handler = _handler(registry, name, payload)
        model = await text_model(registry, name, handler.task, PATH, info)
        raw = _parameters(handler, payload)
        call = TaskCall(model, payload.inputs, raw, QueueOrder(0, info.deadline), limits, info)
        work = handler.run(call)

        def answer(result: Answer) -> Response:
            info.prompt_tokens = result.prompt_tokens
            info.completion_tokens = result.completion_tokens
            return json_response(pydantic_core.to_json(result.body))

        return await respond(request, work, answer)

    return router
