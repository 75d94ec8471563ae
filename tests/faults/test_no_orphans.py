"""``worker.py --embedded`` leaves nothing behind, however it is stopped."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from tests.faults.helpers import alive, command_env, descendants, spawn

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]


async def wait_for(predicate: object, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator] # a zero-argument callable
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s")
        await asyncio.sleep(0.2)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL, signal.SIGHUP], ids=lambda s: s.name)
async def test_the_embedded_worker_stops_its_servers_and_removes_their_folders(
    signum: signal.Signals, tmp_path: Path
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    log = tmp_path / "worker.log"
    worker = spawn("worker.py", "--embedded", "--store", "s3", env=command_env(TMPDIR=str(tmp)), log=log)
    try:
        await wait_for(
            lambda: "ask with:" in log.read_text(), timeout=100, what="the worker printed its banner"
        )
        children = descendants(worker.pid)
        commands = " ".join(command_line(pid) for pid in children)
        assert "minio server" in commands and "server start-dev" in commands
        assert any(p.name.startswith("rag-claimcheck-") for p in tmp.iterdir())
        os.kill(worker.pid, signum)
        await wait_for(lambda: worker.poll() is not None, timeout=30, what="the worker exited")
        await wait_for(
            lambda: not any(alive(pid) for pid in children),
            timeout=20,
            what="every server it started stopped",
        )
        await wait_for(
            lambda: not any(tmp.iterdir()), timeout=10, what="its temp folders and logs were removed"
        )
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    if signum != signal.SIGKILL:
        assert worker.returncode == 0
        assert f"worker stopped ({signum.name})" in log.read_text()
        assert "Traceback" not in log.read_text()
