"""The codec server does bounded work per request, whatever the request (real MinIO behind it)."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest

from rag_claimcheck.storage.s3 import S3BlobStore
from tests.integration.test_codec_server import serving, text_payload, to_json, v2_reference, view_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

KIB = 1024
MIB = 1024 * KIB


async def test_deeply_nested_json_is_a_400_not_a_traceback(
    s3_store: S3BlobStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    nested = b"[" * 200_000
    in_payload = b'{"payloads": [{"metadata": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_000 + b"}]}"
    async with serving(s3_store) as server, aiohttp.ClientSession() as http:
        for body in (nested, in_payload):
            async with http.post(
                f"{server.url}/decode", data=body, headers={"Content-Type": "application/json"}
            ) as response:
                assert response.status == 400
                error = (await response.json())["error"]
            assert "nested too deeply" in error
    assert not [r for r in caplog.records if r.exc_info], "no traceback in the server's log"


async def test_a_thousand_references_to_one_blob_read_it_once_and_stop_at_the_decode_budget(
    s3_store: S3BlobStore,
) -> None:
    payload = text_payload("x" * (150 * KIB))
    reference = await v2_reference(s3_store, payload)
    stored = reference.ByteSize()  # only to size the request: 1000 of them
    budget = 4 * MIB
    reads = 0
    original_get = s3_store.get

    async def counting_get(*, key: str) -> bytes:
        nonlocal reads
        reads += 1
        return await original_get(key=key)

    s3_store.get = counting_get  # type: ignore[method-assign] # count reads of the real store
    try:
        async with serving(s3_store, max_decode_bytes=budget) as server, aiohttp.ClientSession() as http:
            async with http.post(
                f"{server.url}/decode", json={"payloads": [to_json(reference)] * 1000}
            ) as response:
                assert response.status == 200
                body = await response.read()
    finally:
        s3_store.get = original_get  # type: ignore[method-assign]
    assert stored * 1000 < MIB, "the request itself is small"
    assert reads == 1, "one blob is read once per request, however often it is referenced"
    assert len(body) < budget + 1000 * 2 * KIB, f"the answer is bounded by the budget: {len(body)} bytes"
    items = json.loads(body)["payloads"]
    full = [i for i in items if view_of(i)[0] is None]
    summaries = [view_of(i)[1] for i in items if view_of(i)[0] == "summary"]
    assert len(full) + len(summaries) == 1000
    assert 0 < len(full) < 1000
    assert "CLAIM_CHECK_CODEC_MAX_DECODE_BYTES" in summaries[0]["claim_check"]
    assert summaries[0]["open"].startswith(f"{server.url}/blob?key=")


async def test_references_over_the_budget_are_not_even_read(s3_store: S3BlobStore) -> None:
    references = [await v2_reference(s3_store, text_payload(f"{i}" * (600 * KIB))) for i in range(4)]
    async with serving(s3_store, max_decode_bytes=MIB) as server, aiohttp.ClientSession() as http:
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with http.post(
            f"{server.url}/decode", json={"payloads": [to_json(r) for r in references]}
        ) as response:
            assert response.status == 200
            items = (await response.json())["payloads"]
    views = [view_of(i) for i in items]
    assert [v[0] for v in views] == ["summary"] * 4
    over = [v[1] for v in views if "CLAIM_CHECK_CODEC_MAX_DECODE_BYTES" in v[1]["claim_check"]]
    assert len(over) == 3, "one 600 KiB blob fits in 1 MiB; the other three are summarised unread"
    assert loop.time() - started < 10
