"""One soak: a quiet run, a chaos run of the same jobs, then the end checks.

1. Start the worker fleet on a fresh bucket of the given MinIO (its data folder must outlive a
   restart) and the given Temporal server.
2. Quiet run: every job, started at ``quiet_rate`` a second, no faults.
3. Chaos run: the same jobs under new workflow ids, started at ``rate`` a second, while the
   :class:`~rag_claimcheck.chaos.faults.FaultPlan` kills and freezes workers and stops the store.
4. End checks (:meth:`~rag_claimcheck.chaos.report.SoakReport.problems`): every workflow completed; every chaos answer equals
   its quiet answer; every reference in every history resolves to an object with the same sha256
   and no object is left unreferenced (:func:`~rag_claimcheck.lifecycle.audit.audit_store`); the
   counters add up (:mod:`~rag_claimcheck.chaos.accounting`); ``python -m rag_claimcheck.gc
   --delete --as-of`` past retention leaves the bucket empty.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from temporalio.client import Client

from rag_claimcheck.chaos.accounting import DEDUP_HITS, PUTS, WriterCount, objects_by_writer
from rag_claimcheck.chaos.faults import Chaos, Fleet, StoreHandle
from rag_claimcheck.chaos.plan import SoakPlan
from rag_claimcheck.chaos.report import RunSummary, SoakReport
from rag_claimcheck.chaos.traffic import Outcome, Starter
from rag_claimcheck.chaos.workload import Document, Job, documents, plan_jobs
from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.claimcheck.refs import RefStore
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.lifecycle.audit import audit_store
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.stack.faultdrill import PROJECT_ROOT, store_env
from rag_claimcheck.storage.s3 import S3BlobStore

GC_AS_OF = timedelta(days=3)
"""How far ahead gc decides: past the dev server's retention (1 day) and gc's grace (1 hour)."""
GIVE_UP_SECONDS = 900.0


async def _pass(
    jobs: list[Job],
    docs: dict[int, Document],
    starter: Starter,
    *,
    tag: str,
    rate: float,
    on_done: Callable[[Outcome], None],
) -> list[Outcome]:
    """Start ``jobs`` at ``rate`` a second as ``{tag}-{index}`` and wait for all of them."""
    began = time.monotonic()

    async def one(job: Job) -> Outcome:
        await asyncio.sleep(max(0.0, began + job.index / rate - time.monotonic()))
        outcome = await starter.run(job, docs[job.size], f"{tag}-{job.index}")
        on_done(outcome)
        return outcome

    return list(await asyncio.gather(*(one(job) for job in jobs)))


def _summary(outcomes: list[Outcome], seconds: float) -> RunSummary:
    failed: list[dict[str, object]] = [
        {"job": o.job, "workflow_id": o.workflow_id, "error": o.error}
        for o in outcomes
        if o.status != "completed"
    ]
    return RunSummary(
        started=len(outcomes),
        completed=sum(o.status == "completed" for o in outcomes),
        seconds=round(seconds, 1),
        failed=failed,
    )


def _collect_garbage(address: str, env: dict[str, str]) -> dict[str, object]:
    """``python -m rag_claimcheck.gc --delete`` as an operator runs it, deciding as if it were days later."""
    as_of = (datetime.now(timezone.utc) + GC_AS_OF).isoformat(timespec="seconds")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "rag_claimcheck.gc", "--delete", "--json", "--no-progress"),
            *("--store", "s3", "--address", address, "--as-of", as_of),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        return {"as_of": as_of, "exit": done.returncode, "stderr": done.stderr[-2000:]}
    report = json.loads(done.stdout)
    return {"as_of": as_of, "exit": 0, "totals": report["totals"]}


async def run_soak(
    plan: SoakPlan,
    *,
    address: str,
    minio: MinioServer,
    log_dir: Path,
    progress: Callable[[str, Outcome], None] | None = None,
) -> tuple[SoakReport, MinioServer]:
    """Run the soak on the Temporal server at ``address`` and ``minio`` (started with a ``data_dir``).

    Returns the report and the MinIO now running (a restart replaces the server object; the
    caller stops it).
    """
    docs = documents(tuple(sorted(set(plan.sizes))), seed=plan.seed)
    jobs = plan_jobs(
        plan.workflows,
        docs,
        weights=plan.weights,
        conversation_share=plan.conversation_share,
        turns=plan.turns,
        seed=plan.seed,
    )
    tag = f"soak-{uuid.uuid4().hex[:6]}"
    bucket = tag
    env = {**store_env(minio, bucket), "CLAIM_CHECK_MODE": plan.mode}
    settings = ClaimCheckSettings.from_env(env)
    s3 = S3BlobStore(
        bucket=bucket,
        endpoint_url=minio.endpoint_url,
        access_key_id=minio.access_key,
        secret_access_key=minio.secret_key,
    )
    plugin = ClaimCheckPlugin(mode=plan.mode, store=s3, settings=settings)
    refs = RefStore(s3, key_prefix=settings.key_prefix)
    store = StoreHandle(minio)
    fleet = Fleet(address=address, task_queue=tag, env=env, log_dir=log_dir)
    retries: Counter[str] = Counter()
    try:
        client = await Client.connect(address, plugins=[plugin])
        starter = Starter(
            client,
            refs,
            task_queue=tag,
            document_limit=settings.document_inline_max_bytes,
            retries=retries,
            give_up_after=GIVE_UP_SECONDS,
        )
        for _ in range(plan.workers):
            fleet.start()
        await fleet.ready()

        def done_with(label: str) -> Callable[[Outcome], None]:
            return lambda outcome: progress(label, outcome) if progress else None

        began = time.monotonic()
        quiet = await _pass(
            jobs,
            docs,
            starter,
            tag=f"{tag}-quiet",
            rate=plan.quiet_rate or plan.rate,
            on_done=done_with("quiet"),
        )
        quiet_seconds = time.monotonic() - began

        chaos = Chaos(plan.faults, fleet, store, seed=plan.seed)
        finished = asyncio.Event()
        faults = asyncio.create_task(chaos.run(finished))
        began = time.monotonic()
        try:
            loud = await _pass(
                jobs, docs, starter, tag=f"{tag}-chaos", rate=plan.rate, on_done=done_with("chaos")
            )
        finally:
            finished.set()
            log = await faults
        chaos_seconds = time.monotonic() - began
        await fleet.stop()

        ids = [o.workflow_id for o in quiet + loud]
        audit = await audit_store(client, s3, ids, key_prefix=settings.key_prefix)
        writers, unattributed = await _account(fleet, plugin, refs, s3, settings.key_prefix)
        gc = await asyncio.to_thread(_collect_garbage, address, env)
        gc["left"] = len(await s3.list(prefix=f"{settings.key_prefix}/"))
    finally:
        await fleet.stop()
        await s3.close()
    differing = [
        {"job": a.job, "quiet": list(a.answers), "chaos": list(b.answers)}
        for a, b in zip(quiet, loud, strict=True)
        if a.status == b.status == "completed" and a.answers != b.answers
    ]
    errors = Counter(audit.failures) + retries
    report = SoakReport(
        plan=plan,
        quiet=_summary(quiet, quiet_seconds),
        chaos=_summary(loud, chaos_seconds),
        faults=log,
        delays=[b.seconds - a.seconds for a, b in zip(quiet, loud, strict=True)],
        differing=differing,
        audit=audit,
        writers=writers,
        unattributed=unattributed,
        errors=dict(errors),
        gc=gc,
        workers_started=len(fleet.workers),
        jobs=jobs,
        document_limit=settings.document_inline_max_bytes,
    )
    return report, store.server


async def _account(
    fleet: Fleet, plugin: ClaimCheckPlugin, refs: RefStore, s3: S3BlobStore, key_prefix: str
) -> tuple[list[WriterCount], int]:
    keys = [blob.key for blob in await s3.list(prefix=f"{key_prefix}/")]
    by_writer = await objects_by_writer(s3, keys)
    counts = [
        WriterCount(
            writer=w.writer,
            role="killed worker" if w.killed else "worker",
            puts=int(w.last_scrape.get(PUTS, 0)),
            dedup_hits=int(w.last_scrape.get(DEDUP_HITS, 0)),
            objects=by_writer.pop(w.writer, 0),
        )
        for w in fleet.workers
    ]
    own = s3.writer
    counts.append(
        WriterCount(
            writer=own,
            role="starter",
            puts=plugin.stats.stored + refs.stats.stored,
            dedup_hits=plugin.stats.deduplicated + refs.stats.deduplicated,
            objects=by_writer.pop(own, 0),
        )
    )
    return counts, sum(by_writer.values())
