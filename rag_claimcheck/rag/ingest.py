"""Turn an uploaded document into chunks: strict about what it accepts, exact about why not."""

from __future__ import annotations

import binascii
import hashlib
import mimetypes
from pathlib import Path

from rag_claimcheck.rag import errors
from rag_claimcheck.rag.chunking import DEFAULT_MAX_CHARS, DEFAULT_OVERLAP_CHARS, chunk_text
from rag_claimcheck.rag.models import IngestedDocument, SourceDocument

SUPPORTED_MIME_TYPES = ("text/plain", "text/markdown")
_SUFFIX_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
    ".text": "text/plain",
}


def guess_mime_type(path: str | Path) -> str:
    """The MIME type for a file name (``.md`` is ``text/markdown``; unknown is octet-stream)."""
    suffix = Path(path).suffix.lower()
    return _SUFFIX_TYPES.get(suffix) or mimetypes.guess_type(str(path))[0] or "application/octet-stream"


def load_document(path: str | Path, *, mime_type: str | None = None) -> SourceDocument:
    """Read a file into a :class:`SourceDocument` (its bytes are checked later, by ingest)."""
    path = Path(path)
    return SourceDocument.from_bytes(
        path.read_bytes(), filename=path.name, mime_type=mime_type or guess_mime_type(path)
    )


def ingest(
    document: SourceDocument,
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    overlap_chars: int = DEFAULT_OVERLAP_CHARS,
) -> IngestedDocument:
    """Decode and chunk ``document``.

    Raises non-retryable ``ApplicationError``s: ``UnsupportedDocumentType`` (not text/plain or
    text/markdown), ``DocumentNotUtf8`` (names the first bad byte and its offset),
    ``EmptyDocument``, ``InvalidParameter`` (content is not base64).
    """
    mime = document.mime_type.split(";")[0].strip().lower()
    if mime not in SUPPORTED_MIME_TYPES:
        raise errors.bad_input(
            f"{document.filename}: unsupported document type {document.mime_type!r}; "
            f"supported: {', '.join(SUPPORTED_MIME_TYPES)}",
            errors.UNSUPPORTED_DOCUMENT_TYPE,
        )
    try:
        data = document.content()
    except (binascii.Error, ValueError) as e:
        raise errors.bad_input(
            f"{document.filename}: content is not valid base64: {e}", errors.INVALID_PARAMETER
        ) from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise errors.bad_input(
            f"{document.filename} is not valid UTF-8: byte 0x{data[e.start]:02x} at offset {e.start} ({e.reason}); "
            "convert it to UTF-8 first (e.g. iconv -f latin1 -t utf-8)",
            errors.DOCUMENT_NOT_UTF8,
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise errors.bad_input(
            f"{document.filename} is empty (no text to answer questions from)", errors.EMPTY_DOCUMENT
        )
    return IngestedDocument.from_chunks(
        filename=document.filename,
        mime_type=mime,
        byte_size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        chunks=chunk_text(text, max_chars=max_chars, overlap_chars=overlap_chars),
    )
