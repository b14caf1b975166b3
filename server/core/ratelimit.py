"""Per-key limits: requests and tokens per minute, and concurrent requests.

Counts are kept in fixed one-minute windows (``reset`` is the end of the current window).
Each replica counts its own requests exactly and learns the other replicas' counts from the
store at every sync (:meth:`KeyLimiter.pending` / :meth:`KeyLimiter.observed`): a key can go
over its limit by at most what the other replicas admitted since their last sync. The
concurrency cap is counted by each replica alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from server.core.errors import RateLimited
from server.core.keys import KEY_ID_PREFIX, KeyGrant

WINDOW_S = 60


@dataclass
class _Window:
    """One key's counts in the window that starts at ``start`` (Unix seconds)."""

    start: int
    requests: int = 0  # admitted here
    tokens: int = 0  # reserved or used here
    pushed_requests: int = 0  # of ``requests``, already added to the store's counts
    pushed_tokens: int = 0
    others_requests: int = 0  # the other replicas', as of the last sync
    others_tokens: int = 0

    @property
    def total_requests(self) -> int:
        return self.requests + self.others_requests

    @property
    def total_tokens(self) -> int:
        return self.tokens + self.others_tokens


@dataclass(frozen=True, slots=True)
class Delta:
    """Counts of one key's window not yet added to the store."""

    key_id: str
    window: int
    requests: int
    tokens: int


@dataclass
class Reservation:
    """Tokens a request holds in the window where it was admitted."""

    window: int
    tokens: int = 0


def _duration(seconds: float) -> str:
    """OpenAI's reset format: ``12s``, ``1m0s``."""
    whole = max(0, math.ceil(seconds))
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


class KeyLimiter:
    """The limits of every key on this replica (keys are told apart by their id, or by
    their name for keys of the configuration)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._running: dict[str, int] = {}

    @staticmethod
    def _ident(grant: KeyGrant) -> str:
        return grant.id or grant.name

    def _window(self, grant: KeyGrant) -> _Window:
        start = int(self._clock()) // WINDOW_S * WINDOW_S
        ident = self._ident(grant)
        window = self._windows.get(ident)
        if window is None or window.start != start:
            window = self._windows[ident] = _Window(start)
        return window

    def _reset_in(self, window: _Window) -> float:
        return window.start + WINDOW_S - self._clock()

    def _refuse(self, window: _Window, what: str) -> RateLimited:
        wait = max(1, math.ceil(self._reset_in(window)))
        return RateLimited(
            f"This API key is over its {what}; retry in {wait} s", retry_after_s=wait
        )

    def admit(self, grant: KeyGrant) -> Reservation:
        """Count a new request of ``grant`` (429 over its rpm, concurrency, or with its
        tpm used up); release it with :meth:`release`."""
        window = self._window(grant)
        if grant.rpm is not None and window.total_requests >= grant.rpm:
            raise self._refuse(window, f"limit of {grant.rpm} requests per minute")
        if grant.tpm is not None and window.total_tokens >= grant.tpm:
            raise self._refuse(window, f"limit of {grant.tpm} tokens per minute")
        ident = self._ident(grant)
        running = self._running.get(ident, 0)
        if grant.max_concurrent is not None and running >= grant.max_concurrent:
            raise RateLimited(
                f"This API key already has {running} requests running, its limit (max_concurrent)"
            )
        self._running[ident] = running + 1
        window.requests += 1
        return Reservation(window.start)

    def reserve(self, grant: KeyGrant, held: Reservation, tokens: int) -> None:
        """Reserve ``tokens`` more for an admitted request (429 past the key's tpm)."""
        window = self._window(grant)
        if grant.tpm is not None and window.total_tokens + tokens > grant.tpm:
            what = f"limit of {grant.tpm} tokens per minute (this request may use {tokens})"
            raise self._refuse(window, what)
        window.tokens += tokens
        if window.start == held.window:
            held.tokens += tokens

    def settle(self, grant: KeyGrant, held: Reservation, used: int) -> None:
        """Replace the request's reservation with the ``used`` tokens."""
        window = self._window(grant)
        if window.start == held.window:
            window.tokens = max(0, window.tokens + used - held.tokens)
        else:  # reserved in a window now past: what it used beyond counts in this one
            window.tokens += max(0, used - held.tokens)
        held.tokens = used

    def release(self, grant: KeyGrant) -> None:
        """The request has ended (its concurrency slot is free again)."""
        ident = self._ident(grant)
        self._running[ident] = max(0, self._running.get(ident, 0) - 1)

    def headers(self, grant: KeyGrant) -> list[tuple[bytes, bytes]]:
        """OpenAI's ``x-ratelimit-*`` headers for the limits ``grant`` has."""
        window = self._window(grant)
        reset = _duration(self._reset_in(window)).encode()
        out: list[tuple[bytes, bytes]] = []
        for kind, limit, used in (
            ("requests", grant.rpm, window.total_requests),
            ("tokens", grant.tpm, window.total_tokens),
        ):
            if limit is None:
                continue
            out += [
                (f"x-ratelimit-limit-{kind}".encode(), str(limit).encode()),
                (f"x-ratelimit-remaining-{kind}".encode(), str(max(0, limit - used)).encode()),
                (f"x-ratelimit-reset-{kind}".encode(), reset),
            ]
        return out

    # --- the sync with the other replicas, through the store ------------------------------

    def pending(self) -> list[Delta]:
        """What this replica counted since its last push, by key (keys of the store only)."""
        return [
            Delta(ident, w.start, w.requests - w.pushed_requests, w.tokens - w.pushed_tokens)
            for ident, w in self._windows.items()
            if ident.startswith(KEY_ID_PREFIX)
            and (w.requests != w.pushed_requests or w.tokens != w.pushed_tokens)
        ]

    def pushed(self, delta: Delta) -> None:
        """``delta`` was added to the store's counts."""
        window = self._windows.get(delta.key_id)
        if window is not None and window.start == delta.window:
            window.pushed_requests += delta.requests
            window.pushed_tokens += delta.tokens

    def current_window(self) -> int:
        return int(self._clock()) // WINDOW_S * WINDOW_S

    def observed(self, key_id: str, window: int, requests: int, tokens: int) -> None:
        """The store's counts of ``key_id``'s ``window`` (every replica's pushes, ours
        included): what is not ours is the other replicas'."""
        current = self._windows.get(key_id)
        if current is None or current.start != window:
            if window != self.current_window():
                return
            current = self._windows[key_id] = _Window(window)
        current.others_requests = max(0, requests - current.pushed_requests)
        current.others_tokens = max(0, tokens - current.pushed_tokens)
