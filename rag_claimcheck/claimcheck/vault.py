"""Content-addressed storage of serialized payloads, shared by the codec and the SDK driver.

The vault turns a ``Payload`` into a verified blob and back:

* put: serialize, optionally compress, sha256 the stored bytes, derive the key from the digest
  (scoped to the workflow when known), skip the upload if that key is already there;
* get: fetch, check size and sha256, decompress under a cap, parse.

Store errors are translated into the named :mod:`rag_claimcheck.claimcheck.errors`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from temporalio.api.common.v1 import Payload

from rag_claimcheck.claimcheck.compression import (
    COMPRESSIONS,
    Compression,
    DecompressionLimitError,
    compress,
    decompress,
)
from rag_claimcheck.claimcheck.errors import (
    ClaimCheckDecompressionLimitExceeded,
    ClaimCheckError,
    ClaimCheckIntegrityError,
    ClaimCheckPayloadMissing,
    ClaimCheckPayloadTooLarge,
    ClaimCheckReferenceInvalid,
    ClaimCheckStoreUnavailable,
)
from rag_claimcheck.claimcheck.keys import DEFAULT_KEY_PREFIX, blob_key
from rag_claimcheck.claimcheck.reference import ClaimCheckReference
from rag_claimcheck.observe.metrics import current as current_metrics
from rag_claimcheck.storage.base import (
    BlobNotFoundError,
    BlobStore,
    BlobStoreError,
    InvalidKeyError,
    Progress,
    StoreUnavailableError,
)

DEFAULT_MAX_PAYLOAD_BYTES = 512 * 1024 * 1024
"""Largest serialized payload the vault stores (512 MiB)."""
DEFAULT_MAX_DECOMPRESSED_BYTES = DEFAULT_MAX_PAYLOAD_BYTES
"""Cap on what one compressed blob may expand to (512 MiB)."""
_R = TypeVar("_R")
OFFLOAD_CPU_BYTES = 256 * 1024
"""Hashing and compressing payloads at least this large runs in a thread, off the event loop."""


@dataclass
class VaultStats:
    """Counters a notebook or benchmark can read; shared by every copy of a codec."""

    stored: int = 0
    stored_bytes: int = 0
    original_bytes: int = 0
    deduplicated: int = 0
    fetched: int = 0
    fetched_bytes: int = 0
    inline: int = 0


async def _maybe_in_thread(size: int, fn: Callable[..., _R], *args: object) -> _R:
    if size >= OFFLOAD_CPU_BYTES:
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


def _seal(data: bytes, method: Compression) -> tuple[bytes, str, str]:
    stored, used = data, "none"
    if method != "none":
        packed = compress(data, method)
        if len(packed) < len(data):
            stored, used = packed, method
    return stored, used, hashlib.sha256(stored).hexdigest()


class PayloadVault:
    """Stores serialized payloads in a :class:`BlobStore` and fetches them back verified.

    Args:
        store: Where blobs go.
        compression: ``none``, ``zstd`` or ``gzip``; a blob is only kept compressed if smaller.
        max_payload_bytes: Refuse to store a serialized payload larger than this.
        max_decompressed_bytes: Refuse to expand a stored blob beyond this.
        key_prefix: First segment of every key.
        mode: Who uses the vault (``codec``, ``extstore``, ``refs``), for the metrics' labels.
    """

    def __init__(
        self,
        store: BlobStore,
        *,
        compression: Compression = "none",
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        mode: str = "codec",
    ) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS}, got {compression!r}")
        if max_payload_bytes <= 0 or max_decompressed_bytes <= 0:
            raise ValueError("max_payload_bytes and max_decompressed_bytes must be positive")
        if not key_prefix or "/" in key_prefix or key_prefix in (".", ".."):
            raise ValueError(f"key_prefix must be one plain path segment, got {key_prefix!r}")
        self.store = store
        self.compression: Compression = compression
        self.max_payload_bytes = max_payload_bytes
        self.max_decompressed_bytes = max_decompressed_bytes
        self.key_prefix = key_prefix
        self.stats = VaultStats()
        self.mode = mode
        self._labels = {"store": store.name.split(":", 1)[0], "mode": mode}

    def _record(self, op: str, started: float, *, moved: int = 0, error: str | None = None) -> None:
        metrics = current_metrics()
        if metrics is None:
            return
        labels = self._labels
        metrics.latency_ms.record((time.perf_counter() - started) * 1000, {**labels, "op": op})
        if error is not None:
            metrics.errors.add(1, {**labels, "op": op, "error": error})
        elif op == "put":
            metrics.puts.add(1, labels)
            metrics.stored_bytes.add(moved, labels)
        elif op == "get":
            metrics.gets.add(1, labels)
            metrics.fetched_bytes.add(moved, labels)

    async def put(
        self, payload: Payload, *, namespace: str | None, workflow_id: str | None, data: bytes | None = None
    ) -> ClaimCheckReference:
        """Store ``payload.data`` and return the reference (with the metadata) that replaces it.

        ``data``: ``payload.data`` if the caller already has it (reading it copies the bytes).
        """
        data = payload.data if data is None else data
        if len(data) > self.max_payload_bytes:
            raise ClaimCheckPayloadTooLarge(
                f"ClaimCheck refused a payload of {len(data)} bytes [workflow_id={workflow_id}]: "
                f"the limit is {self.max_payload_bytes} bytes",
                workflow_id=workflow_id,
            )
        stored, used, digest = await _maybe_in_thread(len(data), _seal, data, self.compression)
        key = blob_key(
            sha256_hex=digest, namespace=namespace, workflow_id=workflow_id, key_prefix=self.key_prefix
        )
        started = time.perf_counter()
        try:
            # Ask the store every time: a cached "already stored" would outlive a cleanup that
            # deleted the blob, and the reference written next would point at nothing.
            stored_now = await self.store.put_if_absent(key=key, data=stored, sha256_hex=digest)
        except BlobStoreError as e:
            raise self._named("put", key, workflow_id, started, e) from _cause(e)
        self._count_put(stored_now, len(stored), started)
        self.stats.original_bytes += len(data)
        if (metrics := current_metrics()) is not None:
            metrics.kept_out_bytes.add(payload.ByteSize(), self._labels)
        return ClaimCheckReference(
            key=key,
            store=self.store.name,
            size=len(data),
            stored_size=len(stored),
            sha256=digest,
            compression=used,
            metadata=ClaimCheckReference.metadata_of(payload),
            encoding=payload.metadata.get("encoding", b"").decode("utf-8", "replace"),
        )

    async def get(self, ref: ClaimCheckReference, *, workflow_id: str | None) -> Payload:
        """Fetch and verify the payload ``ref`` points at."""
        where = f"[key={ref.key}, workflow_id={workflow_id}]"
        stored = await self.fetch_raw(ref.key, workflow_id=workflow_id)
        if len(stored) != ref.stored_size:
            raise ClaimCheckIntegrityError(
                f"ClaimCheck decode failed {where}: expected {ref.stored_size} bytes, got {len(stored)}",
                key=ref.key,
                workflow_id=workflow_id,
            )
        digest = await _maybe_in_thread(len(stored), lambda b: hashlib.sha256(b).hexdigest(), stored)
        if digest != ref.sha256:
            raise ClaimCheckIntegrityError(
                f"ClaimCheck decode failed {where}: expected sha256:{ref.sha256}, got sha256:{digest}",
                key=ref.key,
                workflow_id=workflow_id,
            )
        try:
            data = await _maybe_in_thread(
                len(stored),
                lambda b: decompress(b, ref.compression, max_bytes=self.max_decompressed_bytes),
                stored,
            )
        except DecompressionLimitError as e:
            raise ClaimCheckDecompressionLimitExceeded(
                f"ClaimCheck decode failed {where}: {e}", key=ref.key, workflow_id=workflow_id
            ) from e
        except ValueError as e:
            raise ClaimCheckIntegrityError(
                f"ClaimCheck decode failed {where}: {e}", key=ref.key, workflow_id=workflow_id
            ) from e
        if len(data) != ref.size:
            raise ClaimCheckIntegrityError(
                f"ClaimCheck decode failed {where}: expected {ref.size} bytes of data, got {len(data)}",
                key=ref.key,
                workflow_id=workflow_id,
            )
        try:
            return ref.restore(data)
        except ValueError as e:  # binascii.Error: metadata is not base64
            raise ClaimCheckReferenceInvalid(
                f"ClaimCheck decode failed {where}: reference metadata is not base64: {e}",
                key=ref.key,
                workflow_id=workflow_id,
            ) from e

    async def fetch_raw(self, key: str, *, workflow_id: str | None) -> bytes:
        """Fetch the stored bytes under ``key``, translating store errors into claim-check errors."""
        started = time.perf_counter()
        try:
            stored = await self.store.get(key=key)
        except BlobStoreError as e:
            raise self._named("get", key, workflow_id, started, e) from _cause(e)
        self._count_get(len(stored), started)
        return stored

    async def put_blob(
        self,
        *,
        size: int,
        sha256_hex: str,
        namespace: str | None,
        workflow_id: str | None,
        data: bytes | bytearray | memoryview | None = None,
        path: Path | None = None,
        progress: Progress | None = None,
    ) -> tuple[str, bool]:
        """Store raw bytes (``data``, or the file at ``path``, streamed) whose size and sha256 the caller computed.

        No serialization and no compression: the object in the store is the bytes themselves.
        Returns the content-addressed key and whether the bytes were uploaded (False: already there).
        """
        if (data is None) == (path is None):
            raise ValueError("put_blob takes data or path, not both")
        key = blob_key(
            sha256_hex=sha256_hex, namespace=namespace, workflow_id=workflow_id, key_prefix=self.key_prefix
        )
        started = time.perf_counter()
        try:
            # Conditional writes, not "exists, then put": two workers storing the same bytes at once
            # (an activity retried elsewhere while the first resumes) must not both count a put.
            if path is not None:
                stored_now = await self.store.put_file_if_absent(
                    key=key, path=path, sha256_hex=sha256_hex, progress=progress
                )
            else:
                stored_now = await self.store.put_if_absent(
                    key=key, data=bytes(data or b""), sha256_hex=sha256_hex
                )
        except BlobStoreError as e:
            raise self._named("put", key, workflow_id, started, e) from _cause(e)
        self._count_put(stored_now, size, started)
        self.stats.original_bytes += size
        return key, stored_now

    async def fetch_blob(self, *, key: str, size: int, sha256_hex: str, workflow_id: str | None) -> bytearray:
        """The raw bytes under ``key``, streamed into one buffer and checked against ``size`` and sha256.

        Raises the named errors: ``ClaimCheckPayloadMissing``, ``ClaimCheckIntegrityError`` (too
        short, too long or another digest: the message says which), ``ClaimCheckStoreUnavailable``.
        """
        where = f"[key={key}, workflow_id={workflow_id}]"
        buffer = bytearray(size)
        view = memoryview(buffer)
        digest = hashlib.sha256()
        at = 0
        started = time.perf_counter()
        try:
            async for piece in self.store.iter_chunks(key=key):
                end = at + len(piece)
                if end > size:
                    raise ClaimCheckIntegrityError(
                        f"ClaimCheck decode failed {where}: expected {size} bytes, the blob is longer",
                        key=key,
                        workflow_id=workflow_id,
                    )
                view[at:end] = piece
                digest.update(piece)
                at = end
        except BlobStoreError as e:
            raise self._named("get", key, workflow_id, started, e) from _cause(e)
        finally:
            view.release()
        if at != size:
            raise ClaimCheckIntegrityError(
                f"ClaimCheck decode failed {where}: expected {size} bytes, got {at} (truncated)",
                key=key,
                workflow_id=workflow_id,
            )
        if digest.hexdigest() != sha256_hex:
            raise ClaimCheckIntegrityError(
                f"ClaimCheck decode failed {where}: expected sha256:{sha256_hex}, got sha256:{digest.hexdigest()}",
                key=key,
                workflow_id=workflow_id,
            )
        self._count_get(size, started)
        return buffer

    def _count_put(self, stored_now: bool, size: int, started: float) -> None:
        if stored_now:
            self.stats.stored += 1
            self.stats.stored_bytes += size
            self._record("put", started, moved=size)
        else:
            self.stats.deduplicated += 1
            if (metrics := current_metrics()) is not None:
                metrics.dedup_hits.add(1, self._labels)

    def _count_get(self, size: int, started: float) -> None:
        self._record("get", started, moved=size)
        self.stats.fetched += 1
        self.stats.fetched_bytes += size

    def _named(
        self, op: str, key: str, workflow_id: str | None, started: float, e: BlobStoreError
    ) -> ClaimCheckError:
        """The named claim-check error for a store error during ``op`` (``put`` or ``get``), counted."""
        verb = "encode" if op == "put" else "decode"
        named: ClaimCheckError
        if isinstance(e, BlobNotFoundError):
            named = ClaimCheckPayloadMissing(
                f"ClaimCheck decode failed [key={key}, workflow_id={workflow_id}]: "
                f"the blob is not in {self.store.name} (deleted or expired before the workflow read it)",
                key=key,
                workflow_id=workflow_id,
            )
        elif isinstance(e, InvalidKeyError):
            shown = key[:120] if op == "put" else repr(key)
            named = ClaimCheckReferenceInvalid(
                f"ClaimCheck {verb} failed [key={shown}, workflow_id={workflow_id}]: {e}",
                key=key,
                workflow_id=workflow_id,
            )
        elif isinstance(e, StoreUnavailableError):
            named = ClaimCheckStoreUnavailable(
                f"ClaimCheck {verb} failed [key={key}, workflow_id={workflow_id}]: {e}",
                key=key,
                workflow_id=workflow_id,
            )
        else:
            raise e
        self._record(op, started, error=named.type)
        return named


def _cause(e: BlobStoreError) -> BlobStoreError | None:
    """What a named error is chained from: nothing for an unavailable store.

    The message already says why, and the failure Temporal records while retrying must stay under
    the server's 4 KiB limit for activity failures (limit.mutableStateActivityFailureSize.error),
    or it shows "Failure exceeds size limit."
    """
    return None if isinstance(e, StoreUnavailableError) else e


def _varint_size(n: int) -> int:
    return max(1, (n.bit_length() + 6) // 7)


def serialized_size(payload: Payload, data: bytes) -> int:
    """``payload.ByteSize()`` without serializing ``data`` again (``data`` is ``payload.data``)."""
    rest = Payload(metadata=payload.metadata, external_payloads=payload.external_payloads).ByteSize()
    return rest + (1 + _varint_size(len(data)) + len(data) if data else 0)


def parse_payload(data: bytes, *, key: str, workflow_id: str | None) -> Payload:
    """Parse a serialized ``Payload``, naming the key if the bytes are not one."""
    payload = Payload()
    try:
        payload.ParseFromString(data)
    except Exception as e:  # protobuf raises DecodeError, a plain Exception subclass
        raise ClaimCheckIntegrityError(
            f"ClaimCheck decode failed [key={key}, workflow_id={workflow_id}]: blob is not a serialized Payload",
            key=key,
            workflow_id=workflow_id,
        ) from e
    return payload
