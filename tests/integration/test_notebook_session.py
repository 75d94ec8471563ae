"""The notebook stack lives as long as its kernel: a kernel shutdown or restart leaves nothing behind."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

pytestmark = pytest.mark.integration

KERNEL_TIMEOUT_SECONDS = 120

START = """
from rag_claimcheck.notebook import session
stack = await session.start()
again = await session.start()
(kernel_stack,) = session.running().values()
import json, os
print(json.dumps({
    "same": again is stack,
    "pids": [p.pid for p in kernel_stack.processes()],
    "paths": [str(p) for p in kernel_stack.leftovers()],
    "ui": stack.server.ui_url,
}))
"""


def run_cell(km: KernelManager, code: str) -> str:
    """Execute ``code`` in the kernel; its stdout, or the error's name and value."""
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=KERNEL_TIMEOUT_SECONDS)
        reply = client.execute_interactive(code, timeout=KERNEL_TIMEOUT_SECONDS, output_hook=_collect)
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(_collected.pop(client.session.session, []))
    finally:
        client.stop_channels()


_collected: dict[str, list[str]] = {}


def _collect(message: dict) -> None:
    if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
        _collected.setdefault(message["parent_header"]["session"], []).append(message["content"]["text"])
    if message["msg_type"] == "error":
        raise AssertionError(f"{message['content']['ename']}: {message['content']['evalue']}")


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def gone_within(pids: list[int], paths: list[str], seconds: float) -> tuple[list[int], list[str]]:
    """The processes still alive and the paths still present after waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        left = [p for p in pids if alive(p)], [p for p in paths if os.path.exists(p)]
        if not any(left) or time.monotonic() > deadline:
            return left


@pytest.fixture
def kernel() -> Iterator[KernelManager]:
    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    yield km
    if km.is_alive():
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize("how", ["shutdown", "restart", "kill"])
def test_kernel_shutdown_restart_or_kill_stops_servers_and_removes_folders(
    kernel: KernelManager, how: str
) -> None:
    facts = json.loads(run_cell(kernel, START).strip().splitlines()[-1])
    assert facts["same"] is True, "starting twice must hand back the same stack"
    assert facts["pids"] and all(alive(p) for p in facts["pids"])
    assert all(os.path.exists(p) for p in facts["paths"])

    if how == "shutdown":
        kernel.shutdown_kernel()
    elif how == "restart":
        kernel.restart_kernel()
    else:  # what Jupyter does to a kernel that does not exit in time: SIGKILL, no atexit hooks
        kernel.shutdown_kernel(now=True)
    left_pids, left_paths = gone_within(facts["pids"], facts["paths"], 10)
    assert left_pids == [], f"servers outlived the kernel ({how}): {left_pids}"
    assert left_paths == [], f"temporary folders outlived the kernel ({how}): {left_paths}"
