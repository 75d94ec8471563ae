"""``python -m rag_claimcheck.soak``: many workflows on several workers while workers die and the store restarts.

Starts its own Temporal dev server and MinIO on free loopback ports, a fleet of ``worker.py``
processes on one bucket, runs the jobs once quietly and once under faults, and checks that
nothing was lost and nothing left behind (see :mod:`rag_claimcheck.chaos.run`). Prints one JSON
object; exits 1 if an end check failed (the JSON's ``problems`` say which).

Examples:
    python -m rag_claimcheck.soak                                   # 300 workflows, 3 workers, codec
    python -m rag_claimcheck.soak --mode extstore --out soak.json   # the SDK's external storage
    python -m rag_claimcheck.soak --workflows 40 --workers 2 --kills 3 --max-document-mib 12
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from rag_claimcheck.chaos.faults import FaultPlan
from rag_claimcheck.chaos.plan import SoakPlan
from rag_claimcheck.chaos.run import run_soak
from rag_claimcheck.chaos.traffic import Outcome
from rag_claimcheck.chaos.workload import DOCUMENT_SIZES, MIB
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.servers.ports import free_port
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.servers.tools import MissingBinaryError


def _positive(kind: type[int] | type[float]) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _not_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rag_claimcheck.soak",
        description="Chaos soak: run many workflows on several workers while workers are killed and frozen "
        "and the store restarts; check nothing was lost or left behind. Prints one JSON object.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:" + (__doc__ or "").split("Examples:")[1],
    )
    default = SoakPlan()
    faults = default.faults
    parser.add_argument(
        "--workflows",
        type=_positive(int),
        default=default.workflows,
        help="jobs per run (default %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=_positive(int),
        default=default.workers,
        help="worker processes (default %(default)s)",
    )
    parser.add_argument(
        "--mode",
        choices=("codec", "extstore"),
        default=default.mode,
        help="claim-check mode (default %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=_positive(float),
        default=default.rate,
        help="chaos-run workflows started a second (default %(default)s)",
    )
    parser.add_argument(
        "--quiet-rate", type=_positive(float), help="quiet-run workflows started a second (default: --rate)"
    )
    parser.add_argument(
        "--max-document-mib",
        type=_positive(float),
        default=max(DOCUMENT_SIZES) / MIB,
        help="leave out the document sizes above this (default %(default)s; sizes: 1 KiB to 20 MiB)",
    )
    parser.add_argument(
        "--conversations",
        type=_not_negative,
        default=default.conversation_share,
        help="share of jobs that are conversations (default %(default)s)",
    )
    parser.add_argument(
        "--turns",
        type=_positive(int),
        default=default.turns,
        help="turns of a conversation (default %(default)s)",
    )
    parser.add_argument(
        "--kill-every",
        nargs=2,
        type=_positive(float),
        metavar=("MIN", "MAX"),
        default=faults.kill_every,
        help="seconds between SIGKILLs (default %(default)s)",
    )
    parser.add_argument(
        "--kills", type=int, help="at most this many SIGKILLs (default: until the jobs are done)"
    )
    parser.add_argument(
        "--store-outage",
        nargs=2,
        type=_not_negative,
        metavar=("AT", "SECONDS"),
        default=(faults.store_outage_at, faults.store_outage_seconds),
        help="stop MinIO AT seconds into the chaos run for SECONDS (0 0: never; default %(default)s)",
    )
    parser.add_argument(
        "--freeze",
        nargs=2,
        type=_not_negative,
        metavar=("AT", "SECONDS"),
        default=(faults.freeze_at, faults.freeze_seconds),
        help="SIGSTOP a worker AT seconds in for SECONDS (0 0: never; default %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=default.seed, help="jobs and faults (default %(default)s)"
    )
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument(
        "--log-dir", type=Path, help="keep the workers' logs here (default: a temporary folder, removed)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    args = parser.parse_args(argv)
    if args.kill_every[0] > args.kill_every[1]:
        parser.error(
            f"--kill-every MIN must not exceed MAX, got {args.kill_every[0]:g} {args.kill_every[1]:g}"
        )
    if args.conversations > 1:
        parser.error(f"--conversations is a share between 0 and 1, got {args.conversations:g}")
    sizes = tuple(size for size in DOCUMENT_SIZES if size <= args.max_document_mib * MIB)
    if not sizes:
        parser.error(
            f"--max-document-mib {args.max_document_mib:g} leaves no document size (the smallest is 1 KiB)"
        )
    args.plan = SoakPlan(
        workflows=args.workflows,
        workers=args.workers,
        mode=args.mode,
        rate=args.rate,
        quiet_rate=args.quiet_rate,
        sizes=sizes,
        weights=default.weights[: len(sizes)],
        conversation_share=args.conversations,
        turns=args.turns,
        seed=args.seed,
        faults=FaultPlan(
            kill_every=tuple(args.kill_every),
            max_kills=args.kills,
            store_outage_at=args.store_outage[0],
            store_outage_seconds=args.store_outage[1],
            freeze_at=args.freeze[0],
            freeze_seconds=args.freeze[1],
        ),
    )
    return args


async def soak(args: argparse.Namespace) -> int:
    plan: SoakPlan = args.plan
    with tempfile.TemporaryDirectory(prefix="rag-claimcheck-soak-") as scratch:
        log_dir = args.log_dir or Path(scratch)
        log_dir.mkdir(parents=True, exist_ok=True)
        bar = tqdm(
            total=2 * plan.workflows,
            desc="quiet, then chaos",
            unit="wf",
            disable=args.no_progress or None,
            file=sys.stderr,
        )

        def progress(label: str, outcome: Outcome) -> None:
            bar.set_description(label)
            bar.update(1)

        async with await DevServer.start() as server:
            minio = await MinioServer.start(data_dir=Path(scratch) / "minio-data", port=free_port())
            try:
                report, minio = await run_soak(
                    plan, address=server.address, minio=minio, log_dir=log_dir, progress=progress
                )
            finally:
                await minio.stop()
                bar.close()
    body = report.to_dict()
    text = json.dumps(body, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    for problem in body["problems"]:  # type: ignore[attr-defined] # a list of strings
        print(f"soak: {problem}", file=sys.stderr)
    return 1 if body["problems"] else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(soak(args))
    except MissingBinaryError as e:
        print(f"python -m rag_claimcheck.soak: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
