"""One embedded stack per notebook kernel, living as long as the kernel.

* :func:`start` is idempotent: running the cell again returns the same stack.
* :func:`stop` is explicit; the notebooks do not call it on their way through, so the Web UI
  links they print keep working while the notebook is open.
* When the kernel shuts down or restarts, nothing is left behind: a watcher process
  (:mod:`rag_claimcheck.notebook.janitor`) kills the servers and removes the stack's temporary
  folders and logs, even if Jupyter had to kill the kernel; an ``atexit`` hook does the same
  when the interpreter exits normally (a script).
"""

from __future__ import annotations

import atexit
import logging
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from temporalio.client import Client

from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.notebook import janitor
from rag_claimcheck.observe.logs import forward_core_logs
from rag_claimcheck.rag.activities import RagActivities
from rag_claimcheck.rag.answer import answerer_from_env
from rag_claimcheck.servers.temporal import SMALL_LIMITS
from rag_claimcheck.stack.connect import ConnectionFlags, resolve_target
from rag_claimcheck.stack.connect import connect as connect_client
from rag_claimcheck.stack.embedded import EmbeddedStack

Limits = Literal["default", "small"]
LOG_FILE = Path(tempfile.gettempdir()) / "rag-claimcheck-notebook.log"
EXIT_GRACE_SECONDS = 3.0
"""At kernel exit, how long a server gets to stop after SIGTERM before SIGKILL (Jupyter waits ~5 s)."""


@dataclass
class KernelStack:
    """A stack this kernel started and the temporary folder that holds its blobs."""

    stack: EmbeddedStack
    blobs: Path
    janitor: subprocess.Popen[bytes] | None = None

    def processes(self) -> list[subprocess.Popen[bytes]]:
        """The server processes of the stack (dev server, and MinIO if any)."""
        found = [self.stack.server.process]
        if self.stack.minio is not None:
            found.append(self.stack.minio.process)
        return [p for p in found if isinstance(p, subprocess.Popen)]

    def leftovers(self) -> list[Path]:
        """Files and folders to delete once the servers are gone."""
        paths = [self.blobs, self.stack.server.log_path]
        if self.stack.minio is not None:
            paths += [self.stack.minio.data_dir, self.stack.minio.log_path]
        return paths


_stacks: dict[str, KernelStack] = {}


def quiet_logs(path: Path = LOG_FILE) -> Path:
    """Send the worker's and the SDK core's logs to ``path`` instead of the cell output."""
    forward_core_logs()
    root = logging.getLogger()
    if not any(getattr(h, "_rag_claimcheck", False) for h in root.handlers):
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._rag_claimcheck = True  # type: ignore[attr-defined] # marks our handler for idempotence
        for h in list(root.handlers):
            root.removeHandler(h)
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    return path


async def start(*, limits: Limits = "default", ui: bool = True) -> EmbeddedStack:
    """The kernel's stack for ``limits`` (``small`` lowers the server's size limits); started once.

    Running the cell again returns the same stack instead of starting a second server. The
    stack runs until :func:`stop` or until the kernel shuts down.
    """
    if limits in _stacks:
        return _stacks[limits].stack
    quiet_logs()
    blobs = Path(tempfile.mkdtemp(prefix=f"rag-claimcheck-{limits}-blobs-"))
    try:
        stack = await EmbeddedStack.start(
            settings=ClaimCheckSettings.from_env(store="file", file_root=str(blobs)),
            ui=ui,
            dynamic_config=SMALL_LIMITS if limits == "small" else None,
            activities=RagActivities(answerer=answerer_from_env()),
        )
    except BaseException:
        shutil.rmtree(blobs, ignore_errors=True)
        raise
    kernel_stack = KernelStack(stack, blobs)
    kernel_stack.janitor = janitor.spawn([p.pid for p in kernel_stack.processes()], kernel_stack.leftovers())
    for process in [*kernel_stack.processes(), kernel_stack.janitor]:
        _reap_when_done(process)
    _stacks[limits] = kernel_stack
    return stack


def running() -> dict[str, KernelStack]:
    """The stacks this kernel has running, by limits (a copy)."""
    return dict(_stacks)


async def stop() -> None:
    """Stop every stack this kernel started and delete its blobs. Safe to run twice."""
    while _stacks:
        _, kernel_stack = _stacks.popitem()
        await kernel_stack.stack.stop()
        _remove(kernel_stack.leftovers())
        _dismiss(kernel_stack.janitor)


def stop_at_exit() -> None:
    """Stop the servers and remove the folders without an event loop (the kernel is exiting).

    The workers and the codec server live in this process and end with it; only the server
    processes and the files on disk would outlive it.
    """
    while _stacks:
        _, kernel_stack = _stacks.popitem()
        for process in kernel_stack.processes():
            _terminate_now(process)
        _remove(kernel_stack.leftovers())
        _dismiss(kernel_stack.janitor)


def _dismiss(watcher: subprocess.Popen[bytes] | None) -> None:
    """The cleanup is done: end the watcher without letting it act (its pids may be reused)."""
    if watcher is not None and watcher.poll() is None:
        watcher.kill()


def _reap_when_done(process: subprocess.Popen[bytes]) -> None:
    """Collect ``process``'s exit status as soon as it ends, in a daemon thread.

    At shutdown ipykernel SIGTERMs the kernel's children and waits until they are gone; an
    unreaped child stays a zombie, so the kernel would wait past Jupyter's shutdown timeout,
    be killed, and never run the ``atexit`` hook that removes the folders.
    """
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()


def _terminate_now(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(EXIT_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


async def connect(
    *, profile: str | None = None, settings: ClaimCheckSettings | None = None, **flags: Any
) -> Client:
    """A claim-check client on a real cluster instead of the embedded stack, found the Temporal CLI's way.

    The ``temporal.toml`` profile and ``TEMPORAL_*`` variables decide, with the commands' flags as
    keywords on top (``address=``, ``namespace=``, ``api_key=``, ``tls_ca=Path(...)`` …; see
    :mod:`rag_claimcheck.stack.connect`). Raises :class:`~rag_claimcheck.stack.connect.ConnectError` with one line.
    """
    plugin = ClaimCheckPlugin(settings=settings or ClaimCheckSettings.from_env())
    try:
        target = resolve_target(ConnectionFlags(profile=profile, **flags))
        return await connect_client(target, plugins=[plugin])
    except BaseException:
        await plugin.store.close()
        raise


atexit.register(stop_at_exit)
