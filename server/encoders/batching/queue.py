"""The batcher's queue: inputs by priority, then shared fairly between API keys, then by
arrival; each tied to its ``submit()`` call.

Within one priority, the keys ("tenants") take turns: the first input of every key, oldest
key first, then the second of every key, and so on. A key with one input waiting is thus
behind one input of each other key, not behind another key's thousand; without keys (one
tenant) this is plain first come, first served.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any


@dataclass(eq=False, slots=True)
class Call:
    """One ``submit()``: counts its inputs still queued, for the waiting/running gauges, and
    is ``started`` once none is."""

    queued: int
    started: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False, slots=True)
class Item:
    """One queued input: its token length, its payload, and the future of its result."""

    length: int
    payload: Any
    future: asyncio.Future[Any]
    enqueued: float
    call: Call = field(repr=False)
    priority: int = 0
    tenant: str = ""  # the API key's name ("" without keys)


class PendingQueue:
    """Queued inputs: by priority (lower first), then fair turns between tenants, each tenant
    FIFO; O(1) removal of any input."""

    def __init__(self) -> None:
        # priority -> tenant -> that tenant's inputs in arrival order
        self._levels: dict[int, dict[str, dict[Item, None]]] = {}
        self._order: list[int] = []  # the priorities present, sorted
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def shared(self) -> bool:
        """Whether inputs of more than one tenant are queued at the first priority (what a
        lower priority holds, such as batch lines, waits anyway)."""
        return bool(self._order) and len(self._levels[self._order[0]]) > 1

    def __contains__(self, item: Item) -> bool:
        level = self._levels.get(item.priority)
        tenant = level.get(item.tenant) if level is not None else None
        return tenant is not None and item in tenant

    def __iter__(self) -> Iterator[Item]:
        _missing = object()
        for priority in self._order:
            tenants = list(self._levels[priority].values())
            if len(tenants) == 1:
                yield from tenants[0]
                continue
            # The tenant whose first input is the oldest goes first in every round.
            tenants.sort(key=lambda queue: next(iter(queue)).enqueued)
            for turn in zip_longest(*tenants, fillvalue=_missing):
                for item in turn:
                    if item is not _missing:
                        assert isinstance(item, Item)
                        yield item

    def add(self, item: Item) -> None:
        level = self._levels.get(item.priority)
        if level is None:
            level = self._levels[item.priority] = {}
            bisect.insort(self._order, item.priority)
        level.setdefault(item.tenant, {})[item] = None
        self._size += 1

    def remove(self, item: Item) -> None:
        level = self._levels[item.priority]
        tenant = level[item.tenant]
        del tenant[item]
        self._size -= 1
        if not tenant:
            del level[item.tenant]
        if not level:
            del self._levels[item.priority]
            self._order.remove(item.priority)
