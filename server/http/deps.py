"""FastAPI dependencies of a request (not of the server: routers are built by factories bound
to their services, so a handler never reaches into ``app.state``).

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in a worker thread,
a thread hand-off per dependency per request that costs more than the lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from server.core.context import RequestInfo
from server.http.request_context import request_info


async def _info(request: Request) -> RequestInfo:
    return request_info(request.scope)


InfoDep = Annotated[RequestInfo, Depends(_info)]
