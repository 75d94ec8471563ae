#!/usr/bin/env python3
"""Run the kit's Temporal worker (RAG workflows and activities) until Ctrl-C.

Examples:
    python worker.py                                  # localhost:7233, claim check from CLAIM_CHECK_MODE (codec)
    python worker.py --claim-check extstore --store s3
    python worker.py --embedded                       # also start a local dev server and print its address
    python worker.py --profile prod                   # a temporal.toml profile (address, namespace, TLS, API key)
    python worker.py --address ns.acct.tmprl.cloud:7233 --namespace ns.acct --tls-cert c.pem --tls-key c.key
    python worker.py --metrics-port 9464              # Prometheus metrics on http://127.0.0.1:9464/metrics
"""

from __future__ import annotations

import argparse
import sys

from rag_claimcheck.commands.cli import (
    CommandParser,
    add_connection_args,
    add_settings_args,
    parse_command_args,
    run_worker,
)
from rag_claimcheck.commands.shutdown import Interrupted, exit_without_finalizing, run_command
from rag_claimcheck.observe.logs import configure_command_logging
from rag_claimcheck.observe.metrics import MetricsUnavailable, serve_prometheus
from rag_claimcheck.stack.preflight import CommandError


def parse_args(argv: list[str] | None = None) -> tuple[CommandParser, argparse.Namespace]:
    parser = CommandParser(
        description="Run the rag-claimcheck worker (AiRagWorkflow, ConversationWorkflow, activities).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:" + __doc__.split("Examples:")[1],
    )
    add_connection_args(parser)
    add_settings_args(parser)
    metrics = parser.add_argument_group("metrics")
    metrics.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics (the SDK's and the kit's claim_check_*) on http://HOST:PORT/metrics",
    )
    metrics.add_argument(
        "--metrics-host", default="127.0.0.1", help="address to serve metrics on (default 127.0.0.1)"
    )
    return parser, parse_command_args(parser, argv)


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    configure_command_logging()
    if args.metrics_port is not None:
        try:
            serve_prometheus(args.metrics_host, args.metrics_port)
        except MetricsUnavailable as e:
            parser.fail("MetricsUnavailable", str(e))
        except ValueError as e:
            parser.error(str(e))
        print(
            f"metrics on http://{args.metrics_host}:{args.metrics_port}/metrics", file=sys.stderr, flush=True
        )
    try:
        run_command(run_worker(args))
    except CommandError as e:
        parser.fail(e.type, e.message, exit_code=1)
    except Interrupted as e:
        print(f"worker stopped ({e})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    exit_without_finalizing(main)
