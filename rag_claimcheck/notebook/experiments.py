"""Run the RAG question across modes and document sizes and collect what happened."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import timedelta

import pandas as pd
from tqdm.auto import tqdm

from rag_claimcheck.claimcheck.cleanup import workflow_blobs
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings, Mode
from rag_claimcheck.data.samples import DEFAULT_QUESTION, scaled_document
from rag_claimcheck.observe.history import history_frame
from rag_claimcheck.rag.models import SourceDocument
from rag_claimcheck.rag.starter import RunReport, ask_question
from rag_claimcheck.servers.temporal import SERVER_1_32
from rag_claimcheck.servers.tools import MissingBinaryError, find_binary
from rag_claimcheck.stack.embedded import EmbeddedStack

KIB = 1024
MIB = 1024 * 1024
EXECUTION_TIMEOUT = timedelta(minutes=3)


def document_of(size_bytes: int) -> SourceDocument:
    """The sample handbook scaled to ``size_bytes``."""
    return SourceDocument.from_bytes(
        scaled_document(size_bytes), filename=f"handbook-{size_bytes}.md", mime_type="text/markdown"
    )


async def ask(
    stack: EmbeddedStack,
    mode: Mode,
    document: SourceDocument,
    *,
    question: str = DEFAULT_QUESTION,
    inline_max_bytes: int | None = None,
) -> tuple[RunReport, dict[str, object]]:
    """Ask once in ``mode``; returns the report and a table row (history and store figures)."""
    runtime = await stack.runtime(mode, inline_max_bytes=inline_max_bytes)
    report = await ask_question(
        runtime.client,
        document=document,
        question=question,
        task_queue=runtime.task_queue,
        claim_check=mode,
        execution_timeout=EXECUTION_TIMEOUT,
    )
    blobs = await workflow_blobs(
        stack.store, namespace=stack.server.namespace, workflow_id=report.workflow_id
    )
    row: dict[str, object] = {
        "mode": mode,
        "document_bytes": len(document.text.encode()),
        "status": report.status,
        "history_bytes": report.history_size_bytes,
        "events": report.history_length,
        "kept_out_bytes": report.kept_out_bytes,
        "store_objects": blobs.count,
        "store_bytes": blobs.total_bytes,
        "error": report.error["message"] if report.error else "",
        "workflow_id": report.workflow_id,
    }
    return report, row


async def size_sweep(
    stack: EmbeddedStack, sizes: Mapping[Mode, Sequence[int]], *, progress: bool = True
) -> pd.DataFrame:
    """The sample question for every (mode, document size); one row per run."""
    runs = [(mode, size) for mode, mode_sizes in sizes.items() for size in mode_sizes]
    rows = []
    for mode, size in tqdm(runs, desc="runs", disable=not progress):
        _, row = await ask(stack, mode, document_of(size))
        rows.append(row)
    return pd.DataFrame(rows)


async def event_sizes(stack: EmbeddedStack, workflow_ids: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """Per-event sizes of each named workflow (label → workflow id)."""
    out = {}
    for label, workflow_id in workflow_ids.items():
        client = next(iter(stack.modes.values())).client
        out[label] = await history_frame(client.get_workflow_handle(workflow_id))
    return out


async def server_counts(
    document: SourceDocument, modes: Sequence[Mode] = ("codec", "extstore")
) -> pd.DataFrame | None:
    """Ask on a throwaway stack on server 1.32 (its own dev server and file store, stopped after) and
    set what the kit counts in history beside what the server reports in ``describe()``.

    Without the ``temporal-devserver`` binary: prints how to build it and returns None (with
    ``CI=true`` it raises :class:`MissingBinaryError` instead, so CI never passes by skipping).
    """
    if find_binary(SERVER_1_32) is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            raise MissingBinaryError(SERVER_1_32)
        print(f"Skipped: {MissingBinaryError(SERVER_1_32)}")
        return None
    folder = tempfile.mkdtemp(prefix="rag-claimcheck-1.32-")
    settings = ClaimCheckSettings.from_env(store="file", file_root=folder)
    stack = await EmbeddedStack.start(
        settings=settings, ui=False, server_binary=SERVER_1_32, allow_download=False
    )
    rows = []
    try:
        for mode in modes:
            report, row = await ask(stack, mode, document)
            rows.append(
                {
                    "mode": mode,
                    "status": report.status,
                    "history_bytes": report.history_size_bytes,
                    "kept_out_bytes": report.kept_out_bytes,
                    "kept_out_payloads": report.kept_out_payloads,
                    "external_payload_size_bytes": report.external_payload_size_bytes,
                    "external_payload_count": report.external_payload_count,
                    "store_bytes": row["store_bytes"],
                }
            )
    finally:
        await stack.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return pd.DataFrame(rows)
