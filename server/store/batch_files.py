"""A batch's results, read from its lines: its output and error files, written in one
transaction with the batch's final status (either both files and the status are stored, or
nothing is, and the batch can be finalized again), and every line's outcome in order."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.store.batches import DONE, FAILED
from server.store.database import Database
from server.store.files import CHUNK_BYTES, new_file_id
from server.store.tables import BatchLine, FileChunk, StoredBatch, StoredFile

READ_PAGE = 256


async def _outputs(session: AsyncSession, batch_id: str, state: str) -> AsyncIterator[bytes]:
    """The JSONL lines of a batch's lines in ``state``, in input order, a page at a time."""
    after = -1
    while True:
        rows = await session.execute(
            select(BatchLine.line, BatchLine.result)
            .where(BatchLine.batch_id == batch_id, BatchLine.state == state, BatchLine.line > after)
            .order_by(BatchLine.line)
            .limit(READ_PAGE)
        )
        page = list(rows)
        if not page:
            return
        for line, result in page:
            yield (result or "").encode() + b"\n"
            after = line


async def _write_file(
    session: AsyncSession, batch: StoredBatch, state: str, filename: str
) -> str | None:
    """A ``batch_output`` file of the lines in ``state``, owned by the batch's key; its id
    (None: no such line)."""
    batch_id = batch.id
    file_id = new_file_id()
    buffer = bytearray()
    seq = size = 0
    row: StoredFile | None = None
    async for data in _outputs(session, batch_id, state):
        if row is None:
            row = StoredFile(
                id=file_id,
                purpose="batch_output",
                filename=filename,
                bytes=0,
                status="processed",
                created_at=time.time(),
                api_key=batch.api_key,
            )
            session.add(row)
            await session.flush()
        buffer += data
        size += len(data)
        while len(buffer) >= CHUNK_BYTES:
            session.add(FileChunk(file_id=file_id, seq=seq, data=bytes(buffer[:CHUNK_BYTES])))
            del buffer[:CHUNK_BYTES]
            seq += 1
            await session.flush()
    if row is None:
        return None
    if buffer:
        session.add(FileChunk(file_id=file_id, seq=seq, data=bytes(buffer)))
    row.bytes = size
    return file_id


async def finalize(
    database: Database, batch_id: str, owner: str, status: str, stamps: dict[str, Any]
) -> StoredBatch | None:
    """Write the files of a batch held by ``owner`` and give it its final ``status``; the
    row after, or None if the batch is no longer held by ``owner``."""

    async def write(session: AsyncSession) -> StoredBatch | None:
        query = select(StoredBatch).where(StoredBatch.id == batch_id, StoredBatch.owner == owner)
        row = (await session.execute(query.with_for_update())).scalar_one_or_none()
        if row is None:
            return None
        row.output_file_id = await _write_file(session, row, DONE, f"{batch_id}_output.jsonl")
        row.error_file_id = await _write_file(session, row, FAILED, f"{batch_id}_error.jsonl")
        row.status, row.owner, row.lease_until = status, None, 0.0
        row.body = dict(row.body) | stamps
        return row

    return await database.run(write)


async def line_results(database: Database, batch_id: str) -> AsyncIterator[tuple[str, str | None]]:
    """Every line of a batch in input order, a page at a time: its custom_id and output line
    (None for a line that never finished)."""
    after = 0
    while True:

        async def read(session: AsyncSession, after: int = after) -> list[Any]:
            rows = await session.execute(
                select(BatchLine.line, BatchLine.custom_id, BatchLine.result)
                .where(BatchLine.batch_id == batch_id, BatchLine.line > after)
                .order_by(BatchLine.line)
                .limit(READ_PAGE)
            )
            return list(rows)

        page = await database.run(read)
        if not page:
            return
        for line, custom_id, result in page:
            yield custom_id, result
            after = line


async def delete_batch(
    database: Database, batch_id: str, only_from: Sequence[str]
) -> StoredBatch | None:
    """Delete a batch in one of ``only_from`` with its lines and its output and error files,
    in one transaction; the row deleted, or None (no such batch in those statuses)."""

    async def remove(session: AsyncSession) -> StoredBatch | None:
        query = select(StoredBatch).where(
            StoredBatch.id == batch_id, StoredBatch.status.in_(only_from)
        )
        row = (await session.execute(query.with_for_update())).scalar_one_or_none()
        if row is None:
            return None
        await session.execute(delete(BatchLine).where(BatchLine.batch_id == batch_id))
        files = [f for f in (row.output_file_id, row.error_file_id) if f]
        if files:
            await session.execute(delete(FileChunk).where(FileChunk.file_id.in_(files)))
            await session.execute(delete(StoredFile).where(StoredFile.id.in_(files)))
        await session.delete(row)
        return row

    return await database.run(remove)
