"""The batcher's queue: inputs by priority, then arrival, each tied to its ``submit()`` call."""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
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


class PendingQueue:
    """Queued inputs: by priority (lower first), then FIFO; O(1) removal of any input."""

    def __init__(self) -> None:
        self._levels: dict[int, dict[Item, None]] = {}
        self._order: list[int] = []  # the priorities present, sorted
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __contains__(self, item: Item) -> bool:
        level = self._levels.get(item.priority)
        return level is not None and item in level

    def __iter__(self) -> Iterator[Item]:
        for priority in self._order:
            yield from self._levels[priority]

    def add(self, item: Item) -> None:
        level = self._levels.get(item.priority)
        if level is None:
            level = self._levels[item.priority] = {}
            bisect.insort(self._order, item.priority)
        level[item] = None
        self._size += 1

    def remove(self, item: Item) -> None:
        level = self._levels[item.priority]
        del level[item]
        self._size -= 1
        if not level:
            del self._levels[item.priority]
            self._order.remove(item.priority)
