"""The small payload that replaces a large one in event history, and how to recognise it.

Two formats are read:

* ``v2`` (written by this kit): metadata ``encoding: json/claim-check-reference`` and
  ``claim-check-version: 2``; data is a JSON object recording key, store, sizes, sha256 and
  compression, so a reader can verify what it fetched, and a short note (``claim_check``) saying
  that it is a reference to be decoded with the codec server, for anyone reading raw history.
* ``v1`` (written by the published Temporal AI-cookbook recipe): metadata
  ``encoding: claim-checked`` and ``temporal.io/claim-check-codec: v1``; data is the object key
  of a serialized ``Payload`` at the bucket root.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from temporalio.api.common.v1 import Payload

REFERENCE_ENCODING = b"json/claim-check-reference"
VERSION_METADATA_KEY = "claim-check-version"
REFERENCE_VERSION = 2

NOTE_FIELD = "claim_check"
NOTE = "a reference: the payload is in the blob store; decode with the rag-claimcheck codec server"
"""Written into every v2 reference so that someone reading raw history (no codec server) knows what it is."""

RECIPE_METADATA_KEY = "temporal.io/claim-check-codec"
RECIPE_ENCODING = b"claim-checked"
RECIPE_VERSION = b"v1"


@dataclass(frozen=True)
class ClaimCheckReference:
    """Where a payload's data went and how to check it when it comes back.

    The blob holds the payload's ``data`` bytes as they are (so an object in the bucket is the
    real JSON, text or binary); the payload's small ``metadata`` travels in the reference.

    Attributes:
        key: Object key in the store.
        store: Name of the store that wrote it (``s3://bucket``, ``file:///…``, ``memory``).
        size: Length of the payload's data in bytes.
        stored_size: Size of the stored (possibly compressed) blob in bytes.
        sha256: Hex digest of the stored blob.
        compression: ``none``, ``zstd`` or ``gzip``.
        metadata: The payload's metadata, values base64-encoded.
        encoding: The payload's ``encoding`` metadata, readable, for display.
    """

    key: str
    store: str
    size: int
    stored_size: int
    sha256: str
    compression: str = "none"
    metadata: Mapping[str, str] = field(default_factory=dict)
    encoding: str = ""

    @classmethod
    def metadata_of(cls, payload: Payload) -> dict[str, str]:
        """A payload's metadata with base64 values, as the reference records it."""
        return {k: base64.b64encode(v).decode("ascii") for k, v in sorted(payload.metadata.items())}

    def restore(self, data: bytes) -> Payload:
        """The original payload: the recorded metadata around ``data``."""
        return Payload(metadata={k: base64.b64decode(v) for k, v in self.metadata.items()}, data=data)

    def to_payload(self) -> Payload:
        """Serialize as a reference payload."""
        body = {NOTE_FIELD: NOTE, "v": REFERENCE_VERSION, **asdict(self)}
        return Payload(
            metadata={"encoding": REFERENCE_ENCODING, VERSION_METADATA_KEY: str(REFERENCE_VERSION).encode()},
            data=json.dumps(body, separators=(",", ":"), sort_keys=True).encode(),
        )

    def to_claim_data(self) -> dict[str, str]:
        """The reference as the string map an SDK ``StorageDriverClaim`` carries."""
        data = {name: str(value) for name, value in asdict(self).items() if name != "metadata"}
        data["metadata"] = json.dumps(dict(self.metadata), sort_keys=True)
        return data

    @classmethod
    def from_claim_data(cls, data: Mapping[str, str]) -> ClaimCheckReference:
        """Parse the string map of a ``StorageDriverClaim``; raises ``ValueError`` if malformed."""
        try:
            metadata = json.loads(data.get("metadata", "{}"))
        except ValueError as e:
            raise ValueError(f"malformed claim-check claim metadata: {e}") from e
        return cls._from_mapping({**data, "metadata": metadata})

    @classmethod
    def from_payload(cls, payload: Payload) -> ClaimCheckReference:
        """Parse a v2 reference payload; raises ``ValueError`` if it is malformed."""
        try:
            body = json.loads(payload.data)
        except ValueError as e:
            raise ValueError(f"malformed claim-check reference: {e}") from e
        if not isinstance(body, dict):
            raise ValueError("malformed claim-check reference: not a JSON object")
        return cls._from_mapping(body)

    @classmethod
    def _from_mapping(cls, body: Mapping[str, object]) -> ClaimCheckReference:
        try:
            metadata = body.get("metadata", {})
            if not isinstance(metadata, Mapping) or not all(isinstance(v, str) for v in metadata.values()):
                raise ValueError("metadata must map names to base64 strings")
            return cls(
                key=str(body["key"]),
                store=str(body["store"]),
                size=int(body["size"]),  # type: ignore[call-overload] # validated by int()
                stored_size=int(body["stored_size"]),  # type: ignore[call-overload] # validated by int()
                sha256=str(body["sha256"]),
                compression=str(body.get("compression", "none")),
                metadata={str(k): v for k, v in metadata.items()},
                encoding=str(body.get("encoding", "")),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"malformed claim-check reference: {e}") from e


def is_reference(payload: Payload) -> bool:
    """Whether ``payload`` is a v2 reference written by this kit."""
    return payload.metadata.get("encoding") == REFERENCE_ENCODING


def is_recipe_reference(payload: Payload) -> bool:
    """Whether ``payload`` is a v1 reference written by the AI-cookbook recipe."""
    return payload.metadata.get(RECIPE_METADATA_KEY) == RECIPE_VERSION
