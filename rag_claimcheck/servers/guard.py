"""Run one server process so that it never outlives the kit process that started it.

``python guard.py [--cleanup PATH]... -- COMMAND...`` (standard library only, so it starts fast
and needs nothing from the kit's environment):

* asks Linux to send it SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``), which covers
  the parent being SIGKILLed, where no handler in the parent can run;
* starts ``COMMAND`` with the same death signal, so the server stops even if the guard itself
  is SIGKILLed;
* on SIGTERM, SIGINT or SIGHUP stops the server (SIGTERM, then SIGKILL after a grace period)
  and removes the ``--cleanup`` paths (data folders, logs). A server that exits by itself with
  an error leaves them for the parent, which shows the log and then removes them;
* exits with the server's exit code.

On systems without ``prctl`` (macOS) it still stops the server and cleans up on every signal
but SIGKILL of the parent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import subprocess
import sys
import time
from types import FrameType

PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 10.0


def set_death_signal(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``sig`` to the calling process when its parent thread exits."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


def _remove(paths: list[str]) -> None:
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _parse(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" not in argv:
        raise SystemExit("usage: guard.py [--cleanup PATH]... -- COMMAND...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    cleanup = [options[i + 1] for i, flag in enumerate(options) if flag == "--cleanup"]
    if not command:
        raise SystemExit("guard.py: no command to run")
    return cleanup, command


def main(argv: list[str]) -> int:
    cleanup, command = _parse(argv)
    parent = os.getppid()
    set_death_signal(signal.SIGTERM)
    stopping = os.getppid() != parent  # the parent died before the death signal was armed

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, request_stop)
    try:
        child = subprocess.Popen(command, preexec_fn=set_death_signal)
    except OSError as e:
        _remove(cleanup)
        print(f"guard: cannot start {command[0]}: {e}", file=sys.stderr)
        return 127
    deadline: float | None = None
    while True:
        code = child.poll()
        if code is not None:
            break
        if stopping and deadline is None:
            child.terminate()
            deadline = time.monotonic() + STOP_GRACE_SECONDS
        if deadline is not None and time.monotonic() > deadline:
            child.kill()
        time.sleep(0.05)
    if stopping or code == 0:
        _remove(cleanup)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
