"""What leaves history: the size threshold, and the mark that stores a payload whatever its size.

A payload that grows with the document (a large document's chunk offsets) would stay inline while
it is under the threshold, and a history would then grow with the document. Marked payloads are
claim-checked by the codec and by the SDK's external storage (the plugin's driver selector) even
when they are small; unmarked ones follow the size threshold.
"""

from __future__ import annotations

from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.converter import PayloadConverter

DEFAULT_INLINE_MAX_BYTES = 128 * 1024
"""Payloads whose serialized size is at or below this many bytes stay in history (128 KiB)."""
OFFLOAD_METADATA_KEY = "claim-check-offload"
OFFLOAD_ALWAYS = b"always"


def is_marked_for_offload(payload: Payload) -> bool:
    """Whether ``payload`` asks to be stored whatever its size."""
    return payload.metadata.get(OFFLOAD_METADATA_KEY) == OFFLOAD_ALWAYS


def offloaded(converter: PayloadConverter, value: object) -> RawValue:
    """``value`` serialized by ``converter`` and marked to be stored whatever its size.

    Serializing the same value twice gives the same bytes (and the same marker), so content
    addressing stores it once however often it is re-sent.
    """
    payload = converter.to_payload(value)
    payload.metadata[OFFLOAD_METADATA_KEY] = OFFLOAD_ALWAYS
    return RawValue(payload)
