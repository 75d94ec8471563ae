"""Turn an uploaded document into chunks: strict about what it accepts, exact about why not."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from rag_claimcheck.rag import errors
from rag_claimcheck.rag.chunking import DEFAULT_MAX_CHARS, DEFAULT_OVERLAP_CHARS, chunk_spans
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
    """Read a file into a :class:`SourceDocument`, decoding it as strict UTF-8.

    Raises:
        ApplicationError: ``DocumentNotUtf8`` naming the first bad byte and its offset.
    """
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
    """Check and chunk ``document``; the result holds chunk offsets into its text, not the text.

    Raises non-retryable ``ApplicationError``s: ``UnsupportedDocumentType`` (not text/plain or
    text/markdown), ``DocumentNotUtf8`` (the text holds a lone surrogate, which no UTF-8 byte
    sequence encodes; names it and its character offset), ``EmptyDocument``.
    """
    mime = document.mime_type.split(";")[0].strip().lower()
    if mime not in SUPPORTED_MIME_TYPES:
        raise errors.bad_input(
            f"{document.filename}: unsupported document type {document.mime_type!r}; "
            f"supported: {', '.join(SUPPORTED_MIME_TYPES)}",
            errors.UNSUPPORTED_DOCUMENT_TYPE,
        )
    text = document.text
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise errors.bad_input(
            f"{document.filename} is not valid UTF-8: character U+{ord(text[e.start]):04X} at character "
            f"offset {e.start} is a lone surrogate (bytes decoded with errors='surrogateescape'?); "
            "convert the file to UTF-8 first (e.g. iconv -f latin1 -t utf-8)",
            errors.DOCUMENT_NOT_UTF8,
        ) from None
    if not text.strip():
        raise errors.bad_input(
            f"{document.filename} is empty (no text to answer questions from)", errors.EMPTY_DOCUMENT
        )
    sha256 = hashlib.sha256(data).hexdigest()
    byte_size = len(data)
    del data  # a large document's UTF-8 copy is not needed for chunking
    starts, ends = chunk_spans(text, max_chars=max_chars, overlap_chars=overlap_chars)
    return IngestedDocument(
        filename=document.filename,
        mime_type=mime,
        byte_size=byte_size,
        char_count=len(text),
        sha256=sha256,
        chunk_starts=starts,
        chunk_ends=ends,
    )
