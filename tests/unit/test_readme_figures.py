"""The README's large-document figures are the benchmark's recorded ones: the two cannot drift apart.

``benchmarks/large_document_bench.py`` writes the JSON kept in ``docs/benchmarks/``; the README
quotes the 1 GiB run on MinIO from it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "docs" / "benchmarks" / "large-documents.json"
SENTENCE = re.compile(
    r"a 1 GiB document is answered in \*\*(?P<wall>[\d.]+) s\*\* \(codec on MinIO; worker peak "
    r"\*\*(?P<peak>[\d,]+) MiB\*\*, history \*\*(?P<history>[\d,]+) bytes\*\*, longest workflow task "
    r"\*\*(?P<task>\d+) ms\*\*\)"
)


def recorded_run(size_mib: int, store: str, condition: str) -> dict[str, object]:
    runs = json.loads(RECORDED.read_text(encoding="utf-8"))["runs"]
    [run] = [
        r for r in runs if (r["document_mib"], r["store"], r["condition"]) == (size_mib, store, condition)
    ]
    return dict(run)


def test_the_readmes_1_gib_figures_are_the_recorded_benchmarks() -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    found = SENTENCE.search(readme)
    assert found, (
        "the README's large-document sentence is missing or reworded; keep it in step with this test"
    )
    run = recorded_run(1024, "minio", "idle")
    assert run["status"] == "completed" and run["answer_found"] and run["cites_the_answer_chunk"], run
    assert float(found["wall"]) == round(float(run["wall_s"]))  # type: ignore[arg-type]  # JSON number
    assert int(found["peak"].replace(",", "")) == round(float(run["worker_peak_rss_mib"]))  # type: ignore[arg-type]
    assert int(found["history"].replace(",", "")) == run["history_size_bytes"]
    assert int(found["task"]) == round(float(run["longest_workflow_task_s"]) * 1000)  # type: ignore[arg-type]
