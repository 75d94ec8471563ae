"""``python -m rag_claimcheck.gc``: delete the blobs of workflows the server no longer retains.

Walks the workflow prefixes in the configured store (``CLAIM_CHECK_STORE``, ``--store``), asks
the Temporal server about each workflow's latest run, and decides (see
:mod:`rag_claimcheck.lifecycle.collect`): running → keep; closed and past the namespace's
retention + ``--grace`` → delete; closed within it → keep; unknown to the server → delete once
``--grace`` has passed since its newest blob was written. A dry run by default.

Examples:
    python -m rag_claimcheck.gc                          # dry run: what would go, and why
    python -m rag_claimcheck.gc --delete                 # delete what is eligible
    python -m rag_claimcheck.gc --json --store s3        # one JSON object (MinIO/S3 store)
    python -m rag_claimcheck.gc --lifecycle-days 35 --store s3   # also install a bucket expiry rule
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import datetime, timedelta, timezone

from temporalio.service import RPCError
from tqdm import tqdm

from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.claimcheck.stores import open_store
from rag_claimcheck.commands.options import add_server_and_store_args, settings_or_exit, target_or_exit
from rag_claimcheck.lifecycle.collect import DEFAULT_CONCURRENCY, DEFAULT_GRACE, CollectionReport, Collector
from rag_claimcheck.observe.history import human_bytes
from rag_claimcheck.stack.connect import ConnectError, connect
from rag_claimcheck.storage.base import StoreUnavailableError

LIFECYCLE_RULE_ID = "rag-claimcheck-expiry"
_DURATION = re.compile(r"(-?)(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h"``, ``"7d"`` (or ``"0"``; a leading ``-`` counts back) → timedelta."""
    if text.strip() == "0":
        return timedelta(0)
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"expected a duration like 30s, 15m, 1h or 7d; got {text!r}")
    sign, number, unit = match.groups()
    value = timedelta(**{_UNITS[unit]: float(number)})
    return -value if sign else value


def parse_instant(text: str) -> datetime:
    """An ISO 8601 time (``2026-01-31T12:00:00+00:00``; without an offset it is UTC)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time like 2026-01-31T12:00:00Z; got {text!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rag_claimcheck.gc",
        description="Delete claim-check blobs of workflows that are closed and past retention "
        "(or unknown to the server). Dry run unless --delete.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:" + (__doc__ or "").split("Examples:")[1],
    )
    parser.add_argument("--delete", action="store_true", help="delete the eligible blobs (default: dry run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--grace",
        type=parse_duration,
        default=DEFAULT_GRACE,
        help="extra time past retention, and past an unknown workflow's newest blob (default 1h)",
    )
    parser.add_argument(
        "--as-of",
        type=parse_instant,
        help="decide as if it were this time (ISO 8601; default now) - a what-if for planning",
    )
    parser.add_argument(
        "--only-namespace", metavar="NS", help="only this namespace's prefixes (default: every namespace)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"workflows asked about at once (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--lifecycle-days",
        type=int,
        metavar="N",
        help="also install a bucket lifecycle rule expiring the kit's keys after N days (s3 store; "
        "choose N > run timeout + retention)",
    )
    add_server_and_store_args(parser)
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.lifecycle_days is not None and args.lifecycle_days < 1:
        parser.error("--lifecycle-days must be at least 1")
    args.settings = settings_or_exit(parser, args)
    args.target = target_or_exit(parser, args)
    if args.lifecycle_days is not None and args.settings.store != "s3":
        parser.error("--lifecycle-days needs the s3 store (--store s3): it installs a bucket lifecycle rule")
    return args


def print_table(report: CollectionReport) -> None:
    """The human-readable report."""
    verb = "deleted" if report.deleted else "would delete (dry run; --delete to act)"
    print(f"store {report.store}, as of {report.as_of.isoformat()}, grace {report.grace}\n")
    print(f"  {'decision':<8} {'status':<16} {'blobs':>6} {'bytes':>10}  workflow")
    for p in report.prefixes:
        print(
            f"  {p.decision:<8} {p.status:<16} {p.blobs:>6} {human_bytes(p.bytes):>10}  "
            f"{p.namespace}/{p.workflow_id or p.prefix}"
        )
        print(f"  {'':<8} {p.reason}")
    t = report.totals()
    print(
        f"\n{t['prefixes']} workflows, {t['blobs']} blobs, {human_bytes(t['bytes'])}; "
        f"eligible: {t['eligible_prefixes']} workflows, {t['eligible_blobs']} blobs, "
        f"{human_bytes(t['eligible_bytes'])}; {verb}: {t['deleted_blobs'] if report.deleted else t['eligible_blobs']} blobs"
    )


async def run(args: argparse.Namespace) -> int:
    settings: ClaimCheckSettings = args.settings
    store = open_store(settings)
    try:
        client = await connect(args.target)
        as_of: datetime | None = args.as_of
        collector = Collector(
            client,
            store,
            grace=args.grace,
            now=(lambda: as_of) if as_of is not None else None,
            concurrency=args.concurrency,
            key_prefix=settings.key_prefix,
        )
        with tqdm(desc="workflows", unit="wf", disable=args.no_progress or None, file=sys.stderr) as bar:
            report = await collector.run(
                delete=args.delete, namespace=args.only_namespace, progress=bar.update
            )
        if args.lifecycle_days is not None:
            from rag_claimcheck.storage.s3 import S3BlobStore

            assert isinstance(store, S3BlobStore)
            await store.set_expiry(
                prefix=f"{settings.key_prefix}/", days=args.lifecycle_days, rule_id=LIFECYCLE_RULE_ID
            )
            print(
                f"lifecycle rule {LIFECYCLE_RULE_ID!r}: objects under {settings.key_prefix}/ in {store.name} "
                f"expire after {args.lifecycle_days} days",
                file=sys.stderr,
            )
    finally:
        await store.close()
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print_table(report)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except ConnectError as e:
        print(f"gc: {e.type}: {e.message}", file=sys.stderr)
        return 2
    except RPCError as e:  # the server refused a question (e.g. permissions)
        print(
            f"gc: the Temporal server at {args.target.describe()} refused: {e.status.name}: {e.message}",
            file=sys.stderr,
        )
        return 2
    except StoreUnavailableError as e:
        print(f"gc: the blob store is unavailable: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
