"""A minimal workflow that pushes a payload of a chosen size through history.

It isolates the three places a large payload can hit a limit: the workflow input (at start),
an activity's input (in the workflow task's command) and an activity's result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

PROBE_ACTIVITY_TIMEOUT = timedelta(seconds=30)
_PARAGRAPH = (
    "The claim-check pattern stores a large message body in a blob store and passes a small "
    "ticket in its place; whoever needs the body redeems the ticket. "
)


def make_text(size: int) -> str:
    """Deterministic readable text of exactly ``size`` bytes (ASCII)."""
    if size < 0:
        raise ValueError(f"size must be >= 0; got {size}")
    return (_PARAGRAPH * (size // len(_PARAGRAPH) + 1))[:size]


@dataclass(frozen=True)
class ProbeRequest:
    """What to push through history: ``payload`` as workflow input, and sizes the activity uses."""

    payload: str = ""
    activity_input_bytes: int = 0
    activity_result_bytes: int = 0


@dataclass(frozen=True)
class ProbeResult:
    """Sizes and digests of what went through, so a test can check nothing was lost."""

    input_bytes: int
    input_sha256: str
    result_bytes: int
    result_sha256: str


@activity.defn(name="produce_text")
async def produce_text(size: int, ballast: str) -> str:
    """Return ``size`` bytes of text; ``ballast`` is the (possibly large) activity input."""
    return make_text(size)


@workflow.defn
class PayloadProbeWorkflow:
    """Workflow input → activity (input of a given size) → activity result of a given size."""

    @workflow.run
    async def run(self, request: ProbeRequest) -> ProbeResult:
        result = await workflow.execute_activity(
            produce_text,
            args=[request.activity_result_bytes, make_text(request.activity_input_bytes)],
            start_to_close_timeout=PROBE_ACTIVITY_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
        return ProbeResult(
            input_bytes=len(request.payload),
            input_sha256=hashlib.sha256(request.payload.encode()).hexdigest(),
            result_bytes=len(result),
            result_sha256=hashlib.sha256(result.encode()).hexdigest(),
        )
