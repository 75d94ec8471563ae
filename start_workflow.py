#!/usr/bin/env python3
"""Ask a question about a document with a Temporal workflow, with claim check on or off.

Examples:
    python start_workflow.py --embedded                      # nothing else needs to run
    python start_workflow.py --embedded --compare            # history size: off vs codec vs extstore
    python start_workflow.py --embedded --claim-check off --doc big.md --json
    python start_workflow.py --address localhost:7233        # against `python worker.py`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from rag_claimcheck.cli import (
    add_connection_args,
    add_settings_args,
    compare_modes,
    parse_command_args,
    print_report,
    run_once,
)
from rag_claimcheck.logs import configure_command_logging
from rag_claimcheck.samples import DEFAULT_QUESTION, SAMPLE_DOCUMENT


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Ask a question about a document with a Temporal workflow (AiRagWorkflow).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Examples:")[1] and "examples:" + __doc__.split("Examples:")[1],
    )
    parser.add_argument(
        "--doc",
        type=Path,
        default=SAMPLE_DOCUMENT,
        help="text/plain or text/markdown file (default: the bundled handbook)",
    )
    parser.add_argument("--question", default=DEFAULT_QUESTION, help="the question to ask")
    parser.add_argument("--top-k", type=int, default=4, help="passages to retrieve (1-50, default 4)")
    parser.add_argument("--workflow-id", help="workflow id (default: generated)")
    parser.add_argument(
        "--timeout", type=float, default=300, help="workflow execution timeout in seconds (default 300)"
    )
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="with --embedded: run the question in every mode and print a history-size table",
    )
    add_connection_args(parser)
    add_settings_args(parser)
    args = parse_command_args(parser, argv)
    if not args.doc.is_file():
        parser.error(f"--doc {args.doc}: no such file")
    if args.compare and not args.embedded:
        parser.error("--compare needs --embedded (it runs one worker per mode)")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_command_logging()
    if args.compare:
        return asyncio.run(compare_modes(args))
    report = asyncio.run(run_once(args))
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print_report(report)
    return 0 if report.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
