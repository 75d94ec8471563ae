"""Decide which workflows' blobs may go, by asking the Temporal server about each workflow.

The store is walked by workflow prefix (``claim-check/ns/<namespace>/wf/<workflow id>/``).
For each prefix the server is asked about the workflow's *latest* run (a reset or a
continue-as-new run shares the prefix, so the latest run decides):

* running → keep;
* closed, and close time + the namespace's retention + grace has passed → eligible;
* closed within that time → keep (the Web UI, a codec server or a replay may still read it);
* not found (purged by retention, or never started) → eligible once grace has passed since the
  prefix's newest blob was written (a workflow whose input was just encoded may not exist yet);
* a workflow id the key does not spell out (hashed, longer than the key limit) → keep.

Deleting re-asks the server first and deletes only the blobs the walk saw, so a workflow started
again under the same id during the walk keeps its new blobs. Deleting is idempotent: an
interrupted run is finished by running it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal
from urllib.parse import unquote

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from rag_claimcheck.claimcheck.keys import DEFAULT_KEY_PREFIX
from rag_claimcheck.storage.base import BlobInfo, BlobStore

DEFAULT_GRACE = timedelta(hours=1)
"""Extra time past retention (and, for unknown workflows, past the newest write)."""
DEFAULT_CONCURRENCY = 8
"""Workflows asked about (and prefixes deleted) at once."""

Decision = Literal["keep", "delete"]


@dataclass
class PrefixReport:
    """One workflow prefix: what the server says and what gc decides."""

    prefix: str
    namespace: str
    workflow_id: str | None
    status: str
    decision: Decision
    reason: str
    blobs: int
    bytes: int
    newest_write: datetime | None
    deleted_blobs: int = 0
    keys: list[str] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (without the key list)."""
        return {
            "prefix": self.prefix,
            "namespace": self.namespace,
            "workflow_id": self.workflow_id,
            "status": self.status,
            "decision": self.decision,
            "reason": self.reason,
            "blobs": self.blobs,
            "bytes": self.bytes,
            "newest_write": self.newest_write.isoformat() if self.newest_write else None,
            "deleted_blobs": self.deleted_blobs,
        }


@dataclass
class CollectionReport:
    """Everything one gc walk found and did."""

    as_of: datetime
    grace: timedelta
    store: str
    deleted: bool
    prefixes: list[PrefixReport]

    def totals(self) -> dict[str, int]:
        """Counts and bytes: all, eligible for deletion, actually deleted."""
        eligible = [p for p in self.prefixes if p.decision == "delete"]
        return {
            "prefixes": len(self.prefixes),
            "blobs": sum(p.blobs for p in self.prefixes),
            "bytes": sum(p.bytes for p in self.prefixes),
            "eligible_prefixes": len(eligible),
            "eligible_blobs": sum(p.blobs for p in eligible),
            "eligible_bytes": sum(p.bytes for p in eligible),
            "deleted_blobs": sum(p.deleted_blobs for p in self.prefixes),
            "deleted_bytes": sum(p.bytes for p in self.prefixes if p.deleted_blobs),
        }

    def to_dict(self) -> dict[str, object]:
        """What ``--json`` prints."""
        return {
            "as_of": self.as_of.isoformat(),
            "grace_seconds": self.grace.total_seconds(),
            "store": self.store,
            "deleted": self.deleted,
            "prefixes": [p.to_dict() for p in self.prefixes],
            "totals": self.totals(),
        }


@dataclass(frozen=True)
class _Group:
    prefix: str
    namespace: str
    workflow_id: str | None
    blobs: list[BlobInfo]


def group_by_workflow(blobs: list[BlobInfo], *, key_prefix: str = DEFAULT_KEY_PREFIX) -> list[_Group]:
    """Group a listing by ``{key_prefix}/ns/<ns>/wf/<id>/``; other keys (``shared/``) are skipped."""
    groups: dict[str, list[BlobInfo]] = {}
    for blob in blobs:
        parts = blob.key.split("/")
        if len(parts) < 6 or parts[0] != key_prefix or parts[1] != "ns" or parts[3] != "wf":
            continue
        groups.setdefault("/".join(parts[:5]) + "/", []).append(blob)
    out = []
    for prefix, members in sorted(groups.items()):
        _, _, ns_segment, _, wf_segment = prefix.rstrip("/").split("/")
        workflow_id = None if wf_segment.startswith("h-") else unquote(wf_segment)
        out.append(_Group(prefix, unquote(ns_segment), workflow_id, members))
    return out


class Collector:
    """Walk a store's workflow prefixes and decide (and optionally delete) per the server's answers.

    Args:
        client: Any client on the server (the namespace of each prefix is asked explicitly).
        store: The blob store the workers write to.
        grace: Extra time past retention / past the newest write of an unknown workflow's blobs.
        now: The clock (injectable for tests and what-if runs); default: UTC now.
        concurrency: Workflows asked about, and prefixes deleted, at once.
        key_prefix: First segment of every key (``CLAIM_CHECK_KEY_PREFIX``).
    """

    def __init__(
        self,
        client: Client,
        store: BlobStore,
        *,
        grace: timedelta = DEFAULT_GRACE,
        now: Callable[[], datetime] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        key_prefix: str = DEFAULT_KEY_PREFIX,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.client = client
        self.store = store
        self.grace = grace
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.concurrency = concurrency
        self.key_prefix = key_prefix
        self._retention: dict[str, timedelta | None] = {}

    async def run(
        self,
        *,
        delete: bool = False,
        namespace: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> CollectionReport:
        """Walk, decide, and with ``delete`` remove the eligible prefixes' blobs.

        Args:
            namespace: Only this namespace's prefixes (default: every namespace in the store).
            progress: Called with 1 after each prefix is decided (e.g. a tqdm bar's ``update``).
        """
        root = f"{self.key_prefix}/ns/"
        blobs = await self.store.list(prefix=root)
        groups = group_by_workflow(blobs, key_prefix=self.key_prefix)
        if namespace is not None:
            groups = [g for g in groups if g.namespace == namespace]
        as_of = self.now()
        gate = asyncio.Semaphore(self.concurrency)

        async def one(group: _Group) -> PrefixReport:
            async with gate:
                report = await self._decide(group, as_of)
                if delete and report.decision == "delete":
                    await self._delete(report, group)
            if progress is not None:
                progress(1)
            return report

        reports = list(await asyncio.gather(*(one(g) for g in groups)))
        return CollectionReport(
            as_of=as_of, grace=self.grace, store=self.store.name, deleted=delete, prefixes=reports
        )

    async def _decide(self, group: _Group, as_of: datetime) -> PrefixReport:
        written = [b.modified for b in group.blobs if b.modified is not None]
        newest = max(written) if written else None
        report = PrefixReport(
            prefix=group.prefix,
            namespace=group.namespace,
            workflow_id=group.workflow_id,
            status="",
            decision="keep",
            reason="",
            blobs=len(group.blobs),
            bytes=sum(b.size for b in group.blobs),
            newest_write=newest,
            keys=[b.key for b in group.blobs],
        )
        if group.workflow_id is None:
            report.status = "UNKNOWN_ID"
            report.reason = "the key holds a hash of a long workflow id, so the server cannot be asked"
            return report
        status, closed_at = await self._describe(group.namespace, group.workflow_id)
        report.status = status
        if status == "NOT_FOUND":
            written_at = newest or as_of
            due = written_at + self.grace
            if as_of >= due:
                report.decision = "delete"
                report.reason = (
                    f"unknown to the server (purged by retention, or never started); "
                    f"newest blob written {written_at.isoformat()}, grace passed {due.isoformat()}"
                )
            else:
                report.reason = (
                    f"unknown to the server, but blobs were written within grace (until {due.isoformat()})"
                )
            return report
        if status == "RUNNING" or closed_at is None:
            report.reason = "the workflow's latest run is still running"
            return report
        retention = await self._namespace_retention(group.namespace)
        due = closed_at + (retention or timedelta(0)) + self.grace
        if as_of >= due:
            report.decision = "delete"
            report.reason = f"closed {closed_at.isoformat()}; retention {retention} + grace {self.grace} passed {due.isoformat()}"
        else:
            report.reason = (
                f"closed {closed_at.isoformat()}; retained until {due.isoformat()} (retention + grace)"
            )
        return report

    async def _delete(self, report: PrefixReport, group: _Group) -> None:
        # Ask again right before deleting: a new run under the same id may have started.
        again = await self._decide(group, self.now())
        if again.decision != "delete":
            report.decision, report.status, report.reason = "keep", again.status, again.reason
            return
        for key in report.keys:  # only what the walk saw; later writes belong to a newer run
            await self.store.delete(key=key)
        report.deleted_blobs = len(report.keys)

    async def _describe(self, namespace: str, workflow_id: str) -> tuple[str, datetime | None]:
        try:
            response = await self.client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=namespace, execution=WorkflowExecution(workflow_id=workflow_id)
                )
            )
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                return "NOT_FOUND", None
            raise
        info = response.workflow_execution_info
        status = WorkflowExecutionStatus.Name(info.status).removeprefix("WORKFLOW_EXECUTION_STATUS_")
        closed = info.close_time.ToDatetime(tzinfo=timezone.utc) if info.HasField("close_time") else None
        return status, closed

    async def _namespace_retention(self, namespace: str) -> timedelta | None:
        if namespace not in self._retention:
            response = await self.client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace)
            )
            ttl = response.config.workflow_execution_retention_ttl
            self._retention[namespace] = (
                ttl.ToTimedelta() if response.config.HasField("workflow_execution_retention_ttl") else None
            )
        return self._retention[namespace]
