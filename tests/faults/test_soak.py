"""The chaos soak, short: 40 workflows on 2 worker processes while 3 are SIGKILLed, one is frozen
and MinIO is stopped for 20 s; then every end check (``benchmarks/soak_bench.py`` runs it at full
size)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from rag_claimcheck.chaos.faults import FaultPlan
from rag_claimcheck.chaos.plan import SoakPlan
from rag_claimcheck.chaos.report import SoakReport
from rag_claimcheck.chaos.run import run_soak
from rag_claimcheck.chaos.workload import DOCUMENT_SIZES, MIB, SIZE_WEIGHTS
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.ports import free_port
from rag_claimcheck.servers.temporal import DevServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SIZES = tuple(size for size in DOCUMENT_SIZES if size <= 12 * MIB)
PLAN = SoakPlan(
    workflows=40,
    workers=2,
    rate=0.5,
    quiet_rate=2.0,
    sizes=SIZES,
    weights=SIZE_WEIGHTS[: len(SIZES)],
    conversation_share=0.15,
    faults=FaultPlan(
        kill_every=(12.0, 20.0),
        max_kills=3,
        store_outage_at=22.0,
        store_outage_seconds=20.0,
        freeze_at=50.0,
        freeze_seconds=15.0,
    ),
)


@pytest_asyncio.fixture(loop_scope="session")
async def soak(dev_server: DevServer, tmp_path: Path) -> AsyncIterator[SoakReport]:
    minio = await MinioServer.start(data_dir=tmp_path / "minio-data", port=free_port())
    try:
        report, minio = await run_soak(PLAN, address=dev_server.address, minio=minio, log_dir=tmp_path)
        yield report
    finally:
        await minio.stop()


async def test_a_short_chaos_soak_loses_nothing_and_leaves_nothing_behind(soak: SoakReport) -> None:
    body = soak.to_dict()
    assert soak.problems() == [], body
    # The faults happened while the jobs ran, and reached them.
    assert (soak.faults.kills, soak.faults.store_restarts, soak.faults.freezes) == (3, 1, 1)
    assert soak.workers_started == 2 + 3
    assert "ClaimCheckStoreUnavailable" in {kind.removeprefix("starter:") for kind in soak.errors}, (
        soak.errors
    )
    jobs = body["jobs"]
    assert jobs["conversations"] >= 1 and jobs["by_reference"] >= 1, jobs  # type: ignore[index]
    # Every workflow completed, with the quiet run's answers.
    assert soak.quiet.completed == soak.chaos.completed == 40
    assert soak.differing == []
    # Every object is referenced by a history and intact; gc past retention deletes every one.
    assert soak.audit.objects == soak.audit.referenced > 0
    assert (soak.audit.missing, soak.audit.corrupt, soak.audit.orphaned) == ([], [], [])
    assert soak.gc["left"] == 0
    assert soak.gc["totals"]["deleted_blobs"] == soak.audit.objects  # type: ignore[index]
    # Each process's puts are the objects it wrote (a killed worker's, as of its last scrape).
    assert sum(w.objects for w in soak.writers) == soak.audit.objects
    assert soak.unattributed == 0
    for writer in soak.writers:
        if writer.role == "killed worker":
            assert 0 <= writer.objects - writer.puts <= 16, writer
        else:
            assert writer.objects == writer.puts, writer
