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


HASH_SLICE_CHARS = 4 * 1024 * 1024
"""Characters encoded at a time to hash a text: its UTF-8 form is never made whole."""


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
    mime = check_mime_type(document.filename, document.mime_type)
    sha256, byte_size = utf8_digest(document.filename, document.text)
    return chunk_document(
        document.filename,
        mime,
        document.text,
        sha256=sha256,
        byte_size=byte_size,
        max_chars=max_chars,
        overlap_chars=overlap_chars,
    )


def check_mime_type(filename: str, mime_type: str) -> str:
    """The bare MIME type if the kit reads it, else ``UnsupportedDocumentType`` (non-retryable)."""
    mime = mime_type.split(";")[0].strip().lower()
    if mime not in SUPPORTED_MIME_TYPES:
        raise errors.bad_input(
            f"{filename}: unsupported document type {mime_type!r}; supported: {', '.join(SUPPORTED_MIME_TYPES)}",
            errors.UNSUPPORTED_DOCUMENT_TYPE,
        )
    return mime


def utf8_digest(filename: str, text: str) -> tuple[str, int]:
    """The sha256 and size of ``text``'s UTF-8 form, encoded a slice at a time (never a whole copy).

    Raises ``DocumentNotUtf8`` naming a lone surrogate and its character offset.
    """
    digest = hashlib.sha256()
    size = 0
    for at in range(0, len(text), HASH_SLICE_CHARS):
        part = text[at : at + HASH_SLICE_CHARS]
        try:
            data = part.encode("utf-8")
        except UnicodeEncodeError as e:
            raise errors.bad_input(
                f"{filename} is not valid UTF-8: character U+{ord(part[e.start]):04X} at character "
                f"offset {at + e.start} is a lone surrogate (bytes decoded with errors='surrogateescape'?); "
                "convert the file to UTF-8 first (e.g. iconv -f latin1 -t utf-8)",
                errors.DOCUMENT_NOT_UTF8,
            ) from None
        digest.update(data)
        size += len(data)
    return digest.hexdigest(), size


def chunk_document(
    filename: str,
    mime_type: str,
    text: str,
    *,
    sha256: str,
    byte_size: int,
    max_chars: int = DEFAULT_MAX_CHARS,
    overlap_chars: int = DEFAULT_OVERLAP_CHARS,
) -> IngestedDocument:
    """Chunk a checked text whose digest is known; ``EmptyDocument`` if it holds no text."""
    if not text or text.isspace():  # not text.strip(): that would copy a large text
        raise errors.bad_input(
            f"{filename} is empty (no text to answer questions from)", errors.EMPTY_DOCUMENT
        )
    starts, ends = chunk_spans(text, max_chars=max_chars, overlap_chars=overlap_chars)
    return IngestedDocument(
        filename=filename,
        mime_type=mime_type,
        byte_size=byte_size,
        char_count=len(text),
        sha256=sha256,
        chunk_starts=starts,
        chunk_ends=ends,
    )
