"""Claim check on a real dev server with MinIO: what the server refuses, what it accepts, what it stores."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from rag_claimcheck.claimcheck import workflow_prefix
from rag_claimcheck.observe.probe import PayloadProbeWorkflow, ProbeRequest, make_text
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.stack.worker import build_worker
from rag_claimcheck.storage.s3 import S3BlobStore
from tests.integration.helpers import running_stack

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
HISTORY_BUDGET_BYTES = 16 * 1024


async def test_a_3_mib_activity_result_fails_without_claim_check(
    dev_server: DevServer, s3_store: S3BlobStore
) -> None:
    async with running_stack(dev_server, mode="off", store=s3_store) as stack:
        with pytest.raises(WorkflowFailureError) as info:
            await stack.client.execute_workflow(
                PayloadProbeWorkflow.run,
                ProbeRequest(activity_result_bytes=3 * MIB),
                id=stack.new_id("probe"),
                task_queue=stack.task_queue,
                execution_timeout=timedelta(seconds=60),
            )
    activity_error = info.value.cause
    assert isinstance(activity_error, ActivityError)
    assert activity_error.cause is not None
    assert "Complete result exceeds size limit" in str(activity_error.cause)
    assert await s3_store.list(prefix="") == []


@pytest.mark.parametrize("mode", ["codec", "extstore"])
async def test_a_3_mib_activity_result_completes_with_claim_check_and_history_stays_small(
    dev_server: DevServer, s3_store: S3BlobStore, mode: str
) -> None:
    async with running_stack(dev_server, mode=mode, store=s3_store) as stack:  # type: ignore[arg-type] # parametrized
        workflow_id = stack.new_id("probe")
        handle = await stack.client.start_workflow(
            PayloadProbeWorkflow.run,
            ProbeRequest(activity_result_bytes=3 * MIB),
            id=workflow_id,
            task_queue=stack.task_queue,
            execution_timeout=timedelta(seconds=60),
        )
        result = await handle.result()
        desc = await handle.describe()

    assert result.result_bytes == 3 * MIB
    assert result.result_sha256 == hashlib.sha256(make_text(3 * MIB).encode()).hexdigest()
    history_bytes = desc.raw_info.history_size_bytes
    assert 0 < history_bytes < HISTORY_BUDGET_BYTES, f"{mode}: history is {history_bytes} bytes"

    prefix = workflow_prefix(namespace="default", workflow_id=workflow_id)
    blobs = await s3_store.list(prefix=prefix)
    assert len(blobs) == 1, [b.key for b in blobs]
    assert blobs[0].size > 3 * MIB
    assert await s3_store.list(prefix="") == blobs  # nothing outside the workflow's prefix


@pytest.mark.parametrize("mode", ["codec", "extstore"])
async def test_a_blob_deleted_behind_the_codecs_back_fails_the_workflow_promptly_with_the_missing_blob_error(
    dev_server: DevServer, s3_store: S3BlobStore, mode: str
) -> None:
    async with running_stack(dev_server, mode=mode, store=s3_store, worker=False) as stack:  # type: ignore[arg-type] # parametrized
        workflow_id = stack.new_id("missing")
        # Started with no worker polling, so the input waits in history as a reference.
        handle = await stack.client.start_workflow(
            PayloadProbeWorkflow.run,
            ProbeRequest(payload=make_text(1 * MIB)),
            id=workflow_id,
            task_queue=stack.task_queue,
            execution_timeout=timedelta(seconds=120),
        )
        prefix = workflow_prefix(namespace="default", workflow_id=workflow_id)
        assert await s3_store.delete_prefix(prefix=prefix) == 1

        started = time.monotonic()
        async with build_worker(stack.client, task_queue=stack.task_queue):
            with pytest.raises(WorkflowFailureError) as info:
                await handle.result()
            elapsed = time.monotonic() - started

            cause = info.value.cause
            assert isinstance(cause, ApplicationError)
            assert cause.type == "ClaimCheckPayloadMissing"
            assert cause.non_retryable
            assert f"key={prefix}sha256/" in cause.message
            assert elapsed < 15, f"took {elapsed:.1f} s: the workflow task was retried instead of failing"

            # The worker keeps serving: the next workflow on the same worker completes.
            ok = await stack.client.execute_workflow(
                PayloadProbeWorkflow.run,
                ProbeRequest(payload=make_text(1 * MIB)),
                id=stack.new_id("after-missing"),
                task_queue=stack.task_queue,
                execution_timeout=timedelta(seconds=60),
            )
            assert ok.input_bytes == 1 * MIB
