"""``/v1/batches``: create, read, list and cancel batch jobs; the runner does the work."""

from __future__ import annotations

import time
import uuid
from typing import Any

from server.batches.errors import Conflict, NotFound
from server.batches.files import FilesService
from server.batches.protocol import Batch, BatchCreateRequest, BatchList, RequestCounts
from server.batches.runner import BatchRunner
from server.core.errors import InvalidRequest
from server.core.keys import EVERYONE, Owner
from server.core.settings import BatchSettings
from server.store.batches import BatchStore, Counts
from server.store.tables import StoredBatch

CANCELLABLE = ("validating", "in_progress")
BATCH_PREFIX = "batch_"  # Anthropic's message batches (msgbatch_...) are listed apart


def batch_object(row: StoredBatch, counts: Counts) -> Batch:
    body: dict[str, Any] = dict(row.body)
    return Batch.model_validate(
        body
        | {
            "id": row.id,
            "endpoint": row.endpoint,
            "input_file_id": row.input_file_id,
            "status": row.status,
            "output_file_id": row.output_file_id,
            "error_file_id": row.error_file_id,
            "created_at": int(row.created_at),
            "expires_at": int(row.expires_at),
            "request_counts": RequestCounts(
                total=row.total, completed=counts.done, failed=counts.failed
            ),
        }
    )


class BatchService:
    """Batch jobs of this server (and of its replicas, through the store)."""

    def __init__(
        self, store: BatchStore, files: FilesService, runner: BatchRunner, settings: BatchSettings
    ) -> None:
        self.store = store
        self.files = files
        self.runner = runner
        self.settings = settings

    async def create(self, request: BatchCreateRequest, owner: Owner = EVERYONE) -> Batch:
        """Accept a batch (``validating``); the runner validates its file and runs it.
        ``owner`` (the key that created it, and whose input file it must be) owns it and
        what it makes (responses, output files); its lines act for that key: its models,
        and its usage."""
        source = await self.files.store.get(request.input_file_id, owner)
        if source is None:
            raise NotFound("File", request.input_file_id, param="input_file_id")
        if source.purpose != "batch":
            raise InvalidRequest(
                f"the file {source.id} has purpose '{source.purpose}', not 'batch'",
                param="input_file_id",
            )
        now = time.time()
        row = StoredBatch(
            id=f"{BATCH_PREFIX}{uuid.uuid4().hex}",
            status="validating",
            endpoint=request.endpoint,
            input_file_id=request.input_file_id,
            created_at=now,
            expires_at=now + self.settings.completion_window_s,
            owner=None,
            lease_until=0.0,
            total=0,
            output_file_id=None,
            error_file_id=None,
            api_key=owner.key,
            body={"completion_window": request.completion_window, "metadata": request.metadata},
        )
        await self.store.create(row)
        self.runner.wake()
        return batch_object(row, Counts())

    async def row(self, batch_id: str, owner: Owner) -> StoredBatch:
        row = await self.store.get(batch_id, owner)
        if row is None:
            raise NotFound("Batch", batch_id, param="batch_id")
        return row

    async def _object(self, row: StoredBatch) -> Batch:
        counts = await self.store.counts([row.id])
        return batch_object(row, counts.get(row.id, Counts()))

    async def get(self, batch_id: str, owner: Owner) -> Batch:
        return await self._object(await self.row(batch_id, owner))

    async def list(self, owner: Owner, after: str | None, limit: int) -> BatchList:
        rows, more = await self.store.page(after, limit, prefix=BATCH_PREFIX, owner=owner)
        counts = await self.store.counts([row.id for row in rows])
        data = [batch_object(row, counts.get(row.id, Counts())) for row in rows]
        return BatchList(
            data=data,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
            has_more=more,
        )

    async def cancel(self, batch_id: str, owner: Owner) -> Batch:
        """``cancelling``: no new line starts; those running finish, then ``cancelled`` with
        the files of the lines done so far."""
        return await self._object(await self.cancel_row(batch_id, owner))

    async def cancel_row(self, batch_id: str, owner: Owner) -> StoredBatch:
        """Cancel a batch (see :meth:`cancel`); its row after (409 once it has ended)."""
        row = await self.row(batch_id, owner)
        if row.status in ("cancelling", "cancelled"):
            return row
        stamps = {"cancelling_at": int(time.time())}
        moved = await self.store.transition(batch_id, "cancelling", CANCELLABLE, stamps=stamps)
        if moved is None:
            current = await self.row(batch_id, owner)
            if current.status not in ("cancelling", "cancelled"):
                raise Conflict(f"a batch that is {current.status} cannot be cancelled")
            return current
        self.runner.wake()
        return moved
