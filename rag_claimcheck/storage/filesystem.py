"""A blob store on the local filesystem: the embedded default for laptops and workshops."""

from __future__ import annotations

import asyncio
import errno
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from rag_claimcheck.storage.base import (
    STREAM_CHUNK_BYTES,
    BlobInfo,
    BlobNotFoundError,
    BlobStore,
    InvalidKeyError,
    Progress,
    StoreUnavailableError,
    validate_key,
    validate_prefix,
)

_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP})
"""What ``link()`` fails with on a filesystem that has no hard links (FAT, some network shares)."""


class FileBlobStore(BlobStore):
    """Stores each blob as a file under ``root``; keys map to relative paths.

    Writes are atomic (temporary file, then rename, or a hard link where a blob must not be
    replaced), so a reader never sees half a blob.
    No key can resolve outside ``root``: keys are validated and the resolved path is checked.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        if not str(root):
            raise ValueError("FileBlobStore root must be a non-empty path")
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def name(self) -> str:
        return f"file://{self.root}"

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        if path != self.root and self.root not in path.parents:
            raise InvalidKeyError(f"blob key resolves outside the store root [key={key!r}, root={self.root}]")
        return path

    def _write_atomically(self, path: Path, write: Callable[[BinaryIO], object], *, replace: bool) -> bool:
        """Write a temporary file, then move it to ``path``; False if ``replace`` is off and a blob is there."""
        if not replace and path.is_file():
            return False  # not copied just to be refused
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            if replace:
                os.replace(tmp, path)
                return True
            return _link_unless_present(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _put_sync(self, path: Path, data: bytes, replace: bool) -> bool:
        return self._write_atomically(path, lambda fh: fh.write(data), replace=replace)

    def _copy_sync(self, source: Path, path: Path, progress: Progress | None, replace: bool) -> bool:
        def copy(fh: BinaryIO) -> None:
            with source.open("rb") as src:
                while piece := src.read(STREAM_CHUNK_BYTES):
                    fh.write(piece)
                    if progress is not None:
                        progress(len(piece))

        return self._write_atomically(path, copy, replace=replace)

    async def put(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> None:
        await self._put(key, data, replace=True)

    async def put_if_absent(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> bool:
        """Write a temporary file and hard-link it into place, which fails if a blob is there."""
        return await self._put(key, data, replace=False)

    async def _put(self, key: str, data: bytes, *, replace: bool) -> bool:
        path = self._path(key)
        try:
            return await asyncio.to_thread(self._put_sync, path, bytes(data), replace)
        except OSError as e:
            raise StoreUnavailableError(f"cannot write blob [store={self.name}, key={key}]: {e}") from e

    async def put_file(
        self, *, key: str, path: Path, sha256_hex: str | None = None, progress: Progress | None = None
    ) -> None:
        await self._put_file(key, path, progress, replace=True)

    async def put_file_if_absent(
        self, *, key: str, path: Path, sha256_hex: str | None = None, progress: Progress | None = None
    ) -> bool:
        """Copy the file to a temporary one and hard-link that into place, as :meth:`put_if_absent`."""
        return await self._put_file(key, path, progress, replace=False)

    async def _put_file(self, key: str, path: Path, progress: Progress | None, *, replace: bool) -> bool:
        target = self._path(key)
        try:
            return await asyncio.to_thread(self._copy_sync, Path(path), target, progress, replace)
        except OSError as e:
            raise StoreUnavailableError(f"cannot write blob [store={self.name}, key={key}]: {e}") from e

    async def get(self, *, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobNotFoundError(store=self.name, key=key) from None
        except OSError as e:
            raise StoreUnavailableError(f"cannot read blob [store={self.name}, key={key}]: {e}") from e

    async def iter_chunks(self, *, key: str, chunk_bytes: int = STREAM_CHUNK_BYTES) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            fh = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobNotFoundError(store=self.name, key=key) from None
        except OSError as e:
            raise StoreUnavailableError(f"cannot read blob [store={self.name}, key={key}]: {e}") from e
        try:
            while piece := await asyncio.to_thread(fh.read, chunk_bytes):
                yield piece
        except OSError as e:
            raise StoreUnavailableError(f"cannot read blob [store={self.name}, key={key}]: {e}") from e
        finally:
            fh.close()

    async def exists(self, *, key: str) -> bool:
        return self._path(key).is_file()

    async def delete(self, *, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    def _list_sync(self, prefix: str) -> list[BlobInfo]:
        # Walk only the deepest directory the prefix names, then filter by the full prefix.
        base_dir = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base_dir.is_dir():
            return []
        found: list[BlobInfo] = []
        for dirpath, _dirnames, filenames in os.walk(base_dir):
            for filename in filenames:
                if filename.startswith(".tmp-"):
                    continue
                full = Path(dirpath) / filename
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    stat = full.stat()
                    modified = datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc)
                    found.append(BlobInfo(key=key, size=stat.st_size, modified=modified))
        return sorted(found, key=lambda b: b.key)

    async def list(self, *, prefix: str) -> list[BlobInfo]:
        validate_prefix(prefix)
        return await asyncio.to_thread(self._list_sync, prefix)


def _link_unless_present(tmp: str, path: Path) -> bool:
    """Move the file ``tmp`` to ``path`` unless a blob is there; True if it moved.

    A hard link, unlike a rename, never replaces its target, so of writers racing on one path
    (threads or processes) exactly one places its file. On an error ``tmp`` is left to the caller.
    """
    try:
        os.link(tmp, path)
    except FileExistsError:
        if not path.is_file():
            raise  # a directory under the key: not a blob, so not "already stored"
        os.unlink(tmp)
        return False
    except OSError as e:
        if e.errno not in _NO_HARD_LINKS:
            raise
        # No hard links on this filesystem: check, then rename. Racing writers may then both
        # store and both say so; the bytes are the same either way.
        if path.is_file():
            os.unlink(tmp)
            return False
        os.replace(tmp, path)
        return True
    os.unlink(tmp)
    return True
