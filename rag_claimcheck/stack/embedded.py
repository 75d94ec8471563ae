"""The embedded stack: a local dev server, a blob store, a codec server and in-process workers.

Used by ``start_workflow.py --embedded``, ``worker.py --embedded`` and the notebooks. Each
claim-check mode gets its own client and task queue (``rag-claimcheck-codec`` …) so the three
modes can be compared side by side on one server. :meth:`EmbeddedStack.stop` is idempotent;
:mod:`rag_claimcheck.notebook.session` keeps one stack per kernel so a notebook can start it twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.worker import Worker

from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings, Mode
from rag_claimcheck.claimcheck.stores import open_store
from rag_claimcheck.codec_server import RunningCodecServer, start_codec_server
from rag_claimcheck.rag.activities import RagActivities
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.temporal import CLI, DevServer
from rag_claimcheck.stack.worker import DEFAULT_TASK_QUEUE, build_worker
from rag_claimcheck.storage.base import BlobStore

log = logging.getLogger(__name__)

WORKER_STOP_SECONDS = 10.0
"""How long :meth:`EmbeddedStack.stop` lets a worker finish; a worker whose server is gone can wait forever."""


@dataclass
class ModeRuntime:
    """One claim-check mode on the stack: its client, plugin, task queue and running worker."""

    mode: Mode
    client: Client
    plugin: ClaimCheckPlugin
    task_queue: str
    worker: Worker
    task: asyncio.Task[None]


@dataclass
class EmbeddedStack:
    """A dev server (+ MinIO when the store is S3) and lazily started per-mode workers."""

    server: DevServer
    settings: ClaimCheckSettings
    store: BlobStore
    minio: MinioServer | None = None
    codec_server: RunningCodecServer | None = None
    activities: RagActivities = field(default_factory=RagActivities)
    modes: dict[str, ModeRuntime] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    async def start(
        cls,
        *,
        settings: ClaimCheckSettings | None = None,
        ui: bool = True,
        dynamic_config: Mapping[str, object] | None = None,
        codec_endpoint: str | None = None,
        activities: RagActivities | None = None,
        allow_download: bool = True,
        server_binary: str = CLI,
    ) -> EmbeddedStack:
        """Start the dev server (and MinIO for ``store='s3'`` without an endpoint configured).

        ``server_binary`` picks the dev server's build: :data:`~rag_claimcheck.servers.temporal.CLI`
        (server 1.29) or :data:`~rag_claimcheck.servers.temporal.SERVER_1_32`.
        """
        settings = settings or ClaimCheckSettings.from_env()
        minio = None
        if settings.store == "s3" and not settings.s3_endpoint_url:
            minio = await MinioServer.start()
            settings = dataclasses.replace(settings, s3_endpoint_url=minio.endpoint_url)
        if minio is not None:
            from rag_claimcheck.storage.s3 import S3BlobStore

            store: BlobStore = S3BlobStore(
                bucket=settings.s3_bucket,
                endpoint_url=minio.endpoint_url,
                access_key_id=minio.access_key,
                secret_access_key=minio.secret_key,
            )
        else:
            store = open_store(settings)
        codec = None
        try:
            if ui and codec_endpoint is None:
                # The Web UI decodes payloads in the browser through this server, over the stack's store.
                codec = await start_codec_server(store=store, settings=settings)
                codec_endpoint = codec.url
            server = await DevServer.start(
                ui=ui,
                dynamic_config=dynamic_config,
                codec_endpoint=codec_endpoint,
                allow_download=allow_download,
                binary_name=server_binary,
            )
        except BaseException:
            if codec is not None:
                await codec.stop()
            await store.close()
            if minio is not None:
                await minio.stop()
            raise
        if codec is not None and server.ui_url:
            codec.allow_origin(server.ui_url)  # the UI's port is only known now
        return cls(
            server=server,
            settings=settings,
            store=store,
            minio=minio,
            codec_server=codec,
            activities=activities or RagActivities(),
        )

    async def runtime(self, mode: Mode, *, inline_max_bytes: int | None = None) -> ModeRuntime:
        """The client and running worker for ``mode`` (started on first use)."""
        name = mode if inline_max_bytes is None else f"{mode}-{inline_max_bytes}"
        async with self._lock:
            if name not in self.modes:
                settings = dataclasses.replace(self.settings, mode=mode)
                if inline_max_bytes is not None:
                    settings = dataclasses.replace(settings, inline_max_bytes=inline_max_bytes)
                plugin = ClaimCheckPlugin(settings=settings, store=self.store)
                client = await self.server.connect(plugins=[plugin])
                task_queue = f"{DEFAULT_TASK_QUEUE}-{name}"
                worker = build_worker(client, task_queue=task_queue, activities=self.activities)
                task = asyncio.create_task(worker.run(), name=f"worker-{name}")
                self.modes[name] = ModeRuntime(mode, client, plugin, task_queue, worker, task)
            return self.modes[name]

    async def stop(self) -> None:
        """Stop every worker, the dev server and MinIO. Safe to call twice."""
        async with self._lock:
            for runtime in self.modes.values():
                if not runtime.task.done():
                    try:
                        await asyncio.wait_for(runtime.worker.shutdown(), WORKER_STOP_SECONDS)
                    except asyncio.TimeoutError:  # TimeoutError itself only from 3.11
                        log.warning(
                            "worker on %s did not stop within %.0f s", runtime.task_queue, WORKER_STOP_SECONDS
                        )
                        runtime.task.cancel()
            self.modes.clear()
            if self.codec_server is not None:
                await self.codec_server.stop()
                self.codec_server = None
            await self.store.close()
            if self.server is not None:
                await self.server.stop()
            if self.minio is not None:
                await self.minio.stop()
                self.minio = None
