"""A conversation stores each turn once: linear store bytes, bounded history per turn, same answers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.converter import DataConverter

from rag_claimcheck.claimcheck.cleanup import workflow_blobs
from rag_claimcheck.data.samples import sample_qa, scaled_document
from rag_claimcheck.rag.activities import RagActivities
from rag_claimcheck.rag.answer import Answerer, ExtractiveAnswerer
from rag_claimcheck.rag.models import Answer, AnswerRequest, ConversationInput, SourceDocument, Turn
from rag_claimcheck.rag.workflows import ConversationWorkflow
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.storage.s3 import S3BlobStore
from tests.integration.helpers import Stack, running_stack

pytestmark = pytest.mark.integration

TURNS = 50
# Small enough to stay inline (under the 128 KiB threshold): the store then holds only the turns.
DOCUMENT = SourceDocument.from_bytes(
    scaled_document(16 * 1024), filename="small.md", mime_type="text/markdown"
)


class RecordingAnswerer(Answerer):
    """The extractive answerer, remembering the conversation each call was given."""

    def __init__(self) -> None:
        self.inner = ExtractiveAnswerer()
        self.histories: list[list[Turn]] = []

    async def answer(self, request: AnswerRequest) -> Answer:
        self.histories.append(list(request.history))
        return await self.inner.answer(request)


def questions() -> list[str]:
    qa = sample_qa()
    return [f"{qa[i % len(qa)].question} (question {i + 1})" for i in range(TURNS)]


def serialized(turn: Turn) -> bytes:
    """A turn as Temporal's JSON converter writes it."""
    return DataConverter.default.payload_converter.to_payloads([turn])[0].data


async def stored_turn_entries(store: S3BlobStore, prefix: str) -> dict[str, int]:
    """Key → size of every stored transcript entry (a turn and its predecessor's digest) under ``prefix``."""
    entries = {}
    for blob in await store.list(prefix=prefix):
        body = json.loads(await store.get(key=blob.key))
        if isinstance(body, dict) and set(body) == {"turn", "previous"}:
            entries[blob.key] = blob.size
    return entries


async def chat(stack: Stack, *, by_reference: bool) -> tuple[str, list[Turn], list[int]]:
    """Ask TURNS questions; returns (workflow id, turns, bytes of each answer call's scheduled event)."""
    workflow_id = stack.new_id("chat-linear" if by_reference else "chat-inline")
    handle = await stack.client.start_workflow(
        ConversationWorkflow.run,
        args=[DOCUMENT, ConversationInput(turns_by_reference=by_reference)],
        id=workflow_id,
        task_queue=stack.task_queue,
        execution_timeout=timedelta(minutes=3),
    )
    for question in questions():
        await handle.execute_update(ConversationWorkflow.ask, question)
    await handle.signal(ConversationWorkflow.end)
    turns = await handle.result()
    answer_calls = [
        e.ByteSize()
        for e in (await handle.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "answer_question"
    ]
    return workflow_id, turns, answer_calls


async def test_a_50_turn_conversation_stores_each_turn_once_and_the_answerer_sees_the_same_conversation(
    dev_server: DevServer, s3_store: S3BlobStore
) -> None:
    linear_answerer, inline_answerer = RecordingAnswerer(), RecordingAnswerer()
    async with running_stack(
        dev_server, mode="codec", store=s3_store, activities=RagActivities(answerer=linear_answerer)
    ) as stack:
        linear_id, linear_turns, linear_calls = await chat(stack, by_reference=True)
        linear_store = await workflow_blobs(s3_store, namespace="default", workflow_id=linear_id)
        entries = await stored_turn_entries(s3_store, linear_store.prefix)
    async with running_stack(
        dev_server, mode="codec", store=s3_store, activities=RagActivities(answerer=inline_answerer)
    ) as stack:
        _, inline_turns, inline_calls = await chat(stack, by_reference=False)

    assert len(linear_turns) == TURNS and linear_turns == inline_turns
    # Every call saw exactly the turns before it, whether they came by reference or inline.
    assert linear_answerer.histories == inline_answerer.histories
    assert [len(h) for h in linear_answerer.histories] == list(range(TURNS))
    assert linear_answerer.histories[-1] == linear_turns[:-1]
    # One object per turn, and the store holds little more than the turns themselves.
    distinct = sum(len(t) for t in {serialized(t) for t in linear_turns})
    assert len(entries) == TURNS
    entry_bytes = sum(entries.values())
    assert distinct <= entry_bytes <= 1.2 * distinct, (entry_bytes, distinct)
    # Besides the turns the conversation stored only what does not grow with it (the chunk offsets).
    assert linear_store.count - TURNS <= 1 and linear_store.total_bytes - entry_bytes < 4 * 1024
    # History per answer call stays bounded by reference; inline it grows with the conversation.
    assert max(linear_calls) < 2 * linear_calls[1] and max(linear_calls) < 8 * 1024, linear_calls
    assert inline_calls[-1] > 5 * linear_calls[-1], (inline_calls[-1], linear_calls[-1])
