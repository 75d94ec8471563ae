"""``worker.py --metrics-port``: Prometheus metrics, the SDK's and the kit's, scraped after a workflow."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.data.samples import DEFAULT_QUESTION, sample_text
from rag_claimcheck.observe.metrics import scrape
from rag_claimcheck.rag.models import RagRequest, SourceDocument
from rag_claimcheck.rag.workflows import AiRagWorkflow
from rag_claimcheck.servers.ports import free_port
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.storage import FileBlobStore

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def test_the_workers_metrics_count_the_store_calls_of_a_claim_checked_workflow(
    dev_server: DevServer, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "CLAIM_CHECK_FILE_ROOT": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "worker.py",
        "--address",
        dev_server.address,
        "--task-queue",
        "metrics",
        "--metrics-port",
        str(port),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert worker.stderr is not None
        first = (await asyncio.wait_for(worker.stderr.readline(), 60)).decode()
        assert f"metrics on http://127.0.0.1:{port}/metrics" in first
        banner = (await asyncio.wait_for(worker.stderr.readline(), 60)).decode()
        assert "task queue 'metrics'" in banner
        drain = asyncio.create_task(worker.stderr.read())
        plugin = ClaimCheckPlugin(mode="codec", store=FileBlobStore(tmp_path))
        client = await dev_server.connect(plugins=[plugin])
        handbook = SourceDocument.from_bytes(
            sample_text().encode(), filename="handbook.md", mime_type="text/markdown"
        )
        await client.execute_workflow(
            AiRagWorkflow.run,
            args=[handbook, RagRequest(question=DEFAULT_QUESTION)],
            id=f"metrics-{port}",
            task_queue="metrics",
        )
        metrics = await asyncio.to_thread(scrape, port)
        drain.cancel()
    finally:
        worker.terminate()
        await worker.wait()
    # The worker fetched the workflow's input and stored the ingest result (the chunks), both large.
    for name in (
        "claim_check_store_gets",
        "claim_check_store_puts",
        "claim_check_fetched_bytes",
        "claim_check_stored_bytes",
        "claim_check_history_bytes_kept_out",
        "claim_check_store_latency_count",
    ):
        assert metrics.get(name, 0) > 0, (name, sorted(k for k in metrics if k.startswith("claim_check")))
    assert metrics["claim_check_fetched_bytes"] >= len(handbook.text.encode())
    # The SDK runtime's own metrics are on the same endpoint.
    assert metrics.get("temporal_workflow_completed", 0) >= 1, sorted(
        k for k in metrics if k.startswith("temporal")
    )


async def test_a_taken_metrics_port_is_named(dev_server: DevServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "worker.py",
            "--address",
            dev_server.address,
            "--metrics-port",
            str(port),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode != 0
    assert f"MetricsUnavailable: cannot serve metrics on 127.0.0.1:{port}" in err.decode(), err.decode()
