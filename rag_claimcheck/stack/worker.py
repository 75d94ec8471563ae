"""Build the kit's worker: every workflow and activity on one task queue."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from rag_claimcheck.claimcheck.plugin import plugin_of
from rag_claimcheck.claimcheck.refs import RefStore
from rag_claimcheck.observe.probe import PayloadProbeWorkflow, produce_text
from rag_claimcheck.rag.activities import RagActivities
from rag_claimcheck.rag.transcript import Transcript
from rag_claimcheck.rag.workflows import AiRagWorkflow, ConversationWorkflow

DEFAULT_TASK_QUEUE = "rag-claimcheck"
STICKY_TIMEOUT = timedelta(seconds=5)
"""How long the server offers a workflow's next task to the worker that ran it last before any
worker may take it (SDK default 10 s): after a worker crash, the workflow goes on 5 s sooner."""
WORKFLOWS = (AiRagWorkflow, ConversationWorkflow, PayloadProbeWorkflow)


def build_worker(
    client: Client,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    activities: RagActivities | None = None,
    max_concurrent_activities: int = 8,
) -> Worker:
    """A worker for ``client`` (whose plugins decide the claim-check mode).

    Args:
        activities: The RAG activities (default: answerer from the environment, fresh index cache).
            Without a transcript or refs of their own, conversations store their turns, and stored
            documents are read, in the client's claim-check store (whatever the mode).
    """
    rag = activities if activities is not None else RagActivities()
    plugin = plugin_of(client)
    if plugin is not None:
        refs = RefStore(plugin.store, key_prefix=plugin.settings.key_prefix)
        if rag.transcript is None:
            rag.transcript = Transcript(refs)
        if rag.refs is None:
            rag.refs = refs
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=[*rag.all(), produce_text],
        max_concurrent_activities=max_concurrent_activities,
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    )
