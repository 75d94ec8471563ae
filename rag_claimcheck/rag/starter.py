"""Run one RAG question as a workflow and report what happened, including history size."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RawValue
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
)
from temporalio.service import RPCError

from rag_claimcheck.claimcheck.plugin import plugin_of
from rag_claimcheck.claimcheck.refs import RefStore
from rag_claimcheck.observe.history import kept_out
from rag_claimcheck.rag.documents import store_document
from rag_claimcheck.rag.models import DocumentRef, RagRequest, SourceDocument
from rag_claimcheck.rag.workflows import AiRagWorkflow

DEFAULT_EXECUTION_TIMEOUT = timedelta(hours=1)
"""The starter's default run timeout: longer than one step's STEP_DEADLINE (30 min, the longest store
outage a step rides out) plus the rest of the work, so a recovery is never cut short by default."""
_WRAPPERS = (WorkflowFailureError, ActivityError, ChildWorkflowError)
MIB = 1024 * 1024

WORKFLOW_TASK_TIMEOUT = timedelta(seconds=10)
"""The SDK's default workflow task timeout, which :func:`workflow_task_timeout` adds to."""
WORKFLOW_TASK_SECONDS_PER_MIB = 0.125
"""Time added per MiB of document (8 MiB a second: a sixth to a tenth of the 47-85 MiB/s an idle 2-core
machine decoded, verified and forwarded in a 500 MiB document's longest workflow task, in two runs)."""
MAX_WORKFLOW_TASK_TIMEOUT = timedelta(seconds=120)
"""The server's ceiling for a workflow task timeout."""


def workflow_task_timeout(document_bytes: int) -> timedelta:
    """A workflow task timeout that leaves room for a document of ``document_bytes`` (UTF-8).

    The workflow's tasks fetch, verify and forward the document. At the SDK's default of 10 s a
    500 MiB document's first task (5.8 s on the idle machine) ran over when the CPU was taken away:
    the server timed it out, each retry began again by fetching 500 MiB, and the workflow sat in
    retries with growing timeouts for minutes. A 1 MiB document gets 10.1 s and a 500 MiB one
    72.5 s, so a worker that dies mid-task on an ordinary document is replaced about as fast as
    before.
    """
    allowed = WORKFLOW_TASK_TIMEOUT + timedelta(seconds=document_bytes / MIB * WORKFLOW_TASK_SECONDS_PER_MIB)
    return min(allowed, MAX_WORKFLOW_TASK_TIMEOUT)


def utf8_size_bound(text: str) -> int:
    """At least the UTF-8 size of ``text``, without encoding it: exact for ASCII (an O(1) check),
    four bytes a character otherwise."""
    return len(text) if text.isascii() else 4 * len(text)


@dataclass
class RunReport:
    """What ``start_workflow.py --json`` prints."""

    status: str
    workflow_id: str
    claim_check: str
    answer: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    history_size_bytes: int | None = None
    history_length: int | None = None
    kept_out_bytes: int | None = None
    """Bytes claim check kept out of history (the ``external_payloads`` marks on its references)."""
    kept_out_payloads: int | None = None
    """How many payloads claim check replaced by a reference."""
    external_payload_size_bytes: int | None = None
    """The server's own figure for ``kept_out_bytes`` (``describe()``; 0 on servers that predate it, e.g. the dev server of CLI 1.5)."""
    external_payload_count: int | None = None
    """The server's own figure for ``kept_out_payloads``."""
    error: dict[str, str] | None = None
    model: str | None = None
    chunk_count: int | None = None
    document_key: str | None = None
    """Where the document was stored when it went by reference (over ``CLAIM_CHECK_DOCUMENT_INLINE_MAX_BYTES``)."""
    document_bytes: int | None = None
    """The stored document's size, when it went by reference."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def describe_error(error: BaseException) -> dict[str, str]:
    """``{"type", "message"}`` of the innermost cause: the server's (or activity's) own words."""
    if isinstance(error, RPCError):
        return {"type": f"RPCError.{error.status.name}", "message": error.message}
    # Descend through Temporal's wrappers only; the first real error is the one that says why.
    # (Going further would reach what *that* error was chained from, e.g. a store's KeyError.)
    innermost: BaseException = error
    while isinstance(innermost, _WRAPPERS) and innermost.cause is not None:
        innermost = innermost.cause
    if isinstance(innermost, ApplicationError) and innermost.type:
        return {"type": innermost.type, "message": innermost.message}
    message = innermost.message if isinstance(innermost, FailureError) else str(innermost)
    return {"type": type(innermost).__name__, "message": message}


def refs_of(client: Client) -> RefStore | None:
    """Explicit references in the store of ``client``'s claim-check plugin (None without one)."""
    plugin = plugin_of(client)
    return None if plugin is None else RefStore(plugin.store, key_prefix=plugin.settings.key_prefix)


async def document_argument(
    client: Client, document: SourceDocument | DocumentRef, *, workflow_id: str
) -> SourceDocument | DocumentRef:
    """What the workflow gets as its document: ``document`` itself, or it stored first and a reference.

    A :class:`SourceDocument` over ``CLAIM_CHECK_DOCUMENT_INLINE_MAX_BYTES`` goes to the store of
    ``client``'s claim-check plugin, under ``workflow_id``'s prefix, in ``codec`` and ``extstore``
    modes; ``off`` (and a client without the plugin) keeps it inline, which is what ``off`` shows.
    """
    plugin = plugin_of(client)
    if isinstance(document, DocumentRef) or plugin is None or plugin.mode == "off":
        return document
    limit = plugin.settings.document_inline_max_bytes
    if utf8_size_bound(document.text) <= limit:
        return document
    data = document.text.encode("utf-8")
    if len(data) <= limit:
        return document
    refs = RefStore(plugin.store, key_prefix=plugin.settings.key_prefix)
    return await store_document(
        refs, document, namespace=client.namespace, workflow_id=workflow_id, data=data
    )


def workflow_input(client: Client, document: SourceDocument | DocumentRef) -> object:
    """The workflow's first argument: a stored document's reference is marked with the size it keeps out.

    ``Payload.external_payloads[].size_bytes`` is what the codec's own references carry, so the
    kit's history walk and a 1.32 server count the document wherever the reference travels.
    """
    if not isinstance(document, DocumentRef):
        return document
    payload = client.data_converter.payload_converter.to_payload(document)
    payload.external_payloads.add().size_bytes = document.blob.size
    return RawValue(payload)


async def ask_question(
    client: Client,
    *,
    document: SourceDocument | DocumentRef,
    question: str,
    task_queue: str,
    claim_check: str,
    top_k: int = 4,
    workflow_id: str | None = None,
    execution_timeout: timedelta = DEFAULT_EXECUTION_TIMEOUT,
) -> RunReport:
    """Run :class:`AiRagWorkflow` to the end and report the answer or the failure.

    A document over ``CLAIM_CHECK_DOCUMENT_INLINE_MAX_BYTES`` is stored first (see
    :func:`document_argument`); a :class:`DocumentRef` is passed as it is.
    """
    workflow_id = workflow_id or f"rag-{claim_check}-{uuid.uuid4().hex[:10]}"
    report = RunReport(status="failed", workflow_id=workflow_id, claim_check=claim_check)
    try:
        argument = await document_argument(client, document, workflow_id=workflow_id)
        if isinstance(argument, DocumentRef):
            report.document_key, report.document_bytes = argument.blob.key, argument.blob.size
        handle = await client.start_workflow(
            AiRagWorkflow.run,
            args=[workflow_input(client, argument), RagRequest(question=question, top_k=top_k)],
            id=workflow_id,
            task_queue=task_queue,
            execution_timeout=execution_timeout,
            task_timeout=workflow_task_timeout(
                0 if isinstance(argument, DocumentRef) else utf8_size_bound(argument.text)
            ),
        )
    except (RPCError, ApplicationError) as e:  # the server's refusal, or the client's codec or store failing
        report.error = describe_error(e)
        return report
    try:
        result = await handle.result()
        report.status = "completed"
        report.answer = result.answer
        report.model = result.model
        report.chunk_count = result.chunk_count
        report.sources = [asdict(s) for s in result.sources]
    except (WorkflowFailureError, ApplicationError) as e:  # ApplicationError: decoding the result failed
        report.error = describe_error(e)
        report.status = (
            "canceled"
            if isinstance(e, WorkflowFailureError) and isinstance(e.cause, CancelledError)
            else "failed"
        )
    try:
        desc = await handle.describe()
    except RPCError:
        return report  # the run's outcome is known; only its size is not
    report.history_size_bytes = int(desc.raw_info.history_size_bytes)
    report.history_length = int(desc.history_length)
    report.external_payload_size_bytes = int(desc.raw_info.external_payload_size_bytes)
    report.external_payload_count = int(desc.raw_info.external_payload_count)
    try:
        marks = kept_out((await handle.fetch_history()).events)
    except RPCError:
        return report
    report.kept_out_bytes, report.kept_out_payloads = marks.bytes, marks.payloads
    return report
