"""What the encoder task services share: checks on client inputs (400 when they fail) and
the usage of a request."""

from __future__ import annotations

from collections.abc import Sequence

from server.core.errors import InvalidRequest
from server.encoders.protocol import EncoderUsage
from server.encoders.shared.spec import Payload


def as_texts(value: str | Sequence[str], param: str = "input") -> list[str]:
    """One or more non-empty strings of valid Unicode, as a list.

    JSON can carry a lone surrogate (``"\\ud800"``), which no tokenizer takes: refused here,
    before it reaches a worker's batch, where it would fail the other requests' inputs too.
    """
    texts = [value] if isinstance(value, str) else list(value)
    check_count(len(texts), param)
    for i, text in enumerate(texts):
        where = f"{param}[{i}]" if not isinstance(value, str) else param
        if not text:
            raise InvalidRequest(f"{where} must not be an empty string", param=param)
        if not text.isascii():
            try:
                text.encode()
            except UnicodeEncodeError:
                raise InvalidRequest(
                    f"{where} is not valid Unicode: it holds a lone surrogate", param=param
                ) from None
    return texts


def check_count(count: int, param: str) -> None:
    """At least one input (the most allowed is a server limit, checked by the route)."""
    if count == 0:
        raise InvalidRequest(f"{param} must not be empty", param=param)


def token_usage(features: Sequence[Payload]) -> EncoderUsage:
    """The usage of a request whose inputs became ``features`` (every token counts)."""
    return EncoderUsage.of(sum(len(f) for f in features))
