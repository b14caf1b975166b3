"""The shapes of Anthropic's Message Batches API, as its SDK sends and reads them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ProcessingStatus = Literal["in_progress", "canceling", "ended"]
ResultType = Literal["succeeded", "errored", "canceled", "expired"]


class BatchRequest(BaseModel):
    """One request of a batch: its own id and the ``/v1/messages`` body it runs."""

    model_config = ConfigDict(extra="forbid")

    custom_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    params: dict[str, Any]


class MessageBatchCreate(BaseModel):
    """``POST /v1/messages/batches``."""

    model_config = ConfigDict(extra="forbid")

    requests: list[BatchRequest] = Field(min_length=1)


class MessageRequestCounts(BaseModel):
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0


class MessageBatch(BaseModel):
    """A message batch; times are RFC 3339 strings, as Anthropic writes them."""

    id: str
    type: Literal["message_batch"] = "message_batch"
    processing_status: ProcessingStatus
    request_counts: MessageRequestCounts
    created_at: str
    expires_at: str
    ended_at: str | None = None
    cancel_initiated_at: str | None = None
    archived_at: str | None = None
    results_url: str | None = None


class MessageBatchList(BaseModel):
    data: list[MessageBatch]
    has_more: bool
    first_id: str | None
    last_id: str | None


class MessageBatchDeleted(BaseModel):
    id: str
    type: Literal["message_batch_deleted"] = "message_batch_deleted"
