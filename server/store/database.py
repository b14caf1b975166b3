"""One database for the server: an async SQLAlchemy engine, migrated at start.

``database_url`` unset: an SQLite file in ``data_dir`` (WAL, so readers never wait on the
writer). Set to ``postgresql://...``: asyncpg, shared by replicas; migrations then run under
an advisory lock so that replicas starting together apply them once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from server.core.settings import StoreSettings
from server.store.errors import StoreUnavailable

log = logging.getLogger("server.store")

T = TypeVar("T")
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_FILE = "server.db"
# Any constant both replicas agree on: the key of the lock migrations run under.
_MIGRATION_LOCK = 7_304_112_015
# Faults of the database itself (not of our SQL): the store is unavailable.
_FAULTS = (OperationalError, DBAPIError, OSError, TimeoutError, ConnectionError)


def database_url(settings: StoreSettings) -> str:
    """The SQLAlchemy URL: PostgreSQL through asyncpg, or the SQLite file in ``data_dir``."""
    if settings.database_url is None:
        return f"sqlite+aiosqlite:///{(settings.data_dir / SQLITE_FILE).resolve()}"
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    raise ValueError(f"store.database_url: unsupported database {url.get_backend_name()!r}")


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class Database:
    """The server's database; ``session()`` hands out a transaction, faults become 503."""

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self.url = database_url(settings)
        self.dialect = make_url(self.url).get_backend_name()
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the database is not open")
        return self._engine

    async def open(self) -> None:
        """Connect and apply the migrations (raises if the database cannot be reached)."""
        timeout = self.settings.connect_timeout_s
        if self.dialect == "sqlite":
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(self.url, connect_args={"timeout": timeout})
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            engine = create_async_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=10,
                max_overflow=10,
                pool_timeout=timeout,
                connect_args={"timeout": timeout, "command_timeout": 30},
            )
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_upgrade)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        log.info("store: %s ready (migrations applied)", self.describe())

    def describe(self) -> str:
        """The URL without its password, for logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def is_open(self) -> bool:
        return self._sessions is not None

    async def open_when_reachable(self, retry_s: float = 2.0) -> None:
        """``open``, retried until the database answers (a server may start before it)."""
        while True:
            try:
                await self.open()
                return
            except _FAULTS as exc:
                log.warning("store: %s unreachable (%s); retrying", self.describe(), exc)
                await asyncio.sleep(retry_s)

    async def close(self) -> None:
        self._sessions = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction, committed when the block ends without error."""
        if self._sessions is None:
            raise StoreUnavailable("not open yet")
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except _FAULTS as exc:
            log.warning("store: %s", exc)
            raise StoreUnavailable(type(exc).__name__) from exc

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """``work`` in one transaction, bounded by the connect timeout plus 30 s."""
        async with self.session() as session:
            return await work(session)

    async def ping(self) -> bool:
        """Whether the database answers within the connect timeout."""
        if self._engine is None:
            return False
        try:
            async with asyncio.timeout(self.settings.connect_timeout_s):
                async with self._engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except (*_FAULTS, RuntimeError):
            return False
        return True
