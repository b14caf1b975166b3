"""Batch jobs and their lines: the one module that reads and writes them.

Every state change is one conditional UPDATE (or a row locked first), so that several
replicas sharing a PostgreSQL database can work on the same queue: lines are claimed under
``FOR UPDATE SKIP LOCKED`` with a lease, and a line's result is written only by the replica
that still holds its claim. On SQLite one process works alone (FOR UPDATE is not emitted).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.keys import EVERYONE, Owner
from server.store.database import Database
from server.store.owners import visible_to
from server.store.tables import BatchLine, StoredBatch

# Line states: queued -> running -> done | failed.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
# Batches whose lines are (or may still be) running.
ACTIVE = ("in_progress", "cancelling")
FINAL = ("completed", "failed", "expired", "cancelled")
INSERT_PAGE = 500


@dataclass(frozen=True)
class Counts:
    """How many lines a batch has in each state."""

    total: int = 0
    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Claimed:
    """A line claimed by this replica, with what running it needs."""

    batch_id: str
    line: int
    custom_id: str
    endpoint: str
    body: dict[str, Any]
    api_key: str | None = None  # the id (or name) of the key the batch was created with


@dataclass(frozen=True)
class LineResult:
    """A finished line: ``done`` (2xx) or ``failed``, with its output line (JSON text)."""

    batch_id: str
    line: int
    state: str
    output: str


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _queued(batch_id: str, line: int, custom_id: str, body: dict[str, Any]) -> BatchLine:
    return BatchLine(
        batch_id=batch_id,
        line=line,
        custom_id=custom_id,
        state=QUEUED,
        owner=None,
        lease_until=0.0,
        body=body,
        result=None,
    )


class BatchStore:
    """Batch rows and their lines; ``owner`` is this server process."""

    def __init__(self, database: Database, owner: str) -> None:
        self.database = database
        self.owner = owner

    # --- batches -----------------------------------------------------------------------------

    async def create(
        self, row: StoredBatch, lines: Sequence[tuple[str, dict[str, Any]]] = ()
    ) -> None:
        """Store a new batch; with ``lines`` (custom_id, body), already validated, its lines
        too, in the same transaction, and the batch ``in_progress`` at once."""

        async def add(session: AsyncSession) -> None:
            if lines:
                row.status, row.total = "in_progress", len(lines)
            session.add(row)
            await session.flush()
            for start in range(0, len(lines), INSERT_PAGE):
                page = lines[start : start + INSERT_PAGE]
                session.add_all(
                    _queued(row.id, start + i + 1, custom_id, body)
                    for i, (custom_id, body) in enumerate(page)
                )
                await session.flush()

        await self.database.run(add)

    async def get(self, batch_id: str, owner: Owner = EVERYONE) -> StoredBatch | None:
        async def read(session: AsyncSession) -> StoredBatch | None:
            row = await session.get(StoredBatch, batch_id)
            return row if row is not None and owner.can_see(row.api_key) else None

        return await self.database.run(read)

    async def page(
        self,
        after: str | None,
        limit: int,
        prefix: str = "",
        before: str | None = None,
        owner: Owner = EVERYONE,
    ) -> tuple[list[StoredBatch], bool]:
        """A page of ``owner``'s batches whose ids start with ``prefix``, newest first:
        those older than ``after``, or (``before``) the newest ones just newer than
        ``before``; whether more follow in that direction."""

        async def read(session: AsyncSession) -> tuple[list[StoredBatch], bool]:
            query = select(StoredBatch).where(
                StoredBatch.id.startswith(prefix, autoescape=True),
                visible_to(StoredBatch.api_key, owner),
            )
            key = tuple_(StoredBatch.created_at, StoredBatch.id)
            newer = before is not None
            cursor_id = before if newer else after
            if cursor_id is not None:
                cursor = await session.get(StoredBatch, cursor_id)
                if cursor is not None:
                    at = tuple_(cursor.created_at, cursor.id)
                    query = query.where(key > at if newer else key < at)
            order = (StoredBatch.created_at, StoredBatch.id)
            query = query.order_by(*(o.asc() if newer else o.desc() for o in order))
            rows = list((await session.execute(query.limit(limit + 1))).scalars())
            page = rows[:limit]
            return (page[::-1] if newer else page), len(rows) > limit

        return await self.database.run(read)

    async def counts(self, batch_ids: Sequence[str]) -> dict[str, Counts]:
        """Line counts by state for each batch; a running line whose lease ran out counts
        as queued (it will run again)."""

        async def read(session: AsyncSession) -> dict[str, Counts]:
            abandoned = and_(BatchLine.state == RUNNING, BatchLine.lease_until < time.time())
            state = case((abandoned, QUEUED), else_=BatchLine.state)
            rows = await session.execute(
                select(BatchLine.batch_id, state, func.count())
                .where(BatchLine.batch_id.in_(batch_ids))
                .group_by(BatchLine.batch_id, state)
            )
            by_batch: dict[str, dict[str, int]] = {}
            for batch_id, name, count in rows:
                by_batch.setdefault(batch_id, {})[name] = int(count)
            return {
                batch_id: Counts(
                    total=sum(found.values()),
                    queued=found.get(QUEUED, 0),
                    running=found.get(RUNNING, 0),
                    done=found.get(DONE, 0),
                    failed=found.get(FAILED, 0),
                )
                for batch_id, found in by_batch.items()
            }

        return await self.database.run(read)

    async def transition(
        self,
        batch_id: str,
        status: str,
        only_from: Sequence[str],
        *,
        stamps: dict[str, Any] | None = None,
        owner: str | None = None,
        lease_s: float = 0.0,
        require_owner: bool = False,
        unheld: bool = False,
    ) -> StoredBatch | None:
        """Move a batch to ``status`` if it is in one of ``only_from`` (and, with
        ``require_owner``, still held by this process; with ``unheld``, held by nobody);
        the row after, or None."""

        async def write(session: AsyncSession) -> StoredBatch | None:
            query = select(StoredBatch).where(
                StoredBatch.id == batch_id, StoredBatch.status.in_(only_from)
            )
            if require_owner:
                query = query.where(StoredBatch.owner == self.owner)
            if unheld:
                query = query.where(StoredBatch.lease_until < time.time())
            row = (await session.execute(query.with_for_update())).scalar_one_or_none()
            if row is None:
                return None
            row.status = status
            row.body = dict(row.body) | (stamps or {})
            row.owner = owner
            row.lease_until = time.time() + lease_s if owner else 0.0
            return row

        return await self.database.run(write)

    async def claim_batches(self, statuses: Sequence[str], lease_s: float) -> list[StoredBatch]:
        """Batches in ``statuses`` that nobody holds (or whose holder's lease ran out),
        now held by this process for ``lease_s``."""

        async def claim(session: AsyncSession) -> list[StoredBatch]:
            now = time.time()
            rows = await session.execute(
                select(StoredBatch)
                .where(StoredBatch.status.in_(statuses), StoredBatch.lease_until < now)
                .order_by(StoredBatch.created_at)
                .limit(16)
                .with_for_update(skip_locked=True)
            )
            claimed = list(rows.scalars())
            for row in claimed:
                row.owner, row.lease_until = self.owner, now + lease_s
            return claimed

        return await self.database.run(claim)

    async def renew_batch(self, batch_id: str, lease_s: float) -> None:
        async def write(session: AsyncSession) -> None:
            await session.execute(
                update(StoredBatch)
                .where(StoredBatch.id == batch_id, StoredBatch.owner == self.owner)
                .values(lease_until=time.time() + lease_s)
            )

        await self.database.run(write)

    async def start(
        self,
        batch_id: str,
        lines: AsyncIterable[tuple[int, str, dict[str, Any]]],
        stamps: dict[str, Any],
    ) -> bool:
        """Store a validated batch's lines and move it to ``in_progress``, in one transaction
        (so a crash during validation leaves no half-stored batch); whether it started."""

        async def write(session: AsyncSession) -> bool:
            query = select(StoredBatch).where(
                StoredBatch.id == batch_id,
                StoredBatch.status == "validating",
                StoredBatch.owner == self.owner,
            )
            row = (await session.execute(query.with_for_update())).scalar_one_or_none()
            if row is None:
                return False
            page: list[BatchLine] = []
            total = 0
            async for line, custom_id, body in lines:
                page.append(_queued(batch_id, line, custom_id, body))
                total += 1
                if len(page) >= INSERT_PAGE:
                    session.add_all(page)
                    await session.flush()
                    page = []
            session.add_all(page)
            row.status, row.total, row.owner, row.lease_until = "in_progress", total, None, 0.0
            row.body = dict(row.body) | stamps
            return True

        return await self.database.run(write)

    # --- lines -------------------------------------------------------------------------------

    async def claim_lines(self, limit: int, lease_s: float) -> list[Claimed]:
        """Up to ``limit`` lines of running batches, queued or abandoned (their lease ran
        out), oldest batch first; now ``running`` here until ``lease_s`` from now."""

        async def claim(session: AsyncSession) -> list[Claimed]:
            now = time.time()
            rows = await session.execute(
                select(BatchLine, StoredBatch.endpoint, StoredBatch.api_key)
                .join(StoredBatch, StoredBatch.id == BatchLine.batch_id)
                .where(
                    StoredBatch.status == "in_progress",
                    StoredBatch.expires_at > now,
                    or_(
                        BatchLine.state == QUEUED,
                        and_(BatchLine.state == RUNNING, BatchLine.lease_until < now),
                    ),
                )
                .order_by(StoredBatch.created_at, BatchLine.batch_id, BatchLine.line)
                .limit(limit)
                .with_for_update(skip_locked=True, of=BatchLine)
            )
            claimed: list[Claimed] = []
            for line, endpoint, api_key in rows:
                line.state, line.owner, line.lease_until = RUNNING, self.owner, now + lease_s
                claimed.append(
                    Claimed(line.batch_id, line.line, line.custom_id, endpoint, line.body, api_key)
                )
            return claimed

        return await self.database.run(claim)

    async def renew_lines(self, lease_s: float) -> None:
        """Extend the lease of every line this process is running."""

        async def write(session: AsyncSession) -> None:
            await session.execute(
                update(BatchLine)
                .where(BatchLine.owner == self.owner, BatchLine.state == RUNNING)
                .values(lease_until=time.time() + lease_s)
            )

        await self.database.run(write)

    async def record(self, results: Sequence[LineResult]) -> list[bool]:
        """Write finished lines still claimed by this process; whether each was written (a
        line whose claim another replica took over is left to that one)."""

        async def write(session: AsyncSession) -> list[bool]:
            written: list[bool] = []
            for result in results:
                outcome = await session.execute(
                    update(BatchLine)
                    .where(
                        BatchLine.batch_id == result.batch_id,
                        BatchLine.line == result.line,
                        BatchLine.owner == self.owner,
                        BatchLine.state == RUNNING,
                    )
                    .values(state=result.state, result=result.output, lease_until=0.0)
                )
                written.append(_rowcount(outcome) > 0)
            return written

        return await self.database.run(write)

    async def release(self, batch_id: str, line: int) -> None:
        """Give a claimed line back to the queue (it will run again, here or elsewhere)."""

        async def write(session: AsyncSession) -> None:
            await session.execute(
                update(BatchLine)
                .where(
                    BatchLine.batch_id == batch_id,
                    BatchLine.line == line,
                    BatchLine.owner == self.owner,
                    BatchLine.state == RUNNING,
                )
                .values(state=QUEUED, owner=None, lease_until=0.0)
            )

        await self.database.run(write)

    async def release_all(self, everyone: bool = False) -> int:
        """Give back the lines this process holds (``everyone``: every claim of any process,
        lines and batches, for a database only one process uses); how many lines."""

        async def write(session: AsyncSession) -> int:
            query = update(BatchLine).where(BatchLine.state == RUNNING)
            if not everyone:
                query = query.where(BatchLine.owner == self.owner)
            result = await session.execute(query.values(state=QUEUED, owner=None, lease_until=0.0))
            if everyone:
                await session.execute(
                    update(StoredBatch)
                    .where(StoredBatch.status.not_in(FINAL))
                    .values(owner=None, lease_until=0.0)
                )
            return _rowcount(result)

        return await self.database.run(write)

    async def active(self) -> list[StoredBatch]:
        """Batches in progress or being cancelled."""

        async def read(session: AsyncSession) -> list[StoredBatch]:
            rows = await session.execute(select(StoredBatch).where(StoredBatch.status.in_(ACTIVE)))
            return list(rows.scalars())

        return await self.database.run(read)

    async def status_counts(self) -> dict[str, int]:
        """How many batches are in each status."""

        async def read(session: AsyncSession) -> dict[str, int]:
            rows = await session.execute(
                select(StoredBatch.status, func.count()).group_by(StoredBatch.status)
            )
            return {status: int(count) for status, count in rows}

        return await self.database.run(read)
