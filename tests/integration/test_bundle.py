"""Replay bundles: export a finished workflow, delete its blobs from MinIO, replay offline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from rag_claimcheck.claimcheck import workflow_prefix
from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.data.samples import DEFAULT_QUESTION, sample_text
from rag_claimcheck.lifecycle.bundle import HISTORY_FILE, BundleError, Manifest, replay_bundle
from rag_claimcheck.rag.models import ConversationInput, RagRequest, SourceDocument
from rag_claimcheck.rag.workflows import AiRagWorkflow, ConversationWorkflow
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.stack.worker import WORKFLOWS
from rag_claimcheck.storage.s3 import S3BlobStore
from tests.integration.helpers import run_module, running_stack, s3_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HANDBOOK = SourceDocument.from_bytes(
    sample_text().encode(), filename="handbook.md", mime_type="text/markdown"
)


def bundle(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_module("rag_claimcheck.bundle", *args, env=env)


@pytest.mark.parametrize("mode", ["codec", "extstore"])
async def test_a_bundle_replays_after_the_blobs_are_deleted_from_minio(
    dev_server: DevServer, minio: MinioServer, s3_store: S3BlobStore, tmp_path: Path, mode: str
) -> None:
    async with running_stack(dev_server, mode=mode, store=s3_store) as stack:  # type: ignore[arg-type] # parametrized
        rag_id = stack.new_id("bundle-rag")
        await stack.client.execute_workflow(
            AiRagWorkflow.run,
            args=[HANDBOOK, RagRequest(question=DEFAULT_QUESTION)],
            id=rag_id,
            task_queue=stack.task_queue,
        )
        chat_id = stack.new_id("bundle-chat")
        chat = await stack.client.start_workflow(
            ConversationWorkflow.run,
            args=[HANDBOOK, ConversationInput()],
            id=chat_id,
            task_queue=stack.task_queue,
        )
        for question in (DEFAULT_QUESTION, "Which port does the Keel pooler listen on?"):
            await chat.execute_update(ConversationWorkflow.ask, question)
        await chat.signal(ConversationWorkflow.end)
        await chat.result()
    env = {"TEMPORAL_ADDRESS": dev_server.address, **s3_env(minio, s3_store.bucket)}
    for workflow_id in (rag_id, chat_id):
        out = tmp_path / workflow_id
        exported = bundle("export", "-w", workflow_id, "--out", str(out), "--no-progress", env=env)
        assert exported.returncode == 0, exported.stderr
        manifest = Manifest.read(out)
        prefix = workflow_prefix(namespace="default", workflow_id=workflow_id)
        in_store = {b.key for b in await s3_store.list(prefix=prefix)}
        assert manifest.mode == mode
        assert {b.key for b in manifest.blobs} == in_store and any(b.referenced for b in manifest.blobs)
        assert json.loads((out / HISTORY_FILE).read_text())["events"]

        again = bundle("export", "-w", workflow_id, "--out", str(out), "--no-progress", env=env)
        assert again.returncode == 1 and "is not empty; export into a new directory" in again.stderr

        assert await s3_store.delete_prefix(prefix=prefix) == len(in_store)
        late = bundle(
            "export",
            "-w",
            workflow_id,
            "--out",
            str(tmp_path / f"late-{workflow_id}"),
            "--no-progress",
            env=env,
        )
        assert late.returncode == 1 and "referenced blob(s) are not in s3://" in late.stderr, late.stderr
        assert not (tmp_path / f"late-{workflow_id}").exists(), "a failed export leaves nothing behind"
        # Without the bundle, replaying needs the blobs that are now gone.
        history = WorkflowHistory.from_json(workflow_id, (out / HISTORY_FILE).read_text())
        gone = ClaimCheckPlugin(mode=mode, store=s3_store).configure_data_converter(None)  # type: ignore[arg-type] # parametrized
        failed = await Replayer(workflows=list(WORKFLOWS), data_converter=gone).replay_workflow(
            history, raise_on_replay_failure=False
        )
        assert failed.replay_failure is not None
        # With it, the replay reads them from the bundle: offline, no error.
        replayed = bundle("replay", str(out), env={})
        assert replayed.returncode == 0, replayed.stderr
        assert f"replayed {workflow_id}" in replayed.stdout and "no error" in replayed.stdout


async def test_an_incomplete_bundle_is_named_not_replayed(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"is not a replay bundle: manifest\.json is missing"):
        await replay_bundle(tmp_path)


def test_the_bundle_command_has_help_and_names_an_incomplete_bundle(tmp_path: Path) -> None:
    result = bundle("replay", str(tmp_path), env={})
    assert result.returncode == 1 and "manifest.json is missing" in result.stderr
    assert bundle("--help", env={}).stdout.startswith("usage: python -m rag_claimcheck.bundle")
