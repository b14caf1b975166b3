"""``/v1/messages/batches``: Anthropic's message batches, run by the batch runner.

A message batch is a batch of ``/v1/messages`` lines whose id starts ``msgbatch_``. Its
requests come in the create call itself (no file): they are checked and stored with the
batch in one transaction, so the batch is ``in_progress`` from the start. Everything after
(claims, leases, retries, restarts, cancel, expiry) is the runner's, as for OpenAI batches;
only the view differs: Anthropic's statuses, counts and results.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from server.batches.errors import NotFound
from server.batches.message_batches.protocol import (
    MessageBatch,
    MessageBatchCreate,
    MessageBatchDeleted,
    MessageBatchList,
    ProcessingStatus,
)
from server.batches.message_batches.results import request_counts, result_line
from server.batches.service import BatchService
from server.core.errors import InvalidRequest
from server.core.keys import EVERYONE, Owner
from server.core.settings import BatchSettings
from server.store.batch_files import delete_batch, line_results
from server.store.batches import FINAL, BatchStore, Counts
from server.store.tables import StoredBatch

PREFIX = "msgbatch_"
ENDPOINT = "/v1/messages"
# How the runner's statuses read in Anthropic's three.
PROCESSING: dict[str, ProcessingStatus] = {"cancelling": "canceling"}
PROCESSING |= dict.fromkeys(FINAL, "ended")
ENDED_AT = ("completed_at", "cancelled_at", "expired_at", "failed_at")


def _time(seconds: float | int | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(int(seconds), UTC).isoformat().replace("+00:00", "Z")


def _requests(request: MessageBatchCreate, max_lines: int) -> list[tuple[str, dict[str, Any]]]:
    """The batch's lines (custom_id, params), checked as Anthropic checks them on creation."""
    count = len(request.requests)
    if count > max_lines:
        raise InvalidRequest(
            f"the batch has {count} requests, over this server's limit of {max_lines} "
            "(batches.max_lines)",
            param="requests",
            code="limit_exceeded",
        )
    seen: set[str] = set()
    lines = []
    for i, item in enumerate(request.requests):
        if item.custom_id in seen:
            raise InvalidRequest(
                f"requests[{i}].custom_id: '{item.custom_id}' is used by an earlier request; "
                "each must be unique",
                param=f"requests[{i}].custom_id",
            )
        seen.add(item.custom_id)
        if item.params.get("stream") is True:
            raise InvalidRequest(
                f"requests[{i}].params.stream: a batch request cannot be streamed",
                param=f"requests[{i}].params.stream",
            )
        lines.append((item.custom_id, item.params))
    return lines


class MessageBatchService:
    """Message batches of this server (and of its replicas, through the store)."""

    def __init__(self, batches: BatchService, settings: BatchSettings) -> None:
        self.batches = batches
        self.store: BatchStore = batches.store
        self.settings = settings

    def _object(self, row: StoredBatch, counts: Counts, base_url: str) -> MessageBatch:
        body: dict[str, Any] = dict(row.body)
        status = PROCESSING.get(row.status, "in_progress")
        ended = status == "ended"
        stamps = [body[name] for name in ENDED_AT if body.get(name) is not None]
        return MessageBatch(
            id=row.id,
            processing_status=status,
            request_counts=request_counts(counts, ended, row.status),
            created_at=_time(row.created_at) or "",
            expires_at=_time(row.expires_at) or "",
            ended_at=_time(stamps[0]) if ended and stamps else None,
            cancel_initiated_at=_time(body.get("cancelling_at")),
            results_url=f"{base_url}/v1/messages/batches/{row.id}/results" if ended else None,
        )

    async def _row(self, batch_id: str, owner: Owner) -> StoredBatch:
        row = await self.store.get(batch_id, owner) if batch_id.startswith(PREFIX) else None
        if row is None:
            raise NotFound("message batch", batch_id, param="message_batch_id")
        return row

    async def _view(self, row: StoredBatch, base_url: str) -> MessageBatch:
        counts = await self.store.counts([row.id])
        return self._object(row, counts.get(row.id, Counts()), base_url)

    async def create(
        self, request: MessageBatchCreate, base_url: str, owner: Owner = EVERYONE
    ) -> MessageBatch:
        """Accept a batch, its lines stored with it; ``owner`` (the key that created it)
        owns it, and its lines act for that key."""
        lines = _requests(request, self.settings.max_lines)
        now = time.time()
        row = StoredBatch(
            id=f"{PREFIX}{uuid.uuid4().hex}",
            status="in_progress",
            endpoint=ENDPOINT,
            input_file_id="",
            created_at=now,
            expires_at=now + self.settings.completion_window_s,
            owner=None,
            lease_until=0.0,
            total=0,
            output_file_id=None,
            error_file_id=None,
            api_key=owner.key,
            body={"in_progress_at": int(now)},
        )
        await self.store.create(row, lines)
        self.batches.runner.wake()
        return self._object(row, Counts(total=len(lines), queued=len(lines)), base_url)

    async def get(self, batch_id: str, owner: Owner, base_url: str) -> MessageBatch:
        return await self._view(await self._row(batch_id, owner), base_url)

    async def list(
        self, owner: Owner, after: str | None, before: str | None, limit: int, base_url: str
    ) -> MessageBatchList:
        rows, more = await self.store.page(after, limit, prefix=PREFIX, before=before, owner=owner)
        counts = await self.store.counts([row.id for row in rows])
        data = [self._object(row, counts.get(row.id, Counts()), base_url) for row in rows]
        return MessageBatchList(
            data=data,
            has_more=more,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
        )

    async def cancel(self, batch_id: str, owner: Owner, base_url: str) -> MessageBatch:
        """``canceling``: no new request starts; those running finish; then ``ended``."""
        await self._row(batch_id, owner)
        return await self._view(await self.batches.cancel_row(batch_id, owner), base_url)

    async def delete(self, batch_id: str, owner: Owner) -> MessageBatchDeleted:
        """Delete an ended batch (one still processing must be cancelled first)."""
        row = await self._row(batch_id, owner)
        if await delete_batch(self.store.database, batch_id, FINAL) is None:
            status = PROCESSING.get(row.status, "in_progress")
            raise InvalidRequest(
                f"message batch {batch_id} is {status}: cancel it and wait until it has "
                "ended to delete it",
                param="message_batch_id",
            )
        return MessageBatchDeleted(id=batch_id)

    async def results(self, batch_id: str, owner: Owner) -> AsyncIterator[bytes]:
        """The results as JSONL, in request order, once the batch has ended."""
        row = await self._row(batch_id, owner)
        if PROCESSING.get(row.status) != "ended":
            status = PROCESSING.get(row.status, "in_progress")
            raise InvalidRequest(
                f"message batch {batch_id} is {status}: its results are ready once it has ended",
                param="message_batch_id",
            )
        return self._lines(batch_id, row.status)

    async def _lines(self, batch_id: str, status: str) -> AsyncIterator[bytes]:
        async for custom_id, output in line_results(self.store.database, batch_id):
            yield result_line(custom_id, output, status)
