"""Named, Temporal-facing errors of the claim-check machinery.

Each error is an :class:`~temporalio.exceptions.ApplicationError` with a stable ``type`` so that
callers (and the Web UI) can tell them apart after they cross the wire. Whether Temporal retries
is an explicit choice per error: a blob that is gone or corrupt will not come back by retrying,
while an unreachable store may.
"""

from __future__ import annotations

from typing import ClassVar

from temporalio.exceptions import ApplicationError


class ClaimCheckError(ApplicationError):
    """Base class; subclasses set :attr:`error_type` and :attr:`retryable`."""

    error_type: ClassVar[str] = "ClaimCheckError"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, key: str | None = None, workflow_id: str | None = None) -> None:
        super().__init__(message, type=self.error_type, non_retryable=not self.retryable)
        self.key = key
        self.workflow_id = workflow_id


class ClaimCheckPayloadMissing(ClaimCheckError):
    """The reference points at a blob that is not in the store (deleted, expired, wrong store)."""

    error_type = "ClaimCheckPayloadMissing"


class ClaimCheckIntegrityError(ClaimCheckError):
    """The blob's sha256 or size does not match what the reference recorded."""

    error_type = "ClaimCheckIntegrityError"


class ClaimCheckDecompressionLimitExceeded(ClaimCheckError):
    """A compressed blob expands beyond the configured cap (a corrupt or hostile blob)."""

    error_type = "ClaimCheckDecompressionLimitExceeded"


class ClaimCheckReferenceInvalid(ClaimCheckError):
    """A payload marked as a claim-check reference cannot be parsed."""

    error_type = "ClaimCheckReferenceInvalid"


class ClaimCheckStoreUnavailable(ClaimCheckError):
    """The store could not be reached; Temporal retries the task or activity."""

    error_type = "ClaimCheckStoreUnavailable"
    retryable = True


class ClaimCheckPayloadTooLarge(ClaimCheckError):
    """A payload is larger than the codec is configured to store."""

    error_type = "ClaimCheckPayloadTooLarge"
