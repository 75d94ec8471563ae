"""Measure a workflow's event history: per-event bytes, payload bytes, and the server's own total."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

if TYPE_CHECKING:
    import pandas as pd

BLOB_WARN_BYTES = 512 * 1024
"""Server default ``limit.blobSize.warn``: a payload over this logs a warning."""
BLOB_ERROR_BYTES = 2 * 1024 * 1024
"""Server default ``limit.blobSize.error``: a payload over this is rejected."""


def payload_bytes(message: Message) -> int:
    """Total serialized size of every ``Payload`` inside ``message`` (searched recursively)."""
    if isinstance(message, Payload):
        return message.ByteSize()
    total = 0
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.is_repeated:
            if field.message_type.GetOptions().map_entry:
                total += sum(payload_bytes(v) for v in value.values() if isinstance(v, Message))
            else:
                total += sum(payload_bytes(v) for v in value)
        else:
            total += payload_bytes(value)
    return total


@dataclass(frozen=True)
class HistorySummary:
    """Totals for one workflow run."""

    workflow_id: str
    events: int
    event_bytes: int
    payload_bytes: int
    largest_event_bytes: int
    server_history_size_bytes: int
    server_history_length: int
    status: str


async def history_frame(handle: WorkflowHandle) -> pd.DataFrame:
    """One row per event: ``event_id``, ``event_type``, ``bytes``, ``payload_bytes``, ``cumulative_bytes``."""
    import pandas as pd

    history = await handle.fetch_history()
    rows = []
    cumulative = 0
    for event in history.events:
        size = event.ByteSize()
        cumulative += size
        rows.append(
            {
                "event_id": event.event_id,
                "event_type": EventType.Name(event.event_type).removeprefix("EVENT_TYPE_"),
                "bytes": size,
                "payload_bytes": payload_bytes(event),
                "cumulative_bytes": cumulative,
            }
        )
    return pd.DataFrame(
        rows, columns=["event_id", "event_type", "bytes", "payload_bytes", "cumulative_bytes"]
    )


async def summarize(handle: WorkflowHandle) -> HistorySummary:
    """Totals from the events, next to the server's own ``history_size_bytes``."""
    frame = await history_frame(handle)
    desc = await handle.describe()
    return HistorySummary(
        workflow_id=handle.id,
        events=len(frame),
        event_bytes=int(frame["bytes"].sum()) if len(frame) else 0,
        payload_bytes=int(frame["payload_bytes"].sum()) if len(frame) else 0,
        largest_event_bytes=int(frame["bytes"].max()) if len(frame) else 0,
        server_history_size_bytes=int(desc.raw_info.history_size_bytes),
        server_history_length=int(desc.history_length),
        status=desc.status.name if desc.status else "UNKNOWN",
    )


def human_bytes(n: float) -> str:
    """``1536`` → ``"1.5 KiB"``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
