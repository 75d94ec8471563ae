"""Which events of a workflow's history hold claim-check references, and what each stands for."""

from __future__ import annotations

import pandas as pd
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from rag_claimcheck.claimcheck.reference import ClaimCheckReference, is_reference
from rag_claimcheck.observe.history import payloads_in


async def reference_events(handle: WorkflowHandle) -> pd.DataFrame:
    """One row per kit reference (codec mode) in the history of ``handle``.

    Columns: ``event_id``, ``event_type``, ``reference_bytes`` (what history holds),
    ``original_bytes`` (what the reference stands for) and ``key``.
    """
    history = await handle.fetch_history()
    rows = []
    for event in history.events:
        for payload in payloads_in(event):
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
