"""``/v1/models``: every configured model with its tasks, context length and prompts."""

from __future__ import annotations

from fastapi import APIRouter

from server.core.errors import ModelNotFound
from server.core.pipeline_tags import pipeline_tags
from server.core.registry import HasAdapters, ModelRegistry, ServedModel, ServesSeveralTasks
from server.http.deps import InfoDep
from server.http.model_cards import ModelCard, ModelList


def _card(model: ServedModel, owner: str, state: str) -> ModelCard:
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
        ready=state == "loaded",
        state=state,
        runtime=model.runtime,
        capabilities=model.capabilities,
        parent=model.parent if isinstance(model, HasAdapters) else None,
        root=model.root if isinstance(model, HasAdapters) else None,
    )


def models_router(registry: ModelRegistry, owner: str) -> APIRouter:
    """``/v1/models`` over ``registry``; ``owner`` is every card's ``owned_by``."""
    router = APIRouter(tags=["models"])

    @router.get("/v1/models", response_model=ModelList)
    async def list_models(info: InfoDep) -> ModelList:
        """Every configured model, loaded or not, that the request's key may use."""
        key = info.key
        return ModelList(
            data=[
                _card(m, owner, registry.state(m))
                for m in registry.listed()
                if key is None or key.allows(m.name)
            ]
        )

    @router.get("/v1/models/{model_id:path}", response_model=ModelCard)
    async def get_model(model_id: str, info: InfoDep) -> ModelCard:
        """One configured model (404 for an unknown name, or one the key may not use)."""
        if info.key is not None and not info.key.allows(model_id):
            raise ModelNotFound(model_id)
        model = registry.get(model_id)
        return _card(model, owner, registry.state(model))

    return router
