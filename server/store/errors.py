"""The store's errors, as domain errors the HTTP layer maps like any other."""

from __future__ import annotations

from server.core.errors import Unavailable


class StoreUnavailable(Unavailable):
    """The database cannot be reached or refused the operation (503, retryable)."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"the store is unavailable ({what}); retry later", code="store_unavailable"
        )
