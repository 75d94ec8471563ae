"""What a soak found: the runs, the faults, the audit, the counters and gc, and which end checks failed."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass

from rag_claimcheck.chaos.accounting import WriterCount
from rag_claimcheck.chaos.faults import FaultLog
from rag_claimcheck.chaos.plan import SoakPlan
from rag_claimcheck.chaos.workload import Job
from rag_claimcheck.lifecycle.audit import StoreAudit


@dataclass
class RunSummary:
    """One pass over the jobs."""

    started: int
    completed: int
    seconds: float
    failed: list[dict[str, object]]


@dataclass
class SoakReport:
    """What ``python -m rag_claimcheck.soak`` prints (see :meth:`to_dict`)."""

    plan: SoakPlan
    quiet: RunSummary
    chaos: RunSummary
    faults: FaultLog
    delays: list[float]
    """Per job: chaos seconds minus quiet seconds."""
    differing: list[dict[str, object]]
    audit: StoreAudit
    writers: list[WriterCount]
    unattributed: int
    """Objects whose writer is none of the soak's processes."""
    errors: dict[str, int]
    gc: dict[str, object]
    workers_started: int
    jobs: list[Job]
    document_limit: int
    """Documents over this many bytes were stored before their workflow started."""

    def problems(self) -> list[str]:
        """Each end check that failed, in words; empty when the soak passed."""
        found = []
        for name, run in (("quiet", self.quiet), ("chaos", self.chaos)):
            if run.completed != self.plan.workflows:
                found.append(
                    f"{name} run: {run.completed} of {self.plan.workflows} workflows completed: {run.failed[:3]}"
                )
        if self.differing:
            found.append(
                f"{len(self.differing)} chaos answers differ from the quiet run's: {self.differing[:3]}"
            )
        if self.audit.missing:
            found.append(
                f"{len(self.audit.missing)} referenced objects are missing: {self.audit.missing[:3]}"
            )
        if self.audit.corrupt:
            found.append(
                f"{len(self.audit.corrupt)} objects differ from their reference: {self.audit.corrupt[:3]}"
            )
        if self.audit.orphaned:
            found.append(
                f"{len(self.audit.orphaned)} objects no history refers to: {self.audit.orphaned[:3]}"
            )
        found += [p for w in self.writers if (p := w.problem()) is not None]
        if self.unattributed:
            found.append(f"{self.unattributed} objects were written by none of the soak's processes")
        if self.gc.get("left") != 0:
            found.append(f"gc --delete past retention left {self.gc.get('left')} objects: {self.gc}")
        return found

    def to_dict(self) -> dict[str, object]:
        """The JSON the soak prints."""
        ordered = sorted(self.delays)
        return {
            "plan": self.plan.to_dict(),
            "jobs": {
                "questions": sum(not job.conversation for job in self.jobs),
                "conversations": sum(job.conversation for job in self.jobs),
                "turns": sum(len(job.questions) for job in self.jobs if job.conversation),
                "by_reference": sum(job.size > self.document_limit for job in self.jobs),
                "by_size": {
                    str(size): n for size, n in sorted(Counter(job.size for job in self.jobs).items())
                },
            },
            "workflows_started": self.chaos.started,
            "workflows_completed": self.chaos.completed,
            "quiet": asdict(self.quiet),
            "chaos": asdict(self.chaos),
            "kills": self.faults.kills,
            "workers_started": self.workers_started,
            "store_restarts": self.faults.store_restarts,
            "freezes": self.faults.freezes,
            "fault_events": self.faults.events,
            "completion_delay_seconds": {
                "p50": round(_quantile(ordered, 0.50), 2),
                "p99": round(_quantile(ordered, 0.99), 2),
                "max": round(ordered[-1], 2) if ordered else 0.0,
            },
            "answers_differing": self.differing,
            "store": {
                "objects": self.audit.objects,
                "bytes": self.audit.object_bytes,
                "referenced": self.audit.referenced,
                "orphaned": self.audit.orphaned,
                "missing": self.audit.missing,
                "corrupt": self.audit.corrupt,
                "histories": {
                    "workflows": self.audit.workflows,
                    "runs": self.audit.runs,
                    "events": self.audit.events,
                },
            },
            "counters": {
                "puts": sum(w.puts for w in self.writers),
                "dedup_hits": sum(w.dedup_hits for w in self.writers),
                "objects": sum(w.objects for w in self.writers),
                "landed_after_last_scrape": sum(
                    w.landed_after_last_scrape for w in self.writers if w.role == "killed worker"
                ),
                "unattributed": self.unattributed,
                "writers": [w.to_dict() for w in self.writers],
            },
            "errors_by_type": dict(sorted(self.errors.items())),
            "gc": self.gc,
            "problems": self.problems(),
        }


def _quantile(ordered: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of sorted values (0.0 for none)."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
