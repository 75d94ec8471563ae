"""The store audit on the real dev server and MinIO: it follows every kind of reference and names
what is missing, corrupt or left over (the soak's end checks rest on it)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter

import pytest

from rag_claimcheck.chaos.traffic import Starter
from rag_claimcheck.chaos.workload import KIB, MIB, Job, documents
from rag_claimcheck.claimcheck.keys import blob_key, workflow_prefix
from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.claimcheck.refs import RefStore
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.lifecycle.audit import audit_store
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.stack.worker import build_worker
from rag_claimcheck.storage.s3 import S3BlobStore

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


async def test_the_audit_follows_claims_documents_and_turns_and_names_what_is_missing_corrupt_or_left_over(
    dev_server: DevServer, s3_store: S3BlobStore
) -> None:
    settings = ClaimCheckSettings(store="s3", s3_bucket=s3_store.bucket)
    client = await dev_server.connect(
        plugins=[ClaimCheckPlugin(mode="codec", store=s3_store, settings=settings)]
    )
    refs = RefStore(s3_store)
    docs = documents((32 * KIB, 256 * KIB), seed=3)
    queue = f"audit-{uuid.uuid4().hex[:8]}"

    def starter(document_limit: int) -> Starter:
        return Starter(
            client,
            refs,
            task_queue=queue,
            document_limit=document_limit,
            retries=Counter(),
            give_up_after=120,
        )

    big, small = docs[256 * KIB], docs[32 * KIB]
    ids = [f"{queue}-claimed", f"{queue}-by-reference", f"{queue}-conversation"]
    async with build_worker(client, task_queue=queue):
        outcomes = [
            await starter(8 * MIB).run(Job(0, 256 * KIB, big.questions[:1], False), big, ids[0]),
            await starter(64 * KIB).run(Job(1, 256 * KIB, big.questions[:1], False), big, ids[1]),
            await starter(8 * MIB).run(Job(2, 32 * KIB, small.questions[:2], True), small, ids[2]),
        ]
    assert [o.status for o in outcomes] == ["completed"] * 3, outcomes

    audit = await audit_store(client, s3_store, ids)
    assert audit.clean, audit
    assert audit.objects == audit.referenced > 0
    assert (audit.workflows, audit.runs, audit.failures) == (3, 3, {})
    keys = {blob.key for blob in await s3_store.list(prefix="claim-check/")}
    claimed = blob_key(
        sha256_hex=hashlib.sha256(big.data).hexdigest(), namespace="default", workflow_id=ids[1]
    )
    assert claimed in keys, "the stored document (a DocumentRef's blob) is among the objects"
    turns = sorted(k for k in keys if k.startswith(workflow_prefix(namespace="default", workflow_id=ids[2])))
    entries = {key: json.loads(await s3_store.get(key=key)) for key in turns}
    first_turn = [
        key for key, body in entries.items() if isinstance(body, dict) and body.get("previous") == ""
    ]
    assert len(first_turn) == 1, entries.keys()

    left_over = f"{workflow_prefix(namespace='default', workflow_id=ids[0])}sha256/{'0' * 64}"
    await s3_store.put(key=left_over, data=b"nobody refers to this")
    await s3_store.put(key=claimed, data=b"not the document")
    await s3_store.delete(key=first_turn[0])

    broken = await audit_store(client, s3_store, ids)
    assert not broken.clean
    assert broken.orphaned == [left_over]
    assert broken.missing == first_turn
    assert broken.corrupt == [
        f"{claimed}: expected sha256:{hashlib.sha256(big.data).hexdigest()}, "
        f"got sha256:{hashlib.sha256(b'not the document').hexdigest()}"
    ]
