"""Errors of the Responses API."""

from __future__ import annotations

from typing import ClassVar

from server.core.errors import ServerError


class ResponseNotFound(ServerError):
    """No stored response has that id (404), or it expired or was deleted."""

    status: ClassVar[int] = 404
    error_type: ClassVar[str] = "invalid_request_error"

    def __init__(self, response_id: str, *, param: str | None = None) -> None:
        super().__init__(
            f"Response with id '{response_id}' not found.", param=param, code="response_not_found"
        )
