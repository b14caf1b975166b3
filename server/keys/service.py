"""The keys one replica accepts, their limits and their usage, kept in step with the store.

Every ``keys.sync_interval_s`` (at most 5 s) a replica re-reads every key (so a revocation or
a limit change reaches it within one interval), adds what it counted to the store's
per-minute counts and reads back the other replicas' (see ``server.core.ratelimit``), and
adds its usage to the usage table. A key is looked up by the SHA-256 digest of what the
client sent: the secrets are random, so a dictionary look-up reveals nothing that timing
could exploit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from server.core.keys import BATCH_KEY_NAME, STATIC_KEY_NAME, KeyGrant, hash_secret
from server.core.metrics import Metrics
from server.core.ratelimit import KeyLimiter
from server.core.settings import KeySettings
from server.store.errors import StoreUnavailable
from server.store.keys import KeyStore, UsageDelta
from server.store.tables import ApiKey

log = logging.getLogger("server.keys")

# Until the keys are first read, sync again this often (the store may still be opening).
FIRST_LOAD_RETRY_S = 0.1


def grant_of(row: ApiKey) -> KeyGrant:
    """What a key of the store may do."""
    models = frozenset(row.models) if row.models is not None else None
    return KeyGrant(row.name, row.id, models, row.rpm, row.tpm, row.max_concurrent)


def _today(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).date().isoformat()


class KeyService:
    """The keys of one replica: static ones (config), the store's, and the batch runner's."""

    def __init__(
        self,
        store: KeyStore,
        settings: KeySettings,
        metrics: Metrics,
        static_keys: list[str],
        internal_key: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.limiter = KeyLimiter(clock)
        self._clock = clock
        self._static = {hash_secret(k): KeyGrant(STATIC_KEY_NAME) for k in static_keys}
        self._internal = hash_secret(internal_key)
        self._by_hash: dict[str, KeyGrant] = {}
        self._by_id: dict[str, KeyGrant] = {}
        self._store_has_keys = False
        self._loaded = asyncio.Event()
        self._usage: dict[tuple[str, str, str], list[int]] = {}
        self._last_used: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    # --- what the HTTP layer asks -------------------------------------------------------------

    @property
    def required(self) -> bool:
        """Whether requests need a key: a static key is configured or the store has keys
        (revoked ones included: revoking the last key must not open the server)."""
        return bool(self._static) or self._store_has_keys

    async def wait_loaded(self) -> bool:
        """Whether the keys have been read (waits up to the store's connect timeout)."""
        if self._loaded.is_set():
            return True
        timeout = self.store.db.settings.connect_timeout_s
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._loaded.wait()
        return self._loaded.is_set()

    def authenticate(self, token: bytes, on_behalf: str | None = None) -> KeyGrant | None:
        """The grant of the key ``token`` (None: no valid key). The batch runner's own key
        acts for the key ``on_behalf`` (an id) its batch was created with: that key's models,
        never its limits."""
        if not token:
            return None
        digest = hash_secret(token)
        if digest == self._internal:
            return self._on_behalf(on_behalf)
        grant = self._by_hash.get(digest) or self._static.get(digest)
        if grant is not None and grant.id is not None:
            self._last_used[grant.id] = self._clock()
        return grant

    def _on_behalf(self, key_id: str | None) -> KeyGrant | None:
        if not key_id:
            return KeyGrant(BATCH_KEY_NAME, limited=False)
        if key_id == STATIC_KEY_NAME:
            return KeyGrant(STATIC_KEY_NAME, limited=False)
        grant = self._by_id.get(key_id)
        return None if grant is None else replace(grant, limited=False)

    def record(self, grant: KeyGrant, model: str, input_tokens: int, output_tokens: int) -> None:
        """Count one answered request of ``grant`` on ``model`` (metrics now, store at the
        next sync)."""
        self.metrics.key_requests.labels(grant.name, model).inc()
        if input_tokens:
            self.metrics.key_tokens.labels(grant.name, model, "input").inc(input_tokens)
        if output_tokens:
            self.metrics.key_tokens.labels(grant.name, model, "output").inc(output_tokens)
        counts = self._usage.setdefault((grant.name, model, _today(self._clock())), [0, 0, 0])
        counts[0] += 1
        counts[1] += input_tokens
        counts[2] += output_tokens

    # --- the sync with the store ---------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="key-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(StoreUnavailable):
            await self.flush_usage()

    async def _loop(self) -> None:
        while True:
            try:
                await self.sync()
            except StoreUnavailable as exc:
                log.debug("keys: store unavailable (%s); keeping the last view", exc)
            except Exception:  # a bug: keep serving with the last view, but say so
                log.exception("keys: sync failed")
            ready = self._loaded.is_set()
            await asyncio.sleep(self.settings.sync_interval_s if ready else FIRST_LOAD_RETRY_S)

    async def sync(self) -> None:
        """One round: read the keys, share the counts, push the usage."""
        rows = await self.store.all()
        active = {r.secret_hash: grant_of(r) for r in rows if not r.revoked}
        self._by_hash = active
        self._by_id = {g.id: g for g in active.values() if g.id is not None}
        self._store_has_keys = bool(rows)
        self._loaded.set()
        await self._share_rates()
        await self.flush_usage()
        last_used, self._last_used = self._last_used, {}
        try:
            await self.store.touch(last_used)
        except StoreUnavailable:
            for key_id, at in last_used.items():
                self._last_used[key_id] = max(at, self._last_used.get(key_id, 0.0))
            raise

    async def _share_rates(self) -> None:
        deltas = self.limiter.pending()
        if deltas:
            await self.store.add_rates((d.key_id, d.window, d.requests, d.tokens) for d in deltas)
            for delta in deltas:
                self.limiter.pushed(delta)
        window = self.limiter.current_window()
        for key_id, requests, tokens in await self.store.rates(window):
            self.limiter.observed(key_id, window, requests, tokens)

    async def flush_usage(self) -> None:
        """Add the usage counted here since the last flush to the store's."""
        usage, self._usage = self._usage, {}
        deltas = [UsageDelta(k, m, d, *counts) for (k, m, d), counts in usage.items()]
        try:
            await self.store.add_usage(deltas)
        except StoreUnavailable:
            for delta in deltas:  # kept for the next round
                counts = self._usage.setdefault((delta.key, delta.model, delta.date), [0, 0, 0])
                counts[0] += delta.requests
                counts[1] += delta.input_tokens
                counts[2] += delta.output_tokens
            raise
