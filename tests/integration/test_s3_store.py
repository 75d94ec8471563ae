"""The S3 store against a real MinIO: the same contract as the other stores, plus connection handling."""

from __future__ import annotations

import pytest

from rag_claimcheck.servers.ports import free_port
from rag_claimcheck.storage import BlobNotFoundError, InvalidKeyError, StoreUnavailableError
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
