"""List and delete a workflow's blobs by its prefix once the workflow no longer needs them.

Blobs are keyed under ``claim-check/ns/{namespace}/wf/{workflow_id}/``, so a finished
workflow's blobs can be removed in one call. Delete only after the workflow is closed *and*
nothing will replay or read its history any more (retention): a running workflow whose blobs
are gone fails with ``ClaimCheckPayloadMissing`` the next time a worker has to read them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag_claimcheck.claimcheck.keys import DEFAULT_KEY_PREFIX, workflow_prefix
from rag_claimcheck.storage.base import BlobStore


@dataclass(frozen=True)
class WorkflowBlobs:
    """What a workflow holds in the store."""

    prefix: str
    count: int
    total_bytes: int


async def workflow_blobs(
    store: BlobStore, *, namespace: str, workflow_id: str, key_prefix: str = DEFAULT_KEY_PREFIX
) -> WorkflowBlobs:
    """Count a workflow's blobs and their bytes."""
    prefix = workflow_prefix(namespace=namespace, workflow_id=workflow_id, key_prefix=key_prefix)
    blobs = await store.list(prefix=prefix)
    return WorkflowBlobs(prefix=prefix, count=len(blobs), total_bytes=sum(b.size for b in blobs))


async def delete_workflow_blobs(
    store: BlobStore, *, namespace: str, workflow_id: str, key_prefix: str = DEFAULT_KEY_PREFIX
) -> WorkflowBlobs:
    """Delete a workflow's blobs; returns what was deleted."""
    before = await workflow_blobs(store, namespace=namespace, workflow_id=workflow_id, key_prefix=key_prefix)
    await store.delete_prefix(prefix=before.prefix)
    return before
