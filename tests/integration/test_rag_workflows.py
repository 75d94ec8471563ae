"""The RAG workflows end to end on the real dev server, in every claim-check mode."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.converter import DataConverter
from temporalio.exceptions import ActivityError, ApplicationError

from rag_claimcheck.claimcheck import workflow_prefix
from rag_claimcheck.claimcheck.reference import REFERENCE_ENCODING, ClaimCheckReference
from rag_claimcheck.data.samples import DEFAULT_QUESTION, sample_text
from rag_claimcheck.rag.activities import RagActivities
from rag_claimcheck.rag.answer import OpenAIAnswerer
from rag_claimcheck.rag.ingest import ingest
from rag_claimcheck.rag.models import ConversationInput, RagRequest, SourceDocument
from rag_claimcheck.rag.workflows import AiRagWorkflow, ConversationWorkflow
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.storage import FileBlobStore
from rag_claimcheck.storage.s3 import S3BlobStore
from tests.integration.helpers import Stack, running_stack
from tests.openai_stub import openai_stub

pytestmark = pytest.mark.integration

HANDBOOK = SourceDocument.from_bytes(
    sample_text().encode(), filename="handbook.md", mime_type="text/markdown"
)
TIMEOUT = timedelta(seconds=60)
to_payload = DataConverter.default.payload_converter.to_payload


async def ask(stack: Stack, document: SourceDocument, request: RagRequest, label: str = "rag"):  # type: ignore[no-untyped-def] # test helper
    return await stack.client.execute_workflow(
        AiRagWorkflow.run,
        args=[document, request],
        id=stack.new_id(label),
        task_queue=stack.task_queue,
        execution_timeout=TIMEOUT,
    )


@pytest.mark.parametrize("mode", ["off", "codec", "extstore"])
async def test_rag_answers_the_sample_question_in_every_mode(
    dev_server: DevServer, s3_store: S3BlobStore, mode: str
) -> None:
    async with running_stack(dev_server, mode=mode, store=s3_store) as stack:  # type: ignore[arg-type] # parametrized
        workflow_id = stack.new_id("rag")
        handle = await stack.client.start_workflow(
            AiRagWorkflow.run,
            args=[HANDBOOK, RagRequest(question=DEFAULT_QUESTION)],
            id=workflow_id,
            task_queue=stack.task_queue,
            execution_timeout=TIMEOUT,
        )
        result = await handle.result()
        history_bytes = (await handle.describe()).raw_info.history_size_bytes
    assert "consumer lag exceeds 45,000 messages for ten minutes" in result.answer
    assert len(result.sources) == 4
    blobs = await s3_store.list(prefix=workflow_prefix(namespace="default", workflow_id=workflow_id))
    document_bytes = len(to_payload(HANDBOOK).data)
    if mode == "off":
        # The document three times (workflow input, into ingest, into retrieve); the chunk
        # offsets are a few KB, not a second copy of the text.
        assert 3 * document_bytes < history_bytes < 3 * document_bytes + 32 * 1024
        assert blobs == []
    else:
        assert history_bytes < 16 * 1024
        # The document once and its chunk offsets once (a few KB, stored whatever their size
        # because they grow with the document): every hop re-sends the same bytes, so content
        # addressing stores each once. Nothing else is stored: the store holds about 1x the text.
        offsets_bytes = len(to_payload(ingest(HANDBOOK)).data)
        assert sorted(b.size for b in blobs) == [offsets_bytes, document_bytes]
        assert offsets_bytes < document_bytes // 50


async def test_rag_works_on_the_filesystem_store(dev_server: DevServer, tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    async with running_stack(dev_server, mode="codec", store=store) as stack:
        result = await ask(stack, HANDBOOK, RagRequest(question="Which port does the Keel pooler listen on?"))
    assert "6432" in result.answer
    assert len(await store.list(prefix="claim-check/")) == 2  # the document and its chunk offsets


BAD_INPUTS = [
    (
        # Bytes that are not UTF-8 are refused where they are read (SourceDocument.from_bytes);
        # a client that decoded them with surrogateescape still sends text no UTF-8 encodes.
        SourceDocument("menu.txt", "text/plain", b"caf\xe9".decode("utf-8", "surrogateescape")),
        RagRequest("q"),
        "DocumentNotUtf8",
        "menu.txt is not valid UTF-8: character U+DCE9 at character offset 3 is a lone surrogate",
    ),
    (
        SourceDocument.from_bytes(b"%PDF-1.7", filename="a.pdf", mime_type="application/pdf"),
        RagRequest("q"),
        "UnsupportedDocumentType",
        "a.pdf: unsupported document type 'application/pdf'",
    ),
    (
        SourceDocument.from_bytes(b"  \n", filename="empty.md", mime_type="text/markdown"),
        RagRequest("q"),
        "EmptyDocument",
        "empty.md is empty",
    ),
    (HANDBOOK, RagRequest("   "), "EmptyQuestion", "the question is empty"),
    (
        HANDBOOK,
        RagRequest("q", top_k=0),
        "InvalidParameter",
        "top_k must be a whole number from 1 to 50; got 0",
    ),
]


@pytest.mark.parametrize("mode", ["off", "codec"])
async def test_every_bad_input_fails_with_its_named_error_and_the_worker_keeps_serving(
    dev_server: DevServer, s3_store: S3BlobStore, mode: str
) -> None:
    async with running_stack(dev_server, mode=mode, store=s3_store) as stack:  # type: ignore[arg-type] # parametrized
        for document, request, error_type, message in BAD_INPUTS:
            with pytest.raises(WorkflowFailureError) as info:
                await ask(stack, document, request, "bad")
            cause: BaseException | None = info.value.cause
            if isinstance(cause, ActivityError):
                cause = cause.cause
            assert isinstance(cause, ApplicationError), cause
            assert (cause.type, cause.non_retryable) == (error_type, True)
            assert message in cause.message
        result = await ask(stack, HANDBOOK, RagRequest(question=DEFAULT_QUESTION), "after-bad")
    assert "45,000" in result.answer


async def test_the_llm_path_retries_429_and_500_through_the_activity_retry_policy(
    dev_server: DevServer, s3_store: S3BlobStore
) -> None:
    async with openai_stub() as stub:
        stub.script = [500, 429]
        activities = RagActivities(
            answerer=OpenAIAnswerer(api_key="sk-test", base_url=stub.base_url, model="local")
        )
        async with running_stack(dev_server, mode="codec", store=s3_store, activities=activities) as stack:
            result = await ask(stack, HANDBOOK, RagRequest(question=DEFAULT_QUESTION), "llm")
            assert result.answer == stub.reply and result.model == "local"
            assert len(stub.requests) == 3

            stub.script = [401]
            with pytest.raises(WorkflowFailureError) as info:
                await ask(stack, HANDBOOK, RagRequest(question=DEFAULT_QUESTION), "llm-401")
    cause = info.value.cause
    assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
    assert cause.cause.type == "LLMAuthenticationError"
    assert len(stub.requests) == 4, "a 401 must not be retried"


@pytest.mark.parametrize("mode", ["off", "codec", "extstore"])
async def test_conversation_update_query_signal(
    dev_server: DevServer, s3_store: S3BlobStore, mode: str
) -> None:
    async with running_stack(dev_server, mode=mode, store=s3_store) as stack:  # type: ignore[arg-type] # parametrized
        handle = await stack.client.start_workflow(
            ConversationWorkflow.run,
            args=[HANDBOOK, ConversationInput()],
            id=stack.new_id("chat"),
            task_queue=stack.task_queue,
            execution_timeout=TIMEOUT,
        )
        first = await handle.execute_update(ConversationWorkflow.ask, DEFAULT_QUESTION)
        second = await handle.execute_update(
            ConversationWorkflow.ask, "Which port does the Keel pooler listen on?"
        )
        state = await handle.query(ConversationWorkflow.state)
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await handle.execute_update(ConversationWorkflow.ask, "   ")
        await handle.signal(ConversationWorkflow.end)
        turns = await handle.result()
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in (await handle.fetch_history()).events
            if e.HasField("activity_task_scheduled_event_attributes")
        ]
    # Ingest built this worker's index, so both questions are answered from it with a tiny
    # input: the document is never sent to retrieval.
    assert scheduled.count("retrieve_from_cache") == 2
    assert scheduled.count("retrieve_passages") == 0
    assert "45,000" in first.answer and "6432" in second.answer
    assert [t.question for t in state.turns] == [
        DEFAULT_QUESTION,
        "Which port does the Keel pooler listen on?",
    ]
    assert state.history_size_bytes > 0 and state.history_length > 10 and not state.ended
    assert isinstance(rejected.value.cause, ApplicationError) and rejected.value.cause.type == "EmptyQuestion"
    assert turns == state.turns


async def test_conversation_continues_as_new_when_suggested_and_keeps_its_turns(
    small_limits_server: DevServer, s3_store: S3BlobStore
) -> None:
    async with running_stack(small_limits_server, mode="codec", store=s3_store) as stack:
        workflow_id = stack.new_id("chat-can")
        handle = await stack.client.start_workflow(
            ConversationWorkflow.run,
            args=[HANDBOOK, ConversationInput()],
            id=workflow_id,
            task_queue=stack.task_queue,
            execution_timeout=timedelta(seconds=120),
        )
        questions = [f"What does the handbook say about backups, question {i}?" for i in range(8)]
        for q in questions:
            await handle.execute_update(ConversationWorkflow.ask, q)
            await asyncio.sleep(0.05)
        state = await handle.query(ConversationWorkflow.state)
        latest = stack.client.get_workflow_handle(workflow_id)  # follows the chain to the current run
        started = (await latest.fetch_history()).events[0].workflow_execution_started_event_attributes
        first = (await handle.fetch_history()).events[0].workflow_execution_started_event_attributes
        await handle.signal(ConversationWorkflow.end)
        turns = await handle.result()
    assert state.generation >= 1, "60 events per run should have suggested continue-as-new"
    assert [t.question for t in turns] == questions
    # The continued run got the same document reference as the first (the same bytes, so the
    # same blob), and its state (chunk offsets and turns) as a reference too: it grows with
    # the document and the conversation, so it is stored whatever its size.
    carried, state_in = started.input.payloads
    assert carried.metadata["encoding"] == REFERENCE_ENCODING
    assert carried == first.input.payloads[0]
    assert state_in.metadata["encoding"] == REFERENCE_ENCODING
    assert ClaimCheckReference.from_payload(state_in).encoding == "json/plain"


async def test_a_store_outage_on_the_client_is_reported_not_raised(dev_server: DevServer) -> None:
    from rag_claimcheck.rag.starter import ask_question
    from tests.unit.fakes import UnreachableStore

    async with running_stack(dev_server, mode="codec", store=UnreachableStore(), worker=False) as stack:
        report = await ask_question(
            stack.client,
            document=HANDBOOK,
            question=DEFAULT_QUESTION,
            task_queue=stack.task_queue,
            claim_check="codec",
        )
    assert report.status == "failed"
    assert report.error is not None and report.error["type"] == "ClaimCheckStoreUnavailable"
    assert "s3://unreachable" in report.error["message"]
