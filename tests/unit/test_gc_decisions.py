"""gc: what it never deletes without asking, and how it groups keys by workflow."""

from __future__ import annotations

from typing import Any

import pytest

from rag_claimcheck.claimcheck.keys import blob_key, workflow_prefix
from rag_claimcheck.commands.gc import parse_duration
from rag_claimcheck.lifecycle.collect import Collector, group_by_workflow
from rag_claimcheck.storage import MemoryBlobStore


class NoServer:
    """A client that must not be asked: the decisions below need no server."""

    @property
    def workflow_service(self) -> Any:
        raise AssertionError("the server was asked")


async def test_a_hashed_workflow_id_and_shared_blobs_are_kept_without_asking() -> None:
    store = MemoryBlobStore()
    long_id = "w" * 400  # longer than a key segment may be: the key holds its hash
    hashed = blob_key(sha256_hex="a" * 64, namespace="default", workflow_id=long_id)
    shared = blob_key(sha256_hex="b" * 64, namespace=None, workflow_id=None)
    await store.put(key=hashed, data=b"x")
    await store.put(key=shared, data=b"y")
    report = await Collector(NoServer(), store).run(delete=True)  # type: ignore[arg-type] # never used
    [only] = report.prefixes
    assert (only.status, only.decision, only.workflow_id) == ("UNKNOWN_ID", "keep", None)
    assert "cannot be asked" in only.reason
    assert sorted(store.blobs) == sorted([hashed, shared])


async def test_keys_are_grouped_by_namespace_and_decoded_workflow_id() -> None:
    store = MemoryBlobStore()
    for wf, digest in (("chat/1 ä", "c"), ("chat/1 ä", "d"), ("other", "e")):
        await store.put(key=blob_key(sha256_hex=digest * 64, namespace="team-a", workflow_id=wf), data=b"z")
    groups = group_by_workflow(await store.list(prefix=""))
    assert [(g.namespace, g.workflow_id, len(g.blobs)) for g in groups] == [
        ("team-a", "chat/1 ä", 2),
        ("team-a", "other", 1),
    ]
    assert groups[0].prefix == workflow_prefix(namespace="team-a", workflow_id="chat/1 ä")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800), ("-1d", -86400), ("0", 0)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds
