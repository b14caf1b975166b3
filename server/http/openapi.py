"""The OpenAPI document as the server really answers: every error in its API family's shape
(OpenAI's, or Anthropic's on ``/v1/messages``).

FastAPI documents a 422 ``HTTPValidationError`` for every route with a body; this server
answers 400 with the family's error body instead. The document is rewritten once, so that
clients (and schema-driven fuzzers) see the statuses and shapes that can actually come back.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from server.http.families import error_family
from server.http.probes import PROBE_PATHS

ERROR_SCHEMA = "ErrorResponse"

_ERROR_BODY: dict[str, Any] = {
    "title": ERROR_SCHEMA,
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "code": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
        }
    },
}

ANTHROPIC_ERROR_SCHEMA = "AnthropicErrorResponse"
_ANTHROPIC_ERROR_BODY: dict[str, Any] = {
    "title": ANTHROPIC_ERROR_SCHEMA,
    "type": "object",
    "required": ["type", "error"],
    "properties": {
        "type": {"type": "string", "enum": ["error"]},
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}
# Each family's error body in the document, and the statuses it adds (its own overrides).
_FAMILY_SCHEMAS: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "openai": (ERROR_SCHEMA, _ERROR_BODY, {}),
    "anthropic": (
        ANTHROPIC_ERROR_SCHEMA,
        _ANTHROPIC_ERROR_BODY,
        {"529": "The model's queue is full (overloaded_error); retry later"},
    ),
}

# What any route may answer before its handler runs (limits, auth, drain, deadline header).
_EVERY_ROUTE = {
    "400": "Invalid request: a bad field, a header over the limits, a bad deadline header",
    "401": "Missing or invalid API key (when keys are configured)",
    "413": "Request body over limits.max_body_bytes",
    "503": "Shutting down, or a model not loaded yet",
}
# What routes that serve a model may answer too.
_MODEL_ROUTE = {
    "404": "No model is served under that name",
    "429": "The model's queue is full; retry after Retry-After seconds",
    "504": "The X-Request-Deadline-Ms deadline passed before the work started",
}


def _error_response(description: str, schema: str = ERROR_SCHEMA) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def _document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for path, operations in schema.get("paths", {}).items():
        name, body, extra = _FAMILY_SCHEMAS[error_family(path).name]
        components[name] = body
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            statuses = dict(_EVERY_ROUTE)
            if path not in PROBE_PATHS:
                statuses.update(_MODEL_ROUTE | extra)
            for status, description in statuses.items():
                responses.setdefault(status, _error_response(description, name))
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the corrected document at ``/openapi.json`` (built on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _document_errors(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
