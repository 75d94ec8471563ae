"""Explicit references: an activity chooses what leaves history and passes a small ``DataRef``.

The transparent codec decides by size, for every payload, without the workflow's code knowing.
Explicit references are the other way round: an activity stores an object itself and returns a
typed :class:`DataRef` (key, store, size, count, sha256, content type, compression) that the
workflow passes on; another activity loads it back, verified::

    refs = RefStore(store)

    @activity.defn
    async def summarize(doc: DataRef) -> DataRef:
        text = await refs.load(doc, str)              # size + sha256 checked
        return await refs.save(summary_of(text))      # under this workflow's prefix

Raw bytes (a document's text, an array) skip the converter: :meth:`RefStore.save_bytes` and
:meth:`RefStore.save_file` store them as they are (a file is streamed, never read whole), and
:meth:`RefStore.load_bytes` streams them back into one buffer, verified.

Objects are serialized with Temporal's default payload converter (dataclasses, JSON), stored
through the same :class:`~rag_claimcheck.claimcheck.vault.PayloadVault` as the codec's blobs:
content-addressed under ``claim-check/ns/<namespace>/wf/<workflow id>/`` (so ``python -m
rag_claimcheck.gc`` and :mod:`~rag_claimcheck.claimcheck.cleanup` cover them), optional
compression with a cap, and the same named, non-retryable errors for a missing or corrupt blob.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from temporalio import activity
from temporalio.converter import DataConverter, PayloadConverter

from rag_claimcheck.claimcheck.compression import Compression
from rag_claimcheck.claimcheck.keys import DEFAULT_KEY_PREFIX
from rag_claimcheck.claimcheck.reference import ClaimCheckReference
from rag_claimcheck.claimcheck.vault import DEFAULT_MAX_DECOMPRESSED_BYTES, PayloadVault, VaultStats
from rag_claimcheck.storage.base import BlobStore, Progress

T = TypeVar("T")


@dataclass(frozen=True)
class DataRef:
    """A small, typed handle to an object in a blob store; what a workflow passes instead of the object.

    Attributes:
        key: Object key in the store (under the owning workflow's prefix).
        store: Name of the store that holds it (``s3://bucket``, ``file:///…``, ``memory``).
        size: Bytes of the serialized object.
        count: How many items the object holds, as its writer says (e.g. turns of a conversation).
        sha256: Hex digest of the stored bytes, checked on load.
        content_type: The serialized form's encoding, e.g. ``json/plain``.
        compression: ``none``, ``zstd`` or ``gzip`` (how it is stored).
        stored_size: Bytes in the store (after compression).
    """

    key: str
    store: str
    size: int
    count: int
    sha256: str
    content_type: str
    compression: str = "none"
    stored_size: int = 0


class RefStore:
    """Save objects as :class:`DataRef` and load them back, verified.

    Args:
        store: Where objects go (the same store as the codec's blobs, typically).
        compression: ``none``, ``zstd`` or ``gzip``; kept only when it makes the blob smaller.
        key_prefix: First segment of every key (``CLAIM_CHECK_KEY_PREFIX``).
        max_decompressed_bytes: Cap on what one compressed blob may expand to.
        payload_converter: How objects become bytes (default: Temporal's default converter).
    """

    def __init__(
        self,
        store: BlobStore,
        *,
        compression: Compression = "none",
        key_prefix: str = DEFAULT_KEY_PREFIX,
        max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
        payload_converter: PayloadConverter | None = None,
    ) -> None:
        self.vault = PayloadVault(
            store,
            compression=compression,
            key_prefix=key_prefix,
            max_decompressed_bytes=max_decompressed_bytes,
            mode="refs",
        )
        self.converter = payload_converter or DataConverter.default.payload_converter

    @property
    def store(self) -> BlobStore:
        """The blob store behind these references."""
        return self.vault.store

    @property
    def stats(self) -> VaultStats:
        """What was saved (and deduplicated) and loaded so far."""
        return self.vault.stats

    async def save(
        self,
        value: Any,
        *,
        count: int = 1,
        namespace: str | None = None,
        workflow_id: str | None = None,
    ) -> DataRef:
        """Store ``value`` and return its reference.

        Inside an activity the key is scoped to the activity's workflow; elsewhere pass
        ``namespace`` and ``workflow_id`` (without them the object goes under ``shared/``, which
        no workflow's cleanup removes).
        """
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        namespace, workflow_id = _scope(namespace, workflow_id)
        [payload] = self.converter.to_payloads([value])
        ref = await self.vault.put(payload, namespace=namespace, workflow_id=workflow_id)
        return DataRef(
            key=ref.key,
            store=ref.store,
            size=ref.size,
            count=count,
            sha256=ref.sha256,
            content_type=ref.encoding,
            compression=ref.compression,
            stored_size=ref.stored_size,
        )

    async def save_bytes(
        self,
        data: bytes | bytearray | memoryview,
        *,
        content_type: str,
        count: int = 1,
        sha256_hex: str | None = None,
        namespace: str | None = None,
        workflow_id: str | None = None,
    ) -> DataRef:
        """Store ``data`` as it is (no converter, no compression) and return its reference.

        ``sha256_hex``: the digest of ``data`` if the caller has it already. Scope as :meth:`save`.
        """
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        namespace, workflow_id = _scope(namespace, workflow_id)
        if sha256_hex is None:
            sha256_hex = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        key, _ = await self.vault.put_blob(
            data=data, size=len(data), sha256_hex=sha256_hex, namespace=namespace, workflow_id=workflow_id
        )
        return self._raw_ref(key, len(data), sha256_hex, content_type, count)

    async def save_file(
        self,
        path: Path,
        *,
        content_type: str,
        size: int,
        sha256_hex: str,
        count: int = 1,
        namespace: str | None = None,
        workflow_id: str | None = None,
        progress: Progress | None = None,
    ) -> DataRef:
        """Store the file at ``path`` as it is, streamed, and return its reference.

        The caller has read it once already (``size``, ``sha256_hex``), to check it before it is
        sent; ``progress`` is told the bytes sent. Nothing is sent if the blob is there already.
        """
        namespace, workflow_id = _scope(namespace, workflow_id)
        key, _ = await self.vault.put_blob(
            path=path,
            size=size,
            sha256_hex=sha256_hex,
            namespace=namespace,
            workflow_id=workflow_id,
            progress=progress,
        )
        return self._raw_ref(key, size, sha256_hex, content_type, count)

    async def load_bytes(self, ref: DataRef) -> bytearray:
        """The bytes a :meth:`save_bytes` or :meth:`save_file` reference points at, in one buffer.

        Streamed from the store and hashed as they arrive; no second copy is made.

        Raises:
            ClaimCheckPayloadMissing: The blob is gone (deleted or expired).
            ClaimCheckIntegrityError: It is shorter or longer than ``ref.size``, or its sha256 differs.
            ClaimCheckStoreUnavailable: The store cannot be reached (retryable).
        """
        if ref.compression != "none":
            raise ValueError(f"load_bytes reads uncompressed blobs; {ref.key} is {ref.compression}")
        _, workflow_id = _scope(None, None)
        return await self.vault.fetch_blob(
            key=ref.key, size=ref.size, sha256_hex=ref.sha256, workflow_id=workflow_id
        )

    def _raw_ref(self, key: str, size: int, sha256_hex: str, content_type: str, count: int) -> DataRef:
        return DataRef(
            key=key,
            store=self.store.name,
            size=size,
            count=count,
            sha256=sha256_hex,
            content_type=content_type,
            stored_size=size,
        )

    async def load(self, ref: DataRef, type_hint: type[T]) -> T:
        """The object ``ref`` points at, as ``type_hint``.

        Raises:
            ClaimCheckPayloadMissing: The blob is gone (deleted or expired).
            ClaimCheckIntegrityError: Its size or sha256 is not what ``ref`` records.
            ClaimCheckStoreUnavailable: The store cannot be reached (retryable).
        """
        _, workflow_id = _scope(None, None)
        payload = await self.vault.get(
            ClaimCheckReference(
                key=ref.key,
                store=ref.store,
                size=ref.size,
                stored_size=ref.stored_size,
                sha256=ref.sha256,
                compression=ref.compression,
                metadata={"encoding": base64.b64encode(ref.content_type.encode()).decode("ascii")},
            ),
            workflow_id=workflow_id,
        )
        [value] = self.converter.from_payloads([payload], [type_hint])
        return value  # type: ignore[no-any-return] # the converter returns what type_hint names


def _scope(namespace: str | None, workflow_id: str | None) -> tuple[str | None, str | None]:
    """The given scope, or the running activity's workflow."""
    if (namespace is None or workflow_id is None) and activity.in_activity():
        info = activity.info()
        return namespace or info.workflow_namespace, workflow_id or info.workflow_id
    return namespace, workflow_id
