"""API keys, their per-minute counts and their usage, in the store.

Counts are added, never overwritten (``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n``
on both SQLite and PostgreSQL), so that replicas pushing at the same time lose nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.keys import KEY_ID_PREFIX, hash_secret, new_secret
from server.store.database import Database
from server.store.tables import ApiKey, KeyRateWindow, KeyUsage


class DuplicateKeyName(Exception):
    """Another key already has that name."""


@dataclass(frozen=True, slots=True)
class UsageDelta:
    """Usage of one key and model on one date, to add to the store's."""

    key: str
    model: str
    date: str
    requests: int
    input_tokens: int
    output_tokens: int


# Fields a key's PATCH may change.
EDITABLE = ("name", "models", "rpm", "tpm", "max_concurrent", "revoked")


class KeyStore:
    """The keys of the store, shared by every replica and the CLI."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self.db.dialect == "postgresql" else sqlite
        return dialect.insert(table)

    async def create(
        self,
        name: str,
        models: list[str] | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        max_concurrent: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (the only time the secret exists outside the client)."""
        secret = new_secret()
        row = ApiKey(
            id=KEY_ID_PREFIX + uuid.uuid4().hex,
            name=name,
            secret_hash=hash_secret(secret),
            models=models,
            rpm=rpm,
            tpm=tpm,
            max_concurrent=max_concurrent,
            created_at=time.time(),
            last_used_at=None,
            revoked=False,
        )
        async with self.db.session() as session:
            await _unique_name(session, name, None)
            session.add(row)
        return row, secret

    async def all(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        async with self.db.session() as session:
            rows = await session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))
            return list(rows)

    async def get(self, key_id: str) -> ApiKey | None:
        async with self.db.session() as session:
            return await session.get(ApiKey, key_id)

    async def find(self, id_or_name: str) -> ApiKey | None:
        """The key with that id, else the one with that name."""
        async with self.db.session() as session:
            row = await session.get(ApiKey, id_or_name)
            if row is None:
                row = await session.scalar(select(ApiKey).where(ApiKey.name == id_or_name))
            return row

    async def update(self, key_id: str, changes: dict[str, Any]) -> ApiKey | None:
        """Apply ``changes`` (fields of :data:`EDITABLE`); None for an unknown id."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        async with self.db.session() as session:
            row = await session.get(ApiKey, key_id)
            if row is None:
                return None
            if "name" in changes:
                await _unique_name(session, changes["name"], key_id)
            for name, value in changes.items():
                setattr(row, name, value)
        return row

    async def revoke(self, key_id: str) -> ApiKey | None:
        return await self.update(key_id, {"revoked": True})

    # --- what the replicas share ------------------------------------------------------------

    async def touch(self, last_used: dict[str, float]) -> None:
        """Record when keys were last used (a later time than the stored one wins)."""
        if not last_used:
            return
        async with self.db.session() as session:
            for key_id, at in last_used.items():
                await session.execute(
                    update(ApiKey)
                    .where(ApiKey.id == key_id)
                    .where(or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < at))
                    .values(last_used_at=at)
                )

    async def add_rates(self, deltas: Iterable[tuple[str, int, int, int]]) -> None:
        """Add ``(key_id, window, requests, tokens)`` to the per-minute counts."""
        async with self.db.session() as session:
            for key_id, window, requests, tokens in deltas:
                stmt = self._insert(KeyRateWindow).values(
                    key_id=key_id, window=window, requests=requests, tokens=tokens
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=["key_id", "window"],
                    set_={
                        "requests": KeyRateWindow.requests + stmt.excluded.requests,
                        "tokens": KeyRateWindow.tokens + stmt.excluded.tokens,
                    },
                )
                await session.execute(stmt)

    async def rates(self, window: int) -> list[tuple[str, int, int]]:
        """Every key's ``(key_id, requests, tokens)`` in ``window``; older windows purged."""
        async with self.db.session() as session:
            await session.execute(delete(KeyRateWindow).where(KeyRateWindow.window < window - 60))
            rows = await session.execute(
                select(KeyRateWindow.key_id, KeyRateWindow.requests, KeyRateWindow.tokens).where(
                    KeyRateWindow.window == window
                )
            )
            return [(r[0], r[1], r[2]) for r in rows]

    async def add_usage(self, deltas: Sequence[UsageDelta]) -> None:
        """Add ``deltas`` to the usage table."""
        if not deltas:
            return
        async with self.db.session() as session:
            await _add_usage(session, self._insert(KeyUsage), deltas)

    async def usage(self, key: str | None = None) -> list[KeyUsage]:
        """Usage rows by date, key and model (of one key's name if given)."""
        async with self.db.session() as session:
            query = select(KeyUsage).order_by(KeyUsage.date, KeyUsage.key, KeyUsage.model)
            if key is not None:
                query = query.where(KeyUsage.key == key)
            return list(await session.scalars(query))


async def _unique_name(session: AsyncSession, name: str, key_id: str | None) -> None:
    """Raise :class:`DuplicateKeyName` if a key other than ``key_id`` is called ``name``."""
    other = await session.scalar(select(ApiKey.id).where(ApiKey.name == name))
    if other is not None and other != key_id:
        raise DuplicateKeyName(name)


async def _add_usage(session: AsyncSession, insert: Any, deltas: Sequence[UsageDelta]) -> None:
    for d in deltas:
        stmt = insert.values(
            key=d.key,
            model=d.model,
            date=d.date,
            requests=d.requests,
            input_tokens=d.input_tokens,
            output_tokens=d.output_tokens,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["key", "model", "date"],
            set_={
                "requests": KeyUsage.requests + stmt.excluded.requests,
                "input_tokens": KeyUsage.input_tokens + stmt.excluded.input_tokens,
                "output_tokens": KeyUsage.output_tokens + stmt.excluded.output_tokens,
            },
        )
        await session.execute(stmt)
