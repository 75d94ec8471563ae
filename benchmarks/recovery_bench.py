#!/usr/bin/env python3
"""How fast the kit recovers from a worker crash and from store outages, on real servers.

Prints one JSON object. Each scenario runs ``worker.py`` and ``start_workflow.py`` as separate
processes with their default timeouts against a local dev server and MinIO, asks about a
generated document, and breaks something while ingest is running:

* ``baseline``: nothing breaks (start to completion);
* ``worker_kill``: SIGKILL the worker, start a fresh one at once; seconds from the kill and from
  the fresh worker's start to completion;
* ``outages``: stop MinIO for N seconds; the completion delay is the run's time minus the
  baseline's, and ``after_store_back_s`` is how long completion took once MinIO was back.

The 5-minute outage makes the default run take about 10 minutes; ``--outages 10 60`` skips it.

    uv run python benchmarks/recovery_bench.py                  # 10 s, 60 s and 300 s outages
    uv run python benchmarks/recovery_bench.py --outages 10 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rag_claimcheck.data.samples import scaled_document
from rag_claimcheck.rag.heartbeat import HEARTBEAT_TIMEOUT
from rag_claimcheck.rag.workflows import RETRY_MAX_INTERVAL, STEP_DEADLINE
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.ports import free_port
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.stack.faultdrill import Drill, restart, started_attempts, wait_for_running_activity

MIB = 1024 * 1024
RUN_TIMEOUT_SECONDS = 900.0


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _completed(drill: Drill, started: float) -> float:
    report = await drill.report(timeout=RUN_TIMEOUT_SECONDS)
    if report.get("status") != "completed":
        raise RuntimeError(f"the question did not complete: {report}")
    return time.monotonic() - started


async def baseline(server: DevServer, minio: MinioServer, doc: Path, logs: Path) -> dict[str, Any]:
    drill = Drill(address=server.address, minio=minio, log_dir=logs)
    try:
        await drill.start_worker().wait_ready()
        started = time.monotonic()
        await drill.start_question(doc)
        return {"completion_s": round(await _completed(drill, started), 1)}
    finally:
        await drill.close()


async def worker_kill(server: DevServer, minio: MinioServer, doc: Path, logs: Path) -> dict[str, Any]:
    drill = Drill(address=server.address, minio=minio, log_dir=logs)
    try:
        await drill.start_worker().wait_ready()
        started = time.monotonic()
        handle = await drill.start_question(doc)
        await wait_for_running_activity(handle, "ingest_document", timeout=120)
        drill.workers[0].kill()
        killed = time.monotonic()
        fresh = drill.start_worker()
        total = await _completed(drill, started)
        done = started + total
        return {
            "completion_s": round(total, 1),
            "kill_to_completion_s": round(done - killed, 1),
            "fresh_worker_to_completion_s": round(done - fresh.started_at, 1),
            "ingest_attempts": await started_attempts(handle, "ingest_document"),
        }
    finally:
        await drill.close()


async def outage(
    server: DevServer, minio: MinioServer, doc: Path, logs: Path, seconds: float
) -> tuple[dict[str, Any], MinioServer]:
    drill = Drill(address=server.address, minio=minio, log_dir=logs)
    try:
        worker = drill.start_worker()
        await worker.wait_ready()
        started = time.monotonic()
        handle = await drill.start_question(doc)
        await wait_for_running_activity(handle, "ingest_document", timeout=120)
        await minio.stop()
        await asyncio.sleep(seconds)
        minio = await restart(minio)
        back = time.monotonic()
        total = await _completed(drill, started)
        log = worker.log_path.read_text(errors="replace")
        return {
            "outage_s": seconds,
            "completion_s": round(total, 1),
            "after_store_back_s": round(started + total - back, 1),
            "ingest_attempts": await started_attempts(handle, "ingest_document"),
            "worker_log_lines_naming_the_outage": sum(
                "ClaimCheckStoreUnavailable" in line for line in log.splitlines()
            ),
            "worker_log_tracebacks": log.count("Traceback"),
        }, minio
    finally:
        await drill.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rag-claimcheck-recovery-") as tmp:
        root = Path(tmp)
        doc = root / "document.md"
        doc.write_bytes(scaled_document(args.doc_mib * MIB))
        server = await DevServer.start()
        minio = await MinioServer.start(data_dir=root / "minio", port=free_port())
        try:
            _log("baseline ...")
            base = await baseline(server, minio, doc, root)
            _log("worker SIGKILL mid-ingest ...")
            kill = await worker_kill(server, minio, doc, root)
            outages = []
            for seconds in args.outages:
                _log(f"MinIO stopped for {seconds:.0f} s mid-ingest ...")
                result, minio = await outage(server, minio, doc, root, seconds)
                result["completion_delay_s"] = round(result["completion_s"] - base["completion_s"], 1)
                outages.append(result)
        finally:
            await minio.stop()
            await server.stop()
    return {
        "benchmark": "recovery",
        "python": platform.python_version(),
        "document_mib": args.doc_mib,
        "heartbeat_timeout_s": HEARTBEAT_TIMEOUT.total_seconds(),
        "retry_max_interval_s": RETRY_MAX_INTERVAL.total_seconds(),
        "step_deadline_s": STEP_DEADLINE.total_seconds(),
        "baseline": base,
        "worker_kill": kill,
        "outages": outages,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--outages", type=float, nargs="*", default=[10, 60, 300], help="outage lengths in seconds"
    )
    parser.add_argument("--doc-mib", type=int, default=10, help="document size in MiB (default 10)")
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
