"""Every ordinary mistake gets one clear line (or one JSON object), never a traceback or a silent wait."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from rag_claimcheck.data.samples import DEFAULT_QUESTION, SAMPLE_DOCUMENT
from rag_claimcheck.rag.documents import MAX_DOCUMENT_BYTES
from rag_claimcheck.rag.errors import MAX_QUESTION_CHARS
from rag_claimcheck.rag.ingest import load_document
from rag_claimcheck.rag.models import RagRequest
from rag_claimcheck.rag.workflows import AiRagWorkflow
from rag_claimcheck.servers.ports import free_port
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.storage.memory import MemoryBlobStore
from tests.faults.helpers import one_line, run
from tests.integration.helpers import running_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

TOO_LONG = "why? " * 2_000_000  # 10 MB, 10,000,000 characters


@pytest.fixture(scope="module")
def long_question_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("questions") / "question.txt"
    path.write_text(TOO_LONG)
    return path


def test_a_too_long_question_is_refused_before_anything_starts(long_question_file: Path) -> None:
    result = run("start_workflow.py", "--embedded", "--question-file", str(long_question_file))
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "start_workflow.py: QuestionTooLong: the question has 9,999,999 characters; the limit is 4,000 "
        "(ask about the document; pass the text itself with --doc)"
    )
    # one_line: refused before "starting an embedded Temporal dev server ..." could be printed


def test_with_json_a_too_long_question_is_one_json_object(long_question_file: Path) -> None:
    result = run("start_workflow.py", "--question-file", str(long_question_file), "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["status"] == "failed"
    assert report["error"]["type"] == "QuestionTooLong"
    assert f"the limit is {MAX_QUESTION_CHARS:,}" in report["error"]["message"]


def test_a_document_over_4_gib_is_refused_in_one_line_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.md"
    with huge.open("wb") as fh:
        fh.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: a read would take minutes, a refusal takes none
    result = run("start_workflow.py", "--embedded", "--doc", str(huge))
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "start_workflow.py: DocumentTooLarge: huge.md is 4,096.0 MiB; the limit is 4,096 MiB "
        "(split it into several documents)"
    )


def test_a_question_file_is_read_whole(tmp_path: Path) -> None:
    question = tmp_path / "question.txt"
    question.write_text(f"  {DEFAULT_QUESTION}\n")
    result = run(
        "start_workflow.py",
        "--embedded",
        "--question-file",
        str(question),
        "--json",
        env=dict(CLAIM_CHECK_FILE_ROOT=str(tmp_path / "blobs")),
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert report["status"] == "completed", report
    assert "45,000" in report["answer"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--top-k", "x"], "argument --top-k: invalid int value: 'x'"),
        (["--doc", "/"], "--doc / is a directory; pass a text/plain or text/markdown file"),
        (
            ["--question", "a", "--question-file", "q.txt"],
            "argument --question-file: not allowed with argument --question",
        ),
        (["--question-file", "/no/such/question.txt"], "--question-file /no/such/question.txt: no such file"),
    ],
)
def test_usage_errors_are_one_line_and_with_json_one_json_object(args: list[str], message: str) -> None:
    plain = run("start_workflow.py", *args)
    assert plain.returncode == 2
    assert one_line(plain.stderr) == f"start_workflow.py: error: {message} (see --help)"
    as_json = run("start_workflow.py", *args, "--json")
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout) == {
        "status": "failed",
        "error": {"type": "UsageError", "message": message},
    }


async def test_the_workflow_refuses_a_too_long_question_itself(dev_server: DevServer) -> None:
    async with running_stack(dev_server, mode="codec", store=MemoryBlobStore()) as stack:
        with pytest.raises(WorkflowFailureError) as info:
            await stack.client.execute_workflow(
                AiRagWorkflow.run,
                args=[load_document(SAMPLE_DOCUMENT), RagRequest(question="why? " * 1000)],
                id=stack.new_id("too-long"),
                task_queue=stack.task_queue,
            )
    cause = info.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "QuestionTooLong"
    assert cause.non_retryable and "the limit is 4,000" in cause.message


def test_no_server_at_the_address_is_named_with_what_to_run() -> None:
    address = f"127.0.0.1:{free_port()}"
    for command in ("start_workflow.py", "worker.py"):
        result = run(command, "--address", address)
        assert result.returncode == 1
        line = one_line(result.stderr)
        assert line.startswith(
            f"{command}: NoTemporalServer: no Temporal server answers at {address} (Connection refused)"
        )
        assert "temporal server start-dev" in line and "--embedded" in line


def test_no_worker_on_the_task_queue_is_named_instead_of_a_silent_wait(
    dev_server: DevServer, tmp_path: Path
) -> None:
    result = run(
        "start_workflow.py",
        "--address",
        dev_server.address,
        "--task-queue",
        "nobody-polls-this",
        env=dict(CLAIM_CHECK_FILE_ROOT=str(tmp_path)),
    )
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith(
        f"start_workflow.py: NoWorkerOnTaskQueue: no worker polls task queue 'nobody-polls-this' on {dev_server.address}"
    )
    assert f"python worker.py --address {dev_server.address} --task-queue nobody-polls-this" in line


def test_a_worker_whose_store_is_unreachable_names_endpoint_and_bucket(dev_server: DevServer) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = run(
        "worker.py",
        "--address",
        dev_server.address,
        "--store",
        "s3",
        env=dict(
            CLAIM_CHECK_S3_ENDPOINT_URL=endpoint,
            CLAIM_CHECK_S3_BUCKET="fault-bucket",
            AWS_ACCESS_KEY_ID="x",
            AWS_SECRET_ACCESS_KEY="y",
        ),
    )
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith(
        f"worker.py: ClaimCheckStoreUnavailable: the blob store s3://fault-bucket at {endpoint} is unreachable"
    )
