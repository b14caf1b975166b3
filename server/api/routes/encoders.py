"""Encoder endpoints: ``/v1/embeddings``, ``/v1/classify``, ``/v1/ner``, ``/v1/rerank``.

Each route: find the model, record what the request is about, run the service (cancelled if
the client leaves), return JSON. Responses are serialized once, by pydantic-core, without a
second validation pass (vectors are long lists of floats).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pydantic_core
from fastapi import APIRouter, Request, Response

from server.api.context import RequestInfo
from server.api.deps import InfoDep, LimitsDep, RegistryDep
from server.api.disconnect import CLIENT_CLOSED_STATUS, ClientDisconnected, cancel_on_disconnect
from server.api.limits import EncoderRequest, check_encoder
from server.encoders.classify import classify
from server.encoders.embed import embed
from server.encoders.model import EncoderModel
from server.encoders.ner import ner
from server.encoders.rerank import rerank
from server.encoders.tasks import Endpoint
from server.protocol.classify import ClassifyRequest, ClassifyResponse
from server.protocol.embeddings import EmbeddingRequest, EmbeddingResponse
from server.protocol.ner import NerRequest, NerResponse
from server.protocol.rerank import RerankRequest, RerankResponse
from server.registry import ModelRegistry
from server.scheduling import QueueOrder
from server.settings import RequestLimits

router = APIRouter(tags=["encoders"])

JSON = "application/json"
# Embeddings come as a plain dict: validating 384 floats per vector again would cost more
# than computing them in the API process.
Answer = ClassifyResponse | NerResponse | RerankResponse | dict[str, Any]


def _admit(
    registry: ModelRegistry,
    body: EncoderRequest,
    endpoint: Endpoint,
    info: RequestInfo,
    limits: RequestLimits,
) -> tuple[EncoderModel, QueueOrder]:
    """The encoder model for ``endpoint`` (404, 400 wrong task, 503 loading) and the queue
    order of a request within the limits (400 otherwise)."""
    model = registry.lookup(body.model, EncoderModel, endpoint.task)
    info.model, info.task, info.endpoint = model.name, model.task, endpoint.value
    model.require(endpoint)
    check_encoder(body, limits)
    return model, QueueOrder(body.priority, info.deadline)


async def _respond(request: Request, info: RequestInfo, work: Awaitable[Answer]) -> Response:
    """Run the service (cancelled if the client leaves) and serialize its answer once."""
    try:
        result = await cancel_on_disconnect(request, work)
    except ClientDisconnected:
        return Response(status_code=CLIENT_CLOSED_STATUS)
    if isinstance(result, dict):
        info.prompt_tokens = result["usage"]["prompt_tokens"]
        return Response(pydantic_core.to_json(result), media_type=JSON)
    info.prompt_tokens = result.usage.prompt_tokens
    return Response(result.model_dump_json(exclude_none=True), media_type=JSON)


@router.post("/v1/embeddings", response_model=EmbeddingResponse)
async def embeddings(
    body: EmbeddingRequest,
    request: Request,
    registry: RegistryDep,
    info: InfoDep,
    limits: LimitsDep,
) -> Response:
    """OpenAI embeddings: float or base64 vectors, optionally truncated to ``dimensions``."""
    model, order = _admit(registry, body, Endpoint.EMBEDDINGS, info, limits)
    return await _respond(request, info, embed(model, body, order))


@router.post("/v1/classify", response_model=ClassifyResponse)
async def classify_texts(
    body: ClassifyRequest, request: Request, registry: RegistryDep, info: InfoDep, limits: LimitsDep
) -> Response:
    """Label probabilities for each input (softmax, or sigmoid for multi-label models)."""
    model, order = _admit(registry, body, Endpoint.CLASSIFY, info, limits)
    return await _respond(request, info, classify(model, body, order))


@router.post("/v1/ner", response_model=NerResponse)
async def named_entities(
    body: NerRequest, request: Request, registry: RegistryDep, info: InfoDep, limits: LimitsDep
) -> Response:
    """Entities with character offsets, grouped as the token-classification pipeline does."""
    model, order = _admit(registry, body, Endpoint.NER, info, limits)
    return await _respond(request, info, ner(model, body, order))


@router.post("/v1/rerank", response_model=RerankResponse, response_model_exclude_none=True)
async def rerank_documents(
    body: RerankRequest, request: Request, registry: RegistryDep, info: InfoDep, limits: LimitsDep
) -> Response:
    """Documents by relevance: a cross-encoder's score or an embedding model's cosine."""
    model, order = _admit(registry, body, Endpoint.RERANK, info, limits)
    return await _respond(request, info, rerank(model, body, order))
