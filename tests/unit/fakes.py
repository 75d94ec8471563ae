"""Fakes for error paths. Each implements the real BlobStore interface."""

from __future__ import annotations

import asyncio

from rag_claimcheck.storage import MemoryBlobStore, StoreUnavailableError


class UnreachableStore(MemoryBlobStore):
    """A store whose backend is down: every call fails the way the S3 store fails when unreachable."""

    @property
    def name(self) -> str:
        return "s3://unreachable"

    async def put(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> None:
        raise StoreUnavailableError(f"S3 put failed [store={self.name}, key={key}]: connection refused")

    async def get(self, *, key: str) -> bytes:
        raise StoreUnavailableError(f"S3 get failed [store={self.name}, key={key}]: connection refused")

    async def exists(self, *, key: str) -> bool:
        raise StoreUnavailableError(f"S3 head failed [store={self.name}, key={key}]: connection refused")


class SlowStore(MemoryBlobStore):
    """Records how many puts/gets are in flight at once."""

    def __init__(self, delay: float = 0.02) -> None:
        super().__init__()
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0

    async def _track(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(self.delay)
        self.in_flight -= 1

    async def put(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> None:
        await self._track()
        await super().put(key=key, data=data, sha256_hex=sha256_hex)

    async def get(self, *, key: str) -> bytes:
        await self._track()
        return await super().get(key=key)
