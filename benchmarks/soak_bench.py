#!/usr/bin/env python3
"""Chaos soak at full size: 300 workflows on 3 workers, killed, frozen, and the store restarted.

Prints one JSON object with a soak report per mode (``codec``, then ``extstore``): workflows
started and completed, kills, the completion delay against the quiet run (p50/p99), store
objects, orphaned objects, errors by type, the counters per writer and what gc left. Each run
starts its own dev server and MinIO (see ``python -m rag_claimcheck.soak --help`` and
docs/faults.md). Exits 1 if an end check failed in any mode.

    uv run python benchmarks/soak_bench.py                        # both modes, ~25 minutes
    uv run python benchmarks/soak_bench.py --modes codec --workflows 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", nargs="+", choices=("codec", "extstore"), default=["codec", "extstore"])
    parser.add_argument("--workflows", type=int, default=300, help="jobs per run (default %(default)s)")
    parser.add_argument("--workers", type=int, default=3, help="worker processes (default %(default)s)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    runs: dict[str, object] = {}
    failed = False
    for mode in args.modes:
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "soak.json"
            began = time.monotonic()
            # A process per mode: its own servers, and its S3 store's writer is its own pid.
            done = subprocess.run(
                [
                    *(sys.executable, "-m", "rag_claimcheck.soak", "--mode", mode, "--out", str(out)),
                    *("--no-progress", "--workflows", str(args.workflows), "--workers", str(args.workers)),
                ],
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdout=subprocess.DEVNULL,
                stderr=sys.stderr,
                timeout=3 * 3600,
            )
            report = json.loads(out.read_text()) if out.exists() else {"exit": done.returncode}
        report["wall_seconds"] = round(time.monotonic() - began, 1)
        runs[mode] = report
        failed = failed or done.returncode != 0
    body = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "runs": runs}
    text = json.dumps(body, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
