"""Run a MinIO server on a free loopback port with a throwaway data directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import aiohttp

from rag_claimcheck.servers.ports import free_port, wait_until
from rag_claimcheck.servers.process import log_tail, spawn, terminate
from rag_claimcheck.servers.tools import require_binary

DEFAULT_ROOT_USER = "claimcheck"
DEFAULT_ROOT_PASSWORD = "claimcheck-secret"
STARTUP_TIMEOUT_SECONDS = 60.0


@dataclass
class MinioServer:
    """A running MinIO; use ``async with MinioServer.start() as minio`` or call :meth:`stop`."""

    endpoint_url: str
    console_url: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path
    _owns_data_dir: bool = field(default=True, repr=False)

    @classmethod
    async def start(
        cls,
        *,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        access_key: str = DEFAULT_ROOT_USER,
        secret_key: str = DEFAULT_ROOT_PASSWORD,
    ) -> MinioServer:
        """Start MinIO and wait until its health endpoint answers."""
        binary = require_binary("minio")
        owns = data_dir is None
        data_dir = Path(tempfile.mkdtemp(prefix="rag-claimcheck-minio-")) if data_dir is None else data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        port = port or free_port(host)
        console_port = free_port(host)
        log_path = data_dir.parent / f"{data_dir.name}.log"
        env = {
            **os.environ,
            "MINIO_ROOT_USER": access_key,
            "MINIO_ROOT_PASSWORD": secret_key,
            "MINIO_BROWSER": "on",
            "MINIO_UPDATE": "off",
        }
        command = [
            str(binary),
            "server",
            str(data_dir),
            "--address",
            f"{host}:{port}",
            "--console-address",
            f"{host}:{console_port}",
            "--quiet",
        ]
        process = spawn(command, log_path=log_path, env=env, cleanup=[data_dir, log_path] if owns else ())
        server = cls(
            endpoint_url=f"http://{host}:{port}",
            console_url=f"http://{host}:{console_port}",
            access_key=access_key,
            secret_key=secret_key,
            process=process,
            data_dir=data_dir,
            log_path=log_path,
            _owns_data_dir=owns,
        )
        try:
            await wait_until(
                server._healthy, timeout=STARTUP_TIMEOUT_SECONDS, what=f"MinIO at {server.endpoint_url}"
            )
        except BaseException:
            await server.stop()
            raise
        return server

    async def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"MinIO exited with code {self.process.returncode}; log {self.log_path}:\n{log_tail(self.log_path)}"
            )
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(
                    f"{self.endpoint_url}/minio/health/live", timeout=aiohttp.ClientTimeout(total=2)
                ) as r:
                    return r.status == 200
        except aiohttp.ClientError:
            return False

    async def stop(self) -> None:
        """Stop the server and remove its data directory if this object created it."""
        await terminate(self.process)
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.log_path.unlink(missing_ok=True)

    async def __aenter__(self) -> MinioServer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
