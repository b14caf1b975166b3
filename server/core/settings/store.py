"""The database of stored responses, files and batch jobs, and how batch jobs run."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from server.core.settings.base import Strict


class StoreSettings(Strict):
    """Where stored responses (and files and batch jobs) live, and for how long."""

    data_dir: Path = Field(
        Path("data"), description="Directory of the embedded SQLite store (and stored files)."
    )
    database_url: str | None = Field(
        None,
        description="A PostgreSQL URL (postgresql://user:password@host:port/db) shared by "
        "several replicas; unset: the embedded SQLite file in data_dir.",
    )
    response_ttl_s: float = Field(
        30 * 24 * 3600.0, gt=0, description="How long a stored response is kept (30 days)."
    )
    purge_interval_s: float = Field(
        600.0, gt=0, description="How often expired responses are purged."
    )
    max_response_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        description="Largest stored response (its input items and output, as JSON).",
    )
    max_chain_length: int = Field(
        256, ge=1, description="Responses a previous_response_id chain may reach back."
    )
    connect_timeout_s: float = Field(
        5.0, gt=0, description="How long to wait for the database before answering 503."
    )
    max_file_bytes: int = Field(
        200 * 1024 * 1024, ge=1024, description="Largest file /v1/files accepts (200 MB)."
    )


class BatchSettings(Strict):
    """The Batch API: how many lines a batch may have and how its lines are run."""

    max_lines: int = Field(50_000, ge=1, description="Requests (lines) in one batch input file.")
    max_in_flight: int = Field(
        16, ge=1, description="Batch lines this server runs at once (over all batches)."
    )
    priority: int = Field(
        10,
        ge=-(2**31),
        lt=2**31,
        description="Queue priority of batch lines (lower runs earlier; online requests "
        "default to 0). Sent to vLLM only for models with engine.enable_priority_scheduling.",
    )
    completion_window_s: float = Field(
        24 * 3600.0, gt=0, description="How long the '24h' completion window lasts."
    )
    lease_s: float = Field(
        60.0,
        ge=1,
        description="How long lines claimed by a replica stay its own without a heartbeat; "
        "a replica that dies gives its lines back after this.",
    )
    poll_s: float = Field(1.0, gt=0, description="How often idle replicas look for new lines.")
