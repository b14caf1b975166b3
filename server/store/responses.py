"""The stored responses of ``/v1/responses``: the one module that reads and writes them."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.errors import InvalidRequest
from server.core.keys import EVERYONE, Owner
from server.store.database import Database
from server.store.owners import visible_to
from server.store.tables import StoredResponse

# A background response still running: its owner refreshes ``updated_at`` while it runs.
RUNNING = ("queued", "in_progress")


def _size(*parts: Any) -> int:
    return sum(len(json.dumps(p, separators=(",", ":"))) for p in parts)


class ResponseStore:
    """Create, read, update and delete stored responses; expired ones read as missing."""

    def __init__(self, database: Database, owner: str) -> None:
        self.database = database
        self.settings = database.settings
        self.owner = owner  # this server process, for the background responses it runs

    def check_size(self, input_items: list[dict[str, Any]], body: dict[str, Any]) -> None:
        """400 when a response is too large to store (``store.max_response_bytes``)."""
        size, limit = _size(input_items, body), self.settings.max_response_bytes
        if size > limit:
            raise InvalidRequest(
                f"the response to store is {size} bytes, over this server's limit of {limit} "
                "(store.max_response_bytes); send store: false to keep nothing",
                param="store",
                code="limit_exceeded",
            )

    async def create(
        self,
        body: dict[str, Any],
        input_items: list[dict[str, Any]],
        *,
        background: bool = False,
        api_key: str | None = None,
    ) -> None:
        """Store a new response (its id, model and status are read from ``body``), created
        by the key ``api_key`` (None: without a key)."""
        self.check_size(input_items, body)
        at = time.time()
        row = StoredResponse(
            id=body["id"],
            model=body["model"],
            status=body["status"],
            background=background,
            previous_response_id=body.get("previous_response_id"),
            created_at=at,
            updated_at=at,
            expires_at=at + self.settings.response_ttl_s,
            owner=self.owner if background else None,
            api_key=api_key,
            input_items=input_items,
            body=body,
        )

        async def add(session: AsyncSession) -> None:
            session.add(row)

        await self.database.run(add)

    async def update(self, body: dict[str, Any], *, only_from: Sequence[str] = RUNNING) -> bool:
        """Replace a response's body and status if its status is still one of ``only_from``
        (so a cancelled response stays cancelled); whether it was updated."""

        async def write(session: AsyncSession) -> bool:
            result = await session.execute(
                update(StoredResponse)
                .where(StoredResponse.id == body["id"], StoredResponse.status.in_(only_from))
                .values(status=body["status"], body=body, updated_at=time.time())
            )
            return bool(getattr(result, "rowcount", 0))

        return await self.database.run(write)

    async def heartbeat(self, response_id: str) -> str | None:
        """Mark a running background response alive; its status now (None: gone)."""

        async def touch(session: AsyncSession) -> str | None:
            await session.execute(
                update(StoredResponse)
                .where(StoredResponse.id == response_id, StoredResponse.status.in_(RUNNING))
                .values(updated_at=time.time())
            )
            found = await session.execute(
                select(StoredResponse.status).where(StoredResponse.id == response_id)
            )
            return found.scalar_one_or_none()

        return await self.database.run(touch)

    async def get(self, response_id: str, owner: Owner = EVERYONE) -> StoredResponse | None:
        """A response ``owner`` may see (None: missing, expired or another key's)."""

        async def read(session: AsyncSession) -> StoredResponse | None:
            row = await session.get(StoredResponse, response_id)
            if row is None or row.expires_at <= time.time() or not owner.can_see(row.api_key):
                return None
            return row

        return await self.database.run(read)

    async def delete(self, response_id: str, owner: Owner = EVERYONE) -> bool:
        """Delete a response ``owner`` may see; whether one was deleted."""

        async def remove(session: AsyncSession) -> bool:
            result = await session.execute(
                delete(StoredResponse).where(
                    StoredResponse.id == response_id, visible_to(StoredResponse.api_key, owner)
                )
            )
            return bool(getattr(result, "rowcount", 0))

        return await self.database.run(remove)

    async def chain(self, response_id: str, owner: Owner = EVERYONE) -> list[StoredResponse] | None:
        """The responses from the first of the chain to ``response_id`` (None if it is
        missing or not ``owner``'s to see); at most ``store.max_chain_length``, the oldest
        dropped beyond that."""
        found: list[StoredResponse] = []
        next_id: str | None = response_id
        while next_id is not None and len(found) < self.settings.max_chain_length:
            row = await self.get(next_id, owner)
            if row is None:
                if not found:
                    return None
                break  # an older link expired or was deleted: the chain starts after it
            found.append(row)
            next_id = row.previous_response_id
        found.reverse()
        return found

    async def purge_expired(self) -> int:
        """Delete responses past their TTL; how many."""

        async def purge(session: AsyncSession) -> int:
            result = await session.execute(
                delete(StoredResponse).where(StoredResponse.expires_at <= time.time())
            )
            return int(getattr(result, "rowcount", 0) or 0)

        return await self.database.run(purge)

    async def orphans(self, lease_s: float) -> list[StoredResponse]:
        """Background responses still running whose owner stopped refreshing them."""

        async def find(session: AsyncSession) -> list[StoredResponse]:
            rows = await session.execute(
                select(StoredResponse).where(
                    StoredResponse.status.in_(RUNNING),
                    StoredResponse.updated_at < time.time() - lease_s,
                )
            )
            return list(rows.scalars())

        return await self.database.run(find)
