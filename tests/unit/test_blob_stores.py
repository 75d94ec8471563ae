"""Blob stores honour one contract; the filesystem store cannot be tricked outside its root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag_claimcheck.storage import (
    BlobNotFoundError,
    BlobStore,
    FileBlobStore,
    InvalidKeyError,
    MemoryBlobStore,
)


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return MemoryBlobStore() if request.param == "memory" else FileBlobStore(tmp_path / "blobs")


async def test_put_get_exists_delete_list(store: BlobStore) -> None:
    await store.put(key="a/b/one", data=b"1")
    await store.put(key="a/b/two", data=b"22")
    await store.put(key="a/c/three", data=b"333")
    assert await store.get(key="a/b/two") == b"22"
    assert await store.exists(key="a/b/one")
    assert [(b.key, b.size) for b in await store.list(prefix="a/b/")] == [("a/b/one", 1), ("a/b/two", 2)]
    await store.delete(key="a/b/one")
    await store.delete(key="a/b/one")  # deleting twice is fine
    assert not await store.exists(key="a/b/one")
    assert await store.delete_prefix(prefix="a/") == 2
    assert await store.list(prefix="") == []


async def test_missing_key_raises_blob_not_found_naming_the_key(store: BlobStore) -> None:
    with pytest.raises(BlobNotFoundError, match=r"key=nope/x"):
        await store.get(key="nope/x")


@pytest.mark.parametrize(
    "key", ["../escape", "a/../../escape", "/etc/passwd", "a\x00b", "", "a//b", "a\\b", "./a"]
)
async def test_unsafe_keys_are_rejected(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        await store.put(key=key, data=b"x")


async def test_filesystem_store_rejects_a_symlink_that_leads_outside_its_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store = FileBlobStore(tmp_path / "blobs")
    os.symlink(outside, store.root / "link")
    with pytest.raises(InvalidKeyError, match="outside the store root"):
        await store.put(key="link/stolen", data=b"x")
    assert list(outside.iterdir()) == []


async def test_filesystem_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    await store.put(key="k/v", data=b"x" * 10_000)
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["v"]


async def test_delete_prefix_refuses_the_whole_store(store: BlobStore) -> None:
    with pytest.raises(InvalidKeyError):
        await store.delete_prefix(prefix="")
