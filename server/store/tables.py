"""The schema, declared once; ``migrations/`` creates and evolves it.

Times are Unix seconds (floats) so that both SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
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
    # The key that created it (``server.core.keys.Owner``); None: created without a key.
    api_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    input_items: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    body: Mapped[dict[str, Any]] = mapped_column(Json)

    __table_args__ = (
        Index("ix_responses_expires_at", "expires_at"),
        Index("ix_responses_status_updated", "status", "updated_at"),
    )


class StoredFile(Base):
    """One file of ``/v1/files``; its content is in ``file_chunks`` (shared by replicas)."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(512))
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    # ``uploading`` until its last chunk is stored, then ``processed``.
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)
    # The key that created it (a batch's output files: the batch's); None: without a key.
    api_key: Mapped[str | None] = mapped_column(String(256), nullable=True)

    __table_args__ = (
        Index("ix_files_purpose_created", "purpose", "created_at"),
        Index("ix_files_api_key", "api_key"),
    )


class FileChunk(Base):
    """One piece (up to 1 MiB) of a file's content, in order by ``seq``."""

    __tablename__ = "file_chunks"

    file_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StoredBatch(Base):
    """One batch job; ``body`` is the Batch object less what is computed on reading
    (``status``, ``request_counts`` and the file ids live in their own columns)."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    endpoint: Mapped[str] = mapped_column(String(64))
    input_file_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    # The replica validating or finalizing it, and until when that claim holds.
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[float] = mapped_column(Float, default=0.0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    output_file_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_file_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The key the batch was created with (its id, ``static`` for the configuration's keys):
    # its owner, and the key its lines act for. None: created without a key.
    api_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # Timestamps by name (in_progress_at, finalizing_at, ...), errors, metadata.
    body: Mapped[dict[str, Any]] = mapped_column(Json)

    __table_args__ = (
        Index("ix_batches_status", "status"),
        Index("ix_batches_api_key", "api_key"),
    )


class BatchLine(Base):
    """One request of a batch: ``queued``, ``running`` (claimed by ``owner`` until
    ``lease_until``), then ``done`` or ``failed`` with its output line in ``result``."""

    __tablename__ = "batch_lines"

    batch_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    custom_id: Mapped[str] = mapped_column(String(512))
    state: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[float] = mapped_column(Float, default=0.0)
    body: Mapped[dict[str, Any]] = mapped_column(Json)
    # The output line, as written to the output or error file (the body byte for byte).
    result: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_batch_lines_state", "batch_id", "state"),)


class ApiKey(Base):
    """One API key: its name, the digest of its secret (never the secret), what it may use
    (``models`` None: every model) and its limits (None: none)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    models: Mapped[list[str] | None] = mapped_column(Json, nullable=True)
    rpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_concurrent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class KeyRateWindow(Base):
    """Requests and tokens of one key in one minute, summed over every replica."""

    __tablename__ = "key_rate_windows"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    tokens: Mapped[int] = mapped_column(Integer, default=0)


class KeyUsage(Base):
    """Usage of one key (by name) and model on one UTC date, summed over every replica."""

    __tablename__ = "key_usage"

    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    model: Mapped[str] = mapped_column(String(256), primary_key=True)
    date: Mapped[str] = mapped_column(String(10), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)


class StoredAdapter(Base):
    """A LoRA adapter loaded at run time: every replica serves the stored set. ``archive``
    holds the files of an uploaded adapter (a tar archive), None for one loaded by path."""

    __tablename__ = "lora_adapters"

    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    model: Mapped[str] = mapped_column(String(256))
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    archive: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class StoredModel(Base):
    """A model added at run time (``POST /admin/v1/models``): its config entry, the same
    fields as the configuration file's. Every replica serves the stored set."""

    __tablename__ = "runtime_models"

    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[float] = mapped_column(Float)
