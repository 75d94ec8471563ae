"""Fault drills on real servers: a worker as its own OS process, a store that stops or freezes.

Used by the fault tests (``tests/faults``) and the recovery benchmark
(``benchmarks/recovery_bench.py``), so that both break things the same way an operator would:
SIGKILL a worker, stop MinIO, SIGSTOP MinIO.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.process import log_tail

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKER_READY_SECONDS = 180.0


@dataclass
class WorkerProcess:
    """``python worker.py`` in its own process, its output in ``log_path``."""

    process: subprocess.Popen[bytes]
    log_path: Path
    started_at: float

    @classmethod
    def start(
        cls,
        *,
        address: str,
        task_queue: str,
        env: Mapping[str, str],
        log_path: Path,
        args: Sequence[str] = (),
    ) -> WorkerProcess:
        """Start a worker on ``task_queue`` at ``address`` (claim-check settings from ``env``, more flags in ``args``)."""
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "worker.py", "--address", address, "--task-queue", task_queue, *args],
                cwd=PROJECT_ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return cls(process=process, log_path=log_path, started_at=time.monotonic())

    async def wait_ready(self, timeout: float = WORKER_READY_SECONDS) -> None:
        """Wait until the worker has printed its banner (it is connected and about to poll)."""
        deadline = time.monotonic() + timeout
        while "worker on " not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the worker exited with {self.process.returncode}:\n{log_tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the worker did not start within {timeout:.0f} s:\n{log_tail(self.log_path)}"
                )
            await asyncio.sleep(0.2)

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid

    def freeze(self) -> None:
        """SIGSTOP: the worker stops mid-whatever; its tasks time out on the server and go elsewhere."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT a frozen worker: it carries on, its late completions are refused by the server."""
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is reported to the server."""
        self.process.kill()
        self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 15)
            except subprocess.TimeoutExpired:
                self.kill()


def server_pid(minio: MinioServer) -> int:
    """The MinIO process itself (the guard's child), for SIGSTOP/SIGCONT."""
    children = Path(f"/proc/{minio.process.pid}/task/{minio.process.pid}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one MinIO process under the guard, found {children}")
    return int(children[0])


def freeze(minio: MinioServer) -> int:
    """SIGSTOP MinIO: connections are accepted by the kernel, but nothing answers. Returns its pid."""
    pid = server_pid(minio)
    os.kill(pid, signal.SIGSTOP)
    return pid


def thaw(pid: int) -> None:
    """SIGCONT a frozen server."""
    os.kill(pid, signal.SIGCONT)


async def restart(minio: MinioServer) -> MinioServer:
    """Start MinIO again on the same port and data folder (after :meth:`MinioServer.stop`)."""
    port = int(minio.endpoint_url.rsplit(":", 1)[1])
    return await MinioServer.start(
        data_dir=minio.data_dir, port=port, access_key=minio.access_key, secret_key=minio.secret_key
    )


def store_env(minio: MinioServer, bucket: str) -> dict[str, str]:
    """The ``CLAIM_CHECK_*`` and AWS variables that point worker and starter at ``minio``."""
    return {
        "CLAIM_CHECK_MODE": "codec",
        "CLAIM_CHECK_STORE": "s3",
        "CLAIM_CHECK_S3_ENDPOINT_URL": minio.endpoint_url,
        "CLAIM_CHECK_S3_BUCKET": bucket,
        "AWS_ACCESS_KEY_ID": minio.access_key,
        "AWS_SECRET_ACCESS_KEY": minio.secret_key,
    }


async def wait_for_running_activity(handle: WorkflowHandle, activity_type: str, *, timeout: float) -> None:
    """Wait until a worker has started ``activity_type`` for this workflow (the server's view)."""
    deadline = time.monotonic() + timeout
    while True:
        desc = await handle.describe()
        for pending in desc.raw_description.pending_activities:
            if (
                pending.activity_type.name == activity_type
                and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            ):
                return
        if desc.status is not None and desc.status.name != "RUNNING":
            raise RuntimeError(f"workflow {handle.id} is {desc.status.name} before {activity_type} ran")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{activity_type} did not start within {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def started_attempts(handle: WorkflowHandle, activity_type: str) -> int:
    """The attempt number recorded when ``activity_type`` last started (1 = no retry was needed)."""
    history = await handle.fetch_history()
    scheduled: dict[int, str] = {}
    attempt = 0
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = event.activity_task_started_event_attributes
            if scheduled.get(attrs.scheduled_event_id) == activity_type:
                attempt = attrs.attempt
    return attempt


class Drill:
    """Worker processes and one ``start_workflow.py`` process on a fresh task queue and bucket.

    Args:
        address: The Temporal server.
        minio: The store both processes use (each drill gets its own bucket).
        log_dir: Where the workers' logs go.
    """

    def __init__(self, *, address: str, minio: MinioServer, log_dir: Path) -> None:
        self.address = address
        self.task_queue = f"drill-{uuid.uuid4().hex[:8]}"
        self.workflow_id = f"drill-{uuid.uuid4().hex[:8]}"
        self.bucket = f"drill-{uuid.uuid4().hex[:8]}"
        self.env = store_env(minio, self.bucket)
        self.log_dir = log_dir
        self.workers: list[WorkerProcess] = []
        self.starter: asyncio.subprocess.Process | None = None

    def start_worker(self) -> WorkerProcess:
        """One more ``worker.py`` on the drill's task queue."""
        worker = WorkerProcess.start(
            address=self.address,
            task_queue=self.task_queue,
            env=self.env,
            log_path=self.log_dir / f"{self.task_queue}-worker-{len(self.workers)}.log",
        )
        self.workers.append(worker)
        return worker

    async def start_question(self, doc: Path) -> WorkflowHandle:
        """``start_workflow.py --json`` with its default timeouts; the handle once the workflow exists."""
        self.starter = await asyncio.create_subprocess_exec(
            sys.executable,
            "start_workflow.py",
            "--address",
            self.address,
            "--task-queue",
            self.task_queue,
            "--doc",
            str(doc),
            "--workflow-id",
            self.workflow_id,
            "--json",
            cwd=PROJECT_ROOT,
            env={**os.environ, **self.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        client = await Client.connect(self.address)
        handle = client.get_workflow_handle(self.workflow_id)
        deadline = time.monotonic() + 60
        while True:
            try:
                await handle.describe()
                return handle
            except RPCError:
                if time.monotonic() > deadline or self.starter.returncode is not None:
                    raise
                await asyncio.sleep(0.2)

    async def report(self, timeout: float) -> dict[str, object]:
        """The starter's JSON report, once it has exited."""
        assert self.starter is not None
        stdout, stderr = await asyncio.wait_for(self.starter.communicate(), timeout)
        if not stdout:
            raise RuntimeError(f"the starter printed nothing; stderr:\n{stderr.decode()[-3000:]}")
        report: dict[str, object] = json.loads(stdout)
        return report

    async def close(self) -> None:
        """Stop every worker and the starter."""
        for worker in self.workers:
            await worker.stop()
        if self.starter is not None and self.starter.returncode is None:
            self.starter.kill()
            await self.starter.wait()
