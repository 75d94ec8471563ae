"""Run one coroutine per item with a bound on how many run at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

DEFAULT_CONCURRENCY = 16
"""How many payloads of one batch are stored or fetched at the same time."""

_T = TypeVar("_T")
_R = TypeVar("_R")


async def gather_bounded(items: Sequence[_T], fn: Callable[[_T], Awaitable[_R]], *, limit: int) -> list[_R]:
    """``[await fn(item) for item in items]``, at most ``limit`` at a time, results in order.

    If one call fails, the others are cancelled and the first error is raised.
    """
    if len(items) <= 1:
        return [await fn(item) for item in items]
    gate = asyncio.Semaphore(limit)

    async def bounded(item: _T) -> _R:
        async with gate:
            return await fn(item)

    tasks = [asyncio.ensure_future(bounded(item)) for item in items]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
