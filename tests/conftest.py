"""Shared fixtures: one real Temporal dev server and one real MinIO for the whole session.

Locally, a missing server binary skips the tests that need it (with the install hint). With
``CI=true`` it fails them: CI must never pass by skipping the integration tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.temporal import SERVER_1_32, SMALL_LIMITS, DevServer
from rag_claimcheck.servers.tools import MissingBinaryError
from rag_claimcheck.storage.s3 import S3BlobStore

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Longest first, so that under pytest-xdist (make test runs files side by side) the long files start at
# once and the short ones fill the gaps, instead of a long one starting last.
_ORDER = ("tests/browser", "notebooks", "tests/faults", "tests/integration", "tests/unit")


def _rank(item: pytest.Item) -> int:
    path = Path(str(item.fspath)).resolve().relative_to(Path(__file__).resolve().parents[1]).as_posix()
    return next((i for i, top in enumerate(_ORDER) if path.startswith(top + "/")), len(_ORDER))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the run longest suite first; files and their tests keep their order within a suite."""
    items.sort(key=_rank)


def missing_server(error: MissingBinaryError) -> None:
    """Fail in CI, skip elsewhere, always with the install hint."""
    if IN_CI:
        pytest.fail(f"CI=true and a server binary is missing: {error}", pytrace=False)
    pytest.skip(str(error))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_server() -> AsyncIterator[DevServer]:
    """A Temporal dev server with default limits (2 MiB per payload)."""
    try:
        server = await DevServer.start()
    except MissingBinaryError as e:
        missing_server(e)
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def small_limits_server() -> AsyncIterator[DevServer]:
    """A dev server with lowered limits (SMALL_LIMITS) so limit failures happen in seconds."""
    try:
        server = await DevServer.start(dynamic_config=SMALL_LIMITS)
    except MissingBinaryError as e:
        missing_server(e)
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def server_1_32() -> AsyncIterator[DevServer]:
    """The kit's build of server 1.32 (with its Web UI), whose describe() sums external payloads."""
    try:
        server = await DevServer.start(binary_name=SERVER_1_32, ui=True)
    except MissingBinaryError as e:
        missing_server(e)
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def minio() -> AsyncIterator[MinioServer]:
    """A MinIO server with a throwaway data directory."""
    try:
        server = await MinioServer.start()
    except MissingBinaryError as e:
        missing_server(e)
    yield server
    await server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def s3_store(minio: MinioServer) -> AsyncIterator[S3BlobStore]:
    """An S3 store on its own fresh bucket in the session's MinIO."""
    store = S3BlobStore(
        bucket=f"test-{uuid.uuid4().hex[:12]}",
        endpoint_url=minio.endpoint_url,
        access_key_id=minio.access_key,
        secret_access_key=minio.secret_key,
    )
    yield store
    await store.close()
