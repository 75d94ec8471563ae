"""Flags the lifecycle commands (``gc``, ``bundle export``) share: connection, store, progress."""

from __future__ import annotations

import argparse

from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.stack.connect import (
    ConnectError,
    ConnectionFlags,
    ConnectionTarget,
    add_connection_flags,
    resolve_target,
)


def add_server_and_store_args(parser: argparse.ArgumentParser) -> None:
    """The connection flags (profiles, TLS, API key; :mod:`rag_claimcheck.stack.connect`), ``--store``, ``--no-progress``."""
    add_connection_flags(parser)
    group = parser.add_argument_group("store")
    group.add_argument("--store", choices=("file", "s3"), help="file or s3 (default CLAIM_CHECK_STORE)")
    group.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def settings_or_exit(parser: argparse.ArgumentParser, args: argparse.Namespace) -> ClaimCheckSettings:
    """The ``CLAIM_CHECK_*`` settings with ``--store`` on top; a nonsense value exits naming the variable."""
    try:
        return ClaimCheckSettings.from_env(store=args.store)
    except ValueError as e:
        parser.error(str(e))


def target_or_exit(parser: argparse.ArgumentParser, args: argparse.Namespace) -> ConnectionTarget:
    """Where to connect (flags, ``TEMPORAL_*`` variables, profile); a broken profile exits with one line."""
    try:
        return resolve_target(ConnectionFlags.from_namespace(args))
    except ConnectError as e:
        parser.exit(1, f"{parser.prog}: {e.type}: {e.message}\n")
