#!/usr/bin/env python3
"""Large documents end to end, by reference: 100 MiB to 1 GiB, file store and MinIO, idle and contended.

    uv run python benchmarks/large_document_bench.py                      # the whole table (~15 min)
    uv run python benchmarks/large_document_bench.py --sizes-mib 100 --stores file --conditions idle

For every (size, store, condition): a fresh ``worker.py`` process (codec mode) on a real dev server
with the CLI's default limits, and a question about a non-repeating corpus
(``rag_claimcheck.corpus``) whose answer is known. The starter does what ``start_workflow.py`` does
with a large ``--doc``: checks the file (UTF-8, size, sha256), streams it to the store, starts
``AiRagWorkflow`` with the reference. "Contended" runs two CPU-burning processes beside the worker
(started after it is ready, stopped after the answer). One JSON object on stdout; progress on
stderr. Record the table in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from rag_claimcheck.claimcheck.keys import workflow_prefix
from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.claimcheck.refs import RefStore
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.data.corpus import CorpusQuestion, write_corpus
from rag_claimcheck.observe.logs import forward_core_logs
from rag_claimcheck.observe.process import MIB, peak_rss_bytes, rss_bytes
from rag_claimcheck.observe.steps import step_seconds
from rag_claimcheck.rag.documents import check_file, load_offsets, store_file
from rag_claimcheck.rag.models import IngestedDocument
from rag_claimcheck.rag.starter import ask_question
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.stack.faultdrill import WorkerProcess
from rag_claimcheck.storage.base import BlobStore
from rag_claimcheck.storage.filesystem import FileBlobStore
from rag_claimcheck.storage.s3 import S3BlobStore

ROOT = Path(__file__).resolve().parents[1]
SIZES_MIB = (100, 500, 1024)
TARGETS = {
    "wall_s_100mib_idle": 8.0,
    "worker_peak_mib_100mib": 450,
    "contended_over_idle_500mib": 1.5,
    "worker_peak_mib_1gib": 3072,
    "longest_workflow_task_s": 0.25,
    "history_bytes": 16 * 1024,
    "store_bytes_per_document_byte": 1.05,
}
BURN = "import time\nend = time.monotonic() + 3600\nwhile time.monotonic() < end: pass\n"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Corpus:
    path: Path
    question: CorpusQuestion


def corpus_file(folder: Path, size_mib: int) -> Corpus:
    """A corpus of ``size_mib`` MiB written straight to a file (never held whole), and one question."""
    path = folder / f"corpus-{size_mib}mib.md"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return Corpus(path, CorpusQuestion(**json.loads(meta.read_text())))
    log(f"writing a {size_mib} MiB corpus to {path}")
    with path.open("w", encoding="ascii") as fh:
        [question] = write_corpus(fh, size_mib * MIB, questions=1)
    meta.write_text(json.dumps(question.__dict__))
    return Corpus(path, question)


async def cited_answer_chunk(
    refs: RefStore, client: Client, workflow_id: str, question: CorpusQuestion, sources: list[int]
) -> bool:
    """Whether one of the cited chunks holds the known answer (its offsets, read from the store)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    for event in history.events:
        if event.HasField("activity_task_completed_event_attributes"):
            [payload] = event.activity_task_completed_event_attributes.result.payloads
            try:
                ingested = client.data_converter.payload_converter.from_payload(payload, IngestedDocument)
            except Exception:
                continue
            if isinstance(ingested, IngestedDocument) and ingested.offsets is not None:
                full = await load_offsets(refs, ingested)
                return any(
                    full.chunk_starts[i] <= question.start and question.end <= full.chunk_ends[i]
                    for i in sources
                )
    return False


async def run_one(
    server: DevServer,
    store_kind: str,
    minio: MinioServer | None,
    corpus: Corpus,
    *,
    contended: bool,
    logs: Path,
) -> dict[str, object]:
    size = corpus.path.stat().st_size
    task_queue = f"bench-{uuid.uuid4().hex[:8]}"
    blobs = Path(tempfile.mkdtemp(prefix="large-bench-blobs-"))
    store: BlobStore
    if store_kind == "minio":
        assert minio is not None
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        env = {
            "CLAIM_CHECK_STORE": "s3",
            "CLAIM_CHECK_S3_BUCKET": bucket,
            "CLAIM_CHECK_S3_ENDPOINT_URL": minio.endpoint_url,
            "AWS_ACCESS_KEY_ID": minio.access_key,
            "AWS_SECRET_ACCESS_KEY": minio.secret_key,
        }
        store = S3BlobStore(
            bucket=bucket,
            endpoint_url=minio.endpoint_url,
            access_key_id=minio.access_key,
            secret_access_key=minio.secret_key,
        )
    else:
        env = {"CLAIM_CHECK_STORE": "file", "CLAIM_CHECK_FILE_ROOT": str(blobs)}
        store = FileBlobStore(blobs)
    env |= {"CLAIM_CHECK_MODE": "codec", "RAG_ANSWERER": "extractive"}
    worker = WorkerProcess.start(
        address=server.address, task_queue=task_queue, env=env, log_path=logs / f"{task_queue}.log"
    )
    burners: list[asyncio.subprocess.Process] = []
    try:
        await worker.wait_ready()
        await asyncio.sleep(1.0)  # let the worker settle before its idle size is read
        worker_idle = rss_bytes(worker.process.pid)
        if contended:
            burners = [await asyncio.create_subprocess_exec(sys.executable, "-c", BURN) for _ in range(2)]
        plugin = ClaimCheckPlugin(settings=ClaimCheckSettings(mode="codec"), store=store)
        client = await server.connect(plugins=[plugin])
        refs = RefStore(store)
        workflow_id = f"large-{size // MIB}mib-{uuid.uuid4().hex[:8]}"
        label = f"{size // MIB} MiB, {store_kind}, {'contended' if contended else 'idle'}"
        log(f"{label}: asking")
        started = time.perf_counter()
        checked = await asyncio.to_thread(check_file, corpus.path)
        checked_at = time.perf_counter()
        document = await store_file(
            refs, checked, mime_type="text/markdown", namespace=client.namespace, workflow_id=workflow_id
        )
        uploaded_at = time.perf_counter()
        report = await ask_question(
            client,
            document=document,
            question=corpus.question.question,
            task_queue=task_queue,
            claim_check="codec",
            workflow_id=workflow_id,
            execution_timeout=timedelta(minutes=30),
        )
        wall = time.perf_counter() - started
        for burner in burners:
            burner.kill()
            await burner.wait()
        burners = []
        worker_peak = peak_rss_bytes(worker.process.pid)
        events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
        steps = step_seconds(events)
        stored = await store.list(prefix=workflow_prefix(namespace=client.namespace, workflow_id=workflow_id))
        cited = await cited_answer_chunk(
            refs, client, workflow_id, corpus.question, [s["chunk_index"] for s in report.sources]
        )
        log(f"{label}: {report.status} in {wall:.1f} s, worker peak {worker_peak / MIB:.0f} MiB")
        return {
            "document_mib": size // MIB,
            "store": store_kind,
            "condition": "contended" if contended else "idle",
            "status": report.status,
            "error": report.error,
            "wall_s": round(wall, 2),
            "check_s": round(checked_at - started, 2),
            "upload_s": round(uploaded_at - checked_at, 2),
            "workflow_s": round(wall - (uploaded_at - started), 2),
            "steps_s": steps,
            "longest_workflow_task_s": steps.get("longest_workflow_task"),
            "retried_workflow_tasks": steps["workflow_tasks_timed_out"] + steps["workflow_tasks_failed"],
            "worker_idle_rss_mib": round(worker_idle / MIB, 1),
            "worker_peak_rss_mib": round(worker_peak / MIB, 1),
            "history_size_bytes": report.history_size_bytes,
            "history_events": report.history_length,
            "chunks": report.chunk_count,
            "store_bytes": sum(b.size for b in stored),
            "store_bytes_per_document_byte": round(sum(b.size for b in stored) / size, 4),
            "answer_found": bool(report.answer and corpus.question.answer_contains in report.answer),
            "cites_the_answer_chunk": cited,
        }
    finally:
        for burner in burners:
            burner.kill()
            await burner.wait()
        await worker.stop()
        await store.close()
        shutil.rmtree(blobs, ignore_errors=True)


def summary(runs: list[dict[str, object]]) -> dict[str, object]:
    """The targets of the large-document issue, against the runs that measure them."""

    def find(size: int, store: str, condition: str) -> dict[str, object] | None:
        return next(
            (r for r in runs if (r["document_mib"], r["store"], r["condition"]) == (size, store, condition)),
            None,
        )

    out: dict[str, object] = {"targets": TARGETS}
    idle_100 = find(100, "file", "idle")
    if idle_100:
        out["wall_s_100mib_idle"] = idle_100["wall_s"]
        out["worker_peak_mib_100mib"] = idle_100["worker_peak_rss_mib"]
    ratios = {}
    for store in ("file", "minio"):
        idle, busy = find(500, store, "idle"), find(500, store, "contended")
        if idle and busy:
            ratios[store] = round(float(busy["wall_s"]) / float(idle["wall_s"]), 2)  # type: ignore[arg-type]
    out["contended_over_idle_500mib"] = ratios
    gib = find(1024, "minio", "idle")
    if gib:
        out["worker_peak_mib_1gib_minio"] = gib["worker_peak_rss_mib"]
        out["status_1gib_minio"] = gib["status"]
    out["longest_workflow_task_s"] = max(float(r["longest_workflow_task_s"] or 0) for r in runs)  # type: ignore[arg-type]
    out["retried_workflow_tasks"] = sum(int(r["retried_workflow_tasks"]) for r in runs)  # type: ignore[call-overload]
    out["history_bytes_max"] = max(int(r["history_size_bytes"] or 0) for r in runs)  # type: ignore[call-overload]
    out["store_bytes_per_document_byte_max"] = max(float(r["store_bytes_per_document_byte"]) for r in runs)  # type: ignore[arg-type]
    out["all_answers_found_and_cited"] = all(r["answer_found"] and r["cites_the_answer_chunk"] for r in runs)
    return out


async def main(args: argparse.Namespace) -> dict[str, object]:
    forward_core_logs()
    folder = Path(args.corpus_dir)
    logs = Path(tempfile.mkdtemp(prefix="large-bench-logs-"))
    server = await DevServer.start()
    minio = await MinioServer.start() if "minio" in args.stores else None
    runs = []
    try:
        for size in args.sizes_mib:
            corpus = corpus_file(folder, size)
            for store in args.stores:
                for condition in args.conditions:
                    runs.append(
                        await run_one(
                            server, store, minio, corpus, contended=condition == "contended", logs=logs
                        )
                    )
    finally:
        if minio is not None:
            await minio.stop()
        await server.stop()
    return {
        "machine": {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg()},
        "runs": runs,
        "summary": summary(runs),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="Large documents end to end by reference: wall time, worker peak memory, workflow "
        "task durations, history and store bytes (JSON on stdout)."
    )
    parser.add_argument(
        "--sizes-mib", type=int, nargs="+", default=list(SIZES_MIB), help="document sizes (MiB)"
    )
    parser.add_argument("--stores", nargs="+", choices=("file", "minio"), default=["file", "minio"])
    parser.add_argument(
        "--conditions", nargs="+", choices=("idle", "contended"), default=["idle", "contended"]
    )
    parser.add_argument(
        "--corpus-dir",
        default=str(Path(tempfile.gettempdir()) / "rag-claimcheck-bench-corpora"),
        help="where the generated corpora are kept between runs",
    )
    args = parser.parse_args()
    if min(args.sizes_mib) < 1:
        parser.error("--sizes-mib must be positive")
    Path(args.corpus_dir).mkdir(parents=True, exist_ok=True)
    print(json.dumps(asyncio.run(main(args)), indent=2))
