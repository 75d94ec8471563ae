"""The README's first command prints the table the README shows: the numbers cannot drift apart."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(
    r"^\s+(?P<mode>codec|extstore|off)\s+(?P<status>\w+)\s+[\d.]+ \w?i?B\s+(?P<bytes>\d+)\s+"
    r"(?P<events>\d+)\s+(?P<blobs>\d+)\s+(?P<store>[\d.]+ \w?i?B)\s*$",
    re.MULTILINE,
)
HISTORY_TOLERANCE = 0.02
"""History bytes vary a little with ids and timestamps; 2% is far below any mode's difference."""


def table_rows(text: str) -> dict[str, dict[str, str]]:
    return {m["mode"]: m.groupdict() for m in ROW.finditer(text)}


def test_make_demo_prints_the_table_the_readme_shows(tmp_path: Path) -> None:
    readme = table_rows((ROOT / "README.md").read_text(encoding="utf-8"))
    assert set(readme) == {"codec", "extstore", "off"}, "the README's demo table has one row per mode"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIM_CHECK_", "TEMPORAL_", "OPENAI_"))}
    env["CLAIM_CHECK_FILE_ROOT"] = str(tmp_path / "blobs")
    # `make demo` is `make setup temporal-cli` followed by exactly this command.
    result = subprocess.run(
        [sys.executable, "start_workflow.py", "--embedded", "--compare"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    printed = table_rows(result.stdout)
    assert set(printed) == set(readme)
    for mode, row in readme.items():
        got = printed[mode]
        assert (got["status"], got["events"], got["blobs"], got["store"]) == (
            row["status"],
            row["events"],
            row["blobs"],
            row["store"],
        ), f"{mode}: README says {row}, the demo printed {got}"
        assert abs(int(got["bytes"]) - int(row["bytes"])) <= HISTORY_TOLERANCE * int(row["bytes"]), (
            f"{mode}: README says {row['bytes']} history bytes, the demo printed {got['bytes']}"
        )
