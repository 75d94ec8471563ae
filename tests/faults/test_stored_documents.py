"""A stored document (a DocumentRef's blob) that is missing, truncated or corrupt, on the real dev server and MinIO.

The workflow fails cleanly with the named, non-retryable error naming the key (no retries of a
step that cannot succeed), and the same worker goes on answering the next question.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.claimcheck.refs import RefStore
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.data.samples import DEFAULT_QUESTION, sample_text
from rag_claimcheck.rag.documents import store_document
from rag_claimcheck.rag.models import DocumentRef, SourceDocument
from rag_claimcheck.rag.starter import ask_question
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.stack.worker import build_worker
from rag_claimcheck.storage.s3 import S3BlobStore

pytestmark = pytest.mark.integration

HANDBOOK = SourceDocument.from_bytes(
    sample_text().encode(), filename="handbook.md", mime_type="text/markdown"
)
INLINE_LIMIT = 64 * 1024
"""Lowered so the 220 KiB handbook goes by reference, as a 100 MiB document would with the default."""


async def missing(store: S3BlobStore, key: str) -> None:
    await store.delete(key=key)


async def truncated(store: S3BlobStore, key: str) -> None:
    data = await store.get(key=key)
    await store.put(key=key, data=data[: len(data) // 2])


async def corrupt(store: S3BlobStore, key: str) -> None:
    data = bytearray(await store.get(key=key))
    data[len(data) // 2] ^= 0x20  # same length, one letter's case flipped
    await store.put(key=key, data=bytes(data))


@pytest.mark.parametrize(
    ("damage", "error_type", "says"),
    [
        (missing, "ClaimCheckPayloadMissing", "deleted or expired"),
        (truncated, "ClaimCheckIntegrityError", "truncated"),
        (corrupt, "ClaimCheckIntegrityError", "sha256"),
    ],
    ids=["missing", "truncated", "corrupt"],
)
async def test_a_damaged_stored_document_fails_the_workflow_with_the_named_error_and_its_key(
    dev_server: DevServer,
    s3_store: S3BlobStore,
    damage: Callable[[S3BlobStore, str], Awaitable[None]],
    error_type: str,
    says: str,
) -> None:
    settings = dataclasses.replace(ClaimCheckSettings(), mode="codec", document_inline_max_bytes=INLINE_LIMIT)
    client = await dev_server.connect(plugins=[ClaimCheckPlugin(settings=settings, store=s3_store)])
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    workflow_id = f"damaged-{uuid.uuid4().hex[:8]}"
    document = await store_document(
        RefStore(s3_store), HANDBOOK, namespace=client.namespace, workflow_id=workflow_id
    )
    assert isinstance(document, DocumentRef)
    await damage(s3_store, document.blob.key)

    async with build_worker(client, task_queue=task_queue):
        report = await ask_question(
            client,
            document=document,
            question=DEFAULT_QUESTION,
            task_queue=task_queue,
            claim_check="codec",
            workflow_id=workflow_id,
            execution_timeout=timedelta(seconds=60),
        )
        assert report.status == "failed", report
        assert report.error is not None and report.error["type"] == error_type, report.error
        assert document.blob.key in report.error["message"], report.error
        assert says in report.error["message"].lower(), report.error

        # Not retried: a step that cannot succeed ran once.
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
        ]
        assert attempts == [1], attempts

        # The worker keeps serving: the same question about an intact copy completes.
        after = await ask_question(
            client,
            document=HANDBOOK,
            question=DEFAULT_QUESTION,
            task_queue=task_queue,
            claim_check="codec",
            execution_timeout=timedelta(seconds=60),
        )
        assert after.status == "completed", after.error
        assert after.document_key is not None, "the intact copy went by reference too"
