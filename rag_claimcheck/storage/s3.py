"""A blob store on S3 or any S3-compatible server (MinIO), through aioboto3.

One client is opened on first use and kept for the life of the store; the bucket is checked
(and created if allowed) once, not on every call.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Sequence
from pathlib import Path
from typing import Any

import aioboto3
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError

from rag_claimcheck.storage.base import (
    STREAM_CHUNK_BYTES,
    BlobInfo,
    BlobNotFoundError,
    BlobStore,
    Progress,
    StoreUnavailableError,
    validate_key,
    validate_prefix,
)

DEFAULT_MAX_CONNECTIONS = 32
DEFAULT_CONNECT_TIMEOUT_SECONDS = 3.0
"""Seconds to open a connection (botocore's default is 60)."""
DEFAULT_READ_TIMEOUT_SECONDS = 4.0
"""Seconds without a byte from the server, per read (botocore's default is 60). A frozen store
then fails a call in about 2 x 4 s, so a command names it within ~15 s instead of minutes."""
DEFAULT_MAX_ATTEMPTS = 2
"""Attempts per call, the first included. Temporal's retry policy does the patient retrying."""
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
CONDITIONAL_PUT_MAX_BYTES = 8 * 1024 * 1024
"""Up to this size a blob is sent with a conditional PUT; a larger one is HEADed first."""
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
WRITER_METADATA_KEY = "writer"
"""S3 user metadata (header ``x-amz-meta-writer``) naming the process that wrote an object."""


class _CountingFile(io.FileIO):
    """A file that tells ``progress`` how much was read from it, for an upload's progress bar."""

    def __init__(self, path: Path, progress: Progress | None) -> None:
        super().__init__(path, "rb")
        self._progress = progress

    def read(self, size: int | None = -1, /) -> bytes:
        piece = super().read(size)
        if self._progress is not None and piece:
            self._progress(len(piece))
        return piece  # type: ignore[return-value] # a blocking file never returns None


class S3BlobStore(BlobStore):
    """Stores blobs as objects in one bucket.

    Args:
        bucket: The bucket name.
        endpoint_url: For MinIO or other S3-compatible servers; ``None`` for AWS.
        region_name: AWS region (MinIO ignores it).
        access_key_id / secret_access_key: Credentials; ``None`` uses the default AWS chain.
        create_bucket: Create the bucket on first use if it does not exist.
        max_connections: Size of the client's connection pool (bounds concurrent requests).
        writer: Recorded on every object written, as user metadata ``writer``; ``None`` names this
            process as ``pid@host``, the form of Temporal's default worker identity.
    """

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        create_bucket: bool = True,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = DEFAULT_READ_TIMEOUT_SECONDS,
        writer: str | None = None,
    ) -> None:
        if not _BUCKET_NAME.fullmatch(bucket or "") or ".." in bucket:
            raise ValueError(
                f"invalid S3 bucket name {bucket!r}: use 3-63 lowercase letters, digits, '-' or '.', "
                "starting and ending with a letter or digit"
            )
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        if writer is not None and not (writer.isascii() and writer.isprintable() and writer.strip()):
            raise ValueError(
                f"writer must be non-empty printable ASCII (it is an HTTP header), got {writer!r}"
            )
        self.bucket = bucket
        # A store is not shared with forked processes, so this process's id is the right one.
        self.writer = writer if writer is not None else f"{os.getpid()}@{socket.gethostname()}"
        self.endpoint_url = endpoint_url
        self._session = aioboto3.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region_name or "us-east-1",
        )
        self._config = AioConfig(
            max_pool_connections=max_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": DEFAULT_MAX_ATTEMPTS},
            signature_version="s3v4",
            # The kit hashes every blob itself and sends the digest as ChecksumSHA256, which the
            # server verifies, and checks the sha256 of what it reads back. So botocore neither
            # hashes the body again to sign it (the checksum header is signed) nor computes or
            # validates a checksum of its own.
            s3={"payload_signing_enabled": False, **({"addressing_style": "path"} if endpoint_url else {})},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._create_bucket = create_bucket
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return f"s3://{self.bucket}"

    async def _ensure_client(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                stack = contextlib.AsyncExitStack()
                client = await stack.enter_async_context(
                    self._session.client("s3", endpoint_url=self.endpoint_url, config=self._config)
                )
                try:
                    await self._ensure_bucket(client)
                except BaseException:
                    await stack.aclose()
                    raise
                self._stack, self._client = stack, client
        return self._client

    async def _ensure_bucket(self, client: Any) -> None:
        try:
            await client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code not in _NOT_FOUND_CODES and code != "NoSuchBucket":
                raise StoreUnavailableError(
                    f"cannot use bucket [store={self.name}, endpoint={self.endpoint_url}]: {code} {e}"
                ) from e
        except BotoCoreError as e:
            raise StoreUnavailableError(
                f"cannot reach S3 [store={self.name}, endpoint={self.endpoint_url}]: {e}"
            ) from e
        if not self._create_bucket:
            raise StoreUnavailableError(f"bucket does not exist and create_bucket is off [store={self.name}]")
        try:
            await client.create_bucket(Bucket=self.bucket)
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise StoreUnavailableError(f"cannot create bucket [store={self.name}]: {e}") from e

    def _unavailable(self, op: str, key: str, e: Exception) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"S3 {op} failed [store={self.name}, endpoint={self.endpoint_url or 'AWS'}, key={key}]: {e}"
        )

    async def put(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> None:
        try:
            await self._put(key, data, sha256_hex)
        except (ClientError, BotoCoreError) as e:
            raise self._unavailable("put", key, e) from e

    async def _put(self, key: str, data: bytes, sha256_hex: str | None, **conditions: str) -> None:
        validate_key(key)
        client = await self._ensure_client()
        # The server checks the upload against this digest (the body itself is not signed).
        digest = bytes.fromhex(sha256_hex) if sha256_hex else hashlib.sha256(data).digest()
        await client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=bytes(data),
            ChecksumSHA256=base64.b64encode(digest).decode(),
            Metadata={WRITER_METADATA_KEY: self.writer},
            **conditions,
        )

    async def put_if_absent(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> bool:
        """A conditional PUT (``If-None-Match: *``); a blob over 8 MiB is HEADed first.

        A refused PUT (412) means the blob is there: the server checks when it commits the
        upload, so of writers racing past the HEAD exactly one stores. The HEAD only saves
        sending a large blob that is there already.
        """
        if len(data) > CONDITIONAL_PUT_MAX_BYTES and await self.exists(key=key):
            return False
        return await self._unless_present(key, self._put(key, data, sha256_hex, IfNoneMatch="*"))

    async def put_file(
        self, *, key: str, path: Path, sha256_hex: str | None = None, progress: Progress | None = None
    ) -> None:
        """One PUT whose body is read from the file as it is sent (S3 takes up to 5 GiB this way)."""
        try:
            await self._put_file(key, path, sha256_hex, progress)
        except (ClientError, BotoCoreError) as e:
            raise self._unavailable("put", key, e) from e

    async def put_file_if_absent(
        self, *, key: str, path: Path, sha256_hex: str | None = None, progress: Progress | None = None
    ) -> bool:
        """:meth:`put_file` as a conditional PUT, HEADed first over 8 MiB, as :meth:`put_if_absent`."""
        validate_key(key)
        if os.stat(path).st_size > CONDITIONAL_PUT_MAX_BYTES and await self.exists(key=key):
            return False
        upload = self._put_file(key, path, sha256_hex, progress, IfNoneMatch="*")
        return await self._unless_present(key, upload)

    async def _put_file(
        self, key: str, path: Path, sha256_hex: str | None, progress: Progress | None, **conditions: str
    ) -> None:
        validate_key(key)
        client = await self._ensure_client()
        digest = bytes.fromhex(sha256_hex) if sha256_hex else await asyncio.to_thread(_file_digest, path)
        with _CountingFile(path, progress) as body:
            await client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentLength=os.fstat(body.fileno()).st_size,
                ChecksumSHA256=base64.b64encode(digest).decode(),
                Metadata={WRITER_METADATA_KEY: self.writer},
                **conditions,
            )

    async def _unless_present(self, key: str, upload: Awaitable[None]) -> bool:
        """Await a conditional ``upload``: True if it stored, False if the server refused it (412)."""
        try:
            await upload
        except ClientError as e:
            if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412:
                return False
            raise self._unavailable("put", key, e) from e
        except BotoCoreError as e:
            raise self._unavailable("put", key, e) from e
        return True

    async def iter_chunks(self, *, key: str, chunk_bytes: int = STREAM_CHUNK_BYTES) -> AsyncIterator[bytes]:
        validate_key(key)
        client = await self._ensure_client()
        try:
            response = await client.get_object(Bucket=self.bucket, Key=key)
            body = response["Body"]  # entering it yields the raw response; read through the wrapper
            async with body:
                while piece := await body.read(chunk_bytes):
                    yield piece
        except ClientError as e:
            if str(e.response.get("Error", {}).get("Code", "")) in _NOT_FOUND_CODES:
                raise BlobNotFoundError(store=self.name, key=key) from None
            raise self._unavailable("get", key, e) from e
        except BotoCoreError as e:
            raise self._unavailable("get", key, e) from e

    async def get(self, *, key: str) -> bytes:
        validate_key(key)
        client = await self._ensure_client()
        try:
            response = await client.get_object(Bucket=self.bucket, Key=key)
            async with response["Body"] as body:
                return bytes(await body.read())
        except ClientError as e:
            if str(e.response.get("Error", {}).get("Code", "")) in _NOT_FOUND_CODES:
                raise BlobNotFoundError(store=self.name, key=key) from None
            raise self._unavailable("get", key, e) from e
        except BotoCoreError as e:
            raise self._unavailable("get", key, e) from e

    async def exists(self, *, key: str) -> bool:
        validate_key(key)
        client = await self._ensure_client()
        try:
            await client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as e:
            if str(e.response.get("Error", {}).get("Code", "")) in _NOT_FOUND_CODES:
                return False
            raise self._unavailable("head", key, e) from e
        except BotoCoreError as e:
            raise self._unavailable("head", key, e) from e

    async def writer_of(self, *, key: str) -> str | None:
        """Who wrote the object under ``key`` (its ``writer`` metadata), by one HEAD.

        ``None`` for an object written without it (before the store recorded writers, or by
        another tool). Raises :class:`BlobNotFoundError` if there is no such object.
        """
        validate_key(key)
        client = await self._ensure_client()
        try:
            response = await client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if str(e.response.get("Error", {}).get("Code", "")) in _NOT_FOUND_CODES:
                raise BlobNotFoundError(store=self.name, key=key) from None
            raise self._unavailable("head", key, e) from e
        except BotoCoreError as e:
            raise self._unavailable("head", key, e) from e
        writer = response.get("Metadata", {}).get(WRITER_METADATA_KEY)
        return str(writer) if writer is not None else None

    async def delete(self, *, key: str) -> None:
        validate_key(key)
        client = await self._ensure_client()
        try:
            await client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as e:
            raise self._unavailable("delete", key, e) from e

    async def list(self, *, prefix: str) -> list[BlobInfo]:
        validate_prefix(prefix)
        client = await self._ensure_client()
        found: list[BlobInfo] = []
        try:
            paginator = client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                found.extend(
                    BlobInfo(key=o["Key"], size=int(o["Size"]), modified=o.get("LastModified"))
                    for o in page.get("Contents", [])
                )
        except (ClientError, BotoCoreError) as e:
            raise self._unavailable("list", prefix, e) from e
        return sorted(found, key=lambda b: b.key)

    async def set_expiry(self, *, prefix: str, days: int, rule_id: str) -> None:
        """Install (or replace) a bucket lifecycle rule expiring objects under ``prefix`` after ``days``.

        Other rules on the bucket are kept.
        """
        validate_prefix(prefix)
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        client = await self._ensure_client()
        rules = [r for r in await self.expiry_rules() if r.get("ID") != rule_id]
        rules.append(
            {"ID": rule_id, "Filter": {"Prefix": prefix}, "Status": "Enabled", "Expiration": {"Days": days}}
        )
        try:
            await client.put_bucket_lifecycle_configuration(
                Bucket=self.bucket, LifecycleConfiguration={"Rules": rules}
            )
        except (ClientError, BotoCoreError) as e:
            raise self._unavailable("put-bucket-lifecycle", prefix, e) from e

    async def expiry_rules(self) -> Sequence[dict[str, Any]]:
        """The bucket's lifecycle rules (empty if it has none)."""
        client = await self._ensure_client()
        try:
            response = await client.get_bucket_lifecycle_configuration(Bucket=self.bucket)
        except ClientError as e:
            if str(e.response.get("Error", {}).get("Code", "")) == "NoSuchLifecycleConfiguration":
                return []
            raise self._unavailable("get-bucket-lifecycle", "", e) from e
        except BotoCoreError as e:
            raise self._unavailable("get-bucket-lifecycle", "", e) from e
        return tuple(response.get("Rules", ()))

    async def close(self) -> None:
        async with self._lock:
            if self._stack is not None:
                await self._stack.aclose()
            self._stack, self._client = None, None


def _file_digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while piece := fh.read(STREAM_CHUNK_BYTES):
            digest.update(piece)
    return digest.digest()
