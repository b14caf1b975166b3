"""The stored responses on a real SQLite file: chains, conditional updates, expiry, orphans."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from server.core.errors import InvalidRequest
from server.core.settings import StoreSettings
from server.store.database import Database, database_url
from server.store.errors import StoreUnavailable
from server.store.responses import ResponseStore


def _body(rid: str, previous: str | None = None, status: str = "completed") -> dict[str, Any]:
    return {
        "id": rid,
        "model": "m",
        "status": status,
        "previous_response_id": previous,
        "output": [
            {
                "type": "message",
                "id": f"msg_{rid}",
                "role": "assistant",
                "content": [{"type": "output_text", "text": rid}],
            }
        ],
    }


def _run(tmp_path: Path, work: Any, **settings: Any) -> Any:
    async def main() -> Any:
        database = Database(StoreSettings(data_dir=tmp_path, **settings))
        await database.open()
        try:
            return await work(ResponseStore(database, owner="me"))
        finally:
            await database.close()

    return asyncio.run(main())


def test_urls() -> None:
    assert database_url(StoreSettings(data_dir=Path("/d"))) == "sqlite+aiosqlite:////d/server.db"
    url = database_url(StoreSettings(database_url="postgresql://u:p@h:5/db"))
    assert url == "postgresql+asyncpg://u:p@h:5/db"
    with pytest.raises(ValueError, match="unsupported"):
        database_url(StoreSettings(database_url="mysql://h/db"))


def test_a_chain_is_read_oldest_first(tmp_path: Path) -> None:
    async def work(store: ResponseStore) -> Any:
        await store.create(_body("a"), [{"id": "i1"}])
        await store.create(_body("b", "a"), [{"id": "i2"}])
        await store.create(_body("c", "b"), [{"id": "i3"}])
        chain = await store.chain("c")
        missing = await store.chain("nope")
        await store.delete("a")  # an older link gone: the chain starts after it
        return [r.id for r in chain or []], missing, [r.id for r in await store.chain("c") or []]

    ids, missing, after_delete = _run(tmp_path, work)
    assert ids == ["a", "b", "c"] and missing is None and after_delete == ["b", "c"]


def test_chains_stop_at_the_configured_length(tmp_path: Path) -> None:
    async def work(store: ResponseStore) -> Any:
        await store.create(_body("r0"), [])
        for i in range(1, 6):
            await store.create(_body(f"r{i}", f"r{i - 1}"), [])
        return [r.id for r in await store.chain("r5") or []]

    assert _run(tmp_path, work, max_chain_length=3) == ["r3", "r4", "r5"]


def test_updates_never_overwrite_a_final_status(tmp_path: Path) -> None:
    async def work(store: ResponseStore) -> Any:
        await store.create(_body("x", status="queued"), [], background=True)
        started = await store.update(_body("x", status="in_progress"), only_from=("queued",))
        cancelled = await store.update(_body("x", status="cancelled"))
        late = await store.update(_body("x", status="completed"))
        row = await store.get("x")
        return started, cancelled, late, row.status if row else None

    assert _run(tmp_path, work) == (True, True, False, "cancelled")


def test_expired_responses_read_as_missing_and_are_purged(tmp_path: Path) -> None:
    async def work(store: ResponseStore) -> Any:
        await store.create(_body("old"), [])
        await asyncio.sleep(0.3)
        return await store.get("old"), await store.purge_expired()

    assert _run(tmp_path, work, response_ttl_s=0.2) == (None, 1)


def test_orphans_are_running_responses_past_their_lease(tmp_path: Path) -> None:
    async def work(store: ResponseStore) -> Any:
        await store.create(_body("run", status="in_progress"), [], background=True)
        await store.create(_body("done"), [])
        fresh = await store.orphans(lease_s=60)
        await asyncio.sleep(0.2)
        stale = await store.orphans(lease_s=0.1)
        status = await store.heartbeat("run")
        after_beat = await store.orphans(lease_s=0.1)
        return [r.id for r in fresh], [r.id for r in stale], status, after_beat

    assert _run(tmp_path, work) == ([], ["run"], "in_progress", [])


def test_too_large_to_store_is_400(tmp_path: Path) -> None:
    async def work(store: ResponseStore) -> None:
        await store.create(_body("big"), [{"text": "x" * 5000}])

    with pytest.raises(InvalidRequest, match=r"store\.max_response_bytes"):
        _run(tmp_path, work, max_response_bytes=1024)


def test_an_unreachable_database_is_store_unavailable(tmp_path: Path) -> None:
    async def main() -> tuple[bool, str]:
        database = Database(
            StoreSettings(database_url="postgresql://u@127.0.0.1:9/db", connect_timeout_s=1)
        )
        with pytest.raises(OSError):
            await database.open()
        with pytest.raises(StoreUnavailable) as info:
            async with database.session():
                pass
        return await database.ping(), str(info.value.code)

    started = time.monotonic()
    assert asyncio.run(main()) == (False, "store_unavailable")
    assert time.monotonic() - started < 10
