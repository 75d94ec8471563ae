"""Large documents by reference on the real dev server: the workflow never holds the document's bytes.

The inline limit is lowered to 64 KiB so the 220 KiB handbook goes by reference here; the
benchmark (``benchmarks/large_document_bench.py``) runs the same path at 100 MiB to 1 GiB.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from rag_claimcheck.claimcheck import workflow_prefix
from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings, Mode
from rag_claimcheck.data.samples import DEFAULT_QUESTION, SAMPLE_DOCUMENT, sample_text
from rag_claimcheck.lifecycle.bundle import replay_bundle
from rag_claimcheck.observe.history import payloads_in
from rag_claimcheck.rag.models import DocumentRef, SourceDocument
from rag_claimcheck.rag.starter import RunReport, ask_question
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.stack.worker import WORKFLOWS, build_worker
from rag_claimcheck.storage import BlobStore, FileBlobStore, MemoryBlobStore
from rag_claimcheck.storage.s3 import S3BlobStore

pytestmark = pytest.mark.integration

INLINE_LIMIT = 64 * 1024
HANDBOOK = SourceDocument.from_bytes(
    sample_text().encode(), filename="handbook.md", mime_type="text/markdown"
)
HANDBOOK_BYTES = len(HANDBOOK.text.encode())
ANSWER = "consumer lag exceeds 45,000 messages for ten minutes"
BEFORE_DOCUMENT_REFS = (
    Path(__file__).resolve().parents[1] / "data" / "bundles" / "rag-codec-before-document-refs"
)


async def ask_by_reference(
    server: DevServer, store: BlobStore, mode: Mode, *, limit: int = INLINE_LIMIT
) -> tuple[RunReport, WorkflowHistory]:
    settings = dataclasses.replace(ClaimCheckSettings(), mode=mode, document_inline_max_bytes=limit)
    client = await server.connect(plugins=[ClaimCheckPlugin(settings=settings, store=store)])
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with build_worker(client, task_queue=task_queue):
        report = await ask_question(
            client,
            document=HANDBOOK,
            question=DEFAULT_QUESTION,
            task_queue=task_queue,
            claim_check=mode,
            execution_timeout=timedelta(seconds=60),
        )
    history = await client.get_workflow_handle(report.workflow_id).fetch_history()
    return report, history


def started_input(history: WorkflowHistory) -> DocumentRef:
    started = history.events[0].workflow_execution_started_event_attributes
    return DataConverter.default.payload_converter.from_payload(started.input.payloads[0], DocumentRef)


class TestByReference:
    @pytest.mark.parametrize("mode", ["codec", "extstore"])
    async def test_the_workflow_carries_a_reference_and_the_store_holds_the_document_once(
        self, dev_server: DevServer, s3_store: S3BlobStore, mode: Mode
    ) -> None:
        report, history = await ask_by_reference(dev_server, s3_store, mode)
        assert report.status == "completed", report.error
        assert ANSWER in (report.answer or "")
        prefix = workflow_prefix(namespace="default", workflow_id=report.workflow_id)
        assert report.document_key is not None and report.document_key.startswith(prefix)
        assert report.document_bytes == HANDBOOK_BYTES

        # History: the input is the reference itself (a few hundred bytes, no codec blob behind
        # it), and no payload anywhere in history comes near the document's size.
        document = started_input(history)
        assert document.blob.key == report.document_key
        largest = max(p.ByteSize() for e in history.events for p in payloads_in(e))
        assert largest < 8 * 1024, f"a {largest}-byte payload in history"
        assert (report.history_size_bytes or 0) < 16 * 1024

        # The store: the document's bytes as uploaded, and its chunk offsets; nothing else.
        blobs = {b.key: b.size for b in await s3_store.list(prefix=prefix)}
        assert await s3_store.get(key=document.blob.key) == SAMPLE_DOCUMENT.read_bytes()
        assert sorted(blobs.values()) == sorted([HANDBOOK_BYTES, 16 * (report.chunk_count or 0)])
        assert sum(blobs.values()) / HANDBOOK_BYTES <= 1.05

        # The reference is marked with the bytes it keeps out, wherever it travels: the workflow's
        # input, and the inputs of ingest and retrieval.
        assert (report.kept_out_payloads, report.kept_out_bytes) == (3, 3 * HANDBOOK_BYTES)

    async def test_on_the_file_store_too(self, dev_server: DevServer, tmp_path: Path) -> None:
        store = FileBlobStore(tmp_path / "blobs")
        report, history = await ask_by_reference(dev_server, store, "codec")
        assert report.status == "completed" and ANSWER in (report.answer or "")
        assert (store.root / started_input(history).blob.key).read_bytes() == SAMPLE_DOCUMENT.read_bytes()

    async def test_off_keeps_the_document_inline_whatever_its_size(self, dev_server: DevServer) -> None:
        store = MemoryBlobStore()
        report, _ = await ask_by_reference(dev_server, store, "off")
        assert report.status == "completed" and report.document_key is None
        assert (report.history_size_bytes or 0) > 3 * HANDBOOK_BYTES
        assert store.blobs == {}

    async def test_under_the_limit_the_document_is_the_workflows_input(
        self, dev_server: DevServer, s3_store: S3BlobStore
    ) -> None:
        report, _ = await ask_by_reference(dev_server, s3_store, "codec", limit=HANDBOOK_BYTES)
        assert report.status == "completed" and report.document_key is None


class TestReplay:
    async def test_a_by_reference_history_replays_without_the_document(
        self, dev_server: DevServer, s3_store: S3BlobStore
    ) -> None:
        _, history = await ask_by_reference(dev_server, s3_store, "codec")
        # An empty store: the workflow code never reads the document or the offsets, so replay
        # needs neither.
        empty = ClaimCheckPlugin(settings=ClaimCheckSettings(mode="codec"), store=MemoryBlobStore())
        replayer = Replayer(workflows=list(WORKFLOWS), plugins=[empty])
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, result.replay_failure

    async def test_a_bundle_exported_before_documents_went_by_reference_still_replays(self) -> None:
        manifest = json.loads((BEFORE_DOCUMENT_REFS / "manifest.json").read_text())
        assert manifest["workflow_type"] == "AiRagWorkflow"
        result = await replay_bundle(BEFORE_DOCUMENT_REFS)
        assert result.replay_failure is None, result.replay_failure
        events = WorkflowHistory.from_json(
            manifest["workflow_id"], (BEFORE_DOCUMENT_REFS / "history.json").read_text()
        ).events
        assert any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED for e in events)
