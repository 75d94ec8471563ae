"""A per-request bound on the work one ``/decode`` request can cause.

Without it a 0.6 MB request of 1,000 references to one 4 MiB blob makes the server read and hash
4 GB. Each request gets a :class:`DecodeBudget`: every blob is fetched at most once per request,
the bytes read from the store and the bytes returned are both charged to one allowance, and a
reference that would overdraw it becomes a summary with a link instead of being fetched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

DEFAULT_MAX_DECODE_BYTES = 64 * 1024 * 1024
"""Bytes one ``/decode`` request may read from the store plus return (64 MiB)."""

T = TypeVar("T")


class DecodeBudget:
    """What one request may still read and return, and the blobs it has already fetched.

    Args:
        limit: Bytes this request may read from the store plus return.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1; got {limit}")
        self.limit = limit
        self.used = 0
        self._fetched: dict[str, asyncio.Future[Any]] = {}

    def take(self, size: int) -> bool:
        """Charge ``size`` bytes if the allowance covers them; ``False`` (nothing charged) if not."""
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    async def fetch_once(
        self,
        key: str,
        stored_size: int | None,
        fetch: Callable[[], Awaitable[T]],
        size_of: Callable[[T], int],
    ) -> T | None:
        """``fetch()`` the blob under ``key`` once per request; ``None`` if it would overdraw.

        ``stored_size`` (known from the reference) is charged before reading; a blob of unknown
        size is charged ``size_of(result)`` once read.
        """
        if key in self._fetched:
            return await asyncio.shield(self._fetched[key])  # type: ignore[no-any-return] # what fetch() gave
        if stored_size is not None and not self.take(stored_size):
            return None
        future = asyncio.ensure_future(fetch())
        self._fetched[key] = future
        result = await asyncio.shield(future)
        if stored_size is None:
            self.used += size_of(result)
        return result
