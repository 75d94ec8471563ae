"""The commands people run: --help everywhere, the JSON contract, worker + starter in two processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag_claimcheck.data.samples import scaled_document
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.servers.tools import MissingBinaryError, find_binary
from tests.conftest import missing_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("command", [["start_workflow.py"], ["worker.py"], ["-m", "rag_claimcheck.samples"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: ")


def test_nonsense_flags_get_a_clear_message() -> None:
    result = run("start_workflow.py", "--embedded", "--doc", "/no/such/file.md")
    assert result.returncode == 2
    assert "--doc /no/such/file.md: no such file" in result.stderr
    result = run("start_workflow.py", "--claim-check", "sometimes")
    assert result.returncode == 2 and "invalid choice: 'sometimes'" in result.stderr
    result = run("start_workflow.py", "--embedded", env={"CLAIM_CHECK_INLINE_MAX_BYTES": "lots"})
    assert (
        result.returncode == 2
        and "CLAIM_CHECK_INLINE_MAX_BYTES must be a whole number of bytes" in result.stderr
    )


@pytest.fixture(scope="module")
def five_mib_doc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("docs") / "handbook-5mib.md"
    path.write_bytes(scaled_document(5 * MIB))
    return path


def test_5_mib_document_fails_without_claim_check_with_the_servers_error(
    five_mib_doc: Path, tmp_path: Path
) -> None:
    result = run(
        "start_workflow.py",
        "--embedded",
        "--claim-check",
        "off",
        "--doc",
        str(five_mib_doc),
        "--json",
        env={"CLAIM_CHECK_FILE_ROOT": str(tmp_path)},
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)  # exactly one JSON object
    assert report["status"] == "failed"
    assert report["error"]["type"] == "RPCError.RESOURCE_EXHAUSTED"
    assert "larger than max 4194304" in report["error"]["message"]


@pytest.mark.parametrize("mode", ["codec", "extstore"])
def test_5_mib_document_completes_with_claim_check_and_a_small_history(
    five_mib_doc: Path, tmp_path: Path, mode: str
) -> None:
    result = run(
        "start_workflow.py",
        "--embedded",
        "--claim-check",
        mode,
        "--doc",
        str(five_mib_doc),
        "--json",
        env={"CLAIM_CHECK_FILE_ROOT": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert set(report) >= {
        "status",
        "answer",
        "sources",
        "workflow_id",
        "claim_check",
        "history_size_bytes",
        "history_length",
    }
    assert (report["status"], report["claim_check"]) == ("completed", mode)
    assert report["history_size_bytes"] < 16 * 1024
    assert "45,000" in report["answer"]


def test_the_embedded_server_1_32_counts_what_claim_check_kept_out(tmp_path: Path) -> None:
    if find_binary("temporal-devserver") is None:
        missing_server(MissingBinaryError("temporal-devserver"))
    document = tmp_path / "1mib.md"
    document.write_bytes(scaled_document(MIB))
    env = {"CLAIM_CHECK_FILE_ROOT": str(tmp_path / "blobs")}
    args = ("start_workflow.py", "--embedded", "--doc", str(document))
    result = run(*args, "--embedded-server", "1.32", "--json", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["status"] == "completed" and report["kept_out_payloads"] == 5
    assert (report["external_payload_size_bytes"], report["external_payload_count"]) == (
        report["kept_out_bytes"],
        report["kept_out_payloads"],
    )
    # The text report says what the server counted, or that it counts nothing (server 1.29).
    counted = run(*args, "--embedded-server", "1.32", env=env)
    assert "; the server counts 3.1 MiB in 5 (describe's external_payload_size_bytes)" in counted.stdout
    uncounted = run(*args, env=env)
    assert (
        "; this server does not count them (server 1.32 does, with history.externalPayloadsEnabled: --embedded-server 1.32"
        in uncounted.stdout
    )
    nonsense = run(*args, "--embedded-server", "1.31", "--json")
    assert nonsense.returncode == 2
    error = json.loads(nonsense.stdout)["error"]
    assert error["type"] == "UsageError"
    # argparse quotes the choices in some Python versions and not in others
    assert error["message"].startswith("argument --embedded-server: invalid choice: '1.31' (choose from ")
    assert all(choice in error["message"] for choice in ("cli", "1.32"))
    alone = run("start_workflow.py", "--embedded-server", "1.32", "--json")
    assert alone.returncode == 2
    assert json.loads(alone.stdout)["error"]["message"] == (
        "--embedded-server needs --embedded (it picks the dev server --embedded starts)"
    )


async def test_worker_and_starter_in_two_processes(dev_server: DevServer, tmp_path: Path) -> None:
    env = {**os.environ, "CLAIM_CHECK_FILE_ROOT": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "worker.py",
        "--address",
        dev_server.address,
        "--task-queue",
        "two-process",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert worker.stderr is not None
        banner = (await asyncio.wait_for(worker.stderr.readline(), 60)).decode()
        assert "task queue 'two-process'" in banner and "claim check codec" in banner
        # Keep reading the worker's log so a full pipe can never block it.
        drain = asyncio.create_task(worker.stderr.read())
        result = await asyncio.to_thread(
            run,
            "start_workflow.py",
            "--address",
            dev_server.address,
            "--task-queue",
            "two-process",
            "--json",
            env={"CLAIM_CHECK_FILE_ROOT": str(tmp_path)},
        )
        report = json.loads(result.stdout)
        assert report["status"] == "completed", report
        blobs = await asyncio.to_thread(lambda: list(tmp_path.rglob("sha256/*")))
        assert blobs, "the blobs must be in the shared file store"
        drain.cancel()
    finally:
        worker.terminate()
        await worker.wait()


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_document_over_the_document_limit_is_uploaded_with_progress_and_its_key_named(
    five_mib_doc: Path, tmp_path: Path, as_json: bool
) -> None:
    # The limit is lowered to 1 MiB so the 5 MiB document goes by reference, as a 9 MiB one would.
    result = run(
        "start_workflow.py",
        "--embedded",
        "--doc",
        str(five_mib_doc),
        "--document-inline-max-bytes",
        str(MIB),
        *(["--json"] if as_json else []),
        env={"CLAIM_CHECK_FILE_ROOT": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    key_line = f"{five_mib_doc.name} (5.0 MiB) is in"
    if as_json:
        report = json.loads(result.stdout)  # exactly one JSON object, and no bar on stderr
        assert report["status"] == "completed" and report["document_bytes"] == 5 * MIB
        assert (tmp_path / report["document_key"]).stat().st_size == 5 * MIB
        assert f"upload {five_mib_doc.name}" not in result.stderr and key_line not in result.stderr
    else:
        # tqdm draws its bars on stderr (and clears them when done: leave=False)
        assert f"check {five_mib_doc.name}:" in result.stderr, result.stderr[-2000:]
        assert f"upload {five_mib_doc.name}:" in result.stderr, result.stderr[-2000:]
        assert key_line in result.stderr + result.stdout
        assert "the workflow gets this reference instead of the text" in result.stderr + result.stdout
