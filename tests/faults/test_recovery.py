"""Crashes and store outages on real servers: the worker is its own OS process, MinIO is real.

Every case runs the commands as an operator would (``worker.py``, ``start_workflow.py`` with
their default timeouts) and breaks something the way production does: SIGKILL the worker, stop
MinIO, freeze MinIO.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowExecutionStatus

from rag_claimcheck.claimcheck.keys import workflow_prefix
from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.data.samples import DEFAULT_QUESTION, scaled_document
from rag_claimcheck.rag.models import RagRequest, SourceDocument
from rag_claimcheck.rag.workflows import AiRagWorkflow
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.ports import free_port
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.servers.tools import require_binary
from rag_claimcheck.stack.faultdrill import (
    PROJECT_ROOT,
    Drill,
    freeze,
    restart,
    started_attempts,
    store_env,
    thaw,
    wait_for_running_activity,
)
from rag_claimcheck.storage.memory import MemoryBlobStore
from rag_claimcheck.storage.s3 import S3BlobStore
from tests.integration.helpers import running_stack
from tests.openai_stub import openai_stub

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
DOCUMENT_BYTES = 6 * MIB
"""Big enough that ingest takes seconds (so a fault can land in the middle of it)."""
CANCEL_DOCUMENT_BYTES = 256 * MIB
"""Ingest runs at 10-15 MiB/s, and a cancel reaches a running activity with its next sent
heartbeat (the SDK sends one at most every 0.8 x the 10 s heartbeat timeout): ingest must still
be running 10 s after the cancel request for the test to see the running step stop."""
SERVER_FAILURE_LIMIT = 4 * 1024
"""limit.mutableStateActivityFailureSize.error: a bigger retry failure is shown as "Failure exceeds size limit."."""


@pytest.fixture(scope="module")
def big_doc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("docs") / "handbook-6mib.md"
    path.write_bytes(scaled_document(DOCUMENT_BYTES))
    return path


@pytest.fixture(scope="module")
def long_doc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ingest of this one takes well over the time a cancel needs to reach the running step."""
    path = tmp_path_factory.mktemp("docs") / "handbook-256mib.md"
    path.write_bytes(scaled_document(CANCEL_DOCUMENT_BYTES))
    return path


@pytest_asyncio.fixture(loop_scope="session")
async def own_minio(tmp_path: Path) -> AsyncIterator[MinioServer]:
    """A MinIO of this test's own, so stopping or freezing it disturbs no other test."""
    minio = await MinioServer.start(data_dir=tmp_path / "minio-data", port=free_port())
    yield minio
    await minio.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def run(dev_server: DevServer, own_minio: MinioServer, tmp_path: Path) -> AsyncIterator[Drill]:
    run = Drill(address=dev_server.address, minio=own_minio, log_dir=tmp_path)
    yield run
    await run.close()


@pytest.mark.timeout(240)
async def test_a_worker_killed_mid_ingest_is_replaced_and_the_question_completes_within_60_s(
    run: Drill, big_doc: Path
) -> None:
    await run.start_worker().wait_ready()
    handle = await run.start_question(big_doc)
    await wait_for_running_activity(handle, "ingest_document", timeout=120)
    run.workers[0].kill()
    fresh = run.start_worker()
    report = await run.report(timeout=180)
    recovered_in = time.monotonic() - fresh.started_at
    assert report["status"] == "completed", report
    assert recovered_in < 60, f"completed {recovered_in:.0f} s after the fresh worker started"
    assert await started_attempts(handle, "ingest_document") >= 2, "ingest ran again on the fresh worker"


@pytest.mark.timeout(240)
async def test_a_worker_killed_mid_answer_is_replaced_within_the_heartbeat_timeout_not_the_answers_2_minutes(
    run: Drill, tmp_path: Path
) -> None:
    doc = tmp_path / "handbook.md"
    doc.write_bytes(scaled_document(64 * 1024))
    async with openai_stub() as stub:
        stub.delays = [150.0]  # the first answer hangs past the kill; the retry's comes at once
        run.env.update(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=stub.base_url, RAG_ANSWERER="openai")
        await run.start_worker().wait_ready()
        handle = await run.start_question(doc)
        await wait_for_running_activity(handle, "answer_question", timeout=120)
        while not stub.requests:  # noqa: ASYNC110 # the model has the question: the kill lands mid-answer
            await asyncio.sleep(0.1)
        run.workers[0].kill()
        fresh = run.start_worker()
        report = await run.report(timeout=180)
        recovered_in = time.monotonic() - fresh.started_at  # before the stub waits out the hung request
    assert report["status"] == "completed", report
    assert report["answer"] == stub.reply
    # Before the answer heartbeated, the server waited out its 2-minute start-to-close.
    assert recovered_in < 60, f"completed {recovered_in:.0f} s after the fresh worker started"
    assert await started_attempts(handle, "answer_question") == 2
    assert len(stub.requests) == 2


@pytest.mark.timeout(300)
async def test_a_worker_killed_mid_ingest_of_a_256_mib_stored_document_is_replaced_and_it_completes(
    run: Drill, long_doc: Path
) -> None:
    await run.start_worker().wait_ready()
    handle = await run.start_question(long_doc)
    await wait_for_running_activity(handle, "ingest_document", timeout=120)
    run.workers[0].kill()
    run.start_worker()
    report = await run.report(timeout=240)
    assert report["status"] == "completed", report
    assert report["document_bytes"] == CANCEL_DOCUMENT_BYTES
    assert str(report["document_key"]).startswith(
        workflow_prefix(namespace="default", workflow_id=run.workflow_id)
    )
    assert int(report["history_size_bytes"]) < 16 * 1024, report  # type: ignore[call-overload]  # JSON int
    assert await started_attempts(handle, "ingest_document") >= 2, "ingest ran again on the fresh worker"


@pytest.mark.timeout(300)
async def test_a_60_s_store_outage_mid_ingest_delays_the_question_and_it_completes(
    run: Drill, own_minio: MinioServer, big_doc: Path
) -> None:
    worker = run.start_worker()
    await worker.wait_ready()
    handle = await run.start_question(big_doc)
    await wait_for_running_activity(handle, "ingest_document", timeout=120)
    await own_minio.stop()
    failures: list[bytes] = []
    outage_ends = time.monotonic() + 60
    while time.monotonic() < outage_ends:
        desc = await handle.describe()
        failures += [
            p.last_failure.SerializeToString()
            for p in desc.raw_description.pending_activities
            if p.HasField("last_failure")
        ]
        await asyncio.sleep(2)
    back = await restart(own_minio)
    try:
        report = await run.report(timeout=180)
    finally:
        await back.stop()
    assert report["status"] == "completed", report
    assert failures, "the server showed the activity's last failure while it retried"
    last = Failure.FromString(failures[-1])
    assert len(failures[-1]) < SERVER_FAILURE_LIMIT
    assert last.message != "Failure exceeds size limit."
    shown = f"{last.message} {last.cause.message} {last.application_failure_info.type} {last.cause.application_failure_info.type}"
    assert "ClaimCheckStoreUnavailable" in shown, shown
    log = worker.log_path.read_text()
    assert "Traceback" not in log
    retries = [line for line in log.splitlines() if "ClaimCheckStoreUnavailable" in line]
    assert retries and all("(retried)" in line for line in retries)
    assert await started_attempts(handle, "ingest_document") >= 2


@pytest.mark.timeout(120)
async def test_a_frozen_store_is_named_by_the_starter_within_15_s_of_its_start_up(
    dev_server: DevServer, own_minio: MinioServer, tmp_path: Path
) -> None:
    bucket = f"frozen-{uuid.uuid4().hex[:8]}"
    async with running_stack(dev_server, mode="codec", store=MemoryBlobStore()) as stack:

        async def ask(env: dict[str, str]) -> tuple[dict[str, Any], float]:
            started = time.monotonic()
            starter = await asyncio.create_subprocess_exec(
                sys.executable,
                "start_workflow.py",
                "--address",
                dev_server.address,
                "--task-queue",
                stack.task_queue,
                "--json",
                cwd=PROJECT_ROOT,
                env={**os.environ, **env},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            stdout, _ = await asyncio.wait_for(starter.communicate(), 60)
            return json.loads(stdout), time.monotonic() - started

        # The same command against a store that refuses at once: what starting it costs on this
        # machine right now. The shared machine is noisy, so the bound is on what freezing adds.
        refused, startup = await ask(
            {**store_env(own_minio, bucket), "CLAIM_CHECK_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
        )
        assert refused["error"]["type"] == "ClaimCheckStoreUnavailable"
        pid = freeze(own_minio)
        try:
            report, elapsed = await ask(store_env(own_minio, bucket))
        finally:
            thaw(pid)
    assert report["status"] == "failed"
    assert report["error"]["type"] == "ClaimCheckStoreUnavailable"
    assert f"store=s3://{bucket}, endpoint={own_minio.endpoint_url}" in report["error"]["message"]
    assert elapsed - startup < 15, (
        f"the starter took {elapsed:.1f} s; {startup:.1f} s against a refusing store"
    )


@pytest.mark.timeout(240)
async def test_cancelling_mid_ingest_stops_the_activity_and_ends_canceled_with_the_blobs_kept(
    run: Drill, own_minio: MinioServer, long_doc: Path
) -> None:
    await run.start_worker().wait_ready()
    handle = await run.start_question(long_doc)
    await wait_for_running_activity(handle, "ingest_document", timeout=120)
    started = time.monotonic()
    # What an operator types first (the Go CLI answers at once) ...
    temporal_cancel = await asyncio.create_subprocess_exec(
        str(require_binary("temporal")),
        "workflow",
        "cancel",
        "--address",
        run.address,
        "--workflow-id",
        run.workflow_id,
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert await asyncio.wait_for(temporal_cancel.wait(), 30) == 0
    # ... and the kit's own command, which asks again (cancelling is idempotent) and waits for the end.
    cancel = await asyncio.create_subprocess_exec(
        sys.executable,
        "start_workflow.py",
        "--address",
        run.address,
        "--cancel",
        run.workflow_id,
        "--json",
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(cancel.communicate(), 90)
    elapsed = time.monotonic() - started
    assert json.loads(stdout) == {"status": "canceled", "workflow_id": run.workflow_id}
    assert cancel.returncode == 0
    assert elapsed < 40, f"cancelling took {elapsed:.0f} s"
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    events = [e.event_type for e in (await handle.fetch_history()).events]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED in events, [EventType.Name(e) for e in events]
    report = await run.report(timeout=30)
    assert report["status"] == "canceled", report
    store = S3BlobStore(
        bucket=run.bucket,
        endpoint_url=own_minio.endpoint_url,
        access_key_id=own_minio.access_key,
        secret_access_key=own_minio.secret_key,
    )
    try:
        blobs = await store.list(prefix=workflow_prefix(namespace="default", workflow_id=run.workflow_id))
    finally:
        await store.close()
    assert sum(b.size for b in blobs) >= CANCEL_DOCUMENT_BYTES, "the document's blob is still there for gc"


@pytest.mark.timeout(240)
async def test_a_store_outage_during_a_workflow_task_fails_the_task_and_a_retry_completes_it(
    run: Drill, dev_server: DevServer, own_minio: MinioServer
) -> None:
    """The workflow's input is a reference, so its first workflow task reads the store: with MinIO
    down, decoding fails, the task fails (the workflow does not), and the server retries it."""
    worker = run.start_worker()
    await worker.wait_ready()
    store = S3BlobStore(
        bucket=run.bucket,
        endpoint_url=own_minio.endpoint_url,
        access_key_id=own_minio.access_key,
        secret_access_key=own_minio.secret_key,
    )
    client = await dev_server.connect(plugins=[ClaimCheckPlugin(mode="codec", store=store)])
    document = SourceDocument.from_bytes(scaled_document(MIB), filename="1mib.md", mime_type="text/markdown")
    # The worker is paused while the document is stored and MinIO stopped, so its first workflow
    # task can only run once the store is gone, however slow stopping MinIO is.
    os.kill(worker.process.pid, signal.SIGSTOP)
    try:
        handle = await client.start_workflow(
            AiRagWorkflow.run,
            args=[document, RagRequest(question=DEFAULT_QUESTION)],
            id=run.workflow_id,
            task_queue=run.task_queue,
        )
        await store.close()
        await own_minio.stop()
    finally:
        os.kill(worker.process.pid, signal.SIGCONT)
    failed: list[Failure] = []
    deadline = time.monotonic() + 60
    while not failed and time.monotonic() < deadline:
        failed = [
            e.workflow_task_failed_event_attributes.failure
            for e in (await handle.fetch_history()).events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        await asyncio.sleep(1)
    assert failed, "no workflow task failed while the store was down"
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    back = await restart(own_minio)
    try:
        recovered = time.monotonic()
        result = await asyncio.wait_for(handle.result(), 120)
        recovered_in = time.monotonic() - recovered
    finally:
        await back.stop()
    assert "45,000" in result.answer
    assert failed[0].application_failure_info.type == "ClaimCheckStoreUnavailable", failed[0]
    assert f"store=s3://{run.bucket}, endpoint={own_minio.endpoint_url}" in failed[0].message
    assert recovered_in < 30, f"completed {recovered_in:.0f} s after the store came back"
    # The worker that failed the task is the one that completed the workflow: it kept serving.
    assert len(run.workers) == 1 and run.workers[0].process.poll() is None
    print(f"workflow task retried: completed {recovered_in:.1f} s after the store came back")
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
