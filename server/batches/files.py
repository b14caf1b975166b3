"""``/v1/files``: uploads streamed into the store a chunk at a time, reads, lists, deletes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator
from typing import Literal

from server.batches.errors import FileTooLarge, NotFound
from server.batches.protocol import FileDeleted, FileList, FileObject
from server.batches.upload import MultipartReader, boundary_of
from server.core.errors import InvalidRequest
from server.core.keys import EVERYONE, Owner
from server.store.errors import StoreUnavailable
from server.store.files import CHUNK_BYTES, FileStore, new_file_id
from server.store.tables import StoredFile

UPLOAD_PURPOSES = ("batch",)
# Room for the multipart framing and the small fields around the file itself.
FRAMING_BYTES = 1024 * 1024


def file_object(row: StoredFile) -> FileObject:
    return FileObject(
        id=row.id,
        bytes=row.bytes,
        created_at=int(row.created_at),
        filename=row.filename,
        purpose=row.purpose,
    )


class FilesService:
    """The files of this server (shared by replicas through the store)."""

    def __init__(self, store: FileStore, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes

    def check_length(self, content_length: int | None) -> None:
        """413 before reading a body that declares itself too large."""
        if content_length is not None and content_length > self.max_bytes + FRAMING_BYTES:
            raise FileTooLarge(self.max_bytes)

    async def upload(
        self, body: AsyncIterable[bytes], content_type: str | None, owner: Owner = EVERYONE
    ) -> FileObject:
        """Store the ``file`` part of a multipart body as it arrives, as ``owner``'s; its
        file object."""
        reader = MultipartReader(boundary_of(content_type))
        file_id = new_file_id()
        began = False
        seq = size = raw = 0
        try:
            async for data in body:
                raw += len(data)
                if raw > self.max_bytes + FRAMING_BYTES:
                    raise FileTooLarge(self.max_bytes)
                reader.feed(data)
                if reader.file_started and not began:
                    name = reader.filename or "upload.jsonl"
                    await self.store.begin(file_id, "batch", name, owner.key)
                    began = True
                while len(reader.pending) >= CHUNK_BYTES or (reader.file_ended and reader.pending):
                    piece = bytes(reader.pending[:CHUNK_BYTES])
                    del reader.pending[:CHUNK_BYTES]
                    size += len(piece)
                    if size > self.max_bytes:
                        raise FileTooLarge(self.max_bytes)
                    await self.store.append(file_id, seq, piece)
                    seq += 1
            purpose = reader.fields.get("purpose")
            if not began or not reader.file_ended:
                raise InvalidRequest("a 'file' part is required", param="file")
            if purpose is None:
                raise InvalidRequest("'purpose' is required", param="purpose")
            if purpose not in UPLOAD_PURPOSES:
                raise InvalidRequest(
                    f"purpose '{purpose}' is not supported by this server; use 'batch'",
                    param="purpose",
                )
            await self.store.finish(file_id, size, purpose)
        except BaseException:
            if began:
                with contextlib.suppress(StoreUnavailable):
                    await self.store.delete(file_id)
            raise
        return await self.get(file_id, owner)

    async def row(self, file_id: str, owner: Owner) -> StoredFile:
        row = await self.store.get(file_id, owner)
        if row is None:
            raise NotFound("File", file_id, param="file_id")
        return row

    async def get(self, file_id: str, owner: Owner) -> FileObject:
        return file_object(await self.row(file_id, owner))

    async def content(self, file_id: str, owner: Owner) -> AsyncIterator[bytes]:
        """The file's bytes, chunk by chunk (404 before the first if it does not exist)."""
        await self.row(file_id, owner)
        return self.store.chunks(file_id)

    async def list(
        self,
        owner: Owner,
        purpose: str | None,
        after: str | None,
        limit: int,
        order: Literal["asc", "desc"],
    ) -> FileList:
        rows, more = await self.store.page(purpose, after, limit, order, owner)
        data = [file_object(r) for r in rows]
        return FileList(
            data=data,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
            has_more=more,
        )

    async def delete(self, file_id: str, owner: Owner) -> FileDeleted:
        if not await self.store.delete(file_id, owner):
            raise NotFound("File", file_id, param="file_id")
        return FileDeleted(id=file_id)
