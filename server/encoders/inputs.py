"""Checks on client inputs shared by the encoder services (all answer 400 when they fail)."""

from __future__ import annotations

from collections.abc import Sequence

from server.errors import InvalidRequest


def as_texts(value: str | Sequence[str], param: str = "input") -> list[str]:
    """One or more non-empty strings, as a list."""
    texts = [value] if isinstance(value, str) else list(value)
    check_count(len(texts), param)
    for i, text in enumerate(texts):
        if not text:
            where = f"{param}[{i}]" if not isinstance(value, str) else param
            raise InvalidRequest(f"{where} must not be an empty string", param=param)
    return texts


def check_count(count: int, param: str) -> None:
    """At least one input (the most allowed is a server limit, checked by the route)."""
    if count == 0:
        raise InvalidRequest(f"{param} must not be empty", param=param)
