"""Flags the lifecycle commands (``gc``, ``bundle export``) share: server, store, progress."""

from __future__ import annotations

import argparse
import os

from rag_claimcheck.settings import ClaimCheckSettings


def add_server_and_store_args(parser: argparse.ArgumentParser, *, namespace_help: str) -> None:
    """``--address``, ``--namespace``, ``--store`` and ``--no-progress``."""
    group = parser.add_argument_group("server and store")
    group.add_argument(
        "--address",
        default=os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"),
        help="Temporal frontend (default env TEMPORAL_ADDRESS or localhost:7233)",
    )
    group.add_argument(
        "--namespace", default=os.environ.get("TEMPORAL_NAMESPACE", "default"), help=namespace_help
    )
    group.add_argument("--store", choices=("file", "s3"), help="file or s3 (default CLAIM_CHECK_STORE)")
    group.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def settings_or_exit(parser: argparse.ArgumentParser, args: argparse.Namespace) -> ClaimCheckSettings:
    """The ``CLAIM_CHECK_*`` settings with ``--store`` on top; a nonsense value exits naming the variable."""
    try:
        return ClaimCheckSettings.from_env(store=args.store)
    except ValueError as e:
        parser.error(str(e))
