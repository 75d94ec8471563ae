"""The codec server on real MinIO and a real dev server: protocol, safety, and the Temporal CLI as a client."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.api.sdk.v1 import ExternalStorageReference
from temporalio.converter import (
    JSONProtoPayloadConverter,
    StorageDriverStoreContext,
    StorageDriverWorkflowInfo,
)

from rag_claimcheck.claimcheck.driver import ClaimCheckStorageDriver
from rag_claimcheck.claimcheck.reference import RECIPE_ENCODING, RECIPE_METADATA_KEY, RECIPE_VERSION
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.claimcheck.vault import PayloadVault
from rag_claimcheck.codec_server import (
    VIEW_METADATA_KEY,
    CodecServerOptions,
    RunningCodecServer,
    start_codec_server,
)
from rag_claimcheck.data.samples import DEFAULT_QUESTION, sample_text
from rag_claimcheck.observe.probe import PayloadProbeWorkflow, ProbeRequest, make_text
from rag_claimcheck.rag.models import RagRequest, SourceDocument
from rag_claimcheck.rag.workflows import AiRagWorkflow
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.servers.tools import require_binary
from rag_claimcheck.storage.s3 import S3BlobStore
from tests.integration.helpers import running_stack

pytestmark = pytest.mark.integration

KIB = 1024
MIB = 1024 * KIB
TOKEN = "codec-test-token"
UI_ORIGIN = "http://localhost:8233"
SETTINGS = ClaimCheckSettings(store="s3")


# --- helpers ----------------------------------------------------------------------------------


def text_payload(text: str) -> Payload:
    """What the default converter makes of a ``str``."""
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


def to_json(payload: Payload) -> dict[str, Any]:
    return json_format.MessageToDict(payload)


def from_json(item: dict[str, Any]) -> Payload:
    return json_format.ParseDict(item, Payload())


def view_of(item: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(the server's view marker, the decoded JSON body) of a payload in an answer."""
    payload = from_json(item)
    marker = payload.metadata.get(VIEW_METADATA_KEY)
    return (marker.decode() if marker else None), json.loads(payload.data)


async def v2_reference(store: S3BlobStore, payload: Payload, *, namespace: str = "default") -> Payload:
    """A v2 reference to ``payload``, stored the way the worker's codec stores it."""
    ref = await PayloadVault(store).put(
        payload, namespace=namespace, workflow_id=f"wf-{uuid.uuid4().hex[:6]}"
    )
    return ref.to_payload()


async def recipe_reference(store: S3BlobStore, payload: Payload) -> Payload:
    """A reference in the AI-cookbook recipe's v1 format: a uuid4 key at the bucket root."""
    key = str(uuid.uuid4())
    await store.put(key=key, data=payload.SerializeToString())
    return Payload(
        metadata={"encoding": RECIPE_ENCODING, RECIPE_METADATA_KEY: RECIPE_VERSION}, data=key.encode()
    )


async def external_storage_reference(store: S3BlobStore, payload: Payload) -> Payload:
    """The SDK's ``ExternalStorageReference`` for a claim made by the kit's storage driver."""
    driver = ClaimCheckStorageDriver(store)
    context = StorageDriverStoreContext(target=StorageDriverWorkflowInfo(namespace="default", id="wf-ext"))
    [claim] = await driver.store(context, [payload])
    reference = JSONProtoPayloadConverter().to_payload(
        ExternalStorageReference(driver_name=driver.name(), claim_data=claim.claim_data)
    )
    assert reference is not None
    return reference


@asynccontextmanager
async def serving(store: S3BlobStore, **options: Any) -> AsyncIterator[RunningCodecServer]:
    server = await start_codec_server(store=store, settings=SETTINGS, options=CodecServerOptions(**options))
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture(loop_scope="session")
async def codec(s3_store: S3BlobStore) -> AsyncIterator[RunningCodecServer]:
    """A codec server without a token, with a small display limit so summaries are cheap to provoke."""
    async with serving(s3_store, display_max_bytes=64 * KIB) as server:
        yield server


async def call(
    http: aiohttp.ClientSession,
    url: str,
    payloads: list[Payload] | list[dict[str, Any]],
    *,
    namespace: str = "default",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    items = [p if isinstance(p, dict) else to_json(p) for p in payloads]
    async with http.post(
        url, json={"payloads": items}, headers={"X-Namespace": namespace, **(headers or {})}
    ) as response:
        return response.status, await response.json()


# --- the protocol, per reference format -------------------------------------------------------


@pytest.mark.parametrize("make_reference", [v2_reference, recipe_reference, external_storage_reference])
async def test_decode_turns_each_reference_format_back_into_the_original_payload(
    codec: RunningCodecServer, s3_store: S3BlobStore, http: aiohttp.ClientSession, make_reference: Any
) -> None:
    original = text_payload(make_text(20 * KIB))
    reference = await make_reference(s3_store, original)
    assert reference.ByteSize() < 1024

    status, body = await call(http, f"{codec.url}/decode", [reference])

    assert status == 200
    assert [from_json(item) for item in body["payloads"]] == [original]


async def test_decode_returns_ordinary_payloads_and_other_drivers_references_exactly_as_sent(
    codec: RunningCodecServer, http: aiohttp.ClientSession
) -> None:
    foreign = JSONProtoPayloadConverter().to_payload(
        ExternalStorageReference(driver_name="aws.s3driver", claim_data={"bucket": "b", "key": "k"})
    )
    assert foreign is not None
    sent = [to_json(text_payload("small")), to_json(foreign), {"metadata": {}, "data": "", "futureField": 1}]

    status, body = await call(http, f"{codec.url}/decode", sent)

    assert status == 200
    assert body["payloads"] == sent


async def test_encode_stores_a_large_payload_under_shared_and_decode_brings_it_back(
    codec: RunningCodecServer, s3_store: S3BlobStore, http: aiohttp.ClientSession
) -> None:
    small, large = text_payload("hello"), text_payload(make_text(200 * KIB))

    status, encoded = await call(http, f"{codec.url}/encode", [small, large])

    assert status == 200
    reference = from_json(encoded["payloads"][1])
    assert from_json(encoded["payloads"][0]) == small
    assert reference.metadata["encoding"] == b"json/claim-check-reference"
    assert [b.key.rsplit("/", 1)[0] for b in await s3_store.list(prefix="")] == ["claim-check/shared/sha256"]
    _, decoded = await call(http, f"{codec.url}/decode", encoded["payloads"])
    assert from_json(decoded["payloads"][0]) == small
    view, _ = view_of(decoded["payloads"][1])
    assert view == "summary"  # 200 KiB is over this server's 64 KiB display limit


async def test_encode_in_passthrough_mode_returns_payloads_unchanged(
    s3_store: S3BlobStore, http: aiohttp.ClientSession
) -> None:
    async with serving(s3_store, encode="passthrough") as server:
        sent = [to_json(text_payload(make_text(200 * KIB)))]
        status, body = await call(http, f"{server.url}/encode", sent)
    assert status == 200
    assert body["payloads"] == sent
    assert await s3_store.list(prefix="") == []


async def test_the_endpoints_work_under_any_path_prefix(
    codec: RunningCodecServer, s3_store: S3BlobStore, http: aiohttp.ClientSession
) -> None:
    original = text_payload(make_text(10 * KIB))
    status, body = await call(
        http, f"{codec.url}/codec/default/decode", [await v2_reference(s3_store, original)]
    )
    assert status == 200
    assert from_json(body["payloads"][0]) == original


# --- large payloads: a summary and a link ------------------------------------------------------


async def test_a_payload_over_the_display_limit_becomes_a_summary_whose_link_serves_the_full_data(
    codec: RunningCodecServer, s3_store: S3BlobStore, http: aiohttp.ClientSession
) -> None:
    original = text_payload(make_text(300 * KIB))
    reference = await v2_reference(s3_store, original)

    status, body = await call(http, f"{codec.url}/decode", [reference])

    assert status == 200
    assert len(json.dumps(body)) < 4 * KIB
    view, summary = view_of(body["payloads"][0])
    assert view == "summary"
    assert summary["size"] == len(original.data)
    assert summary["key"].startswith("claim-check/ns/default/wf/")
    assert summary["sha256"] == summary["key"].rsplit("/", 1)[1]
    assert summary["encoding"] == "json/plain"
    assert summary["preview"].startswith("The claim-check pattern stores")  # the text, not its JSON
    assert summary["preview"].endswith("more characters: open the link)")
    assert summary["open"].startswith(f"{codec.url}/blob?")
    async with http.get(summary["open"]) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert await response.read() == original.data


async def test_with_a_token_summary_links_are_signed_and_open_without_the_token_but_not_when_altered(
    s3_store: S3BlobStore, http: aiohttp.ClientSession
) -> None:
    original = text_payload(make_text(300 * KIB))
    reference = await v2_reference(s3_store, original)
    other = await v2_reference(s3_store, text_payload(make_text(301 * KIB)))
    async with serving(s3_store, token=TOKEN, display_max_bytes=64 * KIB) as server:
        _, body = await call(
            http, f"{server.url}/decode", [reference], headers={"Authorization": f"Bearer {TOKEN}"}
        )
        link = view_of(body["payloads"][0])[1]["open"]
        assert TOKEN not in link

        async with http.get(link) as response:  # a browser tab: no Authorization header
            assert response.status == 200
            assert await response.read() == original.data

        query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
        other_key = json.loads(other.data)["key"]
        for altered in (
            {**query, "key": other_key},
            {**query, "sig": query["sig"][::-1]},
            {"key": other_key},
        ):
            async with http.get(f"{server.url}/blob?{urlencode(altered)}") as response:
                assert response.status == 401


# --- failures of one payload do not fail the batch ---------------------------------------------


async def test_a_missing_blob_becomes_a_summary_naming_the_error_while_the_rest_of_the_batch_decodes(
    codec: RunningCodecServer, s3_store: S3BlobStore, http: aiohttp.ClientSession
) -> None:
    kept, lost = text_payload(make_text(5 * KIB)), text_payload(make_text(6 * KIB))
    kept_ref, lost_ref = await v2_reference(s3_store, kept), await v2_reference(s3_store, lost)
    lost_key = json.loads(lost_ref.data)["key"]
    await s3_store.delete(key=lost_key)

    status, body = await call(http, f"{codec.url}/decode", [lost_ref, kept_ref, text_payload("inline")])

    assert status == 200
    view, summary = view_of(body["payloads"][0])
    assert view == "error"
    assert summary["error"] == "ClaimCheckPayloadMissing"
    assert summary["key"] == lost_key
    assert from_json(body["payloads"][1]) == kept
    assert from_json(body["payloads"][2]) == text_payload("inline")


async def test_a_blob_changed_in_the_bucket_becomes_an_integrity_error_summary(
    codec: RunningCodecServer, s3_store: S3BlobStore, http: aiohttp.ClientSession
) -> None:
    reference = await v2_reference(s3_store, text_payload(make_text(5 * KIB)))
    key = json.loads(reference.data)["key"]
    await s3_store.put(key=key, data=b"x" * (5 * KIB + 2))

    _, body = await call(http, f"{codec.url}/decode", [reference])
    view, summary = view_of(body["payloads"][0])
    assert (view, summary["error"]) == ("error", "ClaimCheckIntegrityError")

    async with http.get(f"{codec.url}/blob", params={"key": key}) as response:
        assert response.status == 502
        assert (await response.json())["error"].startswith("ClaimCheckIntegrityError")


# --- namespaces and keys ----------------------------------------------------------------------


async def test_a_reference_of_another_namespace_is_not_redeemed(
    codec: RunningCodecServer, s3_store: S3BlobStore, http: aiohttp.ClientSession
) -> None:
    reference = await v2_reference(s3_store, text_payload(make_text(5 * KIB)), namespace="payments")

    _, body = await call(http, f"{codec.url}/decode", [reference], namespace="default")
    view, summary = view_of(body["payloads"][0])
    assert (view, summary["error"]) == ("error", "ClaimCheckKeyOutOfScope")
    assert "payments" in summary["message"]

    _, body = await call(http, f"{codec.url}/decode", [reference], namespace="payments")
    assert view_of(body["payloads"][0])[0] is None


@pytest.mark.parametrize(
    ("key", "namespace", "status"),
    [
        ("../../etc/passwd", "default", 400),
        ("claim-check/ns/default/../../secrets.txt", "default", 400),
        ("/claim-check/shared/sha256/" + "0" * 64, "default", 400),
        ("secrets/aws-credentials.txt", "default", 403),
        ("claim-check/ns/payments/wf/w/sha256/" + "0" * 64, "default", 403),
        ("claim-check/shared/sha256/not-a-digest", "default", 403),
        ("claim-check/ns/default/wf/w/sha256/" + "0" * 64, "default", 404),
        (str(uuid.UUID(int=7)), "default", 404),
    ],
)
async def test_blob_serves_only_keys_of_the_kit_in_the_requests_namespace(
    codec: RunningCodecServer,
    s3_store: S3BlobStore,
    http: aiohttp.ClientSession,
    key: str,
    namespace: str,
    status: int,
) -> None:
    await s3_store.put(key="secrets/aws-credentials.txt", data=b"do not serve me")
    async with http.get(
        f"{codec.url}/blob", params={"key": key}, headers={"X-Namespace": namespace}
    ) as response:
        assert response.status == status
        body = await response.json()
    assert set(body) == {"error"}
    assert "do not serve me" not in body["error"]


# --- auth, CORS and Host ----------------------------------------------------------------------


async def test_with_a_token_every_route_but_the_preflight_answers_401_without_it(
    s3_store: S3BlobStore, http: aiohttp.ClientSession
) -> None:
    reference = await v2_reference(s3_store, text_payload("x" * 200))
    routes = [("POST", "/decode"), ("POST", "/encode"), ("GET", "/blob?key=x"), ("GET", "/no-such-route")]
    async with serving(s3_store, token=TOKEN) as server:
        for method, path in routes:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                async with http.request(
                    method, server.url + path, json={"payloads": []}, headers=headers
                ) as response:
                    assert response.status == 401, (method, path, headers)
                    assert response.headers["WWW-Authenticate"].startswith("Bearer")
                    assert await response.json() == {"error": "missing or wrong bearer token"}

        async with http.options(
            f"{server.url}/decode",
            headers={"Origin": UI_ORIGIN, "Access-Control-Request-Method": "POST"},
        ) as response:
            assert response.status == 204

        status, body = await call(
            http, f"{server.url}/decode", [reference], headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert status == 200
        assert json.loads(from_json(body["payloads"][0]).data) == "x" * 200


async def test_cors_headers_go_to_the_web_ui_origin_only(
    codec: RunningCodecServer, http: aiohttp.ClientSession
) -> None:
    async with http.options(
        f"{codec.url}/decode",
        headers={
            "Origin": UI_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        },
    ) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "content-type", "x-namespace"} <= allowed
        assert "POST" in response.headers["Access-Control-Allow-Methods"]

    for origin, allowed_origin in [
        (UI_ORIGIN, UI_ORIGIN),
        ("http://127.0.0.1:8233", "http://127.0.0.1:8233"),
        ("http://evil.example", None),
        ("http://localhost:9999", None),
    ]:
        async with http.post(
            f"{codec.url}/decode", json={"payloads": []}, headers={"Origin": origin}
        ) as response:
            assert response.status == 200
            assert response.headers.get("Access-Control-Allow-Origin") == allowed_origin
            assert "Origin" in response.headers["Vary"]

    codec.allow_origin("http://127.0.0.1:9999")  # what the embedded stack does once its UI has a port
    async with http.post(
        f"{codec.url}/decode", json={"payloads": []}, headers={"Origin": "http://localhost:9999"}
    ) as response:
        assert response.headers.get("Access-Control-Allow-Origin") == "http://localhost:9999"


async def test_a_request_under_a_foreign_host_name_is_refused(
    codec: RunningCodecServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        f"{codec.url}/decode", json={"payloads": []}, headers={"Host": "rebound.evil.example:8081"}
    ) as response:
        assert response.status == 403
        assert "not allowed" in (await response.json())["error"]


# --- bad input: small JSON errors, never a traceback ---------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "status"),
    [
        ("POST", "/decode", b"{not json", "application/json", 400),
        ("POST", "/decode", b'{"payloads": {"a": 1}}', "application/json", 400),
        ("POST", "/decode", b"[]", "application/json", 400),
        ("POST", "/decode", b'{"payloads": [1]}', "application/json", 400),
        ("POST", "/decode", b'{"payloads": [{"data": 5}]}', "application/json", 400),
        ("POST", "/encode", b'{"payloads": [{"metadata": {"encoding": 5}}]}', "application/json", 400),
        ("POST", "/decode", b'{"payloads": []}', "text/plain", 415),
        ("POST", "/decode", b'{"payloads": ["' + b"a" * (80 * KIB) + b'"]}', "application/json", 413),
        ("GET", "/decode", b"", "application/json", 405),
        ("GET", "/blob", b"", "application/json", 400),
        ("POST", "/admin", b"{}", "application/json", 404),
    ],
)
async def test_bad_requests_get_a_small_json_error(
    s3_store: S3BlobStore,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    body: bytes,
    content_type: str,
    status: int,
) -> None:
    async with serving(s3_store, max_request_bytes=64 * KIB) as server:
        async with http.request(
            method, server.url + path, data=body, headers={"Content-Type": content_type}
        ) as response:
            assert response.status == status
            assert response.content_type == "application/json"
            text = await response.text()
    error = json.loads(text)["error"]
    assert isinstance(error, str) and len(text) < 600
    assert "Traceback" not in text and 'File "' not in text


# --- a real client: the Temporal CLI ----------------------------------------------------------


async def temporal(*args: str) -> dict[str, Any]:
    binary = str(require_binary("temporal"))
    result = await asyncio.to_thread(
        subprocess.run, [binary, *args, "--output", "json"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def start_inputs(history: dict[str, Any]) -> list[Payload]:
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    return [from_json(p) for p in started["input"]["payloads"]]


def workflow_input(history: dict[str, Any]) -> Payload:
    [payload] = start_inputs(history)
    return payload


@pytest.mark.parametrize("mode", ["codec", "extstore"])
async def test_temporal_workflow_show_with_the_codec_endpoint_shows_the_real_input(
    dev_server: DevServer, s3_store: S3BlobStore, mode: str
) -> None:
    text = make_text(1 * MIB)
    async with running_stack(dev_server, mode=mode, store=s3_store) as stack:  # type: ignore[arg-type] # parametrized
        workflow_id = stack.new_id("codec-server")
        await stack.client.execute_workflow(
            PayloadProbeWorkflow.run,
            ProbeRequest(payload=text),
            id=workflow_id,
            task_queue=stack.task_queue,
            execution_timeout=timedelta(seconds=60),
        )
    show = ["workflow", "show", "--address", dev_server.address, "--workflow-id", workflow_id]

    async with serving(s3_store, token=TOKEN, display_max_bytes=4 * MIB) as server:
        decoded = workflow_input(
            await temporal(*show, "--codec-endpoint", server.url, "--codec-auth", f"Bearer {TOKEN}")
        )
    raw = workflow_input(await temporal(*show))

    assert decoded.metadata["encoding"] == b"json/plain"
    request = json.loads(decoded.data)
    assert request["payload"].startswith("The claim-check pattern stores")
    assert request["payload"] == text
    assert raw.ByteSize() < 2 * KIB
    assert raw.metadata["encoding"] in (b"json/claim-check-reference", b"json/protobuf")
    assert base64.b64encode(b"The claim-check pattern").decode() not in json.dumps(to_json(raw))


async def test_the_rag_workflows_input_shows_the_documents_text_and_a_raw_reference_says_what_it_is(
    dev_server: DevServer, s3_store: S3BlobStore
) -> None:
    handbook = sample_text()
    document = SourceDocument.from_bytes(handbook.encode(), filename="handbook.md", mime_type="text/markdown")
    async with running_stack(dev_server, mode="codec", store=s3_store) as stack:
        workflow_id = stack.new_id("codec-server-rag")
        await stack.client.execute_workflow(
            AiRagWorkflow.run,
            args=[document, RagRequest(question=DEFAULT_QUESTION)],
            id=workflow_id,
            task_queue=stack.task_queue,
            execution_timeout=timedelta(seconds=60),
        )
    show = ["workflow", "show", "--address", dev_server.address, "--workflow-id", workflow_id]
    async with serving(s3_store, token=TOKEN, display_max_bytes=4 * MIB) as server:
        history = await temporal(*show, "--codec-endpoint", server.url, "--codec-auth", f"Bearer {TOKEN}")
    raw_history = await temporal(*show)

    decoded_document, decoded_request = start_inputs(history)
    assert json.loads(decoded_document.data) == {
        "filename": "handbook.md",
        "mime_type": "text/markdown",
        "text": handbook,
    }
    assert json.loads(decoded_request.data)["question"] == DEFAULT_QUESTION
    raw_document, _ = start_inputs(raw_history)
    assert raw_document.metadata["encoding"] == b"json/claim-check-reference"
    note = json.loads(raw_document.data)["claim_check"]
    assert (
        note == "a reference: the payload is in the blob store; decode with the rag-claimcheck codec server"
    )
    assert raw_document.ByteSize() < 1 * KIB
