"""``python -m rag_claimcheck.gc`` on the real dev server, with the file store and with MinIO.

Four workflows: running, closed within retention, closed past retention, unknown to the server.
The dev server cannot shorten retention below a day, so the closed ones live in two namespaces
(1 day and 5 days of retention) and gc is asked ``--as-of`` two days from now: a real retention
decision, made with the injectable clock.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError

from rag_claimcheck.claimcheck.keys import blob_key, workflow_prefix
from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.data.samples import sample_text
from rag_claimcheck.observe.probe import PayloadProbeWorkflow, ProbeRequest, make_text
from rag_claimcheck.rag.activities import RagActivities
from rag_claimcheck.rag.answer import ExtractiveAnswerer
from rag_claimcheck.rag.models import ConversationInput, SourceDocument
from rag_claimcheck.rag.workflows import ConversationWorkflow
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.stack.worker import build_worker
from rag_claimcheck.storage import FileBlobStore
from rag_claimcheck.storage.base import BlobStore
from rag_claimcheck.storage.s3 import S3BlobStore
from tests.integration.helpers import run_module, s3_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
LONG_RETENTION = timedelta(days=5)
TIMEOUT = timedelta(seconds=60)


async def register_namespace(server: DevServer, name: str, retention: timedelta) -> None:
    client = await server.connect()
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name,
            workflow_execution_retention_period=Duration(seconds=int(retention.total_seconds())),
        )
    )
    for _ in range(100):  # the namespace becomes usable once the server's cache has it
        try:
            await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=name))
            return
        except RPCError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"namespace {name} never became usable")


@asynccontextmanager
async def codec_worker(
    server: DevServer, namespace: str, store: BlobStore
) -> AsyncIterator[tuple[Client, str]]:
    plugin = ClaimCheckPlugin(mode="codec", store=store)
    client = await Client.connect(server.address, namespace=namespace, plugins=[plugin])
    task_queue = f"gc-{uuid.uuid4().hex[:8]}"
    async with build_worker(
        client, task_queue=task_queue, activities=RagActivities(answerer=ExtractiveAnswerer())
    ):
        yield client, task_queue


async def closed_probe(client: Client, task_queue: str, workflow_id: str) -> None:
    await client.execute_workflow(
        PayloadProbeWorkflow.run,
        ProbeRequest(payload=make_text(300_000)),
        id=workflow_id,
        task_queue=task_queue,
        execution_timeout=TIMEOUT,
    )


def gc(*args: str, env: dict[str, str]) -> dict:  # type: ignore[type-arg] # parsed JSON
    result = run_module("rag_claimcheck.gc", "--json", "--no-progress", *args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return] # one JSON object


@pytest.fixture(params=["file", "s3"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_gc_keeps_running_and_retained_workflows_and_deletes_expired_and_unknown_ones(
    dev_server: DevServer, minio: MinioServer, tmp_path: Path, store_kind: str
) -> None:
    if store_kind == "file":
        store: BlobStore = FileBlobStore(tmp_path / "blobs")
        env = {"CLAIM_CHECK_STORE": "file", "CLAIM_CHECK_FILE_ROOT": str(tmp_path / "blobs")}
    else:
        bucket = f"gc-{uuid.uuid4().hex[:12]}"
        store = S3BlobStore(
            bucket=bucket,
            endpoint_url=minio.endpoint_url,
            access_key_id=minio.access_key,
            secret_access_key=minio.secret_key,
        )
        env = s3_env(minio, bucket)
    env["TEMPORAL_ADDRESS"] = dev_server.address
    long_ns = f"gc-long-{uuid.uuid4().hex[:6]}"
    await register_namespace(dev_server, long_ns, LONG_RETENTION)
    suffix = uuid.uuid4().hex[:6]
    ids = {
        "running": ("default", f"gc-running-{suffix}"),
        "retained": (long_ns, f"gc-retained-{suffix}"),
        "expired": ("default", f"gc-expired-{suffix}"),
        "unknown": ("default", f"gc-unknown-{suffix}"),
    }
    try:
        async with codec_worker(dev_server, "default", store) as (client, tq):
            running = await client.start_workflow(
                ConversationWorkflow.run,
                args=[
                    SourceDocument.from_bytes(
                        sample_text().encode(), filename="handbook.md", mime_type="text/markdown"
                    ),
                    ConversationInput(),
                ],
                id=ids["running"][1],
                task_queue=tq,
                execution_timeout=timedelta(minutes=5),
            )
            await closed_probe(client, tq, ids["expired"][1])
            async with codec_worker(dev_server, long_ns, store) as (long_client, long_tq):
                await closed_probe(long_client, long_tq, ids["retained"][1])
            # Blobs of a workflow the server never heard of (purged long ago, or never started).
            await store.put(
                key=blob_key(sha256_hex="0" * 64, namespace="default", workflow_id=ids["unknown"][1]),
                data=b"{}",
            )

            async def counts() -> dict[str, int]:
                out = {}
                for name, (ns, wf) in ids.items():
                    out[name] = len(await store.list(prefix=workflow_prefix(namespace=ns, workflow_id=wf)))
                return out

            before = await counts()
            assert all(n >= 1 for n in before.values()), before
            as_of = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()

            dry = gc("--as-of", as_of, env=env)
            assert await counts() == before, "a dry run deletes nothing"
            decided = {p["workflow_id"]: p for p in dry["prefixes"]}
            expect = {"running": "keep", "retained": "keep", "expired": "delete", "unknown": "delete"}
            status = {
                "running": "RUNNING",
                "retained": "COMPLETED",
                "expired": "COMPLETED",
                "unknown": "NOT_FOUND",
            }
            for name, (_, wf) in ids.items():
                assert decided[wf]["decision"] == expect[name], decided[wf]
                assert decided[wf]["status"] == status[name], decided[wf]
                assert decided[wf]["blobs"] == before[name] and decided[wf]["bytes"] > 0
            assert dry["deleted"] is False and dry["totals"]["deleted_blobs"] == 0
            assert dry["totals"]["eligible_blobs"] == before["expired"] + before["unknown"]
            assert "retained until" in decided[ids["retained"][1]]["reason"]

            done = gc("--as-of", as_of, "--delete", env=env)
            after = await counts()
            assert after == {
                "running": before["running"],
                "retained": before["retained"],
                "expired": 0,
                "unknown": 0,
            }
            assert done["totals"]["deleted_blobs"] == before["expired"] + before["unknown"]

            # Idempotent: a second run finds nothing more to delete.
            again = gc("--as-of", as_of, "--delete", env=env)
            assert again["totals"]["deleted_blobs"] == 0 and await counts() == after

            # Without the clock moved on, nothing has passed retention: only grace decides the unknown.
            today = gc("--grace", "1h", env=env)
            assert {p["decision"] for p in today["prefixes"]} == {"keep"}

            # The running conversation still works after gc: its blobs were kept.
            await running.signal(ConversationWorkflow.end)
            assert await running.result() == []
    finally:
        await store.close()


async def test_lifecycle_days_installs_an_expiry_rule_on_the_bucket(
    dev_server: DevServer, minio: MinioServer, s3_store: S3BlobStore
) -> None:
    await s3_store.put(key="unrelated/object", data=b"x")  # creates the bucket
    env = {"TEMPORAL_ADDRESS": dev_server.address, **s3_env(minio, s3_store.bucket)}
    report = gc("--lifecycle-days", "35", env=env)
    assert report["totals"]["prefixes"] == 0
    [rule] = await s3_store.expiry_rules()
    assert rule["ID"] == "rag-claimcheck-expiry"
    assert rule["Expiration"]["Days"] == 35
    assert rule["Filter"]["Prefix"] == "claim-check/"
    assert rule["Status"] == "Enabled"
    # Running it again replaces the rule instead of adding a second one.
    gc("--lifecycle-days", "40", env=env)
    [rule] = await s3_store.expiry_rules()
    assert rule["Expiration"]["Days"] == 40


def test_gc_help_and_bad_flags() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_module("rag_claimcheck.gc", *args)

    assert run("--help").stdout.startswith("usage: python -m rag_claimcheck.gc")
    bad = run("--grace", "soon")
    assert bad.returncode == 2 and "expected a duration like 30s, 15m, 1h or 7d; got 'soon'" in bad.stderr
    bad = run("--lifecycle-days", "30", "--store", "file")
    assert bad.returncode == 2 and "--lifecycle-days needs the s3 store" in bad.stderr
