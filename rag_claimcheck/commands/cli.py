"""What ``worker.py`` and ``start_workflow.py`` share: flags, connecting, printing."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import timedelta
from typing import Any, NoReturn

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from rag_claimcheck.claimcheck.keys import workflow_prefix
from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.claimcheck.settings import MODES, ClaimCheckSettings
from rag_claimcheck.observe.history import human_bytes
from rag_claimcheck.rag.documents import check_file, store_file
from rag_claimcheck.rag.ingest import guess_mime_type, load_document
from rag_claimcheck.rag.models import DocumentRef, SourceDocument
from rag_claimcheck.rag.starter import RunReport, ask_question, refs_of
from rag_claimcheck.servers.temporal import SERVER_BUILDS
from rag_claimcheck.stack.connect import (
    ConnectError,
    ConnectionFlags,
    add_connection_flags,
    connect,
    resolve_target,
)
from rag_claimcheck.stack.embedded import EmbeddedStack
from rag_claimcheck.stack.preflight import CommandError, require_store, require_worker
from rag_claimcheck.stack.worker import DEFAULT_TASK_QUEUE, build_worker
from rag_claimcheck.storage.base import BlobStore


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, or with ``--json`` one JSON object on stdout."""

    json_errors = False
    """Set by :func:`parse_command_args` when ``--json`` is among the arguments."""

    def error(self, message: str) -> NoReturn:
        """Exit 2 with ``prog: error: message`` (or the JSON report of a usage error)."""
        self.fail("UsageError", message)

    def fail(self, error_type: str, message: str, *, exit_code: int = 2) -> NoReturn:
        """Exit with one line (or one JSON object) naming ``error_type``."""
        if self.json_errors:
            print(json.dumps({"status": "failed", "error": {"type": error_type, "message": message}}))
        elif error_type == "UsageError":
            print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        else:
            print(f"{self.prog}: {error_type}: {message}", file=sys.stderr)
        # os._exit, not sys.exit: after a failed Client.connect the SDK core's threads can still call
        # into Python while the interpreter shuts down, aborting the process about 1 run in 10
        # ("Fatal Python error: PyGILState_Release", temporalio/sdk-python#300). Nothing is left to
        # clean up here: the command's own finally blocks have run.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    """The connection flags (:mod:`rag_claimcheck.stack.connect`), ``--task-queue``, ``--embedded``."""
    group = add_connection_flags(parser)
    group.add_argument(
        "--task-queue", default=DEFAULT_TASK_QUEUE, help=f"task queue (default {DEFAULT_TASK_QUEUE})"
    )
    group.add_argument(
        "--embedded",
        action="store_true",
        help="start a local dev server and an in-process worker; nothing else needs to run",
    )
    group.add_argument(
        "--embedded-server",
        choices=tuple(SERVER_BUILDS),
        help="with --embedded, the dev server: cli (Temporal CLI 1.5.1, server 1.29; default) or 1.32 "
        "(the kit's build of server 1.32, whose describe() and Web UI count the external payloads)",
    )


def add_settings_args(parser: argparse.ArgumentParser) -> None:
    """Claim-check flags; each defaults to its ``CLAIM_CHECK_*`` environment variable."""
    group = parser.add_argument_group("claim check (defaults from CLAIM_CHECK_* variables)")
    group.add_argument(
        "--claim-check", choices=MODES, help="codec (default), extstore (SDK external storage) or off"
    )
    group.add_argument(
        "--store", choices=("file", "s3"), help="file (default; CLAIM_CHECK_FILE_ROOT) or s3 (MinIO/AWS)"
    )
    group.add_argument(
        "--inline-max-bytes", type=int, help="payloads up to this size stay in history (default 131072)"
    )
    group.add_argument(
        "--compression", choices=("none", "zstd", "gzip"), help="compress stored blobs (default none)"
    )
    group.add_argument(
        "--document-inline-max-bytes",
        type=int,
        help="documents up to this size are the workflow's input; larger ones are stored first and "
        "passed by reference in codec and extstore modes (default 8388608, 8 MiB)",
    )


def parse_command_args(parser: CommandParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv``; attach ``args.settings`` and, unless embedded, the resolved connection.

    A nonsense setting exits with the variable's name. ``args.target`` is where to connect
    (profile, ``TEMPORAL_*`` variables and flags; :mod:`rag_claimcheck.stack.connect`), and
    ``args.address``/``args.namespace`` become its values; a broken profile or certificate file
    exits with one line saying which.
    """
    parser.json_errors = "--json" in (sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        args.settings = settings_from_args(args)
    except ValueError as e:
        parser.error(str(e))
    if args.embedded_server and not args.embedded:
        parser.error("--embedded-server needs --embedded (it picks the dev server --embedded starts)")
    args.embedded_server = args.embedded_server or "cli"
    args.target = None
    if not args.embedded:
        try:
            args.target = resolve_target(ConnectionFlags.from_namespace(args))
        except ConnectError as e:
            parser.fail(e.type, e.message, exit_code=1)
        args.address, args.namespace = args.target.address, args.target.namespace
    return args


def settings_from_args(args: argparse.Namespace) -> ClaimCheckSettings:
    """Settings from the environment with the flags that were given on top."""
    return ClaimCheckSettings.from_env(
        mode=args.claim_check,
        store=args.store,
        inline_max_bytes=args.inline_max_bytes,
        compression=args.compression,
        document_inline_max_bytes=args.document_inline_max_bytes,
    )


def _status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run_once(args: argparse.Namespace) -> RunReport:
    """Run one question (embedded or against ``--address``) and return the report."""
    settings: ClaimCheckSettings = args.settings
    stack: EmbeddedStack | None = None
    stores_to_close: list[BlobStore] = []
    if args.embedded:
        _status("starting an embedded Temporal dev server ...")
        stack = await EmbeddedStack.start(
            settings=settings, ui=False, server_binary=SERVER_BUILDS[args.embedded_server]
        )
    try:
        if stack is not None:
            runtime = await stack.runtime(settings.mode)
            client, task_queue = runtime.client, runtime.task_queue
        else:
            plugin = ClaimCheckPlugin(settings=settings)
            stores_to_close.append(plugin.store)
            client = await connect(args.target, plugins=[plugin])
            task_queue = args.task_queue
            await require_worker(client, task_queue=task_queue, address=args.address)
        return await ask_question(
            client,
            document=await _document(args, client),
            question=args.question,
            task_queue=task_queue,
            claim_check=settings.mode,
            top_k=args.top_k,
            workflow_id=args.workflow_id,
            execution_timeout=timedelta(seconds=args.timeout),
        )
    finally:
        for store in stores_to_close:
            await store.close()
        if stack is not None:
            await stack.stop()


async def _document(args: argparse.Namespace, client: Client) -> SourceDocument | DocumentRef:
    """``--doc`` read into memory, or, over the inline limit in codec/extstore mode, streamed to the store.

    A large file is read twice and never held whole: once to check it (UTF-8, size, sha256),
    once to upload it, each with a progress bar on stderr (none with ``--json``).
    """
    settings: ClaimCheckSettings = args.settings
    size = args.doc.stat().st_size
    refs = refs_of(client)
    if settings.mode == "off" or size <= settings.document_inline_max_bytes or refs is None:
        return load_document(args.doc)
    with _bar(size, f"check {args.doc.name}", quiet=args.json) as bar:
        checked = await asyncio.to_thread(check_file, args.doc, progress=bar.update)
    with _bar(size, f"upload {args.doc.name}", quiet=args.json) as bar:
        document = await store_file(
            refs,
            checked,
            mime_type=guess_mime_type(args.doc),
            namespace=client.namespace,
            workflow_id=args.workflow_id,
            progress=bar.update,
        )
    if not args.json:
        _status(
            f"{args.doc.name} ({human_bytes(size)}) is in {refs.store.name} as {document.blob.key}; "
            "the workflow gets this reference instead of the text"
        )
    return document


def _bar(total: int, description: str, *, quiet: bool) -> Any:
    from tqdm import tqdm  # only a large document needs it

    return tqdm(
        total=total,
        desc=description,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=quiet,
        leave=False,
    )


def print_report(report: RunReport) -> None:
    """Human-readable answer, sources and history size."""
    if report.status != "completed":
        assert report.error is not None
        print(f"FAILED ({report.claim_check}): {report.error['type']}: {report.error['message']}")
    else:
        print(f"Answer ({report.model}):\n  {report.answer}\n")
        print("Sources:")
        for s in report.sources:
            print(f"  chunk {s['chunk_index']:>5}  score {s['score']:7.3f}  {s['snippet'][:90]}")
    if report.document_key is not None:
        print(
            f"\nthe document ({human_bytes(report.document_bytes or 0)}) went by reference: {report.document_key}"
        )
    if report.history_size_bytes is not None:
        print(
            f"\nworkflow {report.workflow_id}: claim check {report.claim_check}, "
            f"history {human_bytes(report.history_size_bytes)} ({report.history_size_bytes} bytes, "
            f"{report.history_length} events)"
        )
    if report.kept_out_payloads:
        counted = (
            f"the server counts {human_bytes(report.external_payload_size_bytes)} "
            f"in {report.external_payload_count} (describe's external_payload_size_bytes)"
            if report.external_payload_size_bytes
            else "this server does not count them (server 1.32 does, with history.externalPayloadsEnabled: "
            "--embedded-server 1.32 or make dev-server SERVER=1.32)"
        )
        print(
            f"kept out of history: {human_bytes(report.kept_out_bytes or 0)} in "
            f"{report.kept_out_payloads} payload(s); {counted}"
        )


async def compare_modes(args: argparse.Namespace) -> int:
    """Embedded: the same question with claim check off, codec and extstore; print a table."""
    document = load_document(args.doc)
    _status("starting an embedded Temporal dev server ...")
    stack = await EmbeddedStack.start(
        settings=args.settings, ui=False, server_binary=SERVER_BUILDS[args.embedded_server]
    )
    reports: list[tuple[RunReport, int, int]] = []
    try:
        for mode in MODES:
            _status(f"asking with claim check {mode} ...")
            runtime = await stack.runtime(mode)
            report = await ask_question(
                runtime.client,
                document=document,
                question=args.question,
                task_queue=runtime.task_queue,
                claim_check=mode,
                top_k=args.top_k,
                execution_timeout=timedelta(seconds=args.timeout),
            )
            blobs = await stack.store.list(
                prefix=workflow_prefix(namespace="default", workflow_id=report.workflow_id)
            )
            reports.append((report, len(blobs), sum(b.size for b in blobs)))
    finally:
        await stack.stop()
    answered = next((r for r, _, _ in reports if r.status == "completed"), None)
    if answered is not None:
        print_report(answered)
    print(f"\nHistory size for the same question ({document.filename}), by claim-check mode:\n")
    print(
        f"  {'mode':<9} {'status':<10} {'history':>10} {'bytes':>10} {'events':>7} {'blobs':>6} {'in store':>10}"
    )
    for report, count, size in reports:
        hist = report.history_size_bytes or 0
        print(
            f"  {report.claim_check:<9} {report.status:<10} {human_bytes(hist):>10} {hist:>10} "
            f"{report.history_length or 0:>7} {count:>6} {human_bytes(size):>10}"
        )
    print(f"\nblobs are in {stack.store.name}")
    return 0 if all(r.status == "completed" for r, _, _ in reports) else 1


CANCEL_WAIT_SECONDS = 60.0
"""How long ``--cancel`` waits for the workflow to end (its activities stop within their heartbeat timeout)."""


async def _has_ended(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the workflow exists and its latest run is no longer running."""
    try:
        desc = await handle.describe()
    except RPCError:
        return False
    return desc.status not in (None, WorkflowExecutionStatus.RUNNING)


async def cancel_workflow(args: argparse.Namespace) -> int:
    """Request cancellation of ``args.cancel`` and wait (bounded) until it has ended; print its status."""
    client = await connect(args.target)
    handle = client.get_workflow_handle(args.cancel)
    try:
        await handle.cancel()
    except RPCError as e:
        # Cancelling is idempotent: a workflow that has already ended (cancelled by someone else
        # a moment ago, say) is reported with its final status, not as an error.
        if not await _has_ended(handle):
            raise CommandError(
                "WorkflowNotFound" if e.status == RPCStatusCode.NOT_FOUND else f"RPCError.{e.status.name}",
                f"cannot cancel workflow {args.cancel!r} on {args.address}: {e.message}",
            ) from None
    deadline = asyncio.get_running_loop().time() + CANCEL_WAIT_SECONDS
    status = "RUNNING"
    while asyncio.get_running_loop().time() < deadline:
        desc = await handle.describe()
        status = desc.status.name if desc.status is not None else "UNKNOWN"
        if status != "RUNNING":
            break
        await asyncio.sleep(0.5)
    outcome = {"status": status.lower(), "workflow_id": args.cancel}
    if args.json:
        print(json.dumps(outcome))
    else:
        print(f"workflow {args.cancel}: {status}")
    return 0 if status == "CANCELED" else 1


def _store_env_prefix(stack: EmbeddedStack) -> str:
    """The variables another shell needs to reach the stack's own MinIO (empty for other stores)."""
    if stack.minio is None:
        return ""
    return (
        f"CLAIM_CHECK_S3_ENDPOINT_URL={stack.minio.endpoint_url} CLAIM_CHECK_S3_BUCKET={stack.settings.s3_bucket} "
        f"AWS_ACCESS_KEY_ID={stack.minio.access_key} AWS_SECRET_ACCESS_KEY={stack.minio.secret_key} "
    )


async def run_worker(args: argparse.Namespace) -> None:
    """Run a worker until interrupted (embedded: with its own dev server)."""
    settings: ClaimCheckSettings = args.settings
    if args.embedded:
        stack = await EmbeddedStack.start(
            settings=settings, ui=True, server_binary=SERVER_BUILDS[args.embedded_server]
        )
        runtime = await stack.runtime(settings.mode)
        _status(
            f"dev server at {stack.server.address} (Web UI {stack.server.ui_url}, decoding through the codec "
            f"server at {stack.codec_server.url if stack.codec_server else 'none'}); worker on task queue "
            f"{runtime.task_queue!r}, claim check {settings.mode}, blobs in {stack.store.name}\n"
            f"ask with: {_store_env_prefix(stack)}python start_workflow.py --address {stack.server.address} "
            f"--task-queue {runtime.task_queue} --claim-check {settings.mode}"
            + (f" --store {settings.store}" if settings.store in ("file", "s3") else "")
        )
        try:
            await runtime.task
        finally:
            await stack.stop()
        return
    plugin = ClaimCheckPlugin(settings=settings)
    try:
        client = await connect(args.target, plugins=[plugin])
        if settings.mode != "off":
            await require_store(plugin.store, endpoint=settings.s3_endpoint_url)
    except BaseException:
        await plugin.store.close()
        raise
    worker = build_worker(client, task_queue=args.task_queue)
    _status(
        f"worker on {args.target.describe()}, task queue {args.task_queue!r}, "
        f"claim check {settings.mode}, blobs in {plugin.store.name} (Ctrl-C to stop)"
    )
    try:
        await worker.run()
    except asyncio.CancelledError:
        pass
    finally:
        await plugin.store.close()
