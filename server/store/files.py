"""Files of ``/v1/files``: rows in ``files``, content in ``file_chunks`` of up to 1 MiB.

The content lives in the database, not on a local disk, so that every replica sharing a
PostgreSQL database reads the same files; it is written and read one chunk at a time, so a
file is never held whole in memory.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Literal

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.keys import EVERYONE, Owner
from server.store.database import Database
from server.store.owners import visible_to
from server.store.tables import FileChunk, StoredFile

CHUNK_BYTES = 1024 * 1024
# An upload whose server died leaves an ``uploading`` row: purged after this long.
STALE_UPLOAD_S = 3600.0


def new_file_id() -> str:
    return f"file-{uuid.uuid4().hex}"


class FileStore:
    """Create files chunk by chunk, read them back, list and delete them."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def begin(
        self, file_id: str, purpose: str, filename: str, api_key: str | None = None
    ) -> None:
        """A new file, ``uploading`` until :meth:`finish` (hidden from reads until then),
        created by the key ``api_key`` (None: without a key)."""

        async def add(session: AsyncSession) -> None:
            session.add(
                StoredFile(
                    id=file_id,
                    purpose=purpose,
                    filename=filename,
                    bytes=0,
                    status="uploading",
                    created_at=time.time(),
                    api_key=api_key,
                )
            )

        await self.database.run(add)

    async def append(self, file_id: str, seq: int, data: bytes) -> None:
        """Store chunk ``seq`` (from 0) of a file being uploaded."""

        async def add(session: AsyncSession) -> None:
            session.add(FileChunk(file_id=file_id, seq=seq, data=data))

        await self.database.run(add)

    async def finish(self, file_id: str, size: int, purpose: str | None = None) -> None:
        """Mark an upload complete (``processed``), with its size (and purpose if known
        only now)."""
        values: dict[str, object] = {"bytes": size, "status": "processed"}
        if purpose is not None:
            values["purpose"] = purpose

        async def write(session: AsyncSession) -> None:
            await session.execute(update(StoredFile).where(StoredFile.id == file_id).values(values))

        await self.database.run(write)

    async def get(self, file_id: str, owner: Owner = EVERYONE) -> StoredFile | None:
        """A processed file ``owner`` may see (None: missing, uploading or another key's)."""

        async def read(session: AsyncSession) -> StoredFile | None:
            row = await session.get(StoredFile, file_id)
            if row is None or row.status != "processed" or not owner.can_see(row.api_key):
                return None
            return row

        return await self.database.run(read)

    async def chunks(self, file_id: str) -> AsyncIterator[bytes]:
        """The content, one chunk per query (so a long download holds no transaction)."""
        seq = 0
        while True:

            async def read(session: AsyncSession, seq: int = seq) -> bytes | None:
                found = await session.execute(
                    select(FileChunk.data).where(FileChunk.file_id == file_id, FileChunk.seq == seq)
                )
                return found.scalar_one_or_none()

            data = await self.database.run(read)
            if data is None:
                return
            yield data
            seq += 1

    async def page(
        self,
        purpose: str | None,
        after: str | None,
        limit: int,
        order: Literal["asc", "desc"],
        owner: Owner = EVERYONE,
    ) -> tuple[list[StoredFile], bool]:
        """A page of the processed files ``owner`` may see, by creation time; whether more
        follow."""

        async def read(session: AsyncSession) -> tuple[list[StoredFile], bool]:
            query = select(StoredFile).where(
                StoredFile.status == "processed", visible_to(StoredFile.api_key, owner)
            )
            if purpose is not None:
                query = query.where(StoredFile.purpose == purpose)
            if after is not None:
                cursor = await session.get(StoredFile, after)
                if cursor is not None:
                    key = tuple_(StoredFile.created_at, StoredFile.id)
                    mark = tuple_(cursor.created_at, cursor.id)
                    query = query.where(key > mark if order == "asc" else key < mark)
            if order == "asc":
                query = query.order_by(StoredFile.created_at, StoredFile.id)
            else:
                query = query.order_by(StoredFile.created_at.desc(), StoredFile.id.desc())
            rows = list((await session.execute(query.limit(limit + 1))).scalars())
            return rows[:limit], len(rows) > limit

        return await self.database.run(read)

    async def delete(self, file_id: str, owner: Owner = EVERYONE) -> bool:
        """Delete a file ``owner`` may see, with its content; whether one was deleted."""

        async def remove(session: AsyncSession) -> bool:
            found = await session.execute(
                select(StoredFile.id).where(
                    StoredFile.id == file_id, visible_to(StoredFile.api_key, owner)
                )
            )
            if found.scalar_one_or_none() is None:
                return False
            await session.execute(delete(FileChunk).where(FileChunk.file_id == file_id))
            result = await session.execute(delete(StoredFile).where(StoredFile.id == file_id))
            return bool(getattr(result, "rowcount", 0))

        return await self.database.run(remove)

    async def purge_stale_uploads(self) -> int:
        """Delete uploads a dead server left unfinished; how many."""

        async def purge(session: AsyncSession) -> int:
            stale = select(StoredFile.id).where(
                StoredFile.status == "uploading",
                StoredFile.created_at < time.time() - STALE_UPLOAD_S,
            )
            ids = list((await session.execute(stale)).scalars())
            if ids:
                await session.execute(delete(FileChunk).where(FileChunk.file_id.in_(ids)))
                await session.execute(delete(StoredFile).where(StoredFile.id.in_(ids)))
            return len(ids)

        return await self.database.run(purge)
