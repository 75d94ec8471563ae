"""Run a Temporal dev server (``temporal server start-dev``) on free loopback ports.

Two builds start the same way: the Temporal CLI (v1.5.1, server 1.29; the default) and
``temporal-devserver``, the kit's own build of server 1.32 (``tools/devserver``), whose
``describe()`` reports what the references' ``external_payloads`` marks kept out of history.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, Plugin
from temporalio.service import RPCError

from rag_claimcheck.servers.ports import free_port, wait_until
from rag_claimcheck.servers.process import log_tail, spawn, terminate
from rag_claimcheck.servers.tools import DOWNLOAD_DIR, MissingBinaryError, find_binary, find_downloaded_cli

STARTUP_TIMEOUT_SECONDS = 60.0

SMALL_LIMITS: Mapping[str, int] = {
    "limit.blobSize.warn": 64 * 1024,
    "limit.blobSize.error": 256 * 1024,
    "limit.historySize.warn": 512 * 1024,
    "limit.historySize.error": 1024 * 1024,
    "limit.historySize.suggestContinueAsNew": 256 * 1024,
    "limit.historyCount.suggestContinueAsNew": 60,
}
"""Lowered limits for failure demos: 256 KiB per payload, 1 MiB per history, continue-as-new
suggested at 256 KiB or 60 events (defaults: 2 MiB, 50 MiB, 4 MiB / 4,096 events)."""


EXTERNAL_PAYLOAD_STATS: Mapping[str, bool] = {"history.externalPayloadsEnabled": True}
"""Servers from 1.32 sum the references' ``external_payloads`` marks into ``describe()``'s
``external_payload_size_bytes`` and ``external_payload_count`` when this is on; older ones ignore the key."""

CLI = "temporal"
"""The Temporal CLI's dev server (server 1.29): the default."""
SERVER_1_32 = "temporal-devserver"
"""The kit's build of server 1.32 (``tools/devserver``): the same flags, plus external-payload figures."""
SERVER_BUILDS: Mapping[str, str] = {"cli": CLI, "1.32": SERVER_1_32}
"""The ``--embedded-server`` choices and their binaries."""


@dataclass
class DevServer:
    """A running dev server; ``address`` is ``host:port`` for ``Client.connect``."""

    address: str
    namespace: str
    ui_url: str | None
    dynamic_config: Mapping[str, object]
    log_path: Path
    process: object = field(repr=False)

    @classmethod
    async def start(
        cls,
        *,
        namespace: str = "default",
        ui: bool = False,
        dynamic_config: Mapping[str, object] | None = None,
        codec_endpoint: str | None = None,
        allow_download: bool = False,
        log_level: str = "warn",
        binary_name: str = CLI,
    ) -> DevServer:
        """Start ``temporal server start-dev`` (the binary on PATH or in the tools folder).

        Args:
            binary_name: :data:`CLI` (default) or :data:`SERVER_1_32`.
            ui: Serve the Web UI too (on its own free port).
            dynamic_config: ``--dynamic-config-value`` pairs, e.g. :data:`SMALL_LIMITS`.
            codec_endpoint: Passed as ``--ui-codec-endpoint`` so the Web UI decodes payloads.
            allow_download: Without a local binary, let the Temporal SDK download the CLI
                (needs internet); otherwise raise :class:`MissingBinaryError`.
        """
        binary = find_binary(binary_name)
        if binary is None:
            if not allow_download or binary_name != CLI:
                raise MissingBinaryError(binary_name)
            binary = await _download_cli()
        dynamic_config = dict(dynamic_config or {})
        port = free_port()
        ui_port = free_port() if ui else None
        command = [
            str(binary),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--namespace",
            namespace,
            "--log-level",
            log_level,
            "--http-port",
            str(free_port()),
            "--metrics-port",
            str(free_port()),
        ]
        command += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
        for key, value in {**EXTERNAL_PAYLOAD_STATS, **dynamic_config}.items():
            command += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
        if codec_endpoint:
            command += ["--ui-codec-endpoint", codec_endpoint]
        log_path = Path(tempfile.mkstemp(prefix="rag-claimcheck-temporal-", suffix=".log")[1])
        server = cls(
            address=f"127.0.0.1:{port}",
            namespace=namespace,
            ui_url=f"http://127.0.0.1:{ui_port}" if ui_port else None,
            dynamic_config=dynamic_config,
            log_path=log_path,
            process=spawn(command, log_path=log_path, cleanup=[log_path]),
        )
        try:
            await wait_until(
                server._ready,
                timeout=STARTUP_TIMEOUT_SECONDS,
                what=f"Temporal dev server at {server.address}",
            )
        except BaseException:
            await server.stop()
            raise
        return server

    async def _ready(self) -> bool:
        if self.process.poll() is not None:  # type: ignore[attr-defined] # a Popen
            raise RuntimeError(
                f"temporal server start-dev exited; log {self.log_path}:\n{log_tail(self.log_path)}"
            )
        try:
            client = await Client.connect(self.address, namespace=self.namespace)
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=self.namespace)
            )
            return True
        except (RuntimeError, RPCError):  # not listening yet, or still setting up the namespace
            return False

    async def connect(self, *, plugins: Sequence[Plugin] = ()) -> Client:
        """A new client on this server, with its own plugins (e.g. a claim-check mode)."""
        return await Client.connect(self.address, namespace=self.namespace, plugins=list(plugins))

    def workflow_url(self, workflow_id: str) -> str | None:
        """The Web UI page of one workflow, if the UI is on."""
        if not self.ui_url:
            return None
        return f"{self.ui_url}/namespaces/{self.namespace}/workflows/{workflow_id}"

    async def stop(self) -> None:
        """Stop the server process and remove its log."""
        await terminate(self.process)  # type: ignore[arg-type] # a Popen
        self.log_path.unlink(missing_ok=True)

    async def __aenter__(self) -> DevServer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def _download_cli() -> Path:
    """Let the Temporal SDK download the CLI into the tools folder (needs internet)."""
    from temporalio.testing import WorkflowEnvironment

    DOWNLOAD_DIR.mkdir(parents=True, exist_ok=True)
    env = await WorkflowEnvironment.start_local(
        download_dest_dir=str(DOWNLOAD_DIR), dev_server_log_level="error"
    )
    await env.shutdown()
    binary = find_downloaded_cli()
    if binary is None:
        raise MissingBinaryError("temporal")
    return binary
