"""Running one batch line: a request to this server's own route, in process.

Each line goes through the app itself (``httpx.ASGITransport``), past the API-key check with
a credential that never leaves the process: the same validation, limits, services, engines
and error mapping as an online request, so a line's body is exactly what the online endpoint
returns, errors included. Only the queue priority differs (``batches.priority``), where the
model's queue honours one.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from server.core.errors import ServerError, UnsupportedParameter, domain_error_body
from server.core.registry import ModelRegistry
from server.core.settings import BatchSettings, EncoderModelConfig, GenerateModelConfig
from server.store.batches import DONE, FAILED, Claimed

INTERNAL_BASE = "http://batch.internal"
# Beside the runner's own key: the key the batch was created with (models and usage are its).
ON_BEHALF_HEADER = "x-batch-api-key"
# Answers that say "not now" rather than "not this request": the line runs again later
# (529: a full queue, as the Messages API tells it).
RETRYABLE = frozenset({429, 503, 529})


@dataclass(frozen=True)
class Outcome:
    """What a line's request came back with: run it again later, or its output line."""

    retry: bool
    state: str = FAILED
    output: str | None = None


def output_line(custom_id: str, status: int, request_id: str, body: str) -> str:
    """An output (or error) file line, as OpenAI writes them; ``body`` is the endpoint's
    JSON answer, kept byte for byte."""
    head = {"id": f"batch_req_{uuid.uuid4().hex}", "custom_id": custom_id}
    response = {"status_code": status, "request_id": request_id}
    return (
        f"{json.dumps(head, separators=(',', ':'))[:-1]},"
        f'"response":{json.dumps(response, separators=(",", ":"))[:-1]},"body":{body}}},'
        '"error":null}'
    )


class Dispatcher:
    """Sends batch lines to the app's own routes."""

    def __init__(self, registry: ModelRegistry, settings: BatchSettings) -> None:
        self.registry = registry
        self.settings = settings
        self.key = uuid.uuid4().hex + uuid.uuid4().hex
        self._client: httpx.AsyncClient | None = None

    def bind(self, app: Any) -> None:
        """Send lines to ``app`` (the ASGI app this dispatcher lives in)."""
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=INTERNAL_BASE, timeout=None
        )
        # Each line already has its access-log line; httpx's own would double them.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _priority(self, body: dict[str, Any]) -> int | None:
        """The queue priority to give a line that names none (None: leave it unset)."""
        if "priority" in body or not isinstance(body.get("model"), str):
            return None
        try:
            config = getattr(self.registry.get(body["model"]), "config", None)
        except ServerError:
            return None  # an unknown model: the endpoint answers 404 itself
        if isinstance(config, EncoderModelConfig):
            return self.settings.priority
        if isinstance(config, GenerateModelConfig) and config.engine.enable_priority_scheduling:
            return self.settings.priority
        return None

    async def run(self, line: Claimed) -> Outcome:
        """Run one line through its endpoint."""
        if self._client is None:
            raise RuntimeError("the dispatcher is not bound to an app")
        body = dict(line.body)
        if body.get("stream") is True:
            refused = UnsupportedParameter("stream", "is not supported in a batch")
            error = json.dumps(domain_error_body(refused))
            return Outcome(False, FAILED, output_line(line.custom_id, refused.status, "", error))
        priority = self._priority(body)
        if priority is not None:
            body["priority"] = priority
        headers = {"authorization": f"Bearer {self.key}", "content-type": "application/json"}
        if line.api_key is not None:
            headers[ON_BEHALF_HEADER] = line.api_key
        response = await self._client.post(line.endpoint, content=json.dumps(body), headers=headers)
        if response.status_code in RETRYABLE:
            return Outcome(True)
        payload = response.text
        if not response.headers.get("content-type", "").startswith("application/json"):
            payload = json.dumps(payload)  # not JSON (never expected): kept as a string
        state = DONE if response.status_code < 300 else FAILED
        request_id = response.headers.get("x-request-id", "")
        return Outcome(
            False, state, output_line(line.custom_id, response.status_code, request_id, payload)
        )
