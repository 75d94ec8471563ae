"""Build the blob store the settings ask for."""

from __future__ import annotations

from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.storage.base import BlobStore
from rag_claimcheck.storage.filesystem import FileBlobStore
from rag_claimcheck.storage.memory import MemoryBlobStore


def open_store(settings: ClaimCheckSettings) -> BlobStore:
    """A store for ``settings.store``: ``file`` (default), ``s3`` or ``memory``.

    S3 credentials come from the standard AWS variables (``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``) or the default AWS credential chain.
    """
    if settings.store == "file":
        return FileBlobStore(settings.file_root)
    if settings.store == "memory":
        return MemoryBlobStore()
    from rag_claimcheck.storage.s3 import S3BlobStore  # aioboto3 is only imported when used

    return S3BlobStore(
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        max_connections=max(settings.concurrency, 10),
    )
