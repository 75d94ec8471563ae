"""Start a server process with its output in a log file, and stop it reliably.

Every server runs under :mod:`rag_claimcheck.servers.guard`, so it stops — and its throwaway
folders are removed — when the process that started it stops, however it stops (SIGINT,
SIGTERM, SIGHUP, or SIGKILL, via Linux's parent-death signal).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from rag_claimcheck.servers import guard

STOP_GRACE_SECONDS = guard.STOP_GRACE_SECONDS + 5.0
"""How long :func:`terminate` waits for the guard (which itself gives the server 10 s)."""
GUARD_SCRIPT = Path(guard.__file__)


def spawn(
    command: list[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cleanup: Sequence[Path] = (),
) -> subprocess.Popen[bytes]:
    """Start ``command`` under the guard, stdout and stderr going to ``log_path``; returns at once.

    Args:
        cleanup: Paths (files or folders) the guard removes once the server has stopped.

    The parent-death signal fires when the *thread* that called this exits, so call it from a
    long-lived thread (the event loop's), not from ``asyncio.to_thread``.
    """
    guarded = [sys.executable, "-I", str(GUARD_SCRIPT)]
    for path in cleanup:
        guarded += ["--cleanup", str(path)]
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [*guarded, "--", *command],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env else None,
            preexec_fn=guard.set_death_signal,
        )


async def terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait up to :data:`STOP_GRACE_SECONDS`, then SIGKILL."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        await asyncio.to_thread(process.wait, STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait)


def log_tail(log_path: Path, lines: int = 20) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
