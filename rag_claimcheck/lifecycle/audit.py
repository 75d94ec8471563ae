"""Audit a store against the histories that use it: every reference resolves, nothing is left over.

For each workflow (every run of it, continue-as-new included) the audit walks the event history
and follows every reference to the store:

* claim-check references (the codec's, and the SDK external storage driver's) in any payload;
* explicit references (:class:`~rag_claimcheck.claimcheck.refs.DataRef`, e.g. a
  :class:`~rag_claimcheck.rag.models.DocumentRef`'s ``blob`` or a conversation's newest turn)
  in the JSON of a payload, inline or stored;
* the chain of a stored conversation: each turn entry names the digest of the one before it.

Each referenced object is read and its sha256 checked against the reference; stored JSON is
searched for further references. What the bucket holds beyond the referenced objects is
*orphaned*. The histories' own record of what went wrong on the way (retried attempts' last
failures, timeouts, failed workflow tasks) is counted by type.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from rag_claimcheck.claimcheck.compression import decompress
from rag_claimcheck.claimcheck.driver import DRIVER_NAME
from rag_claimcheck.claimcheck.keys import DEFAULT_KEY_PREFIX, blob_key
from rag_claimcheck.claimcheck.vault import DEFAULT_MAX_DECOMPRESSED_BYTES
from rag_claimcheck.codec_server.resolve import find_claim
from rag_claimcheck.observe.history import payloads_in
from rag_claimcheck.storage.base import BlobNotFoundError, BlobStore

DEFAULT_CONCURRENCY = 8
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class _Reference:
    key: str
    sha256: str
    compression: str
    json: bool
    """Whether the object's (decompressed) bytes are JSON to search for further references."""
    workflow_id: str


@dataclass
class StoreAudit:
    """What :func:`audit_store` found."""

    workflows: int = 0
    runs: int = 0
    events: int = 0
    referenced: int = 0
    """Distinct objects the histories refer to, directly or through other objects."""
    objects: int = 0
    object_bytes: int = 0
    missing: list[str] = field(default_factory=list)
    """Referenced keys with no object."""
    corrupt: list[str] = field(default_factory=list)
    """``key: expected sha256:…, got sha256:…`` for objects whose bytes differ from the reference."""
    orphaned: list[str] = field(default_factory=list)
    """Objects under the key prefix that no history refers to."""
    failures: dict[str, int] = field(default_factory=dict)
    """What the histories recorded going wrong, by type (e.g. ``ClaimCheckStoreUnavailable``,
    ``timeout:HEARTBEAT``, ``workflow-task-failed:…``)."""

    @property
    def clean(self) -> bool:
        """Every reference resolved to intact bytes and no object is left over."""
        return not (self.missing or self.corrupt or self.orphaned)


def failure_type(failure: Failure) -> str:
    """A failure's type: the application error's ``type``, a timeout's kind, or the failure's class.

    Descends through the activity and child-workflow wrappers to the failure that says why.
    """
    while failure.HasField("cause") and (
        failure.HasField("activity_failure_info") or failure.HasField("child_workflow_execution_failure_info")
    ):
        failure = failure.cause
    if failure.HasField("application_failure_info"):
        return failure.application_failure_info.type or "ApplicationError"
    if failure.HasField("timeout_failure_info"):
        return "timeout:" + TimeoutType.Name(failure.timeout_failure_info.timeout_type).removeprefix(
            "TIMEOUT_TYPE_"
        )
    if failure.HasField("canceled_failure_info"):
        return "canceled"
    if failure.HasField("server_failure_info"):
        return "server:" + (failure.message or "?")
    return failure.WhichOneof("failure_info") or "failure"


def recorded_failures(events: Iterable[HistoryEvent]) -> Iterator[str]:
    """The type of everything a history records going wrong: an attempt's failure that a retry
    carried (``last_failure`` of a started attempt after the first), a failed or timed-out
    activity or workflow task, and a failed workflow."""
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if started.attempt > 1 and started.HasField("last_failure"):
                yield failure_type(started.last_failure)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            yield failure_type(event.activity_task_failed_event_attributes.failure)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            yield failure_type(event.activity_task_timed_out_event_attributes.failure)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            yield "workflow-task-timed-out"
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            attrs = event.workflow_task_failed_event_attributes
            cause = WorkflowTaskFailedCause.Name(attrs.cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")
            yield f"workflow-task-failed:{cause}"
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            yield "workflow-failed:" + failure_type(event.workflow_execution_failed_event_attributes.failure)


def _data_refs(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict in a JSON value that has a DataRef's fields, and every stored turn entry."""
    if isinstance(value, dict):
        if {"key", "sha256", "stored_size", "compression"} <= value.keys() or {
            "turn",
            "previous",
        } <= value.keys():
            yield value
        for item in value.values():
            yield from _data_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _data_refs(item)


def _is_digest(text: object) -> bool:
    return isinstance(text, str) and len(text) == 64 and set(text) <= _HEX


class _Walker:
    def __init__(self, client: Client, store: BlobStore, key_prefix: str, concurrency: int) -> None:
        self.client = client
        self.store = store
        self.key_prefix = key_prefix
        self.limit = asyncio.Semaphore(concurrency)
        self.audit = StoreAudit()
        self.seen: set[str] = set()
        self.failures: Counter[str] = Counter()

    async def workflow(self, workflow_id: str) -> None:
        runs = [
            execution.run_id
            async for execution in self.client.list_workflows(f'WorkflowId = "{workflow_id}"')
        ]
        self.audit.workflows += 1
        for run_id in runs:
            async with self.limit:
                history = await self.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            self.audit.runs += 1
            self.audit.events += len(history.events)
            self.failures.update(recorded_failures(history.events))
            found: list[_Reference] = []
            for event in history.events:
                for payload in payloads_in(event):
                    found += self._in_payload(payload, workflow_id)
            await self._follow(found)

    def _in_payload(self, payload: Any, workflow_id: str) -> list[_Reference]:
        claim = find_claim(payload, driver_names=(DRIVER_NAME,))
        if claim is not None:
            if claim.reference is None:  # the recipe's v1 form records no digest to check against
                return [_Reference(claim.key, "", "none", json=False, workflow_id=workflow_id)]
            ref = claim.reference
            return [
                _Reference(
                    ref.key,
                    ref.sha256,
                    ref.compression,
                    json=ref.encoding.startswith("json/"),
                    workflow_id=workflow_id,
                )
            ]
        if payload.metadata.get("encoding", b"").startswith(b"json/"):
            return self._in_json(payload.data, workflow_id)
        return []

    def _in_json(self, data: bytes, workflow_id: str) -> list[_Reference]:
        try:
            value = json.loads(data)
        except ValueError:
            return []
        found = []
        for ref in _data_refs(value):
            if "turn" in ref:
                previous = ref["previous"]
                if _is_digest(previous):
                    key = blob_key(
                        sha256_hex=previous,
                        namespace=self.client.namespace,
                        workflow_id=workflow_id,
                        key_prefix=self.key_prefix,
                    )
                    found.append(_Reference(key, previous, "none", json=True, workflow_id=workflow_id))
            else:
                found.append(
                    _Reference(
                        str(ref["key"]),
                        str(ref["sha256"]),
                        str(ref["compression"]),
                        json=str(ref.get("content_type", "")).startswith("json/"),
                        workflow_id=workflow_id,
                    )
                )
        return found

    async def _follow(self, found: list[_Reference]) -> None:
        while found:
            fresh = list({ref.key: ref for ref in found if ref.key not in self.seen}.values())
            self.seen.update(ref.key for ref in fresh)
            nested = await asyncio.gather(*(self._check(ref) for ref in fresh))
            found = [ref for refs in nested for ref in refs]

    async def _check(self, ref: _Reference) -> list[_Reference]:
        async with self.limit:
            try:
                stored = await self.store.get(key=ref.key)
            except BlobNotFoundError:
                self.audit.missing.append(ref.key)
                return []
        if ref.sha256:
            digest = await asyncio.to_thread(lambda: hashlib.sha256(stored).hexdigest())
            if digest != ref.sha256:
                self.audit.corrupt.append(f"{ref.key}: expected sha256:{ref.sha256}, got sha256:{digest}")
                return []
        if not ref.json:
            return []
        # A claim's object is its payload's data (the reference keeps the metadata), so a JSON
        # payload's object is JSON, like an explicit reference's.
        data = decompress(stored, ref.compression, max_bytes=DEFAULT_MAX_DECOMPRESSED_BYTES)
        return self._in_json(data, ref.workflow_id)


async def audit_store(
    client: Client,
    store: BlobStore,
    workflow_ids: Iterable[str],
    *,
    key_prefix: str = DEFAULT_KEY_PREFIX,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> StoreAudit:
    """Check ``store`` against the histories of ``workflow_ids`` (every run of each) on ``client``'s namespace.

    Objects anywhere under ``key_prefix`` count, so an object of a workflow not in
    ``workflow_ids`` is reported as orphaned: audit a bucket with every workflow that writes to it.
    """
    walker = _Walker(client, store, key_prefix, concurrency)
    ids = list(dict.fromkeys(workflow_ids))
    for start in range(0, len(ids), concurrency):
        await asyncio.gather(
            *(walker.workflow(workflow_id) for workflow_id in ids[start : start + concurrency])
        )
    audit = walker.audit
    objects = await store.list(prefix=f"{key_prefix}/")
    audit.objects = len(objects)
    audit.object_bytes = sum(blob.size for blob in objects)
    audit.referenced = len(walker.seen) - len(audit.missing)
    audit.orphaned = sorted(blob.key for blob in objects if blob.key not in walker.seen)
    audit.missing.sort()
    audit.corrupt.sort()
    audit.failures = dict(walker.failures)
    return audit
