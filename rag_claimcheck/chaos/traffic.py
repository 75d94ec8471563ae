"""The soak's starter: runs each job as a workflow to its end, riding out what the chaos does to it.

A real starter does not give up on a question because the store blinked: storing a document,
starting the workflow, sending a turn and waiting for the result are each tried again (same
workflow id, same update id, so nothing runs twice) while the error is one that waiting can fix.
Each such retry is counted by type.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from rag_claimcheck.chaos.workload import Document, Job
from rag_claimcheck.claimcheck.refs import RefStore
from rag_claimcheck.rag.documents import store_document
from rag_claimcheck.rag.models import ConversationInput, DocumentRef, RagRequest, SourceDocument
from rag_claimcheck.rag.starter import (
    DEFAULT_EXECUTION_TIMEOUT,
    describe_error,
    workflow_input,
    workflow_task_timeout,
)
from rag_claimcheck.rag.workflows import AiRagWorkflow, ConversationWorkflow

T = TypeVar("T")
RETRY_PAUSE_SECONDS = 1.0
RETRYABLE_RPC = frozenset(
    {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}
)
Answer = tuple[str, str, tuple[int, ...]]
"""(question, answer, chunk indices of the sources)"""


@dataclass
class Outcome:
    """How one job ended."""

    job: int
    workflow_id: str
    status: str
    """``completed`` or ``failed``."""
    seconds: float
    """From the first attempt to store or start to the result."""
    answers: tuple[Answer, ...] = ()
    error: dict[str, str] | None = None


def _retryable(error: BaseException) -> bool:
    if isinstance(error, RPCError):
        return error.status in RETRYABLE_RPC
    if isinstance(error, WorkflowUpdateRPCTimeoutOrCancelledError):
        return True
    return isinstance(error, ApplicationError) and not error.non_retryable


class Starter:
    """Starts jobs on ``task_queue`` with ``client`` (whose plugin does the claim check).

    Args:
        refs: Where documents over ``document_limit`` bytes are stored before the workflow starts.
        retries: Counts each retried error by type (``starter:<type>``).
        give_up_after: Stop retrying a step after this long.
    """

    def __init__(
        self,
        client: Client,
        refs: RefStore,
        *,
        task_queue: str,
        document_limit: int,
        retries: Counter[str],
        give_up_after: float,
        top_k: int = 4,
    ) -> None:
        self.client = client
        self.refs = refs
        self.task_queue = task_queue
        self.document_limit = document_limit
        self.retries = retries
        self.give_up_after = give_up_after
        self.top_k = top_k

    async def run(self, job: Job, document: Document, workflow_id: str) -> Outcome:
        """Run ``job`` as workflow ``workflow_id`` to its end."""
        started = time.monotonic()
        deadline = started + self.give_up_after
        try:
            argument = await self._argument(document, workflow_id, deadline)
            if job.conversation:
                answers = await self._converse(job, argument, workflow_id, deadline)
            else:
                answers = await self._ask(job, argument, workflow_id, deadline)
        except (RPCError, ApplicationError, WorkflowFailureError, WorkflowUpdateFailedError) as e:
            return Outcome(
                job.index, workflow_id, "failed", time.monotonic() - started, error=describe_error(e)
            )
        return Outcome(job.index, workflow_id, "completed", time.monotonic() - started, answers=answers)

    async def _again(self, attempt: Callable[[], Awaitable[T]], deadline: float) -> T:
        while True:
            try:
                return await attempt()
            except (RPCError, ApplicationError, WorkflowUpdateRPCTimeoutOrCancelledError) as e:
                if not _retryable(e) or time.monotonic() > deadline:
                    raise
                self.retries[f"starter:{describe_error(e)['type']}"] += 1
                await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def _argument(
        self, document: Document, workflow_id: str, deadline: float
    ) -> SourceDocument | DocumentRef:
        if len(document.data) <= self.document_limit:
            return document.source
        return await self._again(
            lambda: store_document(
                self.refs,
                document.source,
                namespace=self.client.namespace,
                workflow_id=workflow_id,
                data=document.data,
            ),
            deadline,
        )

    async def _start(
        self,
        run: Any,
        args: list[Any],
        argument: SourceDocument | DocumentRef,
        workflow_id: str,
        deadline: float,
    ) -> WorkflowHandle[Any, Any]:
        async def start() -> WorkflowHandle[Any, Any]:
            try:
                handle: WorkflowHandle[Any, Any] = await self.client.start_workflow(
                    run,
                    args=args,
                    id=workflow_id,
                    task_queue=self.task_queue,
                    execution_timeout=DEFAULT_EXECUTION_TIMEOUT,
                    task_timeout=workflow_task_timeout(
                        0 if isinstance(argument, DocumentRef) else len(argument.text)
                    ),
                )
                return handle
            except WorkflowAlreadyStartedError:  # an earlier attempt started it; its answer was lost
                return self.client.get_workflow_handle_for(run, workflow_id)

        return await self._again(start, deadline)

    async def _ask(
        self, job: Job, argument: SourceDocument | DocumentRef, workflow_id: str, deadline: float
    ) -> tuple[Answer, ...]:
        [question] = job.questions
        args = [workflow_input(self.client, argument), RagRequest(question=question, top_k=self.top_k)]
        handle = await self._start(AiRagWorkflow.run, args, argument, workflow_id, deadline)
        result = await self._again(handle.result, deadline)
        return ((question, result.answer, tuple(s.chunk_index for s in result.sources)),)

    async def _converse(
        self, job: Job, argument: SourceDocument | DocumentRef, workflow_id: str, deadline: float
    ) -> tuple[Answer, ...]:
        args = [workflow_input(self.client, argument), ConversationInput(top_k=self.top_k)]
        handle = await self._start(ConversationWorkflow.run, args, argument, workflow_id, deadline)
        for turn, question in enumerate(job.questions):
            await self._again(
                lambda question=question, turn=turn: handle.execute_update(  # type: ignore[misc] # bound now
                    ConversationWorkflow.ask, question, id=f"turn-{turn}"
                ),
                deadline,
            )
        await self._again(lambda: handle.signal(ConversationWorkflow.end), deadline)
        turns = await self._again(handle.result, deadline)
        return tuple((t.question, t.answer, tuple(t.sources)) for t in turns)
