"""The schema, declared once; ``migrations/`` creates and evolves it.

Times are Unix seconds (floats) so that both SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Json = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class StoredResponse(Base):
    """One response of ``/v1/responses``: its request's own input items and the Response
    object as last reported (``body``). A chain is rebuilt by following
    ``previous_response_id``."""

    __tablename__ = "responses"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    background: Mapped[bool] = mapped_column(Boolean, default=False)
    previous_response_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    # The server process running a background response (to find those a crash left behind).
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_items: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    body: Mapped[dict[str, Any]] = mapped_column(Json)

    __table_args__ = (
        Index("ix_responses_expires_at", "expires_at"),
        Index("ix_responses_status_updated", "status", "updated_at"),
    )
