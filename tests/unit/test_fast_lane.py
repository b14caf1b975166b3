"""The fast lane answers every body exactly as the FastAPI route it stands in front of."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from server.core.errors import InvalidRequest
from server.encoders.protocol import EmbeddingRequest
from server.http.errors import install_error_handlers
from server.http.fast_lane import FastLaneMiddleware, LaneRoute
from server.http.route import json_response

PATH = "/v1/embeddings"
VALID = b'{"model": "m", "input": "hello"}'


async def _answer(body: EmbeddingRequest, request: Request) -> Response:
    if body.model == "refused":
        raise InvalidRequest("refused by the handler", param="model")
    return json_response(f'{{"model": "{body.model}", "via": "{request.url.path}"}}')


def _route_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post(PATH)
    async def embeddings(body: EmbeddingRequest, request: Request) -> Response:
        return await _answer(body, request)

    return app


def _lane_app() -> FastAPI:
    app = FastAPI()  # no route: only the lane can answer
    install_error_handlers(app)
    app.add_middleware(FastLaneMiddleware, routes={PATH: LaneRoute(EmbeddingRequest, _answer)})
    return app


CASES: list[tuple[str, bytes, dict[str, str]]] = [
    ("valid", VALID, {"content-type": "application/json"}),
    ("valid, +json", VALID, {"content-type": "application/vnd.api+json; charset=utf-8"}),
    ("valid, text/plain", VALID, {"content-type": "text/plain"}),
    ("valid, no content type", VALID, {}),
    ("empty", b"", {"content-type": "application/json"}),
    ("null", b"null", {"content-type": "application/json"}),
    ("malformed", b'{"model": ', {"content-type": "application/json"}),
    ("a list", b"[1, 2]", {"content-type": "application/json"}),
    ("a string", b'"text"', {"content-type": "application/json"}),
    ("missing field", b'{"input": "x"}', {"content-type": "application/json"}),
    ("wrong type", b'{"model": 3, "input": "x"}', {"content-type": "application/json"}),
    ("bad nested", b'{"model": "m", "input": [1, "a"]}', {"content-type": "application/json"}),
    ("bad utf-8", b'{"model": "\xff\xfe"}', {"content-type": "application/json"}),
    ("nested too deep", b"[" * 100_000 + b"]" * 100_000, {"content-type": "application/json"}),
    ("handler error", b'{"model": "refused", "input": "x"}', {"content-type": "application/json"}),
]


@pytest.mark.parametrize(("name", "body", "headers"), CASES, ids=[c[0] for c in CASES])
def test_the_lane_answers_as_the_route_does(
    name: str, body: bytes, headers: dict[str, str]
) -> None:
    with TestClient(_route_app()) as route, TestClient(_lane_app()) as lane:
        expected = route.post(PATH, content=body, headers=headers)
        got = lane.post(PATH, content=body, headers=headers)
    assert got.status_code == expected.status_code, (name, got.text, expected.text)
    assert got.json() == expected.json(), name
    if got.status_code != 200:
        assert set(got.json()["error"]) == {"message", "type", "param", "code"}


def test_only_posts_to_the_exact_path_take_the_lane() -> None:
    async def by_lane(body: EmbeddingRequest, request: Request) -> Response:
        return json_response(b'{"by": "lane"}')

    app = _route_app()
    app.add_middleware(FastLaneMiddleware, routes={PATH: LaneRoute(EmbeddingRequest, by_lane)})
    headers = {"content-type": "application/json"}
    with TestClient(app) as client:
        assert client.post(PATH, content=VALID, headers=headers).json() == {"by": "lane"}
        routed = client.post("/v1/embeddings?x=1", content=VALID, headers=headers)
        assert routed.json() == {"by": "lane"}  # the query string is not part of the path
        assert client.get(PATH).status_code == 405  # the app's answer for another method
        assert client.post(PATH + "/x", content=VALID, headers=headers).status_code == 404
