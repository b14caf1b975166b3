"""The Batch API's own errors (mapped to HTTP like every domain error)."""

from __future__ import annotations

from server.core.errors import InvalidRequest, ServerError


class NotFound(ServerError):
    """No such file or batch (404)."""

    status = 404
    error_type = "invalid_request_error"

    def __init__(self, kind: str, object_id: str, param: str | None = None) -> None:
        super().__init__(f"No such {kind}: {object_id}", param=param, code="not_found")


class Conflict(InvalidRequest):
    """The object is in a state that does not allow the operation (409)."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message, code="conflict")


class FileTooLarge(InvalidRequest):
    """An upload over ``store.max_file_bytes`` (413)."""

    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the file is over this server's limit of {limit} bytes (store.max_file_bytes)",
            param="file",
            code="limit_exceeded",
        )
