"""Encoder endpoints: ``/v1/embeddings``, ``/v2/embed``, ``/v1/classify``, ``/v1/ner``,
``/rerank``, ``/v1/rerank``, ``/v2/rerank``, ``/v1/score``, ``/v1/qa``, ``/v1/zero-shot`` and
``/v1/fill-mask`` (``/v1/summarize`` and
``/v1/translate``, served by encoder-decoder and generative models, are in ``server.tasks``).

One table says, per endpoint, its request and response models and its task service; one
handler serves them all: find the model and check it serves the endpoint, check the limits,
run the service (cancelled if the client leaves), serialize the answer once, with
pydantic-core and without a second validation pass (vectors are long lists of floats).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from server.core.registry import ModelRegistry
from server.core.scheduling import QueueOrder
from server.core.settings import RequestLimits
from server.encoders.limits import check_encoder
from server.encoders.model import EncoderModel
from server.encoders.protocol import (
    AnyEncoderRequest,
    ClassifyRequest,
    ClassifyResponse,
    CohereEmbedRequest,
    CohereEmbedResponse,
    CohereRerankRequest,
    CohereRerankResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    NerRequest,
    NerResponse,
    RerankRequest,
    RerankResponse,
    ScoreRequest,
    ScoreResponse,
)
from server.encoders.reading_protocol import (
    FillMaskRequest,
    FillMaskResponse,
    QaRequest,
    QaResponse,
    ReadingRequest,
    ZeroShotRequest,
    ZeroShotResponse,
)
from server.encoders.shared.endpoints import Endpoint
from server.encoders.tasks.classify import classify
from server.encoders.tasks.embed import cohere_embed, embed
from server.encoders.tasks.fill_mask import fill_mask
from server.encoders.tasks.ner import ner
from server.encoders.tasks.qa import qa
from server.encoders.tasks.reply import Reply
from server.encoders.tasks.rerank import cohere_rerank, rerank, score
from server.encoders.tasks.zero_shot import zero_shot
from server.http.fast_lane import LaneRoute
from server.http.request_context import request_info
from server.http.route import ModelRoute, json_response, respond

Service = Callable[[EncoderModel, Any, QueueOrder], Awaitable[Reply]]


@dataclass(frozen=True)
class EncoderRoute:
    """One encoder endpoint: what it accepts, what it answers, which service computes it."""

    endpoint: Endpoint
    request: type[AnyEncoderRequest | ReadingRequest]
    response: type[BaseModel]
    service: Service
    description: str


ROUTES = (
    EncoderRoute(
        Endpoint.EMBEDDINGS,
        EmbeddingRequest,
        EmbeddingResponse,
        embed,
        "OpenAI embeddings: float or base64 vectors, optionally truncated to `dimensions`.",
    ),
    EncoderRoute(
        Endpoint.CLASSIFY,
        ClassifyRequest,
        ClassifyResponse,
        classify,
        "Label probabilities for each input (softmax, or sigmoid for multi-label models).",
    ),
    EncoderRoute(
        Endpoint.NER,
        NerRequest,
        NerResponse,
        ner,
        "Entities with character offsets, grouped as the token-classification pipeline does.",
    ),
    EncoderRoute(
        Endpoint.COHERE_EMBED,
        CohereEmbedRequest,
        CohereEmbedResponse,
        cohere_embed,
        "Cohere's v2 embed: float, int8, uint8, binary, ubinary or base64 embeddings by type.",
    ),
    EncoderRoute(
        Endpoint.RERANK,
        RerankRequest,
        RerankResponse,
        rerank,
        "Documents by relevance: a cross-encoder's score or an embedding model's cosine.",
    ),
    EncoderRoute(
        Endpoint.JINA_RERANK,
        RerankRequest,
        RerankResponse,
        rerank,
        "The same as /v1/rerank, at the path Jina's and vLLM's clients call.",
    ),
    EncoderRoute(
        Endpoint.COHERE_RERANK,
        CohereRerankRequest,
        CohereRerankResponse,
        cohere_rerank,
        "Cohere's v2 rerank: the same ranking and scores, with Cohere's `meta`.",
    ),
    EncoderRoute(
        Endpoint.SCORE,
        ScoreRequest,
        ScoreResponse,
        score,
        "vLLM's score: one score per text_1/text_2 pair (1:1, 1:N or N:N), in input order.",
    ),
    EncoderRoute(
        Endpoint.QA,
        QaRequest,
        QaResponse,
        qa,
        "Extractive question answering: answer spans of the context, with character offsets.",
    ),
    EncoderRoute(
        Endpoint.ZERO_SHOT,
        ZeroShotRequest,
        ZeroShotResponse,
        zero_shot,
        "Zero-shot classification: candidate labels scored by an NLI model.",
    ),
    EncoderRoute(
        Endpoint.FILL_MASK,
        FillMaskRequest,
        FillMaskResponse,
        fill_mask,
        "Fill-mask: the likeliest tokens at each of the model's mask tokens.",
    ),
)


def _serialized(reply: Reply) -> Response:
    """The JSON response of a reply."""
    # Embeddings come as a plain dict: validating 384 floats per vector again would cost
    # more than computing them in the API process. orjson writes their numpy rows directly,
    # the same bytes as pydantic-core writes the same values as Python floats (shortest
    # round-trip form), in about half the time.
    if isinstance(reply.body, dict):
        return json_response(orjson.dumps(reply.body, option=orjson.OPT_SERIALIZE_NUMPY))
    return json_response(reply.body.model_dump_json(exclude_none=True))


def _handler(
    route: EncoderRoute, registry: ModelRegistry, limits: RequestLimits
) -> Callable[[Any, Request], Awaitable[Response]]:
    """The endpoint's handler, for its FastAPI route and for the fast lane alike."""
    endpoint = route.endpoint
    models = ModelRoute(registry, EncoderModel, endpoint.task, endpoint.value)

    async def handle(body: Any, request: Request) -> Response:
        info = request_info(request.scope)
        model = await models.model(body.model, info)
        check_encoder(body, limits)
        tenant = info.key.name if info.key is not None else ""
        order = QueueOrder(body.priority, info.deadline, tenant)

        def answer(reply: Reply) -> Response:
            info.prompt_tokens = reply.prompt_tokens
            return _serialized(reply)

        return await respond(request, route.service(model, body, order), answer)

    # FastAPI reads the body's model from the annotation.
    handle.__annotations__["body"] = route.request
    handle.__name__ = f"encoder_{endpoint.name.lower()}"
    return handle


def encoder_lane(registry: ModelRegistry, limits: RequestLimits) -> dict[str, LaneRoute]:
    """The same endpoints for :class:`server.http.fast_lane.FastLaneMiddleware`, which serves
    their POSTs without FastAPI's per-request layers (the routes below describe them)."""
    return {
        route.endpoint.value: LaneRoute(route.request, _handler(route, registry, limits))
        for route in ROUTES
    }


def encoders_router(registry: ModelRegistry, limits: RequestLimits) -> APIRouter:
    """Every encoder endpoint of :data:`ROUTES`, on ``registry``'s encoder models."""
    router = APIRouter(tags=["encoders"])
    for route in ROUTES:
        router.add_api_route(
            route.endpoint.value,
            _handler(route, registry, limits),
            methods=["POST"],
            response_model=route.response,
            response_model_exclude_none=True,
            description=route.description,
        )
    return router
