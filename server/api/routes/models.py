"""``/v1/models``: every configured model with its task and context length."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.deps import RegistryDep, SettingsDep
from server.errors import ModelNotFound
from server.protocol.models import ModelCard, ModelList
from server.registry import ServedModel

router = APIRouter(tags=["models"])


def _card(model: ServedModel, owner: str) -> ModelCard:
    return ModelCard(
        id=model.name,
        created=model.created,
        owned_by=owner,
        task=model.task,
        max_model_len=model.max_context,
        ready=model.ready,
    )


@router.get("/v1/models", response_model=ModelList)
async def list_models(registry: RegistryDep, settings: SettingsDep) -> ModelList:
    owner = settings.owned_by
    return ModelList(data=[_card(m, owner) for m in registry])


@router.get("/v1/models/{model_id:path}", response_model=ModelCard)
async def get_model(model_id: str, registry: RegistryDep, settings: SettingsDep) -> ModelCard:
    owner = settings.owned_by
    for model in registry:
        if model.name == model_id:
            return _card(model, owner)
    raise ModelNotFound(model_id)
