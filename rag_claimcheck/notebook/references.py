"""Which events of a workflow's history hold claim-check references, and what each stands for."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from rag_claimcheck.claimcheck.reference import ClaimCheckReference, is_reference


def _payloads(message: Message) -> Iterator[Payload]:
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.is_repeated:
            values = value.values() if field.message_type.GetOptions().map_entry else value
            for item in values:
                if isinstance(item, Message):
                    yield from _payloads(item)
        else:
            yield from _payloads(value)


async def reference_events(handle: WorkflowHandle) -> pd.DataFrame:
    """One row per kit reference (codec mode) in the history of ``handle``.

    Columns: ``event_id``, ``event_type``, ``reference_bytes`` (what history holds),
    ``original_bytes`` (what the reference stands for) and ``key``.
    """
    history = await handle.fetch_history()
    rows = []
    for event in history.events:
        for payload in _payloads(event):
            if not is_reference(payload):
                continue
            reference = ClaimCheckReference.from_payload(payload)
            rows.append(
                {
                    "event_id": event.event_id,
                    "event_type": EventType.Name(event.event_type).removeprefix("EVENT_TYPE_"),
                    "reference_bytes": payload.ByteSize(),
                    "original_bytes": reference.size,
                    "key": reference.key.rsplit("/", 1)[-1][:12] + "…",
                }
            )
    return pd.DataFrame(rows, columns=["event_id", "event_type", "reference_bytes", "original_bytes", "key"])
