"""An in-memory blob store for unit tests and notebooks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timezone

from rag_claimcheck.storage.base import BlobInfo, BlobNotFoundError, BlobStore, validate_key, validate_prefix


class MemoryBlobStore(BlobStore):
    """Keeps blobs in a dict. Counts calls per operation so tests can prove what was touched."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.written: dict[str, datetime] = {}
        self.calls: dict[str, int] = {"put": 0, "get": 0, "exists": 0, "delete": 0, "list": 0}
        self._writers: dict[str, tuple[asyncio.Lock, int]] = {}

    @property
    def name(self) -> str:
        return "memory"

    async def put(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> None:
        self.calls["put"] += 1
        self.blobs[validate_key(key)] = bytes(data)
        self.written[key] = datetime.now(timezone.utc)

    async def put_if_absent(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> bool:
        """:meth:`exists`, then :meth:`put`, one writer of ``key`` at a time.

        The turn spans both calls, so exactly one of racing writers stores, even in a subclass
        whose ``put`` waits (a fake of a slow or remote store).
        """
        async with self._turn(validate_key(key)):
            return await super().put_if_absent(key=key, data=data, sha256_hex=sha256_hex)

    @contextlib.asynccontextmanager
    async def _turn(self, key: str) -> AsyncIterator[None]:
        # One lock per key, dropped when its last user leaves, so the dict does not grow with keys.
        lock, users = self._writers.get(key, (asyncio.Lock(), 0))
        self._writers[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._writers[key]
            if users == 1:
                del self._writers[key]
            else:
                self._writers[key] = (lock, users - 1)

    async def get(self, *, key: str) -> bytes:
        self.calls["get"] += 1
        try:
            return self.blobs[validate_key(key)]
        except KeyError:
            raise BlobNotFoundError(store=self.name, key=key) from None

    async def exists(self, *, key: str) -> bool:
        self.calls["exists"] += 1
        return validate_key(key) in self.blobs

    async def delete(self, *, key: str) -> None:
        self.calls["delete"] += 1
        self.blobs.pop(validate_key(key), None)

    async def list(self, *, prefix: str) -> list[BlobInfo]:
        self.calls["list"] += 1
        validate_prefix(prefix)
        return [
            BlobInfo(key=k, size=len(v), modified=self.written.get(k))
            for k, v in sorted(self.blobs.items())
            if k.startswith(prefix)
        ]

    @property
    def total_calls(self) -> int:
        """All store calls made so far."""
        return sum(self.calls.values())
