"""Blob stores: where claim-checked payloads go. One small interface, three backends.

May import: nothing else of the kit.
"""

from __future__ import annotations

from rag_claimcheck.storage.base import (
    BlobInfo,
    BlobNotFoundError,
    BlobStore,
    BlobStoreError,
    InvalidKeyError,
    StoreUnavailableError,
)
from rag_claimcheck.storage.filesystem import FileBlobStore
from rag_claimcheck.storage.memory import MemoryBlobStore

__all__ = [
    "BlobInfo",
    "BlobNotFoundError",
    "BlobStore",
    "BlobStoreError",
    "FileBlobStore",
    "InvalidKeyError",
    "MemoryBlobStore",
    "StoreUnavailableError",
]
