"""Large documents by reference: stored once by the starter, read only by the activities.

A document travels to the workflows as their first argument. Up to ``CLAIM_CHECK_DOCUMENT_INLINE_MAX_BYTES``
(:data:`~rag_claimcheck.claimcheck.settings.DEFAULT_DOCUMENT_INLINE_MAX_BYTES`, 8 MiB) it goes as a
:class:`~rag_claimcheck.rag.models.SourceDocument` (its text; the codec keeps it out of history like
any large payload). Below that size a workflow task decodes and forwards the document in tens of
milliseconds; above it, that work would grow past what a workflow task should do (seconds under
load, at a gigabyte a stall). The notebooks' documents stay under it. Above it, in ``codec`` and
``extstore`` modes, the starter stores the file's bytes first and the workflow gets a
:class:`~rag_claimcheck.rag.models.DocumentRef` instead: no workflow task decodes, verifies or
copies the document, so the workflow's tasks take milliseconds at any size and no worker holds a
copy for the workflow's sake. The activities read the bytes (streamed into one buffer, sha256
checked as they arrive), decode them once, and keep that one copy of the text for the index.

The bytes go under the workflow's own prefix (``claim-check/ns/<namespace>/wf/<workflow id>/``),
content-addressed, so ``python -m rag_claimcheck.gc`` removes them with the workflow's other blobs,
and a missing, truncated or corrupt blob fails the workflow with the same named, non-retryable
errors as a codec reference (``ClaimCheckPayloadMissing``, ``ClaimCheckIntegrityError``).
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag_claimcheck.claimcheck.refs import DataRef, RefStore
from rag_claimcheck.rag import errors
from rag_claimcheck.rag.models import DocumentRef, IngestedDocument, SourceDocument
from rag_claimcheck.storage.base import STREAM_CHUNK_BYTES, Progress

MIB = 1024 * 1024
MAX_DOCUMENT_BYTES = 4 * 1024 * MIB
"""The largest document the kit takes (4 GiB): the starter refuses a larger file before upload."""
DOCUMENT_CONTENT_TYPE = "text/plain; charset=utf-8"
OFFSETS_CONTENT_TYPE = "application/x-rag-claimcheck-chunk-offsets"
"""Chunk offsets as stored: little-endian int64, every chunk's start, then every chunk's end."""
_BOM = codecs.BOM_UTF8


class DocumentTooLarge(ValueError):
    """A document over :data:`MAX_DOCUMENT_BYTES`; the message names it and both sizes."""

    type = "DocumentTooLarge"


@dataclass(frozen=True)
class CheckedFile:
    """A file read once before upload: its size and sha256, and that it is UTF-8."""

    path: Path
    size: int
    sha256: str


def check_size(filename: str, size: int) -> None:
    """Refuse a document over :data:`MAX_DOCUMENT_BYTES` (raises :class:`DocumentTooLarge`)."""
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(
            f"{filename} is {size / MIB:,.1f} MiB; the limit is {MAX_DOCUMENT_BYTES // MIB:,} MiB "
            "(split it into several documents)"
        )


def check_file(path: Path, *, progress: Progress | None = None) -> CheckedFile:
    """Read ``path`` once, in slices: its size and sha256, and strict UTF-8 (blocking; run it in a thread).

    Raises:
        DocumentTooLarge: Over :data:`MAX_DOCUMENT_BYTES`, before anything is read.
        ApplicationError: ``DocumentNotUtf8`` naming the first bad byte and its offset.
    """
    size = path.stat().st_size
    check_size(path.name, size)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    with path.open("rb") as fh:
        while piece := fh.read(STREAM_CHUNK_BYTES):
            digest.update(piece)
            try:
                decoder.decode(piece)
            except UnicodeDecodeError as e:
                raise _not_utf8(path.name, piece, e, offset) from None
            offset += len(piece)
            if progress is not None:
                progress(len(piece))
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as e:
        raise errors.not_utf8(
            path.name, e.object[e.start], offset - len(e.object) + e.start, e.reason
        ) from None
    return CheckedFile(path=path, size=size, sha256=digest.hexdigest())


def _not_utf8(filename: str, piece: bytes, e: UnicodeDecodeError, offset: int) -> Exception:
    # The incremental decoder reports positions in the bytes it was given, which may begin with
    # the unfinished character left over from the previous piece.
    carried = len(e.object) - len(piece)
    return errors.not_utf8(filename, e.object[e.start], offset - carried + e.start, e.reason)


async def store_file(
    refs: RefStore,
    checked: CheckedFile,
    *,
    mime_type: str,
    namespace: str,
    workflow_id: str,
    progress: Progress | None = None,
) -> DocumentRef:
    """Upload a checked file under ``workflow_id``'s prefix (streamed) and return the workflow's argument."""
    blob = await refs.save_file(
        checked.path,
        content_type=DOCUMENT_CONTENT_TYPE,
        size=checked.size,
        sha256_hex=checked.sha256,
        namespace=namespace,
        workflow_id=workflow_id,
        progress=progress,
    )
    return DocumentRef(filename=checked.path.name, mime_type=mime_type, blob=blob)


async def store_document(
    refs: RefStore,
    document: SourceDocument,
    *,
    namespace: str,
    workflow_id: str,
    data: bytes | None = None,
) -> DocumentRef:
    """Store a document already in memory (a notebook's, a benchmark's) and return the workflow's argument.

    ``data``: the text's UTF-8 bytes, if the caller has encoded it already.
    """
    if data is None:
        data = await asyncio.to_thread(document.text.encode, "utf-8")
    check_size(document.filename, len(data))
    blob = await refs.save_bytes(
        data, content_type=DOCUMENT_CONTENT_TYPE, namespace=namespace, workflow_id=workflow_id
    )
    return DocumentRef(filename=document.filename, mime_type=document.mime_type, blob=blob)


async def load_text(refs: RefStore, document: DocumentRef) -> str:
    """The text of a stored document: fetched into one buffer, verified, decoded once, the buffer released.

    Raises the named, non-retryable errors: ``DocumentTooLarge`` (a reference over the limit),
    ``ClaimCheckPayloadMissing``, ``ClaimCheckIntegrityError`` (truncated, too long, another
    sha256) and ``DocumentNotUtf8``; ``ClaimCheckStoreUnavailable`` is retryable.
    """
    if document.blob.size > MAX_DOCUMENT_BYTES:
        raise errors.bad_input(
            f"{document.filename} is {document.blob.size:,} bytes [key={document.blob.key}]; "
            f"the limit is {MAX_DOCUMENT_BYTES:,}",
            DocumentTooLarge.type,
        )
    buffer = await refs.load_bytes(document.blob)
    return await asyncio.to_thread(_decode, buffer, document.filename)


def _decode(buffer: bytearray, filename: str) -> str:
    skipped = 0
    if buffer.startswith(_BOM):
        del buffer[: len(_BOM)]  # a bytearray drops its head in place, without copying the rest
        skipped = len(_BOM)
    try:
        text = buffer.decode("utf-8")
    except UnicodeDecodeError as e:
        raise errors.not_utf8(filename, buffer[e.start], skipped + e.start, e.reason) from None
    buffer.clear()  # the caller's reference goes next; the text is the one copy left
    return text


async def save_offsets(refs: RefStore, ingested: IngestedDocument) -> IngestedDocument:
    """``ingested`` with its chunk offsets moved to the store (what a stored document's ingest returns)."""
    data = await asyncio.to_thread(_pack, ingested.chunk_starts, ingested.chunk_ends)
    ref = await refs.save_bytes(data, content_type=OFFSETS_CONTENT_TYPE, count=ingested.chunk_count)
    return IngestedDocument(
        filename=ingested.filename,
        mime_type=ingested.mime_type,
        byte_size=ingested.byte_size,
        char_count=ingested.char_count,
        sha256=ingested.sha256,
        chunk_starts=[],
        chunk_ends=[],
        offsets=ref,
    )


async def load_offsets(refs: RefStore, ingested: IngestedDocument) -> IngestedDocument:
    """``ingested`` with its chunk offsets read back from the store (verified), for an index build."""
    if ingested.offsets is None:
        return ingested
    ref: DataRef = ingested.offsets
    data = await refs.load_bytes(ref)
    if ref.content_type != OFFSETS_CONTENT_TYPE or len(data) != 16 * ref.count:
        raise errors.bad_input(
            f"{ingested.filename}: the blob {ref.key} does not hold {ref.count} chunk offsets "
            f"({ref.content_type}, {len(data)} bytes)",
            errors.INVALID_PARAMETER,
        )
    offsets = np.frombuffer(data, dtype="<i8")
    return IngestedDocument(
        filename=ingested.filename,
        mime_type=ingested.mime_type,
        byte_size=ingested.byte_size,
        char_count=ingested.char_count,
        sha256=ingested.sha256,
        chunk_starts=offsets[: ref.count].tolist(),
        chunk_ends=offsets[ref.count :].tolist(),
    )


def _pack(starts: Sequence[int], ends: Sequence[int]) -> bytes:
    packed = np.concatenate((np.asarray(starts, dtype="<i8"), np.asarray(ends, dtype="<i8")))
    return packed.tobytes()
