#!/usr/bin/env python3
"""Ask a question about a document with a Temporal workflow, with claim check on or off.

Examples:
    python start_workflow.py --embedded                      # nothing else needs to run
    python start_workflow.py --embedded --compare            # history size: off vs codec vs extstore
    python start_workflow.py --embedded --claim-check off --doc big.md --json
    python start_workflow.py --address localhost:7233        # against `python worker.py`
    python start_workflow.py --profile prod                  # a temporal.toml profile, as the Temporal CLI
    python start_workflow.py --question-file question.txt    # a long question (up to 4,000 characters)
    python start_workflow.py --cancel rag-codec-1a2b3c4d5e   # stop a running question; it ends CANCELED
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

from temporalio.exceptions import ApplicationError

from rag_claimcheck.commands.cli import (
    CommandParser,
    add_connection_args,
    add_settings_args,
    cancel_workflow,
    compare_modes,
    parse_command_args,
    print_report,
    run_once,
)
from rag_claimcheck.commands.shutdown import Interrupted, exit_without_finalizing, run_command
from rag_claimcheck.data.samples import DEFAULT_QUESTION, SAMPLE_DOCUMENT
from rag_claimcheck.observe.logs import configure_command_logging
from rag_claimcheck.rag.documents import DocumentTooLarge, check_size
from rag_claimcheck.rag.errors import check_question
from rag_claimcheck.rag.starter import DEFAULT_EXECUTION_TIMEOUT
from rag_claimcheck.stack.preflight import CommandError


def _read_question_file(parser: CommandParser, path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except IsADirectoryError:
        parser.error(f"--question-file {path} is a directory; pass a UTF-8 text file")
    except FileNotFoundError:
        parser.error(f"--question-file {path}: no such file")
    except UnicodeDecodeError as e:
        parser.error(
            f"--question-file {path} is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start})"
        )
    except OSError as e:
        parser.error(f"--question-file {path}: {e.strerror}")


def parse_args(argv: list[str] | None = None) -> tuple[CommandParser, argparse.Namespace]:
    parser = CommandParser(
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
    asked = parser.add_mutually_exclusive_group()
    asked.add_argument("--question", help="the question to ask (default: one about the bundled handbook)")
    asked.add_argument(
        "--question-file", metavar="PATH", help="read the question from a UTF-8 file ('-' = stdin)"
    )
    parser.add_argument("--top-k", type=int, default=4, help="passages to retrieve (1-50, default 4)")
    parser.add_argument("--workflow-id", help="workflow id (default: generated)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_EXECUTION_TIMEOUT.total_seconds(),
        help="workflow execution timeout in seconds (default 3600: longer than the 30-minute store outage "
        "one step rides out, so a crash or an outage delays the answer instead of timing it out)",
    )
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="with --embedded: run the question in every mode and print a history-size table",
    )
    parser.add_argument(
        "--cancel",
        metavar="WORKFLOW_ID",
        help="cancel a running question's workflow and wait until it ends CANCELED (its blobs stay)",
    )
    add_connection_args(parser)
    add_settings_args(parser)
    args = parse_command_args(parser, argv)
    if args.cancel is not None:
        if args.embedded or args.compare:
            parser.error("--cancel acts on a server at --address; it does not combine with --embedded")
        return parser, args
    if args.doc.is_dir():
        parser.error(f"--doc {args.doc} is a directory; pass a text/plain or text/markdown file")
    if not args.doc.is_file():
        parser.error(f"--doc {args.doc}: no such file")
    try:
        check_size(args.doc.name, args.doc.stat().st_size)
    except DocumentTooLarge as e:  # refused before anything is read or sent
        parser.fail(e.type, str(e))
    if args.question_file is not None:
        args.question = _read_question_file(parser, args.question_file)
    elif args.question is None:
        args.question = DEFAULT_QUESTION
    try:
        args.question = check_question(args.question)
    except ApplicationError as e:  # EmptyQuestion, QuestionTooLong: the workflow would refuse it too
        parser.fail(e.type or "InvalidParameter", e.message)
    if args.compare and not args.embedded:
        parser.error("--compare needs --embedded (it runs one worker per mode)")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    args.workflow_id = args.workflow_id or f"rag-{args.settings.mode}-{uuid.uuid4().hex[:10]}"
    return parser, args


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    configure_command_logging()
    try:
        if args.cancel is not None:
            return run_command(cancel_workflow(args))
        if args.compare:
            return run_command(compare_modes(args))
        report = run_command(run_once(args))
    except (CommandError, ApplicationError) as e:  # a dead end with a hint, or a document refused
        parser.fail(e.type or type(e).__name__, e.message, exit_code=1)
    except Interrupted as e:
        where = (
            ""
            if args.embedded or args.compare or args.cancel
            else (
                f"; workflow {args.workflow_id} keeps running on {args.address} "
                f"(stop it with: python start_workflow.py --address {args.address} --cancel {args.workflow_id})"
            )
        )
        print(f"stopped by {e}{where}", file=sys.stderr)
        return e.exit_code
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print_report(report)
    return 0 if report.status == "completed" else 1


if __name__ == "__main__":
    exit_without_finalizing(main)
