"""The LoRA adapters loaded at run time, in the store: the set every replica serves."""

from __future__ import annotations

import time

from sqlalchemy import delete, select

from server.store.database import Database
from server.store.tables import StoredAdapter


class AdapterStore:
    """Runtime adapters by name, shared by every replica."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(
        self, name: str, model: str, path: str | None, archive: bytes | None = None
    ) -> StoredAdapter:
        """Record adapter ``name`` (replacing one of that name)."""
        row = StoredAdapter(
            name=name, model=model, path=path, archive=archive, created_at=time.time()
        )
        async with self.db.session() as session:
            await session.merge(row)
        return row

    async def delete(self, name: str) -> bool:
        """Forget adapter ``name``; False if it was not stored."""
        async with self.db.session() as session:
            result = await session.execute(delete(StoredAdapter).where(StoredAdapter.name == name))
            return bool(getattr(result, "rowcount", 0))

    async def listing(self) -> dict[str, tuple[str, str | None, float]]:
        """Every stored adapter: name -> (model, path, created_at), without the archives."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(
                    StoredAdapter.name,
                    StoredAdapter.model,
                    StoredAdapter.path,
                    StoredAdapter.created_at,
                )
            )
            return {name: (model, path, at) for name, model, path, at in rows}

    async def archive(self, name: str) -> bytes | None:
        """The uploaded files of adapter ``name`` (None if it was loaded by path)."""
        async with self.db.session() as session:
            return await session.scalar(
                select(StoredAdapter.archive).where(StoredAdapter.name == name)
            )
