"""Stable error types of the RAG activities and workflows (``ApplicationError.type``)."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

DOCUMENT_NOT_UTF8 = "DocumentNotUtf8"
UNSUPPORTED_DOCUMENT_TYPE = "UnsupportedDocumentType"
EMPTY_DOCUMENT = "EmptyDocument"
EMPTY_QUESTION = "EmptyQuestion"
QUESTION_TOO_LONG = "QuestionTooLong"
INVALID_PARAMETER = "InvalidParameter"
LLM_AUTHENTICATION = "LLMAuthenticationError"
LLM_BAD_REQUEST = "LLMBadRequest"
LLM_RATE_LIMITED = "LLMRateLimited"
LLM_UNAVAILABLE = "LLMUnavailable"

MAX_QUESTION_CHARS = 4000
"""Longest question, in characters after stripping: a question about the document, not a document
(each query token costs a pass over the index, so a 10 MiB question takes a minute per search)."""


def bad_input(message: str, error_type: str) -> ApplicationError:
    """A non-retryable error for input that no retry can fix."""
    return ApplicationError(message, type=error_type, non_retryable=True)


def check_question(question: str) -> str:
    """Return the stripped question, or raise ``EmptyQuestion`` or ``QuestionTooLong``."""
    stripped = question.strip() if isinstance(question, str) else ""
    if not stripped:
        raise bad_input("the question is empty; ask something about the document", EMPTY_QUESTION)
    if len(stripped) > MAX_QUESTION_CHARS:
        raise bad_input(
            f"the question has {len(stripped):,} characters; the limit is {MAX_QUESTION_CHARS:,} "
            "(ask about the document; pass the text itself with --doc)",
            QUESTION_TOO_LONG,
        )
    return stripped


def check_top_k(top_k: int, maximum: int) -> int:
    """Return ``top_k`` if it is between 1 and ``maximum``, else raise ``InvalidParameter``."""
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= maximum:
        raise bad_input(f"top_k must be a whole number from 1 to {maximum}; got {top_k!r}", INVALID_PARAMETER)
    return top_k


def not_utf8(filename: str, byte: int, offset: int, reason: str) -> ApplicationError:
    """``DocumentNotUtf8``: names the first bad byte and where it is."""
    return bad_input(
        f"{filename} is not valid UTF-8: byte 0x{byte:02x} at offset {offset} ({reason}); "
        "convert it to UTF-8 first (e.g. iconv -f latin1 -t utf-8)",
        DOCUMENT_NOT_UTF8,
    )
