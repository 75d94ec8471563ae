"""Replay bundles: a workflow's history plus every blob it refers to, replayable offline.

A claim-checked history cannot be replayed without its blobs, and ``gc`` deletes them once the
workflow is past retention. A bundle keeps what a replay test needs::

    DIR/history.json     the run's event history (Temporal's JSON form, payloads still encoded)
    DIR/manifest.json    workflow id, run id, namespace, mode, and each blob's key, size, sha256
    DIR/blobs/<key>      every blob the history's references point at, plus everything else
                         under the workflow's prefix (explicit references, stored turns)

:func:`replay_bundle` replays it with the SDK's ``Replayer``, decoding references from
``DIR/blobs`` through a file store, so no Temporal server or object store is needed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, WorkflowReplayResult

from rag_claimcheck.claimcheck.driver import DRIVER_NAME
from rag_claimcheck.claimcheck.keys import DEFAULT_KEY_PREFIX, workflow_prefix
from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.codec_server.resolve import find_claim
from rag_claimcheck.observe.history import payloads_in
from rag_claimcheck.storage.base import BlobNotFoundError, BlobStore
from rag_claimcheck.storage.filesystem import FileBlobStore

HISTORY_FILE = "history.json"
MANIFEST_FILE = "manifest.json"
BLOBS_DIR = "blobs"
BUNDLE_VERSION = 1

BundleMode = Literal["codec", "extstore", "off"]


class BundleError(Exception):
    """A bundle cannot be written or read; the message says which file or key."""


@dataclass(frozen=True)
class BundledBlob:
    """One blob in a bundle."""

    key: str
    size: int
    sha256: str
    referenced: bool
    """Whether a reference in the history points at it (others are under the prefix only)."""


@dataclass
class Manifest:
    """What ``manifest.json`` records."""

    workflow_id: str
    run_id: str
    namespace: str
    workflow_type: str
    mode: BundleMode
    key_prefix: str
    exported_at: str
    events: int
    blobs: list[BundledBlob] = field(default_factory=list)
    version: int = BUNDLE_VERSION

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        """Load ``DIR/manifest.json``."""
        path = directory / MANIFEST_FILE
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            blobs = [BundledBlob(**b) for b in body.pop("blobs")]
            manifest = cls(**body, blobs=blobs)
        except FileNotFoundError:
            raise BundleError(f"{directory} is not a replay bundle: {path.name} is missing") from None
        except (ValueError, TypeError, KeyError) as e:
            raise BundleError(f"{path} is not a valid bundle manifest: {e}") from e
        if manifest.version != BUNDLE_VERSION:
            raise BundleError(f"{path}: bundle version {manifest.version}, this kit reads {BUNDLE_VERSION}")
        return manifest


def referenced_keys(history: WorkflowHistory) -> tuple[BundleMode, list[str]]:
    """The claim-check mode the history was written in, and every key its references name."""
    keys: dict[str, None] = {}
    mode: BundleMode = "off"
    for event in history.events:
        for payload in payloads_in(event):
            claim = find_claim(payload, driver_names=(DRIVER_NAME,))
            if claim is None:
                continue
            keys[claim.key] = None
            mode = "extstore" if claim.format == "external-storage" else "codec"
    return mode, list(keys)


async def export_bundle(
    client: Client,
    store: BlobStore,
    *,
    workflow_id: str,
    out: Path,
    run_id: str | None = None,
    key_prefix: str = DEFAULT_KEY_PREFIX,
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Write ``workflow_id``'s history (latest run unless ``run_id``) and its blobs to ``out``.

    Raises:
        BundleError: ``out`` is not empty, or a referenced blob is already gone from the store.
    """
    require_empty(out)
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    history = await handle.fetch_history()
    desc = await handle.describe()
    mode, referenced = referenced_keys(history)
    namespace = client.namespace
    under_prefix = await store.list(
        prefix=workflow_prefix(namespace=namespace, workflow_id=workflow_id, key_prefix=key_prefix)
    )
    keys = list(dict.fromkeys([*referenced, *(b.key for b in under_prefix)]))
    listed = {b.key for b in under_prefix}
    gone = [key for key in referenced if key not in listed and not await store.exists(key=key)]
    if gone:
        raise BundleError(
            f"cannot bundle {workflow_id}: {len(gone)} referenced blob(s) are not in {store.name} "
            f"(already deleted?), e.g. {gone[0]}"
        )
    blobs_dir = out / BLOBS_DIR
    blobs_dir.mkdir(parents=True, exist_ok=True)
    target = FileBlobStore(blobs_dir)
    bundled: list[BundledBlob] = []
    missing: list[str] = []
    for key in keys:
        try:
            data = await store.get(key=key)
        except BlobNotFoundError:
            missing.append(key)
            continue
        await target.put(key=key, data=data)
        bundled.append(
            BundledBlob(
                key=key, size=len(data), sha256=hashlib.sha256(data).hexdigest(), referenced=key in referenced
            )
        )
        if progress is not None:
            progress(1)
    if missing:
        raise BundleError(
            f"cannot bundle {workflow_id}: {len(missing)} referenced blob(s) are not in {store.name} "
            f"(already deleted?), e.g. {missing[0]}"
        )
    (out / HISTORY_FILE).write_text(history.to_json(), encoding="utf-8")
    manifest = Manifest(
        workflow_id=workflow_id,
        run_id=desc.run_id,
        namespace=namespace,
        workflow_type=desc.workflow_type,
        mode=mode,
        key_prefix=key_prefix,
        exported_at=datetime.now(timezone.utc).isoformat(),
        events=len(history.events),
        blobs=bundled,
    )
    (out / MANIFEST_FILE).write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
    return manifest


def require_empty(out: Path) -> None:
    """Raise :class:`BundleError` unless ``out`` is missing or an empty directory (an export never overwrites)."""
    if out.exists() and any(out.iterdir()):
        raise BundleError(f"{out} is not empty; export into a new directory")


def bundle_converter(directory: Path, manifest: Manifest) -> tuple[DataConverter, FileBlobStore]:
    """The data converter that decodes the bundle's references from ``DIR/blobs``."""
    store = FileBlobStore(directory / BLOBS_DIR)
    settings = ClaimCheckSettings(mode=manifest.mode, store="file", key_prefix=manifest.key_prefix)
    plugin = ClaimCheckPlugin(settings=settings, store=store)
    return plugin.configure_data_converter(None), store


async def replay_bundle(directory: Path, workflows: Sequence[type] | None = None) -> WorkflowReplayResult:
    """Replay the bundle's history offline against the kit's workflow code.

    Raises:
        BundleError: the bundle is incomplete (a file or a blob is missing).
        temporalio.workflow.NondeterminismError: the code no longer replays the history.
    """
    from rag_claimcheck.stack.worker import WORKFLOWS

    manifest = Manifest.read(directory)
    history_path = directory / HISTORY_FILE
    if not history_path.is_file():
        raise BundleError(f"{directory} is not a replay bundle: {HISTORY_FILE} is missing")
    history = WorkflowHistory.from_json(manifest.workflow_id, history_path.read_text(encoding="utf-8"))
    converter, store = bundle_converter(directory, manifest)
    for blob in manifest.blobs:
        if not await store.exists(key=blob.key):
            raise BundleError(f"{directory}: blob {blob.key} listed in the manifest is missing")
    replayer = Replayer(
        workflows=list(workflows or WORKFLOWS), data_converter=converter, namespace=manifest.namespace
    )
    try:
        return await replayer.replay_workflow(history)
    finally:
        await store.close()
