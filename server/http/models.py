"""``/v1/models``: every configured model with its tasks, context length and prompts."""

from __future__ import annotations

from fastapi import APIRouter

from server.core.registry import ServedModel, ServesSeveralTasks
from server.http.deps import RegistryDep, SettingsDep
from server.http.model_cards import ModelCard, ModelList

router = APIRouter(tags=["models"])


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
        prompts=prompts,
        max_model_len=model.max_context,
        ready=model.ready,
        runtime=model.runtime,
        capabilities=model.capabilities,
    )


@router.get("/v1/models", response_model=ModelList)
async def list_models(registry: RegistryDep, settings: SettingsDep) -> ModelList:
    owner = settings.owned_by
    return ModelList(data=[_card(m, owner) for m in registry])


@router.get("/v1/models/{model_id:path}", response_model=ModelCard)
async def get_model(model_id: str, registry: RegistryDep, settings: SettingsDep) -> ModelCard:
    return _card(registry.get(model_id), settings.owned_by)
