"""Helpers for integration tests: a client + worker per claim-check mode on the shared servers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.claimcheck.settings import Mode
from rag_claimcheck.rag.activities import RagActivities
from rag_claimcheck.rag.answer import ExtractiveAnswerer
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.stack.worker import build_worker
from rag_claimcheck.storage.base import BlobStore

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    client: Client
    plugin: ClaimCheckPlugin
    task_queue: str

    def new_id(self, label: str) -> str:
        return f"{label}-{self.plugin.mode}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def running_stack(
    server: DevServer,
    *,
    mode: Mode,
    store: BlobStore,
    activities: RagActivities | None = None,
    worker: bool = True,
) -> AsyncIterator[Stack]:
    """A client in ``mode`` on ``store`` and, unless ``worker=False``, a worker on a fresh task queue."""
    plugin = ClaimCheckPlugin(mode=mode, store=store)
    client = await server.connect(plugins=[plugin])
    stack = Stack(client=client, plugin=plugin, task_queue=f"tq-{uuid.uuid4().hex[:8]}")
    if not worker:
        yield stack
        return
    activities = activities or RagActivities(answerer=ExtractiveAnswerer())
    async with build_worker(client, task_queue=stack.task_queue, activities=activities):
        yield stack


def s3_env(minio: MinioServer, bucket: str) -> dict[str, str]:
    """The ``CLAIM_CHECK_*`` and AWS variables that point a command at ``bucket`` in ``minio``."""
    return {
        "CLAIM_CHECK_STORE": "s3",
        "CLAIM_CHECK_S3_BUCKET": bucket,
        "CLAIM_CHECK_S3_ENDPOINT_URL": minio.endpoint_url,
        "AWS_ACCESS_KEY_ID": minio.access_key,
        "AWS_SECRET_ACCESS_KEY": minio.secret_key,
    }


def run_module(
    module: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m module args…`` from the repository root, with ``env`` on top of this process's."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
