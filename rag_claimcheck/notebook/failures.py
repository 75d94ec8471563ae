"""Each way a large payload fails on a real server, run once and captured (never raised into a cell)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta

import pandas as pd
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from rag_claimcheck.claimcheck.settings import Mode
from rag_claimcheck.observe.probe import PayloadProbeWorkflow, ProbeRequest, make_text
from rag_claimcheck.rag.starter import describe_error
from rag_claimcheck.stack.embedded import EmbeddedStack

PROBE_TIMEOUT = timedelta(seconds=30)


@dataclass(frozen=True)
class Outcome:
    """What happened to one run."""

    demo: str
    mode: str
    status: str
    error_type: str
    message: str
    history_bytes: int | None


async def probe(stack: EmbeddedStack, demo: str, mode: Mode, request: ProbeRequest) -> Outcome:
    """Run :class:`PayloadProbeWorkflow` once and capture how it ended."""
    runtime = await stack.runtime(mode)
    workflow_id = f"{demo}-{mode}-{uuid.uuid4().hex[:6]}"
    try:
        handle = await runtime.client.start_workflow(
            PayloadProbeWorkflow.run,
            request,
            id=workflow_id,
            task_queue=runtime.task_queue,
            execution_timeout=PROBE_TIMEOUT,
        )
    except RPCError as e:
        error = describe_error(e)
        return Outcome(demo, mode, "rejected at start", error["type"], error["message"], None)
    try:
        await handle.result()
        status, error = "completed", {"type": "", "message": ""}
    except WorkflowFailureError as e:
        error = describe_error(e)
        status = "failed"
    desc = await handle.describe()
    return Outcome(demo, mode, status, error["type"], error["message"], int(desc.raw_info.history_size_bytes))


async def input_too_big(stack: EmbeddedStack, mode: Mode, size: int) -> Outcome:
    """A workflow started with an input of ``size`` bytes."""
    return await probe(stack, "workflow input", mode, ProbeRequest(payload=make_text(size)))


async def activity_result_too_big(stack: EmbeddedStack, mode: Mode, size: int) -> Outcome:
    """An activity that returns ``size`` bytes."""
    return await probe(stack, "activity result", mode, ProbeRequest(activity_result_bytes=size))


async def activity_input_too_big(stack: EmbeddedStack, mode: Mode, size: int) -> Outcome:
    """A workflow that schedules an activity with an input of ``size`` bytes."""
    return await probe(stack, "activity input", mode, ProbeRequest(activity_input_bytes=size))


def outcomes_table(outcomes: list[Outcome]) -> pd.DataFrame:
    """Outcomes as a table."""
    return pd.DataFrame([asdict(o) for o in outcomes])
