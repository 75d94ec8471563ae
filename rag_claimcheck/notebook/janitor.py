"""A small watcher process that removes a notebook stack's servers and folders when its kernel ends.

The kernel cannot be relied on to clean up after itself: Jupyter kills a kernel that does not
exit within a few seconds of a shutdown or restart request, and then no ``atexit`` hook runs.
So :func:`rag_claimcheck.notebook.session.start` also starts this watcher, in its own session
(a kill of the kernel's process group does not reach it). It cleans up when

* its parent (the kernel) is gone, however it died, or
* it receives SIGTERM, which is what ipykernel sends its children while shutting down.

Cleaning up means SIGKILL to the stack's server processes (throwaway, in-memory servers: nothing
to save) and deleting its temporary folders and logs. Then it exits.

Usage: ``python -m rag_claimcheck.notebook.janitor --pid PID ... --path PATH ...``
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

POLL_SECONDS = 0.2
KILL_WAIT_SECONDS = 3.0


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state not in ("Z", "X")


def clean(pids: Sequence[int], paths: Sequence[Path]) -> None:
    """Kill ``pids`` (waiting until they are gone, up to a bound) and delete ``paths``."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def watch(parent: int, pids: Sequence[int], paths: Sequence[Path]) -> None:
    """Wait until ``parent`` is gone or SIGTERM arrives, then :func:`clean`."""
    stop = False

    def on_term(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt of the kernel is not its end
    while not stop and os.getppid() == parent and _alive(parent):
        time.sleep(POLL_SECONDS)
    clean(pids, paths)


def spawn(pids: Sequence[int], paths: Sequence[Path]) -> subprocess.Popen[bytes]:
    """Start a watcher for the calling process (the kernel)."""
    command = [sys.executable, "-m", "rag_claimcheck.notebook.janitor", "--parent", str(os.getpid())]
    for pid in pids:
        command += ["--pid", str(pid)]
    for path in paths:
        command += ["--path", str(path)]
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point (started by :func:`spawn`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parent", type=int, required=True, help="the process to outlive (the kernel)")
    parser.add_argument("--pid", type=int, action="append", default=[], help="a server process to kill")
    parser.add_argument("--path", type=Path, action="append", default=[], help="a file or folder to delete")
    args = parser.parse_args(argv)
    watch(args.parent, args.pid, args.path)


if __name__ == "__main__":
    main()
