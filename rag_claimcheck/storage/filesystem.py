"""A blob store on the local filesystem: the embedded default for laptops and workshops."""

from __future__ import annotations

import asyncio
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


class FileBlobStore(BlobStore):
    """Stores each blob as a file under ``root``; keys map to relative paths.

    Writes are atomic (temporary file, then rename), so a reader never sees half a blob.
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

    def _write_atomically(self, path: Path, write: Callable[[BinaryIO], object]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _put_sync(self, path: Path, data: bytes) -> None:
        self._write_atomically(path, lambda fh: fh.write(data))

    def _copy_sync(self, source: Path, path: Path, progress: Progress | None) -> None:
        def copy(fh: BinaryIO) -> None:
            with source.open("rb") as src:
                while piece := src.read(STREAM_CHUNK_BYTES):
                    fh.write(piece)
                    if progress is not None:
                        progress(len(piece))

        self._write_atomically(path, copy)

    async def put(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> None:
        path = self._path(key)
        try:
            await asyncio.to_thread(self._put_sync, path, bytes(data))
        except OSError as e:
            raise StoreUnavailableError(f"cannot write blob [store={self.name}, key={key}]: {e}") from e

    async def put_file(
        self, *, key: str, path: Path, sha256_hex: str | None = None, progress: Progress | None = None
    ) -> None:
        target = self._path(key)
        try:
            await asyncio.to_thread(self._copy_sync, Path(path), target, progress)
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
