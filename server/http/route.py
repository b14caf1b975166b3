"""The one shape of a model route: resolve the model for a task, run the work, answer.

Every router that serves a model (OpenAI's generation and Responses APIs, the encoder
endpoints, and any API dialect added beside them) goes through these two pieces:

- :class:`ModelRoute` resolves the request's ``model`` for one endpoint: 404 for an unknown
  name, 400 when the model does not serve the endpoint's task, 503 while it loads; and labels
  the request's metrics and access log with the model that serves it.
- :func:`respond` runs the service's work, cancelled when the client goes away (499, no
  answer), and turns its result into the response: a JSON body or an SSE stream.

Only the error table (the app's exception handlers) and the answer (``answer``) differ by
API family; the lookup, the task check and the cancellation are written once, here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from server.core.context import RequestInfo
from server.core.errors import ModelNotFound
from server.core.registry import ModelRegistry, ServedModel
from server.http.disconnect import ClientDisconnected, cancel_on_disconnect, client_closed

M = TypeVar("M", bound=ServedModel)
T = TypeVar("T")


@dataclass(frozen=True)
class ModelRoute(Generic[M]):
    """One endpoint's model lookup: models of ``kind`` that serve ``task``, at ``path``."""

    registry: ModelRegistry
    kind: type[M]
    task: str
    path: str

    async def model(self, name: str, info: RequestInfo) -> M:
        """The loaded model called ``name`` that serves this route's task (typed errors:
        404 unknown or outside the request's key's models, 400 wrong task, 503 loading);
        ``info`` is labelled with it. A model unloaded after its keep_alive is loaded again
        first (503 with Retry-After if that takes longer than ``load_wait_s``)."""
        if info.key is not None and not info.key.allows(name):
            raise ModelNotFound(name)  # as for a model that does not exist: nothing is told
        await self.registry.wake(name)
        model = self.registry.lookup(name, self.kind, self.task)
        info.served_by(model.name, model.task, self.path)
        return model


async def respond(
    request: Request, work: Awaitable[T], answer: Callable[[T], Response]
) -> Response:
    """``answer`` of what ``work`` returns; if the client leaves first, the work is cancelled
    (queued inputs dropped, engine requests aborted) and the answer is a bare 499."""
    try:
        result = await cancel_on_disconnect(request, work)
    except ClientDisconnected:
        return client_closed()
    return answer(result)


def json_response(body: str | bytes) -> Response:
    """A JSON body already serialized (by pydantic or pydantic-core)."""
    return Response(body, media_type="application/json")
