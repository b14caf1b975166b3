"""``/v1/models``: every configured model with its tasks, context length and prompts."""

from __future__ import annotations

from fastapi import APIRouter

from server.core.pipeline_tags import pipeline_tags
from server.core.registry import ModelRegistry, ServedModel, ServesSeveralTasks
from server.http.model_cards import ModelCard, ModelList


def _card(model: ServedModel, owner: str) -> ModelCard:
    tasks, prompts = [model.task], None
    if isinstance(model, ServesSeveralTasks):
        tasks, prompts = list(model.tasks), model.prompts
    return ModelCard(
        id=model.name,
        created=model.created,
        owned_by=owner,
        task=model.task,
        tasks=tasks,
        pipeline_tags=pipeline_tags(tasks),
        prompts=prompts,
        max_model_len=model.max_context,
        ready=model.ready,
        runtime=model.runtime,
        capabilities=model.capabilities,
    )


def models_router(registry: ModelRegistry, owner: str) -> APIRouter:
    """``/v1/models`` over ``registry``; ``owner`` is every card's ``owned_by``."""
    router = APIRouter(tags=["models"])

    @router.get("/v1/models", response_model=ModelList)
    async def list_models() -> ModelList:
        """Every configured model, loaded or not."""
        return ModelList(data=[_card(m, owner) for m in registry])

    @router.get("/v1/models/{model_id:path}", response_model=ModelCard)
    async def get_model(model_id: str) -> ModelCard:
        """One configured model (404 for an unknown name)."""
        return _card(registry.get(model_id), owner)

    return router
