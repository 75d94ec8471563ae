"""``python -m rag_claimcheck.bundle``: export a workflow's replay bundle, and replay it offline.

A bundle is the workflow's event history plus every blob its references point at, so replay
tests keep working after ``python -m rag_claimcheck.gc`` deleted the blobs from the store.

Examples:
    python -m rag_claimcheck.bundle export -w rag-codec-1a2b3c --out bundles/rag-codec-1a2b3c
    python -m rag_claimcheck.bundle export -w chat-7 --out b/chat-7 --store s3 --address temporal:7233
    python -m rag_claimcheck.bundle replay bundles/rag-codec-1a2b3c     # no server, no store needed
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from temporalio.service import RPCError
from temporalio.workflow import NondeterminismError
from tqdm import tqdm

from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.claimcheck.stores import open_store
from rag_claimcheck.commands.options import add_server_and_store_args, settings_or_exit, target_or_exit
from rag_claimcheck.lifecycle.bundle import BundleError, Manifest, export_bundle, replay_bundle, require_empty
from rag_claimcheck.stack.connect import ConnectError, connect
from rag_claimcheck.storage.base import StoreUnavailableError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rag_claimcheck.bundle",
        description="Export a workflow's history and blobs into a directory, or replay such a bundle offline.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:" + (__doc__ or "").split("Examples:")[1],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{export,replay}")
    export = commands.add_parser(
        "export", help="write history.json, manifest.json and blobs/ for one workflow"
    )
    export.add_argument("-w", "--workflow-id", required=True, help="the workflow to export")
    export.add_argument("-r", "--run-id", help="a specific run (default: the latest)")
    export.add_argument("--out", type=Path, required=True, help="a new (or empty) directory")
    add_server_and_store_args(export)
    replay = commands.add_parser("replay", help="replay a bundle with the kit's workflow code, offline")
    replay.add_argument("directory", type=Path, help="a directory written by 'export'")
    args = parser.parse_args(argv)
    if args.command == "export":
        args.settings = settings_or_exit(export, args)
        args.target = target_or_exit(export, args)
    return args


async def export(args: argparse.Namespace) -> int:
    settings: ClaimCheckSettings = args.settings
    store = open_store(settings)
    try:
        client = await connect(args.target)
        with tqdm(desc="blobs", unit="blob", disable=args.no_progress or None, file=sys.stderr) as bar:
            manifest = await export_bundle(
                client,
                store,
                workflow_id=args.workflow_id,
                run_id=args.run_id,
                out=args.out,
                key_prefix=settings.key_prefix,
                progress=bar.update,
            )
    finally:
        await store.close()
    total = sum(b.size for b in manifest.blobs)
    print(
        f"exported {manifest.workflow_id} (run {manifest.run_id}, {manifest.workflow_type}, claim check "
        f"{manifest.mode}): {manifest.events} events, {len(manifest.blobs)} blobs ({total} bytes) -> {args.out}"
    )
    return 0


async def replay(args: argparse.Namespace) -> int:
    manifest = Manifest.read(args.directory)
    await replay_bundle(args.directory)
    print(
        f"replayed {manifest.workflow_id} (run {manifest.run_id}, {manifest.workflow_type}): "
        f"{manifest.events} events, {len(manifest.blobs)} blobs from {args.directory}: no error"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.command == "export":
            require_empty(args.out)  # before connecting: a refusal needs no server, store or runtime
        return asyncio.run(export(args) if args.command == "export" else replay(args))
    except BundleError as e:
        print(f"bundle: {e}", file=sys.stderr)
        return 1
    except NondeterminismError as e:
        print(f"bundle: the workflow code no longer replays this history: {e}", file=sys.stderr)
        return 1
    except ConnectError as e:
        print(f"bundle: {e.type}: {e.message}", file=sys.stderr)
        return 2
    except RPCError as e:
        print(f"bundle: the Temporal server refused: {e.status.name}: {e.message}", file=sys.stderr)
        return 2
    except (RuntimeError, StoreUnavailableError) as e:
        print(f"bundle: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
