"""The S3 store against a real MinIO: the same contract as the other stores, plus connection handling."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
from pathlib import Path

import pytest

from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.ports import free_port
from rag_claimcheck.storage import BlobNotFoundError, InvalidKeyError, StoreUnavailableError, s3
from rag_claimcheck.storage.s3 import S3BlobStore

pytestmark = pytest.mark.integration


async def test_put_get_exists_list_delete(s3_store: S3BlobStore) -> None:
    await s3_store.put(key="a/b/one", data=b"1")
    await s3_store.put(key="a/b/two", data=b"22")
    await s3_store.put(key="a/c/three", data=b"333")
    assert await s3_store.get(key="a/b/two") == b"22"
    assert await s3_store.exists(key="a/b/one")
    assert not await s3_store.exists(key="a/b/zero")
    assert [(b.key, b.size) for b in await s3_store.list(prefix="a/b/")] == [("a/b/one", 1), ("a/b/two", 2)]
    assert await s3_store.delete_prefix(prefix="a/") == 3
    assert await s3_store.list(prefix="") == []


async def test_one_client_serves_every_call(s3_store: S3BlobStore) -> None:
    await s3_store.put(key="k", data=b"v")
    client = s3_store._client
    await s3_store.get(key="k")
    await s3_store.list(prefix="")
    assert s3_store._client is client is not None


async def test_missing_key_names_bucket_and_key(s3_store: S3BlobStore) -> None:
    with pytest.raises(BlobNotFoundError) as info:
        await s3_store.get(key="no/such/key")
    assert str(info.value) == f"blob not found [store=s3://{s3_store.bucket}, key=no/such/key]"


async def test_unsafe_key_is_rejected_before_any_request(s3_store: S3BlobStore) -> None:
    with pytest.raises(InvalidKeyError):
        await s3_store.put(key="../x", data=b"x")
    assert s3_store._client is None


async def test_unreachable_endpoint_raises_store_unavailable_naming_the_endpoint() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    store = S3BlobStore(
        bucket="nowhere", endpoint_url=endpoint, access_key_id="x", secret_access_key="y", connect_timeout=1
    )
    with pytest.raises(StoreUnavailableError, match=f"endpoint={endpoint}"):
        await store.get(key="k")
    await store.close()


@pytest.mark.parametrize("bucket", ["b", "", "Upper", "has_underscore", "-leading", "a" * 64, "two..dots"])
def test_invalid_bucket_names_are_refused_before_any_request(bucket: str) -> None:
    with pytest.raises(ValueError, match="invalid S3 bucket name"):
        S3BlobStore(bucket=bucket)


async def test_the_server_checks_uploads_against_the_kits_sha256_and_botocore_hashes_nothing_again(
    s3_store: S3BlobStore,
) -> None:
    data = b"claim check " * 1000
    await s3_store.put(key="sum/ok", data=b"warm")  # opens the client
    sent: list[dict[str, str]] = []
    s3_store._client.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: sent.append(dict(request.headers))
    )
    await s3_store.put(key="sum/ok", data=data, sha256_hex=hashlib.sha256(data).hexdigest())
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in sent[-1].items()}
    assert headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"  # the body is not hashed to sign it
    assert headers["x-amz-checksum-sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert not any(k.startswith("x-amz-checksum-") and k != "x-amz-checksum-sha256" for k in headers)
    assert await s3_store.get(key="sum/ok") == data

    with pytest.raises(StoreUnavailableError, match="sum/bad"):
        await s3_store.put(key="sum/bad", data=data, sha256_hex=hashlib.sha256(b"other").hexdigest())
    assert not await s3_store.exists(key="sum/bad")


@pytest.mark.parametrize("conditional_max", [8 * 1024 * 1024, 0])
async def test_put_if_absent_stores_once_and_never_overwrites(
    s3_store: S3BlobStore, monkeypatch: pytest.MonkeyPatch, conditional_max: int
) -> None:
    # Small blobs: one conditional PUT (412 when present); large ones (max 0 here): HEAD, then PUT.
    monkeypatch.setattr(s3, "CONDITIONAL_PUT_MAX_BYTES", conditional_max)
    assert await s3_store.put_if_absent(
        key="once/k", data=b"first", sha256_hex=hashlib.sha256(b"first").hexdigest()
    )
    assert not await s3_store.put_if_absent(key="once/k", data=b"other")
    assert await s3_store.get(key="once/k") == b"first"


LARGE = bytes(range(256)) * (s3.CONDITIONAL_PUT_MAX_BYTES // 256 + 4096)
"""Just over 9 MiB: over the size that is HEADed before its conditional PUT."""
RACERS = 4


async def test_of_writers_racing_with_a_large_blob_exactly_one_stores(s3_store: S3BlobStore) -> None:
    # Every racer's HEAD finds nothing; the server's If-None-Match check at commit picks one.
    digest = hashlib.sha256(LARGE).hexdigest()
    results = await asyncio.gather(
        *(s3_store.put_if_absent(key="race/k", data=LARGE, sha256_hex=digest) for _ in range(RACERS))
    )
    assert sorted(results) == [False] * (RACERS - 1) + [True]
    assert await s3_store.get(key="race/k") == LARGE


async def test_of_writers_racing_with_a_large_file_exactly_one_stores(
    s3_store: S3BlobStore, tmp_path: Path
) -> None:
    path = tmp_path / "large"
    path.write_bytes(LARGE)
    digest = hashlib.sha256(LARGE).hexdigest()
    results = await asyncio.gather(
        *(s3_store.put_file_if_absent(key="race/f", path=path, sha256_hex=digest) for _ in range(RACERS))
    )
    assert sorted(results) == [False] * (RACERS - 1) + [True]
    assert await s3_store.get(key="race/f") == LARGE


@pytest.mark.parametrize("conditional_max", [8 * 1024 * 1024, 0])
async def test_put_file_if_absent_stores_once_and_never_overwrites(
    s3_store: S3BlobStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, conditional_max: int
) -> None:
    monkeypatch.setattr(s3, "CONDITIONAL_PUT_MAX_BYTES", conditional_max)
    (tmp_path / "first").write_bytes(b"first")
    (tmp_path / "other").write_bytes(b"other")
    assert await s3_store.put_file_if_absent(key="once/f", path=tmp_path / "first")
    assert not await s3_store.put_file_if_absent(key="once/f", path=tmp_path / "other")
    assert await s3_store.get(key="once/f") == b"first"


async def test_every_object_names_the_process_that_wrote_it(s3_store: S3BlobStore, tmp_path: Path) -> None:
    this_process = f"{os.getpid()}@{socket.gethostname()}"
    (tmp_path / "doc").write_bytes(b"from a file")
    await s3_store.put(key="who/put", data=b"x")
    await s3_store.put_if_absent(key="who/conditional", data=b"y")
    await s3_store.put_file(key="who/file", path=tmp_path / "doc")
    await s3_store.put_file_if_absent(key="who/file-conditional", path=tmp_path / "doc")
    for key in ("who/put", "who/conditional", "who/file", "who/file-conditional"):
        assert await s3_store.writer_of(key=key) == this_process


async def test_an_explicit_writer_is_recorded_and_a_missing_object_is_not_found(
    s3_store: S3BlobStore, minio: MinioServer
) -> None:
    named = S3BlobStore(
        bucket=s3_store.bucket,
        endpoint_url=minio.endpoint_url,
        access_key_id=minio.access_key,
        secret_access_key=minio.secret_key,
        writer="worker-b@host-2",
    )
    try:
        await named.put(key="who/named", data=b"x")
        assert await s3_store.writer_of(key="who/named") == "worker-b@host-2"
    finally:
        await named.close()
    with pytest.raises(BlobNotFoundError, match="key=who/nobody"):
        await s3_store.writer_of(key="who/nobody")


@pytest.mark.parametrize("writer", ["", " ", "w\nx", "wörker"])
def test_a_writer_that_cannot_be_an_http_header_is_refused(writer: str) -> None:
    with pytest.raises(ValueError, match="writer must be"):
        S3BlobStore(bucket="bucket", writer=writer)
