"""The claim-check machinery: codec, SDK storage driver, plugin, reference format, errors, settings.

May import: storage, observe.
"""

from __future__ import annotations

from rag_claimcheck.claimcheck.chain import ChainedCodec
from rag_claimcheck.claimcheck.codec import DEFAULT_INLINE_MAX_BYTES, ClaimCheckCodec
from rag_claimcheck.claimcheck.driver import ClaimCheckStorageDriver
from rag_claimcheck.claimcheck.errors import (
    ClaimCheckDecompressionLimitExceeded,
    ClaimCheckError,
    ClaimCheckIntegrityError,
    ClaimCheckPayloadMissing,
    ClaimCheckPayloadTooLarge,
    ClaimCheckReferenceInvalid,
    ClaimCheckStoreUnavailable,
)
from rag_claimcheck.claimcheck.keys import workflow_prefix
from rag_claimcheck.claimcheck.reference import ClaimCheckReference

__all__ = [
    "DEFAULT_INLINE_MAX_BYTES",
    "ChainedCodec",
    "ClaimCheckCodec",
    "ClaimCheckDecompressionLimitExceeded",
    "ClaimCheckError",
    "ClaimCheckIntegrityError",
    "ClaimCheckPayloadMissing",
    "ClaimCheckPayloadTooLarge",
    "ClaimCheckReference",
    "ClaimCheckReferenceInvalid",
    "ClaimCheckStorageDriver",
    "ClaimCheckStoreUnavailable",
    "workflow_prefix",
]
