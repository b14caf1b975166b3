"""Async streams of engine output: merged (one per prompt), and started before answering."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, TypeVar

T = TypeVar("T")
_DONE = object()


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error


async def merge(streams: list[AsyncGenerator[T, None]]) -> AsyncGenerator[tuple[int, T], None]:
    """Items of all ``streams`` tagged with the stream's index.

    The first error cancels the other streams and is raised; closing the merged stream
    cancels them all (which aborts their engine requests).
    """
    if len(streams) == 1:
        async with aclosing(streams[0]) as only:
            async for item in only:
                yield 0, item
        return
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()

    async def pump(index: int, stream: AsyncGenerator[T, None]) -> None:
        try:
            async with aclosing(stream) as items:
                async for item in items:
                    await queue.put((index, item))
        except Exception as exc:  # handed to the consumer, which raises it
            await queue.put((index, _Failed(exc)))
        else:
            await queue.put((index, _DONE))

    tasks = [asyncio.create_task(pump(i, s)) for i, s in enumerate(streams)]
    remaining = len(tasks)
    try:
        while remaining:
            index, item = await queue.get()
            if item is _DONE:
                remaining -= 1
                continue
            if isinstance(item, _Failed):
                raise item.error
            yield index, item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def started(
    stream: AsyncGenerator[T, None], timeout: float | None
) -> AsyncGenerator[T, None]:
    """``stream``, once its first item has arrived (within ``timeout`` seconds if given).

    Waiting here, before the response begins, turns what fails before any output (a full
    engine, a bad grammar, a passed deadline: ``TimeoutError``) into an HTTP error rather than
    an error event in a stream that already answered 200. On failure ``stream`` is closed.
    """
    try:
        async with asyncio.timeout(timeout):
            first = await anext(stream)
    except StopAsyncIteration:
        return _items([])
    except BaseException:
        await stream.aclose()
        raise
    return _then(first, stream)


async def _then(first: T, rest: AsyncGenerator[T, None]) -> AsyncGenerator[T, None]:
    async with aclosing(rest):
        yield first
        async for item in rest:
            yield item


async def _items(items: list[T]) -> AsyncGenerator[T, None]:
    for item in items:
        yield item
