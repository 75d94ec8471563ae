"""The soak's faults: a fleet of worker processes, killed and frozen, and a store that restarts.

Kills come every ``kill_every`` seconds (drawn from the plan's seed) while jobs are in flight:
SIGKILL a random worker that is not frozen, start a fresh one. The store is stopped once and
started again on the same port and data folder; one worker is frozen with SIGSTOP and thawed
with SIGCONT. Each fault is logged with its time since the chaos started.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rag_claimcheck.observe.metrics import scrape
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.ports import free_port
from rag_claimcheck.stack.faultdrill import WorkerProcess, restart


@dataclass
class FleetWorker:
    """A worker process and where its metrics are served."""

    process: WorkerProcess
    metrics_port: int
    last_scrape: dict[str, float] = field(default_factory=dict)
    killed: bool = False
    frozen: bool = False

    @property
    def serving(self) -> bool:
        """Whether it has printed its banner (connected, metrics served, polling)."""
        return "worker on " in self.process.log_path.read_text(errors="replace")

    @property
    def writer(self) -> str:
        """How the objects it writes name it (the S3 store's default writer)."""
        return f"{self.process.pid}@{socket.gethostname()}"


class Fleet:
    """``worker.py`` processes on one task queue and store, each serving Prometheus metrics."""

    def __init__(self, *, address: str, task_queue: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.address = address
        self.task_queue = task_queue
        self.env = dict(env)
        self.log_dir = log_dir
        self.workers: list[FleetWorker] = []

    def start(self) -> FleetWorker:
        """One more worker (not yet ready: see :meth:`ready`)."""
        port = free_port()
        process = WorkerProcess.start(
            address=self.address,
            task_queue=self.task_queue,
            env=self.env,
            log_path=self.log_dir / f"worker-{len(self.workers)}.log",
            args=["--metrics-port", str(port)],
        )
        worker = FleetWorker(process=process, metrics_port=port)
        self.workers.append(worker)
        return worker

    async def ready(self) -> None:
        """Wait for every live worker's banner."""
        await asyncio.gather(*(w.process.wait_ready() for w in self.live()))

    def live(self) -> list[FleetWorker]:
        return [w for w in self.workers if not w.killed]

    async def scrape(self, worker: FleetWorker) -> dict[str, float]:
        worker.last_scrape = await asyncio.to_thread(scrape, worker.metrics_port)
        return worker.last_scrape

    async def kill(self, worker: FleetWorker) -> None:
        """Scrape its counters, then SIGKILL it (the counters die with it)."""
        await self.scrape(worker)
        worker.process.kill()
        worker.killed = True

    async def stop(self) -> None:
        """Scrape and stop every live worker (SIGTERM)."""
        for worker in self.live():
            if worker.frozen:
                worker.process.thaw()
                worker.frozen = False
        for worker in self.live():
            if worker.process.process.poll() is None:
                await self.scrape(worker)
            await worker.process.stop()


class StoreHandle:
    """The running MinIO; a restart replaces the server object."""

    def __init__(self, server: MinioServer) -> None:
        self.server = server

    async def outage(self, seconds: float) -> None:
        await self.server.stop()
        try:
            await asyncio.sleep(seconds)
        finally:
            self.server = await restart(self.server)


@dataclass(frozen=True)
class FaultPlan:
    """When to break what, in seconds since the chaos run started (0 seconds: not at all)."""

    kill_every: tuple[float, float] = (15.0, 30.0)
    max_kills: int | None = None
    store_outage_at: float = 40.0
    store_outage_seconds: float = 20.0
    freeze_at: float = 80.0
    freeze_seconds: float = 30.0


@dataclass
class FaultLog:
    """What was done, and when."""

    events: list[dict[str, object]] = field(default_factory=list)
    kills: int = 0
    store_restarts: int = 0
    freezes: int = 0

    def note(self, started: float, what: str, **details: object) -> None:
        self.events.append({"at_seconds": round(time.monotonic() - started, 1), "what": what, **details})


class Chaos:
    """Runs a :class:`FaultPlan` against a fleet and a store until ``done`` is set."""

    def __init__(self, plan: FaultPlan, fleet: Fleet, store: StoreHandle, *, seed: int) -> None:
        self.plan = plan
        self.fleet = fleet
        self.store = store
        self.rng = random.Random(f"{seed}:faults")
        self.log = FaultLog()

    async def run(self, done: asyncio.Event) -> FaultLog:
        started = time.monotonic()
        await asyncio.gather(
            self._kills(done, started), self._outage(done, started), self._freeze(done, started)
        )
        return self.log

    async def _until(self, done: asyncio.Event, at: float) -> bool:
        """Sleep until ``at`` (monotonic); False if the jobs finished first."""
        try:
            await asyncio.wait_for(done.wait(), timeout=max(0.0, at - time.monotonic()))
            return False
        except TimeoutError:
            return True

    async def _kills(self, done: asyncio.Event, started: float) -> None:
        low, high = self.plan.kill_every
        at = started
        while self.plan.max_kills is None or self.log.kills < self.plan.max_kills:
            at += self.rng.uniform(low, high)
            if not await self._until(done, at):
                return
            candidates = [w for w in self.fleet.live() if not w.frozen and w.serving]
            if not candidates:
                continue
            victim = self.rng.choice(candidates)
            await self.fleet.kill(victim)
            fresh = self.fleet.start()
            self.log.kills += 1
            self.log.note(
                started,
                "SIGKILL worker, started a fresh one",
                pid=victim.process.pid,
                fresh=fresh.process.pid,
            )

    async def _outage(self, done: asyncio.Event, started: float) -> None:
        if not self.plan.store_outage_seconds or not await self._until(
            done, started + self.plan.store_outage_at
        ):
            return
        self.log.note(started, "stopped the store", seconds=self.plan.store_outage_seconds)
        await self.store.outage(self.plan.store_outage_seconds)
        self.log.store_restarts += 1
        self.log.note(started, "the store is back")

    async def _freeze(self, done: asyncio.Event, started: float) -> None:
        if not self.plan.freeze_seconds or not await self._until(done, started + self.plan.freeze_at):
            return
        # Every worker may just have been replaced: freeze one once it serves (its log says so).
        while not (candidates := [w for w in self.fleet.live() if w.serving and not w.frozen]):  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        worker = self.rng.choice(candidates)
        worker.process.freeze()
        worker.frozen = True
        self.log.freezes += 1
        self.log.note(started, "SIGSTOP worker", pid=worker.process.pid, seconds=self.plan.freeze_seconds)
        try:
            await asyncio.sleep(self.plan.freeze_seconds)
        finally:
            worker.process.thaw()
            worker.frozen = False
            self.log.note(started, "SIGCONT worker", pid=worker.process.pid)
