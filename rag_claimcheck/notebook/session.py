"""One embedded stack per notebook kernel: idempotent start and stop, logs kept out of cells."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

from temporalio.client import Client

from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.connect import ConnectionFlags, resolve_target
from rag_claimcheck.connect import connect as connect_client
from rag_claimcheck.embedded import EmbeddedStack
from rag_claimcheck.logs import forward_core_logs
from rag_claimcheck.rag.activities import RagActivities
from rag_claimcheck.rag.answer import answerer_from_env
from rag_claimcheck.servers.temporal import SMALL_LIMITS
from rag_claimcheck.settings import ClaimCheckSettings

Limits = Literal["default", "small"]
LOG_FILE = Path(tempfile.gettempdir()) / "rag-claimcheck-notebook.log"

_stacks: dict[str, tuple[EmbeddedStack, Path]] = {}


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

    Running the cell again returns the same stack instead of starting a second server.
    """
    if limits in _stacks:
        return _stacks[limits][0]
    quiet_logs()
    blobs = Path(tempfile.mkdtemp(prefix=f"rag-claimcheck-{limits}-blobs-"))
    stack = await EmbeddedStack.start(
        settings=ClaimCheckSettings.from_env(store="file", file_root=str(blobs)),
        ui=ui,
        dynamic_config=SMALL_LIMITS if limits == "small" else None,
        activities=RagActivities(answerer=answerer_from_env()),
    )
    _stacks[limits] = (stack, blobs)
    return stack


async def stop() -> None:
    """Stop every stack this kernel started and delete its blobs. Safe to run twice."""
    while _stacks:
        _, (stack, blobs) = _stacks.popitem()
        await stack.stop()
        shutil.rmtree(blobs, ignore_errors=True)


async def connect(
    *, profile: str | None = None, settings: ClaimCheckSettings | None = None, **flags: Any
) -> Client:
    """A claim-check client on a real cluster instead of the embedded stack, found the Temporal CLI's way.

    The ``temporal.toml`` profile and ``TEMPORAL_*`` variables decide, with the commands' flags as
    keywords on top (``address=``, ``namespace=``, ``api_key=``, ``tls_ca=Path(...)`` …; see
    :mod:`rag_claimcheck.connect`). Raises :class:`~rag_claimcheck.connect.ConnectError` with one line.
    """
    plugin = ClaimCheckPlugin(settings=settings or ClaimCheckSettings.from_env())
    try:
        target = resolve_target(ConnectionFlags(profile=profile, **flags))
        return await connect_client(target, plugins=[plugin])
    except BaseException:
        await plugin.store.close()
        raise
