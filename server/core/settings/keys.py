"""API keys kept in the store: how often each replica re-reads them."""

from __future__ import annotations

from pydantic import Field

from server.core.settings.base import Strict


class KeySettings(Strict):
    """The keys of the store (created with the admin API or ``python -m server keys``)."""

    sync_interval_s: float = Field(
        2.0,
        gt=0,
        le=5,
        description="How often each replica re-reads the keys (revocations, limit changes) and "
        "shares its rate-limit counts and usage through the store.",
    )
