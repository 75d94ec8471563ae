"""Measure a workflow's event history: per-event bytes, payload bytes, and the server's own total."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every ``Payload`` inside ``message`` (searched recursively, not inside payloads)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.is_repeated:
            if field.message_type.GetOptions().map_entry:
                for v in value.values():
                    if isinstance(v, Message):
                        yield from payloads_in(v)
            else:
                for v in value:
                    yield from payloads_in(v)
        else:
            yield from payloads_in(value)


def payload_bytes(message: Message) -> int:
    """Total serialized size of every ``Payload`` inside ``message``."""
    return sum(p.ByteSize() for p in payloads_in(message))


@dataclass(frozen=True)
class KeptOut:
    """What the references in a history say they kept out of it."""

    payloads: int
    bytes: int


def kept_out(events: Iterable[Message]) -> KeptOut:
    """Count the ``external_payloads`` marks in ``events``.

    This is the sum a recent Temporal server (with ``history.externalPayloadsEnabled``)
    keeps and reports in ``describe()``; older servers, like the dev server of Temporal CLI 1.5,
    store the marks but report 0.
    """
    marks = [ext.size_bytes for event in events for p in payloads_in(event) for ext in p.external_payloads]
    return KeptOut(payloads=len(marks), bytes=sum(marks))


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
    kept_out_bytes: int = 0
    """Bytes the history's references kept out of it (their ``external_payloads`` marks)."""
    kept_out_payloads: int = 0
    """How many payloads the history's references replaced."""
    external_payload_size_bytes: int = 0
    """The server's own figure for ``kept_out_bytes`` (``describe()``; 0 on servers that predate it, e.g. the dev server of CLI 1.5)."""
    external_payload_count: int = 0
    """The server's own figure for ``kept_out_payloads``."""


async def history_frame(handle: WorkflowHandle) -> pd.DataFrame:
    """One row per event.

    Columns: ``event_id``, ``event_type``, ``bytes``, ``payload_bytes``, ``external_bytes`` (what
    the event's references kept out of history, from their ``external_payloads`` marks),
    ``external_payloads`` (how many references) and ``cumulative_bytes``.
    """
    import pandas as pd

    history = await handle.fetch_history()
    rows = []
    cumulative = 0
    for event in history.events:
        size = event.ByteSize()
        cumulative += size
        external = kept_out([event])
        rows.append(
            {
                "event_id": event.event_id,
                "event_type": EventType.Name(event.event_type).removeprefix("EVENT_TYPE_"),
                "bytes": size,
                "payload_bytes": payload_bytes(event),
                "external_bytes": external.bytes,
                "external_payloads": external.payloads,
                "cumulative_bytes": cumulative,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "event_id",
            "event_type",
            "bytes",
            "payload_bytes",
            "external_bytes",
            "external_payloads",
            "cumulative_bytes",
        ],
    )


async def summarize(handle: WorkflowHandle) -> HistorySummary:
    """Totals from the events, next to the server's own ``history_size_bytes``."""
    frame = await history_frame(handle)
    desc = await handle.describe()
    external = int(frame["external_bytes"].sum()) if len(frame) else 0
    return HistorySummary(
        workflow_id=handle.id,
        events=len(frame),
        event_bytes=int(frame["bytes"].sum()) if len(frame) else 0,
        payload_bytes=int(frame["payload_bytes"].sum()) if len(frame) else 0,
        largest_event_bytes=int(frame["bytes"].max()) if len(frame) else 0,
        server_history_size_bytes=int(desc.raw_info.history_size_bytes),
        server_history_length=int(desc.history_length),
        status=desc.status.name if desc.status else "UNKNOWN",
        kept_out_bytes=external,
        kept_out_payloads=int(frame["external_payloads"].sum()) if len(frame) else 0,
        external_payload_size_bytes=int(desc.raw_info.external_payload_size_bytes),
        external_payload_count=int(desc.raw_info.external_payload_count),
    )


def human_bytes(n: float) -> str:
    """``1536`` → ``"1.5 KiB"``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
