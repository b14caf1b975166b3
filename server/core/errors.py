"""Domain errors raised by services; each class carries its HTTP status and OpenAI type.

Services raise these and nothing else for expected failures. Anything else is a bug and
surfaces as a 500 with a generic message (details only in the log). Subclasses inherit their
parent's status unless they set their own. :func:`error_body` is the OpenAI error shape, the one
table every OpenAI-shaped error answer uses; other API families map the same errors in
``server.http.families``.
"""

from __future__ import annotations

from typing import Any, ClassVar

INTERNAL_ERROR = "Internal server error"


class ServerError(Exception):
    """Base of every error that is reported to the client as-is."""

    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    # Seconds after which a retry may succeed (sent as ``Retry-After``); None: do not say.
    retry_after_s: int | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class InvalidRequest(ServerError):
    """The client sent something we cannot serve (400)."""

    status = 400
    error_type = "invalid_request_error"


class UnsupportedParameter(InvalidRequest):
    """An OpenAI parameter that would change the output and that we do not support (400)."""

    def __init__(self, param: str, reason: str = "is not supported by this server"):
        super().__init__(f"'{param}' {reason}", param=param, code="unsupported_parameter")


class LimitExceeded(InvalidRequest):
    """A request asks for more than a configured limit allows (400, naming the limit)."""

    def __init__(
        self, param: str | None, value: int, limit: int, limit_name: str, what: str | None = None
    ):
        super().__init__(
            f"{what or repr(param)} is {value}, over this server's limit of {limit} "
            f"(limits.{limit_name})",
            param=param,
            code="limit_exceeded",
        )


class ContextLengthExceeded(InvalidRequest):
    """Prompt plus requested tokens exceed the model's context (400)."""

    def __init__(self, message: str, *, param: str | None = "messages"):
        super().__init__(message, param=param, code="context_length_exceeded")


class WrongTask(InvalidRequest):
    """The model exists but serves another task (400)."""

    def __init__(self, model: str, task: str, wanted: str):
        super().__init__(
            f"model '{model}' serves the '{task}' task, not '{wanted}'",
            param="model",
            code="wrong_task",
        )


class ModelNotFound(ServerError):
    """No model is served under that name (404)."""

    status = 404
    error_type = "invalid_request_error"

    def __init__(self, model: str):
        super().__init__(
            f"The model '{model}' does not exist", param="model", code="model_not_found"
        )


class Unauthorized(ServerError):
    """Missing or wrong API key (401)."""

    status = 401
    error_type = "authentication_error"


class PayloadTooLarge(LimitExceeded):
    """Request body over the configured limit (413)."""

    status = 413


class Overloaded(ServerError):
    """A bounded queue is full; the client should retry later (429)."""

    status = 429
    error_type = "rate_limit_error"

    def __init__(self, message: str, *, retry_after_s: int = 1):
        super().__init__(message, code="overloaded")
        self.retry_after_s = retry_after_s


class RateLimited(ServerError):
    """The request's API key is over one of its limits (rpm, tpm, concurrency); 429 with
    ``Retry-After`` (not ``Overloaded``: the server has room, this key has not)."""

    status = 429
    error_type = "rate_limit_error"

    def __init__(self, message: str, *, retry_after_s: int = 1):
        super().__init__(message, code="rate_limit_exceeded")
        self.retry_after_s = retry_after_s


class Unavailable(ServerError):
    """The model or a worker is not available right now; retryable (503)."""

    status = 503
    error_type = "service_unavailable_error"

    def __init__(
        self, message: str, *, retry_after_s: int | None = 1, code: str | None = "unavailable"
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class DeadlineExceeded(ServerError):
    """The request's deadline passed before its work could start (504); nothing ran late."""

    status = 504
    error_type = "timeout_error"

    def __init__(self, message: str):
        super().__init__(message, code="deadline_exceeded")


def error_body(message: str, type_: str, param: str | None, code: str | None) -> dict[str, Any]:
    """The OpenAI error shape, used by every OpenAI-shaped answer of an error (HTTP answers,
    stream error events, batch output lines)."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def domain_error_body(exc: ServerError) -> dict[str, Any]:
    """The OpenAI error body of a domain error."""
    return error_body(exc.message, exc.error_type, exc.param, exc.code)


def internal_error_body() -> dict[str, Any]:
    """The body of a bug of ours: nothing internal is told (the details go to the log)."""
    return error_body(INTERNAL_ERROR, "server_error", None, None)
