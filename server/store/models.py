"""Models added at run time, in the store: the set every replica serves beside its file's."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select

from server.store.database import Database
from server.store.tables import StoredModel


class ModelStore:
    """Runtime models by name (their config entries), shared by every replica."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, name: str, config: dict[str, Any]) -> StoredModel:
        row = StoredModel(name=name, config=config, created_at=time.time())
        async with self.db.session() as session:
            await session.merge(row)
        return row

    async def delete(self, name: str) -> bool:
        async with self.db.session() as session:
            result = await session.execute(delete(StoredModel).where(StoredModel.name == name))
            return bool(getattr(result, "rowcount", 0))

    async def listing(self) -> dict[str, tuple[dict[str, Any], float]]:
        """Every stored model: name -> (config entry, created_at)."""
        async with self.db.session() as session:
            rows = await session.scalars(select(StoredModel))
            return {row.name: (dict(row.config), row.created_at) for row in rows}
