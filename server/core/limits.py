"""Checks of a parsed request against the configured ``RequestLimits``, shared by every
endpoint family. Each raises ``LimitExceeded`` (400) naming the parameter and the limit."""

from __future__ import annotations

from collections.abc import Sequence

from server.core.errors import LimitExceeded
from server.core.settings import RequestLimits


def at_most(param: str, value: int, limit: int, limit_name: str, what: str | None = None) -> None:
    """``value`` of ``param`` is within ``limit`` (named ``limits.<limit_name>``)."""
    if value > limit:
        raise LimitExceeded(param, value, limit, limit_name, what)


def check_count(
    param: str, items: Sequence[object], limits: RequestLimits, limit_name: str = "max_inputs"
) -> None:
    """At most ``limits.<limit_name>`` items in ``param``."""
    what = f"the number of items in '{param}'"
    at_most(param, len(items), getattr(limits, limit_name), limit_name, what)


def check_text(param: str, text: str, limits: RequestLimits, where: str | None = None) -> None:
    """At most ``max_input_chars`` characters in one string."""
    what = f"the length of '{where or param}' in characters"
    at_most(param, len(text), limits.max_input_chars, "max_input_chars", what)


def check_texts(
    param: str, texts: Sequence[object], limits: RequestLimits, limit_name: str = "max_inputs"
) -> None:
    """At most ``limits.<limit_name>`` items; each string at most ``max_input_chars``."""
    check_count(param, texts, limits, limit_name)
    for i, text in enumerate(texts):
        if isinstance(text, str):
            check_text(param, text, limits, f"{param}[{i}]")
