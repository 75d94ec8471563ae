"""The chaos-soak table in docs/benchmarks.md is the recorded run: the two cannot drift apart.

``benchmarks/soak_bench.py --out docs/benchmarks/soak.json`` records a run; the table's rows are
computed here from that JSON and must equal the document's, cell for cell. On a mismatch the
message shows the table to paste.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "docs" / "benchmarks" / "soak.json"
SECTION = "## Chaos soak (`soak_bench.py`)"


def _seconds(value: float) -> str:
    return f"{value:,.1f} s"


def rows(run: dict[str, Any]) -> dict[str, str]:
    """Each figure of one mode's run, as the table shows it."""
    delay = run["completion_delay_seconds"]
    store, counters, jobs = run["store"], run["counters"], run["jobs"]
    return {
        "jobs: questions / conversations (turns) / documents stored by reference": (
            f"{jobs['questions']} / {jobs['conversations']} ({jobs['turns']}) / {jobs['by_reference']}"
        ),
        "workflows completed, quiet run / chaos run": (
            f"{run['quiet']['completed']} / {run['chaos']['completed']} of {run['workflows_started']}"
        ),
        "SIGKILLs / workers started": f"{run['kills']} / {run['workers_started']}",
        "MinIO restarts / workers frozen": f"{run['store_restarts']} / {run['freezes']}",
        "completion delay against the quiet run, p50 / p99 / max": (
            f"{_seconds(delay['p50'])} / {_seconds(delay['p99'])} / {_seconds(delay['max'])}"
        ),
        "answers differing from the quiet run": str(len(run["answers_differing"])),
        "store objects (bytes)": f"{store['objects']:,} ({store['bytes']:,})",
        "objects a history refers to": f"{store['referenced']:,}",
        "orphaned / missing / corrupt objects": (
            f"{len(store['orphaned'])} / {len(store['missing'])} / {len(store['corrupt'])}"
        ),
        "uploads counted (puts) / dedup hits": f"{counters['puts']:,} / {counters['dedup_hits']:,}",
        "objects landed after a killed worker's last scrape": str(counters["landed_after_last_scrape"]),
        "errors by type": ", ".join(f"`{kind}` {n}" for kind, n in run["errors_by_type"].items()),
        "gc past retention: deleted / left": f"{run['gc']['totals']['deleted_blobs']:,} / {run['gc']['left']}",
        "end checks failed": str(len(run["problems"])),
        "wall time (both runs, checks, gc)": _seconds(run["wall_seconds"]),
    }


def expected_table(recorded: dict[str, Any]) -> list[str]:
    modes = list(recorded["runs"])
    per_mode = [rows(recorded["runs"][mode]) for mode in modes]
    lines = ["| figure | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    lines += [f"| {label} | " + " | ".join(r[label] for r in per_mode) + " |" for label in per_mode[0]]
    return lines


def documented_table() -> list[str]:
    """The first table of the section: from its ``| figure |`` header to the first line after it."""
    text = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert SECTION in text, f"docs/benchmarks.md has no section {SECTION!r}"
    lines = text.split(SECTION, 1)[1].split("\n## ", 1)[0].splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("| figure |")), len(lines))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def test_the_soak_table_is_the_recorded_run() -> None:
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    expected = expected_table(recorded)
    assert documented_table() == expected, "docs/benchmarks.md's soak table should read:\n" + "\n".join(
        expected
    )


def test_the_recorded_soak_passed_every_end_check_in_both_modes() -> None:
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    assert set(recorded["runs"]) == {"codec", "extstore"}
    for run in recorded["runs"].values():
        assert run["problems"] == []
        assert run["plan"]["workflows"] == run["workflows_started"] == run["workflows_completed"] == 300
        assert run["plan"]["workers"] == 3
        assert run["store"]["orphaned"] == [] and run["gc"]["left"] == 0
        assert "timeout:START_TO_CLOSE" not in run["errors_by_type"], "every step heartbeats"


def test_the_before_figures_quoted_are_the_first_runs() -> None:
    before = json.loads((ROOT / "docs" / "benchmarks" / "soak-before-answer-heartbeat.json").read_text())
    extstore = before["runs"]["extstore"]
    text = " ".join((ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8").split())
    timeouts = extstore["errors_by_type"]["timeout:START_TO_CLOSE"]
    slowest = extstore["completion_delay_seconds"]["max"]
    assert f"recorded **{timeouts}** `timeout:START_TO_CLOSE` in extstore mode" in text
    assert f"a slowest workflow **{slowest:.1f} s** behind its quiet twin" in text
