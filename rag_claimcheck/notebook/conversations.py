"""Drive a ConversationWorkflow turn by turn and measure its history and its blobs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pandas as pd
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from tqdm.auto import tqdm

from rag_claimcheck.claimcheck.cleanup import workflow_blobs
from rag_claimcheck.claimcheck.settings import Mode
from rag_claimcheck.data.samples import sample_qa
from rag_claimcheck.rag.models import ConversationInput, SourceDocument
from rag_claimcheck.rag.starter import describe_error
from rag_claimcheck.rag.workflows import ConversationWorkflow
from rag_claimcheck.stack.embedded import EmbeddedStack

CONVERSATION_TIMEOUT = timedelta(minutes=5)


def questions(count: int) -> list[str]:
    """``count`` questions from the sample set, cycling."""
    qa = sample_qa()
    return [qa[i % len(qa)].question for i in range(count)]


@dataclass
class Conversation:
    """A conversation run and one row per answered turn."""

    mode: str
    workflow_id: str
    handle: WorkflowHandle
    turns: pd.DataFrame
    error: dict[str, str] | None = None
    answers: list[str] = field(default_factory=list)


async def converse(
    stack: EmbeddedStack,
    mode: Mode,
    document: SourceDocument,
    asks: list[str],
    *,
    inline_max_bytes: int | None = None,
    allow_continue_as_new: bool = True,
    top_k: int = 4,
    progress: bool = True,
    end: bool = True,
    turns_by_reference: bool = True,
) -> Conversation:
    """Ask ``asks`` one by one; after each, record the run's history size and the store's contents.

    ``turns_by_reference=False`` sends the whole conversation with every answer call (the
    quadratic way), for comparison. Stops at the first failure (e.g. the server terminating the
    workflow) and records it.
    """
    runtime = await stack.runtime(mode, inline_max_bytes=inline_max_bytes)
    workflow_id = f"chat-{mode}-{uuid.uuid4().hex[:6]}"
    handle = await runtime.client.start_workflow(
        ConversationWorkflow.run,
        args=[
            document,
            ConversationInput(
                top_k=top_k,
                allow_continue_as_new=allow_continue_as_new,
                turns_by_reference=turns_by_reference,
            ),
        ],
        id=workflow_id,
        task_queue=runtime.task_queue,
        execution_timeout=CONVERSATION_TIMEOUT,
    )
    rows, answers, error = [], [], None
    label = f"{mode} turns"
    for turn, question in enumerate(tqdm(asks, desc=label, disable=not progress), start=1):
        try:
            answered = await handle.execute_update(ConversationWorkflow.ask, question)
            state = await handle.query(ConversationWorkflow.stats)
        except (WorkflowUpdateFailedError, RPCError):
            try:
                await handle.result()
            except Exception as e:  # the workflow's own failure says why the update could not run
                error = describe_error(e)
            break
        answers.append(answered.answer)
        blobs = await workflow_blobs(stack.store, namespace=stack.server.namespace, workflow_id=workflow_id)
        rows.append(
            {
                "turn": turn,
                "history_bytes": state.history_size_bytes,
                "events": state.history_length,
                "run": state.generation,
                "store_objects": blobs.count,
                "store_bytes": blobs.total_bytes,
            }
        )
    if end and error is None:
        await handle.signal(ConversationWorkflow.end)
        await handle.result()
    return Conversation(mode, workflow_id, handle, pd.DataFrame(rows), error, answers)


async def delete_before_pickup(
    stack: EmbeddedStack, mode: Mode, document: SourceDocument
) -> tuple[int, dict[str, str]]:
    """Start a conversation while no worker polls its queue, delete its blobs, then start a worker.

    This is an over-eager cleanup job racing a queued workflow: the worker's first read of the
    input finds the blob gone and the workflow fails at once with ``ClaimCheckPayloadMissing``.
    Returns (blobs deleted, the workflow's failure as ``{"type", "message"}``).
    """
    from rag_claimcheck.claimcheck.cleanup import delete_workflow_blobs
    from rag_claimcheck.stack.worker import build_worker

    runtime = await stack.runtime(mode)
    parked = f"{runtime.task_queue}-parked-{uuid.uuid4().hex[:6]}"
    workflow_id = f"chat-early-{mode}-{uuid.uuid4().hex[:6]}"
    handle = await runtime.client.start_workflow(
        ConversationWorkflow.run,
        args=[document, ConversationInput()],
        id=workflow_id,
        task_queue=parked,
        execution_timeout=CONVERSATION_TIMEOUT,
    )
    deleted = await delete_workflow_blobs(
        stack.store, namespace=stack.server.namespace, workflow_id=workflow_id
    )
    async with build_worker(runtime.client, task_queue=parked, activities=stack.activities):
        try:
            await handle.result()
        except Exception as e:
            return deleted.count, describe_error(e)
    return deleted.count, {"type": "", "message": "the workflow completed"}


@dataclass(frozen=True)
class GrowthFit:
    """Least-squares fits of a per-turn figure ``y(n)`` over turns ``n = 1..N``.

    Attributes:
        intercept, linear, quadratic: ``y ≈ intercept + linear·n + quadratic·n²`` (bytes, bytes per
            turn, bytes per turn²).
        linear_only_slope: The slope of the best straight line ``y ≈ a + b·n``.
        linear_only_r2: How well that straight line explains ``y`` (1.0 = exactly linear).
        quadratic_share: The n² term's share of the fitted growth from turn 1 to turn N.
    """

    intercept: float
    linear: float
    quadratic: float
    linear_only_slope: float
    linear_only_r2: float
    quadratic_share: float


def growth_fit(turns: pd.DataFrame, column: str) -> GrowthFit:
    """Fit ``turns[column]`` against ``turns["turn"]`` with a line and a parabola."""
    import numpy as np

    n = turns["turn"].to_numpy(dtype=float)
    y = turns[column].to_numpy(dtype=float)
    c2, c1, c0 = np.polyfit(n, y, 2)
    b1, b0 = np.polyfit(n, y, 1)
    residual = float(np.sum((y - (b0 + b1 * n)) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    first, last = float(n.min()), float(n.max())
    quad_growth = abs(c2) * (last**2 - first**2) if total else 0.0
    lin_growth = abs(c1) * (last - first) if total else 0.0
    return GrowthFit(
        intercept=float(c0),
        linear=float(c1),
        quadratic=float(c2),
        linear_only_slope=float(b1),
        linear_only_r2=1.0 - residual / total if total else 1.0,
        quadratic_share=quad_growth / (quad_growth + lin_growth) if quad_growth + lin_growth else 0.0,
    )
