"""Checks the commands make before they wait on something that is not there, with the hint to fix it.

Each failure is a :class:`CommandError`: a stable ``type`` and one line saying what is missing
and what to run, printed instead of a traceback (or as the ``error`` of ``--json``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from rag_claimcheck.storage.base import BlobStore, StoreUnavailableError

T = TypeVar("T")

NO_TEMPORAL_SERVER = "NoTemporalServer"
NO_WORKER = "NoWorkerOnTaskQueue"
STORE_UNREACHABLE = "ClaimCheckStoreUnavailable"
POLLER_WAIT_SECONDS = 10.0
"""How long the starter waits for a worker to appear on the task queue before giving up."""
STORE_CHECK_KEY = "claim-check/health/probe"


class CommandError(Exception):
    """A dead end the user can fix: ``type`` names it, the message says how."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.type = error_type
        self.message = message


def _reason(error: BaseException) -> str:
    text = str(error)
    for pattern in (r"Connection refused", r"[Tt]imed? ?out", r"dns error[^)]*", r"No route to host"):
        found = re.search(pattern, text)
        if found:
            return found.group(0)
    return text.splitlines()[0][:200] if text else type(error).__name__


def no_server_error(address: str, error: BaseException) -> CommandError:
    """The :class:`CommandError` for a connect failure that means nothing answers at ``address``."""
    return CommandError(
        NO_TEMPORAL_SERVER,
        f"no Temporal server answers at {address} ({_reason(error)}). Start one in another shell with "
        "`make dev-server` (it runs `.tools/bin/temporal server start-dev`), point --address or "
        "TEMPORAL_ADDRESS at yours, or add --embedded to start one for this command",
    )


async def connect_or_hint(connect: Callable[[], Awaitable[T]], *, address: str) -> T:
    """Await ``connect()``; if no Temporal server answers at ``address``, raise a :class:`CommandError`."""
    try:
        return await connect()
    except RuntimeError as e:  # the SDK's "Failed client connect: ..." (the Rust core's transport error)
        raise no_server_error(address, e) from None


async def task_queue_pollers(client: Client, task_queue: str) -> int:
    """How many workers polled ``task_queue`` for workflow tasks recently (the server's own list)."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(response.pollers)


async def require_worker(
    client: Client, *, task_queue: str, address: str, wait_seconds: float = POLLER_WAIT_SECONDS
) -> None:
    """Raise a :class:`CommandError` unless a worker polls ``task_queue`` within ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            if await task_queue_pollers(client, task_queue) > 0:
                return
        except RPCError:
            return  # a server that cannot describe queues: do not block the run on the check
        if time.monotonic() >= deadline:
            raise CommandError(
                NO_WORKER,
                f"no worker polls task queue {task_queue!r} on {address} (namespace {client.namespace!r}). "
                f"Start one with `uv run python worker.py --address {address} --task-queue {task_queue}` "
                "(same --claim-check and --store as here), or pass the --task-queue a running worker printed",
            )
        await asyncio.sleep(0.5)


async def require_store(store: BlobStore, *, endpoint: str | None) -> None:
    """Raise a :class:`CommandError` naming the store (and endpoint) if it cannot be reached."""
    try:
        await store.exists(key=STORE_CHECK_KEY)
    except StoreUnavailableError as e:
        where = f"{store.name} at {endpoint}" if endpoint else store.name
        raise CommandError(
            STORE_UNREACHABLE,
            f"the blob store {where} is unreachable: {e}. Start it (e.g. MinIO) or fix "
            "CLAIM_CHECK_S3_ENDPOINT_URL / CLAIM_CHECK_S3_BUCKET (or --store)",
        ) from None
