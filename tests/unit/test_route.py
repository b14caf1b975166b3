"""The one route helper: model lookup by kind and task, labels, and cancellation on disconnect."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from server.core.context import RequestInfo
from server.core.errors import ModelNotFound, Unavailable, WrongTask
from server.core.registry import ModelRegistry
from server.http.disconnect import CLIENT_CLOSED_STATUS
from server.http.route import ModelRoute, respond


@dataclass
class _Model:
    """A served model that serves ``served`` once ready."""

    name: str
    task: str
    served: tuple[str, ...] = ()
    ready: bool = True
    healthy: bool = True
    created: int = 0
    max_context: int | None = None
    capabilities: list[str] = field(default_factory=list)
    runtime: str | None = None
    prompts: dict[str, str] | None = None

    @property
    def tasks(self) -> tuple[str, ...]:
        return self.served or (self.task,)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class _Other(_Model):
    """Another kind of model (as generation is to encoders)."""


def _registry() -> ModelRegistry:
    return ModelRegistry(
        [
            _Model("embedder", "embed", ("embed", "rerank", "score")),
            _Model("classifier", "classify"),
            _Model("loading", "embed", ready=False),
            _Other("other", "generate"),
        ]
    )


async def test_a_model_serving_the_task_is_found_and_labels_the_request() -> None:
    route = ModelRoute(_registry(), _Model, "rerank", "/v1/rerank")
    info = RequestInfo("req-1")
    model = await route.model("embedder", info)
    assert model.name == "embedder"
    assert (info.model, info.task, info.endpoint) == ("embedder", "embed", "/v1/rerank")


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("nope", ModelNotFound),  # 404
        ("classifier", WrongTask),  # loaded, but does not serve rerank: 400
        ("other", WrongTask),  # another kind of model: 400
        ("loading", Unavailable),  # 503 until loaded
    ],
)
async def test_lookup_errors_are_typed(name: str, error: type[Exception]) -> None:
    route = ModelRoute(_registry(), _Model, "rerank", "/v1/rerank")
    info = RequestInfo("req-2")
    with pytest.raises(error):
        await route.model(name, info)
    assert info.model == ""  # an unresolved request is not labelled with a model


def _request(messages: list[dict[str, Any]]) -> Request:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)

    async def receive() -> dict[str, Any]:
        return await queue.get()

    return Request({"type": "http", "method": "POST", "headers": []}, receive)


def test_respond_answers_what_the_work_returns() -> None:
    async def work() -> str:
        return "done"

    async def run() -> Response:
        return await respond(_request([]), work(), lambda text: Response(text))

    response = asyncio.run(run())
    assert response.status_code == 200 and response.body == b"done"


def test_respond_cancels_the_work_when_the_client_leaves() -> None:
    cancelled = asyncio.Event()

    async def work() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    async def run() -> Response:
        request = _request([{"type": "http.disconnect"}])
        return await asyncio.wait_for(respond(request, work(), Response), 5)

    response = asyncio.run(run())
    assert response.status_code == CLIENT_CLOSED_STATUS
    assert cancelled.is_set()
