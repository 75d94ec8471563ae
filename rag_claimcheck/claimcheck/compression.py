"""Compression of stored blobs, with a hard cap on how far a blob may expand."""

from __future__ import annotations

import gzip
import io
import zlib
from typing import Literal

import zstandard

Compression = Literal["none", "zstd", "gzip"]
COMPRESSIONS: tuple[Compression, ...] = ("none", "zstd", "gzip")
ZSTD_LEVEL = 3
GZIP_LEVEL = 6


class DecompressionLimitError(ValueError):
    """The data expands beyond the cap."""


def compress(data: bytes, method: Compression) -> bytes:
    """Compress ``data`` with ``method`` (``none`` returns it unchanged)."""
    if method == "none":
        return data
    if method == "zstd":
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)
    if method == "gzip":
        return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    raise ValueError(f"unknown compression {method!r}; expected one of {COMPRESSIONS}")


def decompress(data: bytes, method: str, *, max_bytes: int) -> bytes:
    """Decompress ``data``, refusing to produce more than ``max_bytes``.

    Raises:
        DecompressionLimitError: the output would exceed ``max_bytes``.
        ValueError: unknown method or corrupt data.
    """
    if method == "none":
        return data
    if method == "zstd":
        try:
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data))
            chunks: list[bytes] = []
            produced = 0
            while produced <= max_bytes:
                chunk = reader.read(min(max_bytes + 1 - produced, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                produced += len(chunk)
            out = b"".join(chunks)
        except zstandard.ZstdError as e:
            raise ValueError(f"corrupt zstd data: {e}") from e
    elif method == "gzip":
        try:
            out = zlib.decompressobj(wbits=31).decompress(data, max_bytes + 1)
        except zlib.error as e:
            raise ValueError(f"corrupt gzip data: {e}") from e
    else:
        raise ValueError(f"unknown compression {method!r}; expected one of {COMPRESSIONS}")
    if len(out) > max_bytes:
        raise DecompressionLimitError(f"decompressed data exceeds the cap of {max_bytes} bytes")
    return out
