"""An in-memory blob store for unit tests and notebooks."""

from __future__ import annotations

from datetime import datetime, timezone

from rag_claimcheck.storage.base import BlobInfo, BlobNotFoundError, BlobStore, validate_key, validate_prefix


class MemoryBlobStore(BlobStore):
    """Keeps blobs in a dict. Counts calls per operation so tests can prove what was touched."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.written: dict[str, datetime] = {}
        self.calls: dict[str, int] = {"put": 0, "get": 0, "exists": 0, "delete": 0, "list": 0}

    @property
    def name(self) -> str:
        return "memory"

    async def put(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> None:
        self.calls["put"] += 1
        self.blobs[validate_key(key)] = bytes(data)
        self.written[key] = datetime.now(timezone.utc)

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
