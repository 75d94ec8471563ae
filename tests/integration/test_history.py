"""History analysis agrees with the server about how big a workflow's history is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowHandle

from rag_claimcheck.claimcheck.settings import Mode
from rag_claimcheck.data.samples import DEFAULT_QUESTION, scaled_document
from rag_claimcheck.observe.history import HistorySummary, history_frame, human_bytes, summarize
from rag_claimcheck.observe.probe import PayloadProbeWorkflow, ProbeRequest, make_text
from rag_claimcheck.rag.models import SourceDocument
from rag_claimcheck.rag.starter import RunReport, ask_question, workflow_task_timeout
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.storage import BlobStore, MemoryBlobStore
from rag_claimcheck.storage.s3 import S3BlobStore
from tests.integration.helpers import running_stack

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


async def test_event_bytes_add_up_to_the_servers_history_size(dev_server: DevServer) -> None:
    async with running_stack(dev_server, mode="off", store=MemoryBlobStore()) as stack:
        handle = await stack.client.start_workflow(
            PayloadProbeWorkflow.run,
            ProbeRequest(payload=make_text(100_000), activity_result_bytes=50_000),
            id=stack.new_id("history"),
            task_queue=stack.task_queue,
            execution_timeout=timedelta(seconds=30),
        )
        await handle.result()
        summary = await summarize(handle)
    assert summary.status == "COMPLETED"
    assert summary.events == summary.server_history_length
    # The server counts the serialized events; our per-event sum is within a few percent of it.
    assert (
        abs(summary.event_bytes - summary.server_history_size_bytes)
        < 0.05 * summary.server_history_size_bytes
    )
    # The two big payloads (100 KB input, 50 KB result) are found inside the events.
    assert 150_000 < summary.payload_bytes < summary.event_bytes
    assert summary.largest_event_bytes > 100_000


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (0, 1023, 1536, 5 * 1024 * 1024)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 MiB",
    ]


async def summarize_by_id(server: DevServer, workflow_id: str) -> HistorySummary:
    client = await server.connect()
    return await summarize(client.get_workflow_handle(workflow_id))


ONE_MIB_DOCUMENT = SourceDocument.from_bytes(
    scaled_document(MIB), filename="1mib.md", mime_type="text/markdown"
)


async def ask_about_1_mib(
    server: DevServer, mode: Mode, store: BlobStore
) -> tuple[RunReport, WorkflowHandle]:
    """The sample question on a 1 MiB document; the report and the workflow's handle."""
    async with running_stack(server, mode=mode, store=store) as stack:
        report = await ask_question(
            stack.client,
            document=ONE_MIB_DOCUMENT,
            question=DEFAULT_QUESTION,
            task_queue=stack.task_queue,
            claim_check=mode,
            workflow_id=stack.new_id("kept-out"),
        )
    return report, (await server.connect()).get_workflow_handle(report.workflow_id)


@pytest.mark.parametrize("mode", ["codec", "extstore"])
async def test_references_in_history_are_marked_with_what_they_kept_out(
    dev_server: DevServer, mode: Mode
) -> None:
    document = ONE_MIB_DOCUMENT
    report, handle = await ask_about_1_mib(dev_server, mode, MemoryBlobStore())
    frame = await history_frame(handle)
    assert report.status == "completed", report.error
    first = (await handle.fetch_history()).events[0].workflow_execution_started_event_attributes
    assert first.workflow_task_timeout.ToTimedelta() == workflow_task_timeout(MIB)  # 10.125 s
    started = frame[frame["event_type"] == "WORKFLOW_EXECUTION_STARTED"].iloc[0]
    # The workflow's input (the document, as text) was replaced by a marked reference.
    assert started["external_bytes"] >= len(document.text.encode())
    assert started["external_payloads"] == 1 and started["bytes"] < 2048
    # The report and the summary count every mark: the document at start, into ingest and into
    # retrieval, and the chunk offsets.
    assert report.kept_out_payloads is not None and report.kept_out_payloads >= 4
    assert report.kept_out_bytes == int(frame["external_bytes"].sum()) > 3 * len(document.text.encode())
    summary = await summarize_by_id(dev_server, report.workflow_id)
    assert (summary.kept_out_bytes, summary.kept_out_payloads) == (
        report.kept_out_bytes,
        report.kept_out_payloads,
    )


@pytest.mark.parametrize("mode", ["codec", "extstore"])
async def test_the_server_reports_what_the_references_kept_out(
    server_1_32: DevServer, s3_store: S3BlobStore, mode: Mode
) -> None:
    """Server 1.32 sums the references' marks into describe(): the codec's as the SDK's own."""
    document = ONE_MIB_DOCUMENT
    report, handle = await ask_about_1_mib(server_1_32, mode, s3_store)
    description = await handle.describe()
    assert report.status == "completed", report.error
    info = description.raw_info
    assert info.external_payload_size_bytes >= len(document.text.encode())
    # docs/server-accounting.md ("What the server counts"): 5 payloads and 3.1 MiB for a 1 MiB document.
    assert info.external_payload_count == 5
    assert human_bytes(info.external_payload_size_bytes) == "3.1 MiB"
    # The server and the kit's history walk count the same marks.
    assert (info.external_payload_size_bytes, info.external_payload_count) == (
        report.kept_out_bytes,
        report.kept_out_payloads,
    )
    assert (report.external_payload_size_bytes, report.external_payload_count) == (
        info.external_payload_size_bytes,
        info.external_payload_count,
    )
    # The blobs are in the bucket: the figures describe bytes that left history, not bytes lost.
    assert sum(blob.size for blob in await s3_store.list(prefix="")) >= len(document.text.encode())
