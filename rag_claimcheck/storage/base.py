"""The blob-store interface every backend implements, and the errors it raises.

A store holds opaque bytes under slash-separated keys. Keys are validated the same way for
every backend so that a key that is safe in memory is also safe on disk and in S3.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType

MAX_KEY_LENGTH = 1024
"""S3's own limit on the UTF-8 length of an object key, in bytes."""
STREAM_CHUNK_BYTES = 8 * 1024 * 1024
"""Bytes per piece when a blob is streamed in or out (8 MiB)."""

Progress = Callable[[int], None]
"""Told how many more bytes were sent, as an upload goes."""


class BlobStoreError(Exception):
    """Base class of every error a blob store raises."""


class BlobNotFoundError(BlobStoreError, KeyError):
    """The key does not exist in the store."""

    def __init__(self, *, store: str, key: str) -> None:
        self.store = store
        self.key = key
        super().__init__(f"blob not found [store={store}, key={key}]")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class InvalidKeyError(BlobStoreError, ValueError):
    """The key is empty, too long, absolute, or would escape the store's namespace."""


class StoreUnavailableError(BlobStoreError):
    """The store could not be reached or refused the request; retrying later may help."""


@dataclass(frozen=True)
class BlobInfo:
    """One object in a listing: key, size in bytes, and when it was last written (UTC).

    ``modified`` is None only where a backend cannot tell; garbage collection treats that as "now".
    """

    key: str
    size: int
    modified: datetime | None = field(default=None, compare=False)


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe relative key, else raise :class:`InvalidKeyError`.

    Rejected: empty keys, keys over :data:`MAX_KEY_LENGTH` bytes, NUL bytes, backslashes,
    leading ``/``, and empty, ``.`` or ``..`` segments.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKeyError("blob key must be a non-empty string")
    if len(key.encode("utf-8")) > MAX_KEY_LENGTH:
        raise InvalidKeyError(f"blob key is longer than {MAX_KEY_LENGTH} bytes [key={key[:80]}...]")
    if "\x00" in key:
        raise InvalidKeyError(f"blob key contains a NUL byte [key={key!r}]")
    if "\\" in key:
        raise InvalidKeyError(f"blob key contains a backslash [key={key!r}]")
    if key.startswith("/"):
        raise InvalidKeyError(f"blob key must be relative [key={key!r}]")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(f"blob key has an empty, '.' or '..' segment [key={key!r}]")
    return key


def validate_prefix(prefix: str) -> str:
    """Validate a listing prefix: empty, or a key optionally ending in ``/``."""
    if prefix == "":
        return prefix
    validate_key(prefix.rstrip("/") or "x")
    return prefix


class BlobStore(ABC):
    """An async key/value store for blobs. Every method takes keyword-only arguments.

    Stores are async context managers; :meth:`close` releases connections. Implementations
    raise :class:`BlobNotFoundError` for a missing key, :class:`InvalidKeyError` for an unsafe
    key, and :class:`StoreUnavailableError` when the backend cannot be reached.
    """

    @property
    @abstractmethod
    def name(self) -> str:
        """A short description of where blobs go, e.g. ``s3://bucket`` or ``file:///tmp/blobs``."""

    @abstractmethod
    async def put(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> None:
        """Store ``data`` under ``key``, replacing any existing blob.

        ``sha256_hex``, when the caller already knows it, lets a backend have the server verify
        the upload (S3 ``ChecksumSHA256``) instead of computing a checksum of its own.
        """

    async def put_if_absent(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> bool:
        """Store ``data`` under ``key`` unless a blob is there already; True if it stored.

        For content-addressed keys (same key, same bytes). Of writers racing on one key, exactly
        one is told True, so counts of stored blobs add up to the blobs in the store. The default
        asks :meth:`exists`, then puts: two writers can both pass the check, so the backends here
        override it with a write that refuses to replace a blob.
        """
        if await self.exists(key=key):
            return False
        await self.put(key=key, data=data, sha256_hex=sha256_hex)
        return True

    async def put_file(
        self, *, key: str, path: Path, sha256_hex: str | None = None, progress: Progress | None = None
    ) -> None:
        """Store the file at ``path`` under ``key``; a backend that can streams it instead of reading it whole.

        ``progress`` is told the bytes sent as the upload goes (it may be called from another thread).
        """
        data = await asyncio.to_thread(path.read_bytes)
        await self.put(key=key, data=data, sha256_hex=sha256_hex)
        if progress is not None:
            progress(len(data))

    async def put_file_if_absent(
        self, *, key: str, path: Path, sha256_hex: str | None = None, progress: Progress | None = None
    ) -> bool:
        """Store the file at ``path`` under ``key`` unless a blob is there already; True if it stored.

        :meth:`put_file` as :meth:`put_if_absent` is to :meth:`put`, with the same guarantee. The
        default asks :meth:`exists` (a stored file is not read again), then reads the file whole
        and calls :meth:`put_if_absent`; ``progress`` hears of the bytes only if they were stored.
        """
        if await self.exists(key=key):
            return False
        data = await asyncio.to_thread(path.read_bytes)
        stored = await self.put_if_absent(key=key, data=data, sha256_hex=sha256_hex)
        if stored and progress is not None:
            progress(len(data))
        return stored

    @abstractmethod
    async def get(self, *, key: str) -> bytes:
        """Return the blob under ``key``."""

    async def iter_chunks(self, *, key: str, chunk_bytes: int = STREAM_CHUNK_BYTES) -> AsyncIterator[bytes]:
        """The blob under ``key`` in pieces, so a reader can fill one buffer instead of holding two copies.

        Pieces are at most ``chunk_bytes`` where the backend streams; the default yields the blob
        whole. Raises what :meth:`get` raises, before the first piece.
        """
        yield await self.get(key=key)

    @abstractmethod
    async def exists(self, *, key: str) -> bool:
        """Whether a blob is stored under ``key``."""

    @abstractmethod
    async def delete(self, *, key: str) -> None:
        """Delete the blob under ``key``; deleting a missing key is not an error."""

    @abstractmethod
    async def list(self, *, prefix: str) -> list[BlobInfo]:
        """All blobs whose key starts with ``prefix``, sorted by key."""

    async def delete_prefix(self, *, prefix: str) -> int:
        """Delete every blob under ``prefix`` and return how many were deleted."""
        if not prefix:
            raise InvalidKeyError("refusing to delete with an empty prefix (that is the whole store)")
        blobs = await self.list(prefix=prefix)
        for blob in blobs:
            await self.delete(key=blob.key)
        return len(blobs)

    async def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release connections held by the store."""

    async def __aenter__(self) -> BlobStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
