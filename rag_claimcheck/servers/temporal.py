"""Run a Temporal dev server (``temporal server start-dev``) on free loopback ports."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType

from temporalio.client import Client, Plugin
from temporalio.testing import WorkflowEnvironment

from rag_claimcheck.servers.ports import free_port
from rag_claimcheck.servers.tools import MissingBinaryError, find_binary

STARTUP_TIMEOUT = timedelta(seconds=60)

SMALL_LIMITS: Mapping[str, int] = {
    "limit.blobSize.warn": 64 * 1024,
    "limit.blobSize.error": 256 * 1024,
    "limit.historySize.warn": 512 * 1024,
    "limit.historySize.error": 1024 * 1024,
    "limit.historySize.suggestContinueAsNew": 256 * 1024,
}
"""Lowered limits for failure demos: 256 KiB per payload, 1 MiB per history (defaults: 2 MiB, 50 MiB)."""


@dataclass
class DevServer:
    """A running dev server; ``address`` is ``host:port`` for ``Client.connect``."""

    env: WorkflowEnvironment
    address: str
    namespace: str
    ui_url: str | None
    dynamic_config: Mapping[str, object]

    @classmethod
    async def start(
        cls,
        *,
        namespace: str = "default",
        ui: bool = False,
        dynamic_config: Mapping[str, object] | None = None,
        codec_endpoint: str | None = None,
        allow_download: bool = False,
        log_level: str = "error",
    ) -> DevServer:
        """Start ``temporal server start-dev`` (the binary on PATH or in the tools folder).

        Args:
            ui: Serve the Web UI too (on its own free port).
            dynamic_config: ``--dynamic-config-value`` pairs, e.g. :data:`SMALL_LIMITS`.
            codec_endpoint: Passed as ``--ui-codec-endpoint`` so the Web UI decodes payloads.
            allow_download: Without a local binary, let the SDK download the CLI (needs internet).
        """
        binary = find_binary("temporal")
        if binary is None and not allow_download:
            raise MissingBinaryError("temporal")
        dynamic_config = dict(dynamic_config or {})
        args: list[str] = []
        for key, value in dynamic_config.items():
            args += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
        if codec_endpoint:
            args += ["--ui-codec-endpoint", codec_endpoint]
        port = free_port()
        ui_port = free_port() if ui else None
        env = await WorkflowEnvironment.start_local(
            namespace=namespace,
            ip="127.0.0.1",
            port=port,
            ui=ui,
            ui_port=ui_port,
            dev_server_existing_path=str(binary) if binary else None,
            dev_server_extra_args=args,
            dev_server_log_level=log_level,
            dev_server_startup_timeout=STARTUP_TIMEOUT,
        )
        return cls(
            env=env,
            address=f"127.0.0.1:{port}",
            namespace=namespace,
            ui_url=f"http://127.0.0.1:{ui_port}" if ui_port else None,
            dynamic_config=dynamic_config,
        )

    async def connect(self, *, plugins: Sequence[Plugin] = ()) -> Client:
        """A new client on this server, with its own plugins (e.g. a claim-check mode)."""
        return await Client.connect(self.address, namespace=self.namespace, plugins=list(plugins))

    def workflow_url(self, workflow_id: str) -> str | None:
        """The Web UI page of one workflow, if the UI is on."""
        if not self.ui_url:
            return None
        return f"{self.ui_url}/namespaces/{self.namespace}/workflows/{workflow_id}"

    async def stop(self) -> None:
        """Stop the server process."""
        await self.env.shutdown()

    async def __aenter__(self) -> DevServer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
