"""Blob stores honour one contract; the filesystem store cannot be tricked outside its root."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

import pytest

from rag_claimcheck.storage import (
    BlobNotFoundError,
    BlobStore,
    FileBlobStore,
    InvalidKeyError,
    MemoryBlobStore,
    StoreUnavailableError,
)
from tests.unit.fakes import SlowStore

RACERS = 8
BLOB = bytes(range(256)) * (16 * 1024 * 1024 // 256)
"""16 MiB: writing it takes long enough that every racer starts before the first one finishes."""


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


@pytest.fixture(params=["memory", "file"])
def racers(request: pytest.FixtureRequest, tmp_path: Path) -> list[BlobStore]:
    """One store per racing writer, over the same blobs.

    Memory: one store whose ``put`` waits (as a remote store's does), shared by all. File: one
    store object per writer on one directory, as worker processes would have.
    """
    if request.param == "memory":
        return [SlowStore(delay=0.01)] * RACERS
    return [FileBlobStore(tmp_path / "blobs") for _ in range(RACERS)]


@pytest.mark.parametrize("method", ["put_if_absent", "put_file_if_absent"])
async def test_of_writers_racing_to_store_the_same_bytes_exactly_one_stores(
    racers: list[BlobStore], method: str, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    source.write_bytes(BLOB)
    if method == "put_if_absent":
        results = await asyncio.gather(*(s.put_if_absent(key="race/k", data=BLOB) for s in racers))
    else:
        results = await asyncio.gather(*(s.put_file_if_absent(key="race/k", path=source) for s in racers))
    assert sorted(results) == [False] * (RACERS - 1) + [True]
    assert await racers[0].get(key="race/k") == BLOB
    if isinstance(racers[0], FileBlobStore):  # the losers' temporary files are gone
        assert [p.name for p in (racers[0].root / "race").iterdir()] == ["k"]


async def test_a_conditional_put_never_replaces_a_blob(store: BlobStore, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.write_bytes(b"other")
    assert await store.put_if_absent(key="once/k", data=b"first")
    assert not await store.put_if_absent(key="once/k", data=b"second")
    assert not await store.put_file_if_absent(key="once/k", path=other)
    assert await store.put_file_if_absent(key="once/f", path=other)
    assert (await store.get(key="once/k"), await store.get(key="once/f")) == (b"first", b"other")


async def test_filesystem_without_hard_links_still_stores_once_in_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: str, dst: str) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    store = FileBlobStore(tmp_path)
    assert await store.put_if_absent(key="k/v", data=b"first")
    assert not await store.put_if_absent(key="k/v", data=b"second")
    assert await store.get(key="k/v") == b"first"
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["v"]


async def test_filesystem_conditional_put_over_a_directory_is_unavailable_not_already_stored(
    tmp_path: Path,
) -> None:
    store = FileBlobStore(tmp_path)
    await store.put(key="dir/blob", data=b"x")
    with pytest.raises(StoreUnavailableError, match=r"key=dir\]"):
        await store.put_if_absent(key="dir", data=b"y")
