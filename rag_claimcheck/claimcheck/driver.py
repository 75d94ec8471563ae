"""A ``StorageDriver`` for the SDK's own external storage, over the kit's blob stores.

This is the "native" alternative to :class:`~rag_claimcheck.claimcheck.codec.ClaimCheckCodec`:
the SDK decides what to offload (``ExternalStorage.payload_size_threshold``) and writes its own
``ExternalStorageReference`` into history; this driver supplies the storage. It shares the
codec's vault, so it gets the same per-workflow keys, dedup, compression, sha256 verification
and named, non-retryable errors for a missing or corrupt blob (the SDK's S3 driver raises
retryable errors there, so a workflow would retry forever). Unlike the SDK's S3 driver it also
works on the local filesystem.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    StorageDriver,
    StorageDriverActivityInfo,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
    StorageDriverWorkflowInfo,
)

from rag_claimcheck.claimcheck.compression import Compression
from rag_claimcheck.claimcheck.concurrency import DEFAULT_CONCURRENCY, gather_bounded
from rag_claimcheck.claimcheck.errors import ClaimCheckReferenceInvalid
from rag_claimcheck.claimcheck.keys import DEFAULT_KEY_PREFIX
from rag_claimcheck.claimcheck.reference import ClaimCheckReference
from rag_claimcheck.claimcheck.vault import DEFAULT_MAX_DECOMPRESSED_BYTES, PayloadVault, VaultStats
from rag_claimcheck.storage.base import BlobStore

DRIVER_NAME = "rag-claimcheck"


def _scope(context: StorageDriverStoreContext) -> tuple[str | None, str | None]:
    """(namespace, workflow id) of the payload's owner, as far as the SDK tells us."""
    target = context.target
    if isinstance(target, StorageDriverWorkflowInfo):
        return target.namespace, target.id
    if isinstance(target, StorageDriverActivityInfo):
        # The activity target carries the activity id, not the workflow's; inside an activity
        # (results, heartbeats) the running activity's info names the workflow.
        if activity.in_activity() and activity.info().workflow_id:
            return target.namespace, activity.info().workflow_id
        return target.namespace, None
    return None, None


class ClaimCheckStorageDriver(StorageDriver):
    """Stores the SDK's externalised payloads in a :class:`BlobStore`.

    Args:
        store: Where blobs go (S3/MinIO, filesystem or memory).
        compression: ``none``, ``zstd`` or ``gzip``.
        key_prefix: First segment of every key.
        driver_name: Name recorded in each ``ExternalStorageReference``.
    """

    def __init__(
        self,
        store: BlobStore,
        *,
        compression: Compression = "none",
        key_prefix: str = DEFAULT_KEY_PREFIX,
        driver_name: str = DRIVER_NAME,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.concurrency = concurrency
        self.vault = PayloadVault(
            store,
            compression=compression,
            key_prefix=key_prefix,
            max_decompressed_bytes=max_decompressed_bytes,
            mode="extstore",
        )
        self._name = driver_name

    def name(self) -> str:
        return self._name

    def type(self) -> str:
        return "rag-claimcheck.blobstore"

    @property
    def stats(self) -> VaultStats:
        """Counters of what this driver stored and fetched."""
        return self.vault.stats

    async def store(
        self, context: StorageDriverStoreContext, payloads: Sequence[Payload]
    ) -> list[StorageDriverClaim]:
        namespace, workflow_id = _scope(context)

        async def store_one(payload: Payload) -> StorageDriverClaim:
            ref = await self.vault.put(payload, namespace=namespace, workflow_id=workflow_id)
            return StorageDriverClaim(claim_data=ref.to_claim_data())

        return await gather_bounded(payloads, store_one, limit=self.concurrency)

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        return await gather_bounded(claims, self._retrieve_one, limit=self.concurrency)

    async def _retrieve_one(self, claim: StorageDriverClaim) -> Payload:
        try:
            ref = ClaimCheckReference.from_claim_data(claim.claim_data)
        except ValueError as e:
            raise ClaimCheckReferenceInvalid(f"ClaimCheckStorageDriver claim is malformed: {e}") from e
        return await self.vault.get(ref, workflow_id=None)
