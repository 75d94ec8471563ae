"""The RAG workflows. Deterministic orchestration only; every piece of work is an activity."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from rag_claimcheck.claimcheck.offload import offloaded
    from rag_claimcheck.claimcheck.refs import DataRef
    from rag_claimcheck.rag.activities import RagActivities
    from rag_claimcheck.rag.errors import bad_input, check_question, check_top_k
    from rag_claimcheck.rag.heartbeat import HEARTBEAT_TIMEOUT
    from rag_claimcheck.rag.models import (
        MAX_TOP_K,
        AnswerRequest,
        ConversationInput,
        ConversationState,
        ConversationStats,
        IngestedDocument,
        RagRequest,
        RagResult,
        RetrievalQuery,
        Source,
        Turn,
    )

SNIPPET_CHARS = 240
# How the timeouts fit together (docs/faults.md):
# * every step heartbeats, so a crashed worker is noticed within HEARTBEAT_TIMEOUT (10 s) of its
#   last heartbeat, and the step is retried on another worker after at most RETRY's first interval
#   (the answer and the cache lookup did not, until the chaos soak showed a worker killed
#   mid-answer holding its conversation for the whole 2-minute start-to-close);
# * a store outage fails attempts with ClaimCheckStoreUnavailable; RETRY has no attempt limit and
#   waits at most RETRY_MAX_INTERVAL between attempts, so the step resumes within ~10 s of the
#   store's return, as long as the outage is shorter than STEP_DEADLINE;
# * the starter's default execution timeout (run.DEFAULT_EXECUTION_TIMEOUT, 1 h) exceeds one
#   step's STEP_DEADLINE plus the other steps' own time, so defaults never time out a recovery.
RETRY_MAX_INTERVAL = timedelta(seconds=10)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=RETRY_MAX_INTERVAL,
    maximum_attempts=0,  # unlimited: bounded by STEP_DEADLINE instead
)
STEP_DEADLINE = timedelta(minutes=30)
"""Schedule-to-close of every step: the longest store outage (or LLM outage) a step rides out."""
INDEXING_TIMEOUT = STEP_DEADLINE
"""Start-to-close of the steps that may build a document's BM25 index: ingest, and retrieval on a
worker without the index. Both heartbeat, so a crashed worker is noticed within HEARTBEAT_TIMEOUT;
start-to-close only bounds an attempt that hangs while heartbeating. It was 5 min (ingest) and
2 min (retrieval); a 1 GiB document on MinIO beside two CPU burners took over 5 min to index, so
the working attempt was cut and started again."""
RETRIEVE_TIMEOUT = timedelta(minutes=2)
"""Start-to-close of an index-cache lookup (``retrieve_from_cache``): no index is built there."""
ANSWER_TIMEOUT = timedelta(minutes=2)
"""Start-to-close of the answer (an LLM call's own timeout is 60 s); a crash is noticed by heartbeat."""
WAIT_FOR_CANCEL = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
"""For the steps that heartbeat: a cancelled workflow ends only once the running step has
acknowledged the cancellation (which its next heartbeat brings), so nothing keeps running."""


def _stop_if_cancelled() -> None:
    """End the workflow CANCELED if a cancel was requested while the last step was running.

    A step that finishes before its next heartbeat brings the cancellation back returns its
    result normally (the SDK then clears the cancellation), so without this check the workflow
    would go on to the next step.
    """
    if workflow.cancellation_reason() is not None:
        raise asyncio.CancelledError("the workflow was cancelled")


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "\u2026"


@workflow.defn
class AiRagWorkflow:
    """Document + question → ingest → retrieve → answer.

    Started with two arguments: the :class:`~rag_claimcheck.rag.models.SourceDocument` and the
    :class:`~rag_claimcheck.rag.models.RagRequest`.
    """

    @workflow.run
    async def run(self, document: RawValue, request: RagRequest) -> RagResult:
        question = check_question(request.question)
        top_k = check_top_k(request.top_k, MAX_TOP_K)
        # The workflow only forwards the document and the chunk offsets, so it takes both as
        # RawValues: never parsed here (a 100 MiB document would take seconds to convert and trip
        # the deadlock detector), and re-sent byte-identical, which content addressing stores once.
        ingested = await workflow.execute_activity(
            "ingest_document",
            document,
            result_type=RawValue,
            start_to_close_timeout=INDEXING_TIMEOUT,
            schedule_to_close_timeout=STEP_DEADLINE,
            retry_policy=RETRY,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            cancellation_type=WAIT_FOR_CANCEL,
        )
        _stop_if_cancelled()
        retrieval = await workflow.execute_activity_method(
            RagActivities.retrieve_passages,
            args=[document, ingested, RetrievalQuery(question=question, top_k=top_k)],
            start_to_close_timeout=INDEXING_TIMEOUT,
            schedule_to_close_timeout=STEP_DEADLINE,
            retry_policy=RETRY,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            cancellation_type=WAIT_FOR_CANCEL,
        )
        _stop_if_cancelled()
        answer = await workflow.execute_activity_method(
            RagActivities.answer_question,
            AnswerRequest(question=question, passages=retrieval.passages),
            start_to_close_timeout=ANSWER_TIMEOUT,
            schedule_to_close_timeout=STEP_DEADLINE,
            retry_policy=RETRY,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
        )
        return RagResult(
            answer=answer.text,
            model=answer.model,
            extractive=answer.extractive,
            sources=[
                Source(chunk_index=p.chunk_index, score=p.score, snippet=_snippet(p.text))
                for p in retrieval.passages
            ],
            document_sha256=retrieval.document.sha256,
            chunk_count=retrieval.document.chunk_count,
        )


@workflow.defn
class ConversationWorkflow:
    """A long-running chat over one document.

    * Update ``ask(question)`` → the answer (a :class:`Turn`); every LLM call sees the whole
      conversation so far. By default the answer activity stores each turn once and the workflow
      passes it a reference to the newest (``turns_by_reference``; linear store growth, history
      per turn bounded); otherwise the conversation travels inline with every call (quadratic).
    * Query ``state()`` → turns and the history's size as the workflow sees it; ``stats()`` →
      the sizes only.
    * Signal ``end()`` → finish and return the turns.
    * When Temporal suggests it, the workflow continues as new, carrying the document (the same
      bytes, so the same blob), its chunk offsets and the turns (with claim check on, as references).

    Started with two arguments: the :class:`~rag_claimcheck.rag.models.SourceDocument` and a
    :class:`~rag_claimcheck.rag.models.ConversationInput`.
    """

    def __init__(self) -> None:
        self._turns: list[Turn] = []
        self._ended = False
        self._lock = asyncio.Lock()
        self._generation = 0
        self._ready = False
        self._history_ref: DataRef | None = None
        self._by_reference = True

    @workflow.run
    async def run(self, document: RawValue, start: ConversationInput) -> list[Turn]:
        self._turns = list(start.turns)
        self._generation = start.generation
        self._history_ref = start.history_ref
        self._by_reference = start.turns_by_reference
        self._top_k = check_top_k(start.top_k, MAX_TOP_K)
        # The document is forwarded, never parsed here (see AiRagWorkflow). The chunk offsets are
        # parsed once (the cache key is in them) and forwarded as marked, byte-identical payloads.
        self._document = document
        if start.ingested is not None:
            self._ingested = start.ingested
            self._ingested_raw = offloaded(workflow.payload_converter(), start.ingested)
        else:
            self._ingested_raw = await workflow.execute_activity(
                "ingest_document",
                document,
                result_type=RawValue,
                start_to_close_timeout=INDEXING_TIMEOUT,
                schedule_to_close_timeout=STEP_DEADLINE,
                retry_policy=RETRY,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                cancellation_type=WAIT_FOR_CANCEL,
            )
            self._ingested = workflow.payload_converter().from_payload(
                self._ingested_raw.payload, IngestedDocument
            )
        _stop_if_cancelled()
        self._ready = True
        allow_continue_as_new = start.allow_continue_as_new
        await workflow.wait_condition(
            lambda: (
                self._ended
                or (
                    allow_continue_as_new
                    and workflow.info().is_continue_as_new_suggested()
                    and not self._lock.locked()
                )
            )
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        if not self._ended:
            carried = ConversationInput(
                ingested=self._ingested,
                turns=self._turns,
                top_k=self._top_k,
                generation=self._generation + 1,
                allow_continue_as_new=allow_continue_as_new,
                history_ref=self._history_ref,
                turns_by_reference=self._by_reference,
            )
            workflow.continue_as_new(args=[self._document, offloaded(workflow.payload_converter(), carried)])
        return self._turns

    @workflow.update
    async def ask(self, question: str) -> Turn:
        """Ask a question; returns the answered turn."""
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            query = RetrievalQuery(question=question.strip(), top_k=self._top_k)
            # Ask a worker's index cache first (tiny input); send the whole document only on a miss.
            cached = await workflow.execute_activity_method(
                RagActivities.retrieve_from_cache,
                args=[self._ingested.key, query],
                start_to_close_timeout=RETRIEVE_TIMEOUT,
                schedule_to_close_timeout=STEP_DEADLINE,
                retry_policy=RETRY,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
            )
            passages = cached.passages
            if not cached.hit:
                retrieval = await workflow.execute_activity_method(
                    RagActivities.retrieve_passages,
                    args=[self._document, self._ingested_raw, query],
                    start_to_close_timeout=INDEXING_TIMEOUT,
                    schedule_to_close_timeout=STEP_DEADLINE,
                    retry_policy=RETRY,
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                    cancellation_type=WAIT_FOR_CANCEL,
                )
                passages = retrieval.passages
            # The stored chain (history_ref) is used only while it holds every turn so far; a
            # worker without a transcript store answers without storing, and the next call falls
            # back to the inline conversation.
            head = self._history_ref
            complete = head is not None and head.count == len(self._turns)
            by_ref = self._by_reference and complete
            answer = await workflow.execute_activity_method(
                RagActivities.answer_question,
                AnswerRequest(
                    question=question.strip(),
                    passages=passages,
                    history=[] if by_ref else list(self._turns),
                    history_ref=head if by_ref else None,
                    store_turn=self._by_reference and (complete or not self._turns),
                ),
                start_to_close_timeout=ANSWER_TIMEOUT,
                schedule_to_close_timeout=STEP_DEADLINE,
                retry_policy=RETRY,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
            )
            self._history_ref = answer.turn_ref
            turn = Turn(
                question=question.strip(), answer=answer.text, sources=[p.chunk_index for p in passages]
            )
            self._turns.append(turn)
            return turn

    @ask.validator
    def _validate_ask(self, question: str) -> None:
        if self._ended:
            raise bad_input("the conversation has ended", "ConversationEnded")
        check_question(question)

    @workflow.query
    def state(self) -> ConversationState:
        """Turns so far and the current run's history size."""
        info = workflow.info()
        return ConversationState(
            turns=list(self._turns),
            history_size_bytes=info.get_current_history_size(),
            history_length=info.get_current_history_length(),
            generation=self._generation,
            ended=self._ended,
        )

    @workflow.query
    def stats(self) -> ConversationStats:
        """How many turns and how big the current run's history is (small; cheap to poll)."""
        info = workflow.info()
        return ConversationStats(
            turns=len(self._turns),
            history_size_bytes=info.get_current_history_size(),
            history_length=info.get_current_history_length(),
            generation=self._generation,
            ended=self._ended,
        )

    @workflow.signal
    def end(self) -> None:
        """Finish the conversation."""
        self._ended = True
