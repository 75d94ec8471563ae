"""``ClaimCheckCodec``: a Temporal ``PayloadCodec`` that moves large payloads into a blob store.

Payloads at or below the inline threshold pass through untouched (and cost no store call),
unless they are marked to be stored whatever their size (:mod:`rag_claimcheck.claimcheck.offload`).
Larger ones are stored content-addressed under the workflow's prefix and replaced in event
history by a ~300-byte reference (see :mod:`rag_claimcheck.claimcheck.reference`), marked with
``Payload.external_payloads[].size_bytes`` so the server knows how much was kept out. Decoding
verifies size and sha256 and fails the workflow with a named, non-retryable error if the blob
is missing or corrupt, instead of letting the workflow task retry forever.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from rag_claimcheck.claimcheck.compression import Compression
from rag_claimcheck.claimcheck.concurrency import DEFAULT_CONCURRENCY, gather_bounded
from rag_claimcheck.claimcheck.errors import ClaimCheckReferenceInvalid
from rag_claimcheck.claimcheck.keys import DEFAULT_KEY_PREFIX
from rag_claimcheck.claimcheck.offload import (
    DEFAULT_INLINE_MAX_BYTES,
    OFFLOAD_METADATA_KEY,
    is_marked_for_offload,
)
from rag_claimcheck.claimcheck.reference import (
    RECIPE_METADATA_KEY,
    ClaimCheckReference,
    is_recipe_reference,
    is_reference,
)
from rag_claimcheck.claimcheck.vault import (
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    DEFAULT_MAX_PAYLOAD_BYTES,
    PayloadVault,
    VaultStats,
    parse_payload,
    serialized_size,
)
from rag_claimcheck.storage.base import BlobStore

if TYPE_CHECKING:
    from rag_claimcheck.claimcheck.settings import (
        ClaimCheckSettings,  # a type only: settings builds on this package
    )


class ClaimCheckCodec(PayloadCodec, WithSerializationContext):
    """Replace large payloads with references to blobs in a :class:`BlobStore`.

    Args:
        store: Where blobs go.
        inline_max_bytes: Serialized payloads at or below this size stay inline.
        compression: ``none``, ``zstd`` or ``gzip`` for stored blobs.
        concurrency: Bound on concurrent store calls within one batch.
        max_payload_bytes: Refuse to store larger payloads.
        max_decompressed_bytes: Refuse to expand a blob beyond this.
        key_prefix: First segment of every key.
    """

    def __init__(
        self,
        store: BlobStore,
        *,
        inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES,
        compression: Compression = "none",
        concurrency: int = DEFAULT_CONCURRENCY,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
        key_prefix: str = DEFAULT_KEY_PREFIX,
    ) -> None:
        if inline_max_bytes < 0:
            raise ValueError(f"inline_max_bytes must be >= 0, got {inline_max_bytes}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.inline_max_bytes = inline_max_bytes
        self.concurrency = concurrency
        self.vault = PayloadVault(
            store,
            compression=compression,
            max_payload_bytes=max_payload_bytes,
            max_decompressed_bytes=max_decompressed_bytes,
            key_prefix=key_prefix,
        )
        self.namespace: str | None = None
        self.workflow_id: str | None = None

    @classmethod
    def from_settings(cls, store: BlobStore, settings: ClaimCheckSettings) -> ClaimCheckCodec:
        """A codec configured from the kit's settings (``CLAIM_CHECK_*``)."""
        return cls(
            store,
            inline_max_bytes=settings.inline_max_bytes,
            compression=settings.compression,
            concurrency=settings.concurrency,
            max_decompressed_bytes=settings.max_decompressed_bytes,
            key_prefix=settings.key_prefix,
        )

    @property
    def store(self) -> BlobStore:
        """The blob store behind this codec."""
        return self.vault.store

    @property
    def stats(self) -> VaultStats:
        """Counters shared by this codec and every copy made by :meth:`with_context`."""
        return self.vault.stats

    def with_context(self, context: SerializationContext) -> ClaimCheckCodec:
        """A copy that scopes keys to the workflow the context names (namespace + workflow id)."""
        namespace: str | None = None
        workflow_id: str | None = None
        if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
            namespace, workflow_id = context.namespace, context.workflow_id
        if (namespace, workflow_id) == (self.namespace, self.workflow_id):
            return self
        scoped = copy.copy(self)
        scoped.namespace, scoped.workflow_id = namespace, workflow_id
        return scoped

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Replace every payload over the threshold by a reference; small ones pass through.

        The small ones are sorted out first, without a task or a store call each; only the
        payloads to store run concurrently.
        """
        out = list(payloads)
        todo: list[tuple[int, Payload, bytes]] = []
        limit = self.inline_max_bytes
        for i, payload in enumerate(out):
            # One copy of the data, which a stored payload needs anyway; ByteSize() would
            # serialize the whole payload, so it is only asked of payloads that may stay inline.
            data = payload.data
            if (
                len(data) > limit
                or payload.ByteSize() > limit
                or (OFFLOAD_METADATA_KEY in payload.metadata and is_marked_for_offload(payload))
            ):
                todo.append((i, payload, data))
        self.vault.stats.inline += len(out) - len(todo)
        if todo:
            stored = await gather_bounded(todo, self._store, limit=self.concurrency)
            for (i, _, _), reference in zip(todo, stored, strict=True):
                out[i] = reference
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Replace every reference (ours or the recipe's v1) by the payload it points at."""
        out = list(payloads)
        todo = [
            (i, p)
            for i, p in enumerate(out)
            if is_reference(p) or (RECIPE_METADATA_KEY in p.metadata and is_recipe_reference(p))
        ]
        if todo:
            fetched = await gather_bounded([p for _, p in todo], self._decode_one, limit=self.concurrency)
            for (i, _), payload in zip(todo, fetched, strict=True):
                out[i] = payload
        return out

    async def _store(self, item: tuple[int, Payload, bytes]) -> Payload:
        _, payload, data = item
        ref = await self.vault.put(payload, namespace=self.namespace, workflow_id=self.workflow_id, data=data)
        reference = ref.to_payload()
        # Tell the server what was kept out, as the SDK's external storage does: it sums these into
        # describe()'s external_payload_size_bytes / _count and the Web UI's "External Payloads Size".
        reference.external_payloads.add().size_bytes = serialized_size(payload, data)
        return reference

    async def _decode_one(self, payload: Payload) -> Payload:
        if is_reference(payload):
            try:
                ref = ClaimCheckReference.from_payload(payload)
            except ValueError as e:
                raise ClaimCheckReferenceInvalid(
                    f"ClaimCheck decode failed [workflow_id={self.workflow_id}]: {e}",
                    workflow_id=self.workflow_id,
                ) from e
            return await self.vault.get(ref, workflow_id=self.workflow_id)
        if is_recipe_reference(payload):
            key = payload.data.decode("utf-8", "replace")
            raw = await self.vault.fetch_raw(key, workflow_id=self.workflow_id)
            return parse_payload(raw, key=key, workflow_id=self.workflow_id)
        return payload
