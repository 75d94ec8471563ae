"""The soak's end checks fail when they should, and its command refuses nonsense with one line."""

from __future__ import annotations

import pytest

from rag_claimcheck.chaos.accounting import WriterCount
from rag_claimcheck.chaos.faults import FaultLog
from rag_claimcheck.chaos.plan import SoakPlan
from rag_claimcheck.chaos.report import RunSummary, SoakReport
from rag_claimcheck.chaos.workload import Document, Job, plan_jobs
from rag_claimcheck.commands.soak import parse_args
from rag_claimcheck.lifecycle.audit import StoreAudit


def report(**changes: object) -> SoakReport:
    """A passing report of 2 workflows, with ``changes``."""
    fields: dict[str, object] = {
        "plan": SoakPlan(workflows=2),
        "quiet": RunSummary(started=2, completed=2, seconds=1.0, failed=[]),
        "chaos": RunSummary(started=2, completed=2, seconds=2.0, failed=[]),
        "faults": FaultLog(kills=1),
        "delays": [0.5, 1.5],
        "differing": [],
        "audit": StoreAudit(workflows=4, runs=4, referenced=3, objects=3),
        "writers": [
            WriterCount("1@h", "killed worker", puts=1, dedup_hits=0, objects=2),
            WriterCount("2@h", "worker", puts=1, dedup_hits=4, objects=1),
        ],
        "unattributed": 0,
        "errors": {},
        "gc": {"left": 0},
        "workers_started": 2,
        "jobs": [Job(0, 10, ("q",), False), Job(1, 20, ("q", "r"), True)],
        "document_limit": 15,
    }
    return SoakReport(**{**fields, **changes})  # type: ignore[arg-type] # the fields above, typed


def test_a_passing_report_has_no_problems_and_says_what_it_ran() -> None:
    body = report().to_dict()
    assert body["problems"] == []
    assert body["jobs"] == {
        "questions": 1,
        "conversations": 1,
        "turns": 2,
        "by_reference": 1,
        "by_size": {"10": 1, "20": 1},
    }
    assert body["completion_delay_seconds"] == {"p50": 0.5, "p99": 1.5, "max": 1.5}
    assert body["counters"]["landed_after_last_scrape"] == 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"chaos": RunSummary(2, 1, 2.0, [{"job": 1}])}, "chaos run: 1 of 2 workflows completed"),
        ({"differing": [{"job": 0}]}, "1 chaos answers differ from the quiet run's"),
        (
            {"audit": StoreAudit(objects=3, referenced=2, missing=["k"])},
            "1 referenced objects are missing: ['k']",
        ),
        ({"audit": StoreAudit(objects=3, corrupt=["k: expected"])}, "1 objects differ from their reference"),
        ({"audit": StoreAudit(objects=3, orphaned=["o"])}, "1 objects no history refers to: ['o']"),
        ({"unattributed": 2}, "2 objects were written by none of the soak's processes"),
        ({"gc": {"left": 4}}, "gc --delete past retention left 4 objects"),
        (
            {"writers": [WriterCount("2@h", "worker", puts=1, dedup_hits=0, objects=2)]},
            "worker 2@h: 1 puts counted, 2 objects written",
        ),
        (
            {"writers": [WriterCount("3@h", "starter", puts=3, dedup_hits=0, objects=2)]},
            "starter 3@h: 3 puts counted, 2 objects written",
        ),
        (
            {"writers": [WriterCount("1@h", "killed worker", puts=3, dedup_hits=0, objects=2)]},
            "killed worker 1@h: 3 puts counted, 2 objects written",
        ),
    ],
)
def test_each_failed_end_check_is_named(changes: dict[str, object], named: str) -> None:
    problems = report(**changes).problems()
    assert len(problems) == 1 and problems[0].startswith(named), problems


def test_the_jobs_are_the_same_for_the_same_seed_and_conversations_stay_on_small_documents() -> None:
    docs = {size: Document(source=None, data=b"", questions=("a", "b", "c")) for size in (1, 3 * 1024 * 1024)}  # type: ignore[arg-type] # unused
    first = plan_jobs(200, docs, weights=(1, 1), conversation_share=0.5, turns=3, seed=1)
    assert first == plan_jobs(200, docs, weights=(1, 1), conversation_share=0.5, turns=3, seed=1)
    assert first != plan_jobs(200, docs, weights=(1, 1), conversation_share=0.5, turns=3, seed=2)
    assert all(len(job.questions) == 3 for job in first if job.conversation)
    assert {job.size for job in first if job.conversation} == {1}
    assert any(job.conversation for job in first) and any(job.size > 1 for job in first)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workflows", "0"], "argument --workflows: must be positive, got 0"),
        (["--rate", "-1"], "argument --rate: must be positive, got -1"),
        (["--kill-every", "30", "15"], "--kill-every MIN must not exceed MAX, got 30 15"),
        (["--conversations", "1.5"], "--conversations is a share between 0 and 1, got 1.5"),
        (["--max-document-mib", "0.0001"], "--max-document-mib 0.0001 leaves no document size"),
        (["--workers", "many"], "argument --workers: invalid int value: 'many'"),
    ],
)
def test_the_soak_command_refuses_nonsense_in_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("usage: python -m rag_claimcheck.soak"), err
